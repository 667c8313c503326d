"""The classic 2-2-2 network of Part 1, by hand: forward pass, chain-rule gradients, training.

Everything is plain float64 arithmetic on named scalars, so each line reads like the equation in
the chapter. The network (no biases)::

    h1 = w1*i1 + w2*i2    h2 = w3*i1 + w4*i2    a_h = sigmoid(h)
    o1 = w5*a_h1 + w6*a_h2    o2 = w7*a_h1 + w8*a_h2    a_o = sigmoid(o)
    E1 = (t1 - a_o1)**2 / 2    E2 = (t2 - a_o2)**2 / 2    E_total = E1 + E2

The widely circulated write-up of this exercise also adds two fixed (never trained) biases, b1 to
h1 and h2 and b2 to o1 and o2, with b1 = 0.35 and b2 = 0.60. The book leaves them out (biases
default to 0); ``biases=(0.35, 0.60)`` (:data:`CLASSIC_WITH_BIASES`) reproduces its numbers.

The formulas live in two private "core" functions that use only ``+ - *`` and a sigmoid passed in,
so :mod:`nnbook.checks` can run the very same hand formulas on sympy symbols.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "WEIGHT_NAMES",
    "FORWARD_NAMES",
    "GRADIENT_NAMES",
    "TABLE_COLUMNS",
    "Problem",
    "CLASSIC",
    "CLASSIC_WITH_BIASES",
    "Forward",
    "Gradients",
    "sigmoid",
    "forward",
    "gradients",
    "step",
    "train",
]

WEIGHT_NAMES: tuple[str, ...] = tuple(f"w{k}" for k in range(1, 9))
FORWARD_NAMES: tuple[str, ...] = (
    "h1", "a_h1", "h2", "a_h2", "o1", "a_o1", "o2", "a_o2", "E1", "E2", "E_total",
)
GRADIENT_NAMES: tuple[str, ...] = tuple(f"dE/d{w}" for w in WEIGHT_NAMES)
#: The spreadsheet's columns, in order (also the column order of :func:`train`).
TABLE_COLUMNS: tuple[str, ...] = ("iteration", *WEIGHT_NAMES, *FORWARD_NAMES, *GRADIENT_NAMES)

Weights = tuple[float, float, float, float, float, float, float, float]
Pair = tuple[float, float]


# ---------------------------------------------------------------------------------------------
# validation: every public function checks its arguments and names the bad one
# ---------------------------------------------------------------------------------------------

def _finite_floats(values: Any, name: str, length: int) -> tuple[float, ...]:
    """Return ``values`` as a tuple of ``length`` finite floats, or raise ValueError naming it.

    Bools and strings are refused like anything else that is not a real number (numpy would
    quietly turn ``True`` into 1.0 and ``"0.15"`` into 0.15): the same rule as for ``eta``.
    """
    try:
        raw = np.asarray(values, dtype=object).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {length} real numbers, got {values!r}") from exc
    if any(isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) for x in raw):
        raise ValueError(f"{name} must be real numbers (not bools or strings), got {values!r}")
    try:
        items = list(np.asarray(values, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {length} real numbers, got {values!r}") from exc
    if np.ndim(values) != 1 or len(items) != length:
        raise ValueError(f"{name} must be a sequence of exactly {length} numbers, got {values!r}")
    if not all(math.isfinite(x) for x in items):
        raise ValueError(f"{name} must be finite (no nan or inf), got {values!r}")
    return tuple(float(x) for x in items)


def _check_eta(eta: Any) -> float:
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real):
        raise ValueError(f"eta (the learning rate) must be a real number, got {eta!r}")
    eta = float(eta)
    if not math.isfinite(eta) or eta < 0:
        raise ValueError(f"eta (the learning rate) must be finite and >= 0, got {eta!r}")
    return eta


def _check_n_steps(n_steps: Any) -> int:
    # bool is an int subclass; True steps is surely a mistake
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral):
        raise ValueError(f"n_steps must be an integer, got {n_steps!r}")
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps!r}")
    return int(n_steps)


# ---------------------------------------------------------------------------------------------
# the problem
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One training example, the starting weights and a learning rate.

    The defaults are the classic exercise: inputs (0.05, 0.10), targets (0.01, 0.99),
    weights w1..w8 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, eta = 0.5
    and no biases.
    """

    inputs: Pair = (0.05, 0.10)
    targets: Pair = (0.01, 0.99)
    weights: Weights = (0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55)
    eta: float = 0.5
    biases: Pair = (0.0, 0.0)

    def __post_init__(self) -> None:
        # frozen: normalise through object.__setattr__ once, so every later use is validated
        object.__setattr__(self, "inputs", _finite_floats(self.inputs, "inputs", 2))
        object.__setattr__(self, "targets", _finite_floats(self.targets, "targets", 2))
        object.__setattr__(self, "weights", _finite_floats(self.weights, "weights", 8))
        object.__setattr__(self, "eta", _check_eta(self.eta))
        object.__setattr__(self, "biases", _finite_floats(self.biases, "biases", 2))


