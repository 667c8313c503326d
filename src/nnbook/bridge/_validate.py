"""Argument checks shared by the bridge modules: a wrong shape or a non-finite value is named."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbook.errors import UsageError


def finite_array(values: Any, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """``values`` as a float64 array of ``shape`` (None: any length), or a UsageError naming it."""
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} must be an array of real numbers, got {values!r}") from exc
    if arr.ndim != len(shape) or any(want is not None and got != want for got, want in zip(arr.shape, shape)):
        want = "x".join("n" if s is None else str(s) for s in shape) or "a scalar"
        raise UsageError(f"{name} must have shape {want}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{name} must be finite (no nan or inf), got {values!r}")
    return arr
