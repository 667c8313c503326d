"""The optimiser of Part 2, one line at a time: SGD with (Nesterov) momentum and weight decay.

PyTorch's ``torch.optim.SGD`` does, for each parameter w with gradient g, at every step::

    g = g + weight_decay * w          # weight decay: the gradient of (weight_decay / 2) * |w|^2
    v = momentum * v + g              # the velocity (on the first step: v = g)
    d = g + momentum * v  if nesterov else  v
    w = w - lr * d

Momentum accumulates the gradients of past steps, so a consistent direction speeds up and an
oscillating one cancels out; Nesterov's variant looks one momentum step ahead.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnbook.bridge._validate import finite_array

__all__ = ["BOWL", "sgd", "bowl", "bowl_gradient"]

#: the curvatures of :func:`bowl`: steep in the first coordinate, shallow in the second
BOWL = (10.0, 0.2)


def bowl(w: Any) -> float:
    """f(w) = (10 w_1^2 + 0.2 w_2^2) / 2: a long narrow valley, steep across and shallow along."""
    w = finite_array(w, "w", (2,))
    return 0.5 * float(BOWL[0] * w[0] ** 2 + BOWL[1] * w[1] ** 2)


def bowl_gradient(w: Any) -> np.ndarray:
    """The gradient of :func:`bowl`: (10 w_1, 0.2 w_2)."""
    w = finite_array(w, "w", (2,))
    return np.array([BOWL[0] * w[0], BOWL[1] * w[1]])


def sgd(gradient: Callable[[np.ndarray], np.ndarray], w0: Any, lr: float, n_steps: int, momentum: float = 0.0,
        nesterov: bool = False, weight_decay: float = 0.0) -> np.ndarray:
    """The path of SGD from ``w0``: an array with one row per iterate (n_steps + 1 rows)."""
    w = finite_array(w0, "w0", (None,))
    path = [w.copy()]
    v = None
    for _ in range(n_steps):
        g = gradient(w) + weight_decay * w
        v = g.copy() if v is None else momentum * v + g
        d = g + momentum * v if nesterov else v
        w = w - lr * d
        path.append(w.copy())
    return np.array(path)