#: The classic exercise.
CLASSIC = Problem()
#: The classic exercise as it is usually published: fixed biases b1 = 0.35, b2 = 0.60.
CLASSIC_WITH_BIASES = Problem(biases=(0.35, 0.60))


# ---------------------------------------------------------------------------------------------
# the activation
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# the formulas (generic over the number type; see the module docstring)
# ---------------------------------------------------------------------------------------------

def _forward_core(w: Sequence[Any], i1: Any, i2: Any, t1: Any, t2: Any,
                  sig: Callable[[Any], Any], b1: Any = 0, b2: Any = 0) -> dict[str, Any]:
    w1, w2, w3, w4, w5, w6, w7, w8 = w
    h1 = w1 * i1 + w2 * i2 + b1
    h2 = w3 * i1 + w4 * i2 + b1
    a_h1, a_h2 = sig(h1), sig(h2)
    o1 = w5 * a_h1 + w6 * a_h2 + b2
    o2 = w7 * a_h1 + w8 * a_h2 + b2
    a_o1, a_o2 = sig(o1), sig(o2)
    E1 = (t1 - a_o1) ** 2 / 2
    E2 = (t2 - a_o2) ** 2 / 2
    return dict(h1=h1, a_h1=a_h1, h2=h2, a_h2=a_h2, o1=o1, a_o1=a_o1, o2=o2, a_o2=a_o2,
                E1=E1, E2=E2, E_total=E1 + E2)


def _backward_core(w: Sequence[Any], i1: Any, i2: Any, t1: Any, t2: Any,
                   f: dict[str, Any]) -> dict[str, Any]:
    """The hand (scalar chain-rule) formulas, factor by factor, as the derivation chapter shows."""
    _, _, _, _, w5, w6, w7, w8 = w
    a_h1, a_h2, a_o1, a_o2 = f["a_h1"], f["a_h2"], f["a_o1"], f["a_o2"]
    # output layer: dE/dw = dE/da_o * da_o/do * do/dw; E2 does not depend on o1 and E1 not on o2
    dE1_da_o1 = a_o1 - t1
    dE2_da_o2 = a_o2 - t2
    da_o1_do1 = a_o1 * (1 - a_o1)          # sigma'(x) = sigma(x) (1 - sigma(x))
    da_o2_do2 = a_o2 * (1 - a_o2)
    delta_o1 = dE1_da_o1 * da_o1_do1       # dE_total/do1
    delta_o2 = dE2_da_o2 * da_o2_do2       # dE_total/do2
    # hidden layer: a_h1 feeds both o1 (through w5) and o2 (through w7), so two paths add up
    dE1_da_h1 = delta_o1 * w5
    dE2_da_h1 = delta_o2 * w7
    dE1_da_h2 = delta_o1 * w6
    dE2_da_h2 = delta_o2 * w8
    dE_da_h1 = dE1_da_h1 + dE2_da_h1
    dE_da_h2 = dE1_da_h2 + dE2_da_h2
    da_h1_dh1 = a_h1 * (1 - a_h1)
    da_h2_dh2 = a_h2 * (1 - a_h2)
    delta_h1 = dE_da_h1 * da_h1_dh1        # dE_total/dh1
    delta_h2 = dE_da_h2 * da_h2_dh2        # dE_total/dh2
    return dict(
        dE1_da_o1=dE1_da_o1, da_o1_do1=da_o1_do1, delta_o1=delta_o1,
        dE2_da_o2=dE2_da_o2, da_o2_do2=da_o2_do2, delta_o2=delta_o2,
        dE1_da_h1=dE1_da_h1, dE2_da_h1=dE2_da_h1, dE_da_h1=dE_da_h1,
        dE1_da_h2=dE1_da_h2, dE2_da_h2=dE2_da_h2, dE_da_h2=dE_da_h2,
        da_h1_dh1=da_h1_dh1, da_h2_dh2=da_h2_dh2, delta_h1=delta_h1, delta_h2=delta_h2,
        dw1=delta_h1 * i1, dw2=delta_h1 * i2, dw3=delta_h2 * i1, dw4=delta_h2 * i2,
        dw5=delta_o1 * a_h1, dw6=delta_o1 * a_h2, dw7=delta_o2 * a_h1, dw8=delta_o2 * a_h2,
    )


# ---------------------------------------------------------------------------------------------
# typed results
# ---------------------------------------------------------------------------------------------

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
        return asdict(self)


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
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------

