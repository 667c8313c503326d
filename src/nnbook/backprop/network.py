"""The classic 2-2-2 network of Part 1, by hand: forward pass, chain-rule gradients, training.

Everything is plain float64 arithmetic on named scalars: :mod:`nnbook.backprop.formulas` holds
the equations, this module runs them on a :class:`~nnbook.backprop.problem.Problem`::

    fw = forward(problem)                # h1, a_h1, ..., E_total
    g = gradients(problem)               # dE_total/dw1..dw8 and every chain-rule factor
    s = step(problem, eta)               # one update: s.weights = weights - eta * g.dw
    table = train(problem, eta, steps)   # "the spreadsheet": one row per iteration

Each step makes exactly one forward pass (its backward pass reuses the activations), and every
forward pass evaluates :func:`sigmoid` four times, once per neuron.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnbook.backprop.formulas import backward_formulas, forward_formulas
from nnbook.backprop.problem import (CLASSIC, CLASSIC_ETA, FORWARD_NAMES, GRADIENT_NAMES, WEIGHT_NAMES,
                                     Problem, Weights, check_problem)
from nnbook.backprop.validate import check_computation, check_eta, check_steps
from nnbook.errors import UsageError

__all__ = [
    "TABLE_COLUMNS",
    "Forward",
    "Gradients",
    "Step",
    "sigmoid",
    "forward",
    "backward",
    "gradients",
    "step",
    "train",
]

#: The spreadsheet's columns, in order (also the column order of :func:`train`).
TABLE_COLUMNS: tuple[str, ...] = ("iteration", *WEIGHT_NAMES, *FORWARD_NAMES, *GRADIENT_NAMES)


def sigmoid(x: float | np.ndarray) -> float | np.ndarray:
    """The logistic function 1 / (1 + e^-x), without overflow for any finite or infinite x.

    ``exp(-x)`` overflows for x below about -709, so only ever exponentiate ``-|x|`` (which lies
    in (0, 1]) and use sigma(x) = e^x / (1 + e^x) on the negative side. A float in gives a float
    out; an array in gives an array out.
    """
    arr = np.asarray(x, dtype=np.float64)
    z = np.exp(-np.abs(arr))
    out = np.where(arr >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Forward:
    """Every quantity of the forward pass (float64 values as Python floats)."""

    h1: float
    a_h1: float
    h2: float
    a_h2: float
    o1: float
    a_o1: float
    o2: float
    a_o2: float
    E1: float
    E2: float
    E_total: float

    def as_dict(self) -> dict[str, float]:
        """The quantities by name, in the order of the forward pass."""
        return dict(vars(self))  # flat floats: dataclasses.asdict's recursive deep copy costs every step


@dataclass(frozen=True)
class Gradients:
    """dE_total/dw1..dw8 and the chain-rule factors they are built from.

    Naming: ``dE1_da_o1`` is dE1/da_o1, ``da_o1_do1`` is da_o1/do1, ``delta_o1`` is dE_total/do1,
    ``dE1_da_h1`` and ``dE2_da_h1`` are the two paths of dE_total/da_h1 (through o1 and through
    o2), ``delta_h1`` is dE_total/dh1, and ``dw5`` is dE_total/dw5.
    """

    dE1_da_o1: float
    da_o1_do1: float
    delta_o1: float
    dE2_da_o2: float
    da_o2_do2: float
    delta_o2: float
    dE1_da_h1: float
    dE2_da_h1: float
    dE_da_h1: float
    dE1_da_h2: float
    dE2_da_h2: float
    dE_da_h2: float
    da_h1_dh1: float
    da_h2_dh2: float
    delta_h1: float
    delta_h2: float
    dw1: float
    dw2: float
    dw3: float
    dw4: float
    dw5: float
    dw6: float
    dw7: float
    dw8: float

    @property
    def dw(self) -> Weights:
        """(dE/dw1, ..., dE/dw8) in weight order."""
        return tuple(getattr(self, f"dw{k}") for k in range(1, 9))  # type: ignore[return-value]

    def as_dict(self) -> dict[str, float]:
        """Every factor by name."""
        return dict(vars(self))


@dataclass(frozen=True)
class Step:
    """One step of gradient descent: the forward pass and gradients at the old weights, and the new weights."""

    forward: Forward
    gradients: Gradients
    weights: Weights


def forward(problem: Problem = CLASSIC) -> Forward:
    """Run the forward pass and return every intermediate quantity.

    Raises UsageError (a ValueError) when the numbers are too large for float64.
    """
    p = check_problem(problem)
    # sigmoid is looked up at call time: every forward pass goes through the public function
    values = check_computation(lambda: forward_formulas(p.weights, p.inputs, p.targets, p.biases, sigmoid))
    return Forward(**{k: float(v) for k, v in values.items()})


def backward(problem: Problem, fw: Forward) -> Gradients:
    """The chain-rule gradients from a forward pass already made with ``problem`` (none is repeated)."""
    p = check_problem(problem)
    values = check_computation(lambda: backward_formulas(p.weights, p.inputs, p.targets, fw.as_dict()))
    return Gradients(**{k: float(v) for k, v in values.items()})


def gradients(problem: Problem = CLASSIC) -> Gradients:
    """dE_total/dw1..dw8 by the hand chain-rule formulas, with every intermediate factor."""
    return backward(problem, forward(problem))


def step(problem: Problem = CLASSIC, eta: float = CLASSIC_ETA) -> Step:
    """One step of gradient descent: every weight w <- w - eta * dE_total/dw, all at once.

    "All at once": the hidden-layer gradients use the old w5..w8, not the freshly updated ones.
    The biases stay fixed. One forward pass.
    """
    p, eta = check_problem(problem), check_eta(eta)
    fw = forward(p)
    g = backward(p, fw)
    new = tuple(wk - eta * gk for wk, gk in zip(p.weights, g.dw))
    if not all(math.isfinite(x) for x in new):
        raise UsageError(f"eta {eta!r} times the gradients overflows the weights; use a smaller eta")
    return Step(forward=fw, gradients=g, weights=new)  # type: ignore[arg-type]


def train(problem: Problem = CLASSIC, eta: float = CLASSIC_ETA, steps: int = 100) -> pd.DataFrame:
    """Train for ``steps`` steps and return "the spreadsheet": one row per iteration.

    Row k holds the weights at iteration k (row 0: the starting weights), the forward pass with
    them and the gradients at them; row k+1's weights are row k's minus eta times row k's
    gradients. So there are ``steps + 1`` rows, and the last row's ``E_total`` is the error after
    ``steps`` updates. Columns: :data:`TABLE_COLUMNS`. ``steps + 1`` forward passes in all.
    """
    p, eta, steps = check_problem(problem), check_eta(eta), check_steps(steps)
    rows = []
    for k in range(steps):
        s = step(p, eta)
        rows.append((k, *p.weights, *s.forward.as_dict().values(), *s.gradients.dw))
        p = p.with_weights(s.weights)
    fw = forward(p)  # the last row: the trained weights, with no update after them
    rows.append((steps, *p.weights, *fw.as_dict().values(), *backward(p, fw).dw))
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table["iteration"] = table["iteration"].astype("int64")
    return table
