"""Independent cross-checks of the hand formulas in :mod:`nnbook.tiny`.

Three referees that share nothing with the chain-rule code:

* torch autograd in float64, on a forward pass written again here with torch operations;
* central finite differences of E_total, which need no derivative at all;
* sympy, differentiating a symbolic E_total written again here, and simplifying
  (sympy's derivative - the hand formula) to exactly 0 for every weight.

torch and sympy are imported inside the functions, so ``import nnbook.tiny`` stays numpy-only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import pandas as pd

from nnbook.tiny import (CLASSIC, WEIGHT_NAMES, Weights, _backward_core, _finite_floats,
                         _forward_core, forward, gradients)

__all__ = [
    "autograd_gradients",
    "finite_difference_gradients",
    "symbolic_error",
    "symbolic_gradients",
    "hand_formula_residuals",
    "check_table",
    "slipped_dw7",
]


def _args(weights: Any, inputs: Any, targets: Any, biases: Any) -> tuple[tuple[float, ...], ...]:
    return (_finite_floats(weights, "weights", 8), _finite_floats(inputs, "inputs", 2),
            _finite_floats(targets, "targets", 2), _finite_floats(biases, "biases", 2))


def autograd_gradients(weights: Sequence[float] = CLASSIC.weights,
                       inputs: Sequence[float] = CLASSIC.inputs,
                       targets: Sequence[float] = CLASSIC.targets,
                       biases: Sequence[float] = CLASSIC.biases) -> tuple[float, Weights]:
    """(E_total, dE_total/dw1..dw8) from torch autograd in float64.

    The forward pass is written with matrices and ``torch.sigmoid``: no code shared with the
    hand formulas.
    """
    import torch

    w, x, t, b = _args(weights, inputs, targets, biases)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float64)
    tt = torch.tensor(t, dtype=torch.float64)
    a_h = torch.sigmoid(wt[:4].reshape(2, 2) @ xt + b[0])
    a_o = torch.sigmoid(wt[4:].reshape(2, 2) @ a_h + b[1])
    E_total = 0.5 * torch.sum((tt - a_o) ** 2)
    E_total.backward()
    assert wt.grad is not None
    return float(E_total.detach()), tuple(float(g) for g in wt.grad)  # type: ignore[return-value]


def finite_difference_gradients(weights: Sequence[float] = CLASSIC.weights,
                                inputs: Sequence[float] = CLASSIC.inputs,
                                targets: Sequence[float] = CLASSIC.targets,
                                biases: Sequence[float] = CLASSIC.biases,
                                h: float = 1e-6) -> Weights:
    """Central differences (E(w + h) - E(w - h)) / 2h for each weight, from the forward pass alone.

    The error is O(h^2) from truncation plus O(eps / h) from rounding; h = 1e-6 balances them at
    roughly 1e-10 for this network.
    """
    w, x, t, b = _args(weights, inputs, targets, biases)
    out = []
    for k in range(8):
        plus = list(w)
        minus = list(w)
        plus[k] += h
        minus[k] -= h
        e_plus = forward(plus, x, t, b).E_total
        e_minus = forward(minus, x, t, b).E_total
        out.append((e_plus - e_minus) / (2 * h))
    return tuple(out)  # type: ignore[return-value]


@lru_cache(maxsize=1)
def symbolic_error() -> tuple[Any, dict[str, Any]]:
    """(E_total as a sympy expression, its symbols by name: w1..w8, i1, i2, t1, t2, b1, b2).

    Written out here from the network's definition, with sigma(x) = 1 / (1 + exp(-x)).
    """
    import sympy as sp

    names = (*WEIGHT_NAMES, "i1", "i2", "t1", "t2", "b1", "b2")
    s = dict(zip(names, sp.symbols(names, real=True)))

    def sig(x: Any) -> Any:
        return 1 / (1 + sp.exp(-x))

    a_h1 = sig(s["w1"] * s["i1"] + s["w2"] * s["i2"] + s["b1"])
    a_h2 = sig(s["w3"] * s["i1"] + s["w4"] * s["i2"] + s["b1"])
    a_o1 = sig(s["w5"] * a_h1 + s["w6"] * a_h2 + s["b2"])
    a_o2 = sig(s["w7"] * a_h1 + s["w8"] * a_h2 + s["b2"])
    E_total = sp.Rational(1, 2) * ((s["t1"] - a_o1) ** 2 + (s["t2"] - a_o2) ** 2)
    return E_total, s


def symbolic_gradients(weights: Sequence[float] = CLASSIC.weights,
                       inputs: Sequence[float] = CLASSIC.inputs,
                       targets: Sequence[float] = CLASSIC.targets,
                       biases: Sequence[float] = CLASSIC.biases) -> Weights:
    """dE_total/dw1..dw8 from sympy's derivative of :func:`symbolic_error`, evaluated at a point.

    Evaluated with 30 significant digits, then rounded to float64.
    """
    import sympy as sp

    derivatives, s = _symbolic_derivatives()
    w, x, t, b = _args(weights, inputs, targets, biases)
    point = dict(zip((s[n] for n in (*WEIGHT_NAMES, "i1", "i2", "t1", "t2", "b1", "b2")),
                     (sp.Float(v, 30) for v in (*w, *x, *t, *b))))
    return tuple(float(d.evalf(30, subs=point)) for d in derivatives)  # type: ignore[return-value]


@lru_cache(maxsize=1)
def _symbolic_derivatives() -> tuple[tuple[Any, ...], dict[str, Any]]:
    import sympy as sp

    E_total, s = symbolic_error()
    return tuple(sp.diff(E_total, s[n]) for n in WEIGHT_NAMES), s


def hand_formula_residuals() -> dict[str, Any]:
    """For each weight, simplify(sympy's dE_total/dw - the hand formula): 0 when the formula is right.

    The hand formulas are the very code :func:`nnbook.tiny.gradients` runs, fed sympy symbols
    instead of floats, so this proves them for *every* input, weight and bias, not just at a point.
    """
    import sympy as sp

    E_total, s = symbolic_error()
    w = [s[n] for n in WEIGHT_NAMES]
    i1, i2, t1, t2, b1, b2 = (s[n] for n in ("i1", "i2", "t1", "t2", "b1", "b2"))

    def sig(x: Any) -> Any:
        return 1 / (1 + sp.exp(-x))

    f = _forward_core(w, i1, i2, t1, t2, sig, b1, b2)
    hand = _backward_core(w, i1, i2, t1, t2, f)
    out = {}
    for n in WEIGHT_NAMES:
        diff = sp.diff(E_total, s[n]) - hand[f"d{n}"]
        # rewriting in exp and cancelling the rational function is enough (and much faster than
        # a bare simplify): both sides are rational functions of the same exponentials
        out[n] = sp.simplify(sp.cancel(sp.together(diff)))
    return out


def check_table(weights: Sequence[float] = CLASSIC.weights,
                inputs: Sequence[float] = CLASSIC.inputs,
                targets: Sequence[float] = CLASSIC.targets,
                biases: Sequence[float] = CLASSIC.biases) -> pd.DataFrame:
    """Hand gradients next to autograd, finite differences and sympy, one row per weight.

    Columns: hand, autograd, finite difference, sympy, and the absolute difference of each check
    from the hand value.
    """
    hand = gradients(weights, inputs, targets, biases).dw
    refs = {
        "autograd": autograd_gradients(weights, inputs, targets, biases)[1],
        "finite difference": finite_difference_gradients(weights, inputs, targets, biases),
        "sympy": symbolic_gradients(weights, inputs, targets, biases),
    }
    table = pd.DataFrame({"hand": hand, **refs}, index=[f"dE/d{n}" for n in WEIGHT_NAMES])
    for name in refs:
        table[f"|hand - {name}|"] = (table["hand"] - table[name]).abs()
    return table


def slipped_dw7(weights: Sequence[float] = CLASSIC.weights,
                inputs: Sequence[float] = CLASSIC.inputs,
                targets: Sequence[float] = CLASSIC.targets,
                biases: Sequence[float] = CLASSIC.biases) -> float:
    """A *wrong* dE_total/dw7, for the derivation chapter: (a_o1 - t1) where (a_o2 - t2) belongs.

    w7 feeds o2 only, so its error factor must come from output 2. Borrowing output 1's error
    (an easy slip when copying the w5 line) gives a number of the wrong size and even the wrong
    sign here.
    """
    fw = forward(weights, inputs, targets, biases)
    t1 = _finite_floats(targets, "targets", 2)[0]
    return (fw.a_o1 - t1) * fw.a_o2 * (1 - fw.a_o2) * fw.a_h1