def _validated(weights: Any, inputs: Any, targets: Any,
               biases: Any) -> tuple[Weights, Pair, Pair, Pair]:
    return (_finite_floats(weights, "weights", 8),  # type: ignore[return-value]
            _finite_floats(inputs, "inputs", 2),
            _finite_floats(targets, "targets", 2),
            _finite_floats(biases, "biases", 2))


def _checked(compute: Any) -> dict[str, Any]:
    """Run a pass; an overflow or a non-finite result becomes a ValueError naming the arguments."""
    fix = ("the weights, inputs or targets are too large for float64 here "
           "(targets far outside [0, 1], or products of weights and inputs beyond ~1e150?)")
    try:
        values = compute()
    except OverflowError:
        raise ValueError(f"the computation overflows: {fix}") from None
    bad = [k for k, v in values.items() if not math.isfinite(float(v))]
    if bad:
        raise ValueError(f"{', '.join(bad)} is not finite: {fix}")
    return values


def forward(weights: Sequence[float] = CLASSIC.weights,
            inputs: Sequence[float] = CLASSIC.inputs,
            targets: Sequence[float] = CLASSIC.targets,
            biases: Sequence[float] = CLASSIC.biases) -> Forward:
    """Run the forward pass and return every intermediate quantity.

    ``weights`` is (w1, ..., w8); ``inputs`` is (i1, i2); ``targets`` is (t1, t2); ``biases`` is
    (b1, b2), zero in the book. Raises ValueError (naming the argument) for a wrong length or a
    non-finite value.
    """
    w, (i1, i2), (t1, t2), (b1, b2) = _validated(weights, inputs, targets, biases)
    values = _checked(lambda: _forward_core(w, i1, i2, t1, t2, sigmoid, b1, b2))
    return Forward(**{k: float(v) for k, v in values.items()})


def gradients(weights: Sequence[float] = CLASSIC.weights,
              inputs: Sequence[float] = CLASSIC.inputs,
              targets: Sequence[float] = CLASSIC.targets,
              biases: Sequence[float] = CLASSIC.biases) -> Gradients:
    """dE_total/dw1..dw8 by the hand chain-rule formulas, with every intermediate factor.

    Arguments as for :func:`forward`.
    """
    w, (i1, i2), (t1, t2), (b1, b2) = _validated(weights, inputs, targets, biases)
    f = _checked(lambda: _forward_core(w, i1, i2, t1, t2, sigmoid, b1, b2))
    values = _checked(lambda: _backward_core(w, i1, i2, t1, t2, f))
    return Gradients(**{k: float(v) for k, v in values.items()})


def step(weights: Sequence[float] = CLASSIC.weights,
         eta: float = CLASSIC.eta,
         inputs: Sequence[float] = CLASSIC.inputs,
         targets: Sequence[float] = CLASSIC.targets,
         biases: Sequence[float] = CLASSIC.biases) -> Weights:
    """One step of gradient descent: every weight w <- w - eta * dE_total/dw, all at once.

    "All at once": the hidden-layer gradients use the old w5..w8, not the freshly updated ones.
    The biases stay fixed.
    """
    eta = _check_eta(eta)
    g = gradients(weights, inputs, targets, biases).dw
    w = _finite_floats(weights, "weights", 8)
    new = tuple(wk - eta * gk for wk, gk in zip(w, g))
    if not all(math.isfinite(x) for x in new):
        raise ValueError(f"eta {eta!r} times the gradients overflows the weights; use a smaller eta")
    return new  # type: ignore[return-value]


def train(weights: Sequence[float] = CLASSIC.weights,
          eta: float = CLASSIC.eta,
          n_steps: int = 100,
          inputs: Sequence[float] = CLASSIC.inputs,
          targets: Sequence[float] = CLASSIC.targets,
          biases: Sequence[float] = CLASSIC.biases) -> pd.DataFrame:
    """Train for ``n_steps`` steps and return "the spreadsheet": one row per iteration.

    Row k holds the weights at iteration k (row 0: the starting weights), the forward pass with
    them and the gradients at them; row k+1's weights are row k's minus eta times row k's
    gradients. So there are ``n_steps + 1`` rows, and the last row's ``E_total`` is the error after
    ``n_steps`` updates. Columns: :data:`TABLE_COLUMNS`.
    """
    eta = _check_eta(eta)
    n_steps = _check_n_steps(n_steps)
    w, x, t, b = _validated(weights, inputs, targets, biases)
    rows = []
    for k in range(n_steps + 1):
        fw = forward(w, x, t, b)
        g = gradients(w, x, t, b).dw
        rows.append((k, *w, *fw.as_dict().values(), *g))
        w = tuple(wk - eta * gk for wk, gk in zip(w, g))  # type: ignore[assignment]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table["iteration"] = table["iteration"].astype("int64")
    return table
