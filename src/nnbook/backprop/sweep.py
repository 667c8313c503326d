"""What the learning rate does on one problem: train at many values of eta and compare the ends.

The training chapter uses this to show, rather than assert, how the error after a fixed number of
steps depends on eta: where it is best, whether any step ever raised the error, and where the
output sigmoids saturate so that the error freezes at :func:`saturated_error`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nnbook.backprop.network import forward, step
from nnbook.backprop.problem import CLASSIC, Problem, check_problem
from nnbook.backprop.validate import check_eta, check_steps
from nnbook.errors import UsageError

__all__ = ["SWEEP_COLUMNS", "eta_sweep", "saturated_error"]

#: the columns of :func:`eta_sweep`'s table
SWEEP_COLUMNS: tuple[str, ...] = ("E_final", "rose", "largest_rise", "largest_gradient")


def eta_sweep(problem: Problem = CLASSIC, etas: Sequence[float] = (0.5,), steps: int = 100) -> pd.DataFrame:
    """Train ``steps`` steps from ``problem``'s weights at each eta; one row per eta.

    Columns (:data:`SWEEP_COLUMNS`): ``E_final``, E_total after the last step; ``rose``, whether
    any single step increased E_total; ``largest_rise``, the largest change of E_total from one
    step to the next (negative when every step lowered it, 0 when the error froze); and
    ``largest_gradient``, the largest |dE_total/dw| met on the way. Index: eta, as given.
    """
    p0, steps = check_problem(problem), check_steps(steps)
    etas = [check_eta(eta) for eta in etas]
    if not etas:
        raise UsageError("etas must hold at least one learning rate")
    if steps == 0:
        raise UsageError("steps must be >= 1: a sweep with no step compares nothing")
    rows = []
    for eta in etas:
        p, errors, largest_gradient = p0, [], 0.0
        for _ in range(steps):
            s = step(p, eta)
            errors.append(s.forward.E_total)
            largest_gradient = max(largest_gradient, *(abs(g) for g in s.gradients.dw))
            p = p.with_weights(s.weights)
        errors.append(forward(p).E_total)
        changes = np.diff(errors)
        rows.append((errors[-1], bool((changes > 0).any()), float(changes.max()), largest_gradient))
    return pd.DataFrame(rows, columns=list(SWEEP_COLUMNS), index=pd.Index(etas, name="eta"))


def saturated_error(problem: Problem = CLASSIC) -> float:
    """E_total when both outputs sit at the ends of the sigmoid nearest their targets.

    An output pushed far enough towards 0 or 1 has slope a (1 - a) = 0 in float64, so training
    stops there; the error left is (1/2) * sum of min(t, 1 - t)^2 over the outputs.
    """
    t = check_problem(problem).targets
    if not all(0.0 <= tk <= 1.0 for tk in t):
        raise UsageError(f"targets must lie in [0, 1] for a sigmoid output to saturate towards them, got {t!r}")
    return 0.5 * sum(min(tk, 1.0 - tk) ** 2 for tk in t)
