"""Argument checks shared by every Part 1 module: each names the bad argument and what it must be.

The errors are :class:`~nnbook.errors.UsageError`, a :class:`ValueError`: the caller asked for
something that cannot be computed as asked.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Mapping

import numpy as np

from nnbook.errors import UsageError

__all__ = ["finite_floats", "check_eta", "check_steps", "check_computation"]


def finite_floats(values: Any, name: str, length: int) -> tuple[float, ...]:
    """Return ``values`` as a tuple of ``length`` finite floats, or raise UsageError naming it.

    Bools and strings are refused like anything else that is not a real number (numpy would
    quietly turn ``True`` into 1.0 and ``"0.15"`` into 0.15): the same rule as for ``eta``.
    """
    try:
        raw = np.asarray(values, dtype=object).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} must be {length} real numbers, got {values!r}") from exc
    if any(isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) for x in raw):
        raise UsageError(f"{name} must be real numbers (not bools or strings), got {values!r}")
    if np.ndim(values) != 1 or len(raw) != length:
        raise UsageError(f"{name} must be a sequence of exactly {length} numbers, got {values!r}")
    try:
        items = [float(x) for x in raw]
    except OverflowError:  # an int beyond float64's range, such as 10**400
        items = [math.inf]
    if not all(math.isfinite(x) for x in items):
        raise UsageError(f"{name} must be finite (no nan or inf), got {values!r}")
    return tuple(items)


def check_eta(eta: Any) -> float:
    """``eta`` (the learning rate) as a float, finite and >= 0."""
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real):
        raise UsageError(f"eta (the learning rate) must be a real number, got {eta!r}")
    eta = float(eta)
    if not math.isfinite(eta) or eta < 0:
        raise UsageError(f"eta (the learning rate) must be finite and >= 0, got {eta!r}")
    return eta


def check_steps(steps: Any, name: str = "steps") -> int:
    """``steps`` (how many gradient-descent updates; the argument called ``name``) as an int >= 0."""
    # bool is an int subclass; True steps is surely a mistake
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise UsageError(f"{name} must be an integer, got {steps!r}")
    if steps < 0:
        raise UsageError(f"{name} must be >= 0, got {steps!r}")
    return int(steps)


def check_computation(compute: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
    """Run ``compute``; an overflow or a non-finite result becomes a UsageError saying why.

    Finite arguments can still be too large for float64 (a target of 1e200 squared, or
    inf - inf inside a layer); the caller should hear that, not get a silent NaN.
    """
    fix = ("the weights, inputs or targets are too large for float64 here "
           "(targets far outside [0, 1], or products of weights and inputs beyond ~1e150?)")
    try:
        values = compute()
    except OverflowError:
        raise UsageError(f"the computation overflows: {fix}") from None
    bad = [k for k, v in values.items() if not math.isfinite(float(v))]
    if bad:
        raise UsageError(f"{', '.join(bad)} is not finite: {fix}")
    return values
