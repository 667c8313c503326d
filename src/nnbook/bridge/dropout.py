"""Dropout by hand ("inverted" dropout, as PyTorch does it).

In training each value is kept with probability 1 - p and then divided by 1 - p, or set to 0 with
probability p; in evaluation nothing changes. The division keeps every value's expectation what
it was, so the next layer sees the same scale in training and in evaluation. Backward, the
gradient flows through the kept values only, multiplied by the same 1 / (1 - p).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbook.bridge._validate import finite_array
from nnbook.errors import UsageError

__all__ = ["mask", "forward", "backward"]


def _rate(p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise UsageError(f"the dropout rate p must be a number in [0, 1), got {p!r}")
    return float(p)


def mask(shape: tuple[int, ...], p: float, rng: np.random.Generator) -> np.ndarray:
    """The training-time multipliers: 0 with probability p, else 1 / (1 - p)."""
    p = _rate(p)
    return (rng.random(shape) >= p) / (1 - p)


def forward(x: Any, m: np.ndarray) -> np.ndarray:
    """Training-mode dropout of ``x`` with the multipliers ``m`` from :func:`mask`."""
    x = finite_array(x, "x", np.shape(m))
    return x * m


def backward(upstream: Any, m: np.ndarray) -> np.ndarray:
    """dL/dx: the upstream gradient times the same multipliers (0 where a value was dropped)."""
    return finite_array(upstream, "upstream", np.shape(m)) * m
