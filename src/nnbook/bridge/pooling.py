"""ReLU and 2x2 max pooling, forward and backward: which inputs receive a gradient, and why.

* ReLU, r(z) = max(0, z), has slope 1 where z > 0 and 0 where z < 0 (at z = 0 the book takes 0, as
  PyTorch does): the backward pass lets the gradient through where the unit was active and
  blocks it where it was not.
* Max pooling keeps the largest value of each 2x2 window. Only that one input influenced the
  output, so the whole gradient goes back to it and the other three get 0. When several values
  tie for the maximum, the first in reading order takes it, as in PyTorch.
* Average pooling, for comparison, gives every input of a window a quarter of the gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbook.bridge._validate import finite_array
from nnbook.errors import UsageError

__all__ = ["relu", "relu_backward", "max_pool", "max_pool_winners", "max_pool_backward", "avg_pool_backward"]


def relu(z: Any) -> np.ndarray:
    """max(0, z), entry by entry."""
    return np.maximum(finite_array(z, "z", (None, None)), 0.0)


def relu_backward(z: Any, upstream: Any) -> np.ndarray:
    """dL/dz = upstream where z > 0, and 0 where the unit was off (z <= 0)."""
    Z = finite_array(z, "z", (None, None))
    G = finite_array(upstream, "upstream (dL/drelu(z))", Z.shape)
    return np.where(Z > 0, G, 0.0)


def _even(x: Any) -> np.ndarray:
    X = finite_array(x, "x", (None, None))
    if X.shape[0] % 2 or X.shape[1] % 2 or X.size == 0:
        raise UsageError(f"2x2 pooling needs a non-empty map with even sides, got shape {X.shape}")
    return X


def max_pool_winners(x: Any) -> np.ndarray:
    """A 0/1 mask of x's shape: 1 at the maximum of each 2x2 window (the first one, on a tie)."""
    X = _even(x)
    mask = np.zeros_like(X)
    for i, j in np.ndindex(X.shape[0] // 2, X.shape[1] // 2):
        window = X[2 * i:2 * i + 2, 2 * j:2 * j + 2]
        a, b = np.unravel_index(int(np.argmax(window)), (2, 2))  # argmax: the first maximum
        mask[2 * i + a, 2 * j + b] = 1.0
    return mask


def max_pool(x: Any) -> np.ndarray:
    """The largest value of each non-overlapping 2x2 window (stride 2): half the size each way."""
    X = _even(x)
    return X.reshape(X.shape[0] // 2, 2, X.shape[1] // 2, 2).max(axis=(1, 3))


def max_pool_backward(x: Any, upstream: Any) -> np.ndarray:
    """dL/dx: each window's gradient goes entirely to its winner, 0 to the three others."""
    X = _even(x)
    G = finite_array(upstream, "upstream (dL/dpooled)", (X.shape[0] // 2, X.shape[1] // 2))
    return max_pool_winners(X) * np.kron(G, np.ones((2, 2)))


def avg_pool_backward(upstream: Any) -> np.ndarray:
    """dL/dx for 2x2 average pooling: every input of a window gets a quarter of its gradient."""
    G = finite_array(upstream, "upstream (dL/dpooled)", (None, None))
    return np.kron(G, np.full((2, 2), 0.25))
