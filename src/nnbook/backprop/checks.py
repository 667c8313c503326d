"""Independent cross-checks of the hand formulas in :mod:`nnbook.backprop.formulas`.

Three referees that share nothing with the chain-rule code:

* torch autograd in float64, on a forward pass written again here with torch matrices;
* central finite differences of E_total, which need no derivative at all;
* sympy, differentiating a symbolic E_total written again here (:func:`symbolic_forward`), and
  simplifying (sympy's derivative - the hand formula) to exactly 0 for every weight.

torch and sympy are imported inside the functions, so ``import nnbook.backprop.network`` stays
numpy-only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from nnbook.backprop.formulas import backward_formulas, forward_formulas
from nnbook.backprop.network import forward, gradients
from nnbook.backprop.problem import CLASSIC, FORWARD_NAMES, WEIGHT_NAMES, Problem, Weights, check_problem

__all__ = [
    "AGREEMENT",
    "FD_STEP",
    "torch_forward",
    "autograd_gradients",
    "finite_difference_gradients",
    "SYMBOL_NAMES",
    "symbols",
    "symbolic_forward",
    "symbolic_gradients",
    "simplified",
    "hand_formula_residuals",
    "check_table",
    "slipped_dw7",
]

#: how closely a recomputation outside Python must match this package: the interactive pages'
#: JavaScript and the workbook recalculated by LibreOffice (the tests hold them to it; the book quotes it)
AGREEMENT = 1e-9

#: the step h of the central finite differences (see :func:`finite_difference_gradients`)
FD_STEP = 1e-6

#: the sympy symbols' names: the weights, then i1, i2, t1, t2, b1, b2
SYMBOL_NAMES: tuple[str, ...] = (*WEIGHT_NAMES, "i1", "i2", "t1", "t2", "b1", "b2")


# ---------------------------------------------------------------------------------------------
# torch
# ---------------------------------------------------------------------------------------------

def _torch_pass(problem: Problem) -> tuple[Any, dict[str, Any]]:
    """(the weights as a tensor that records gradients, every forward quantity as a tensor)."""
    import torch

    p = check_problem(problem)
    w = torch.tensor(p.weights, dtype=torch.float64, requires_grad=True)
    x, t = (torch.tensor(v, dtype=torch.float64) for v in (p.inputs, p.targets))
    h = w[:4].reshape(2, 2) @ x + p.biases[0]
    a_h = torch.sigmoid(h)
    o = w[4:].reshape(2, 2) @ a_h + p.biases[1]
    a_o = torch.sigmoid(o)
    squared = (t - a_o) ** 2
    values = dict(h1=h[0], a_h1=a_h[0], h2=h[1], a_h2=a_h[1], o1=o[0], a_o1=a_o[0], o2=o[1],
                  a_o2=a_o[1], E1=0.5 * squared[0], E2=0.5 * squared[1], E_total=0.5 * torch.sum(squared))
    return w, values


def torch_forward(problem: Problem = CLASSIC) -> dict[str, float]:
    """The forward pass in torch (float64, matrices, ``torch.sigmoid``), by name as in ``Forward``."""
    _, values = _torch_pass(problem)
    return {name: float(values[name].detach()) for name in FORWARD_NAMES}


def autograd_gradients(problem: Problem = CLASSIC) -> tuple[float, Weights]:
    """(E_total, dE_total/dw1..dw8) from torch autograd in float64, on :func:`torch_forward`'s pass."""
    w, values = _torch_pass(problem)
    values["E_total"].backward()
    assert w.grad is not None
    return float(values["E_total"].detach()), tuple(float(g) for g in w.grad)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# finite differences
# ---------------------------------------------------------------------------------------------

def finite_difference_gradients(problem: Problem = CLASSIC, h: float = FD_STEP) -> Weights:
    """Central differences (E(w + h) - E(w - h)) / 2h for each weight, from the forward pass alone.

    The error is O(h^2) from truncation plus O(eps / h) from rounding; h = 1e-6 balances them at
    roughly 1e-10 for this network.
    """
    p = check_problem(problem)
    out = []
    for k in range(8):
        plus, minus = list(p.weights), list(p.weights)
        plus[k] += h
        minus[k] -= h
        e_plus = forward(p.with_weights(plus)).E_total
        e_minus = forward(p.with_weights(minus)).E_total
        out.append((e_plus - e_minus) / (2 * h))
    return tuple(out)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# sympy
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def symbols() -> dict[str, Any]:
    """The real sympy symbols w1..w8, i1, i2, t1, t2, b1, b2, by name."""
    import sympy as sp

    return dict(zip(SYMBOL_NAMES, sp.symbols(SYMBOL_NAMES, real=True)))


def _sympy_sigmoid(x: Any) -> Any:
    import sympy as sp

    return 1 / (1 + sp.exp(-x))


@lru_cache(maxsize=1)
def symbolic_forward() -> dict[str, Any]:
    """The activations and E_total as sympy expressions in :func:`symbols`.

    Written out here from the network's definition, with sigma(x) = 1 / (1 + exp(-x)), sharing
    nothing with the hand formulas.
    """
    import sympy as sp

    s, sig = symbols(), _sympy_sigmoid
    a_h1 = sig(s["w1"] * s["i1"] + s["w2"] * s["i2"] + s["b1"])
    a_h2 = sig(s["w3"] * s["i1"] + s["w4"] * s["i2"] + s["b1"])
    a_o1 = sig(s["w5"] * a_h1 + s["w6"] * a_h2 + s["b2"])
    a_o2 = sig(s["w7"] * a_h1 + s["w8"] * a_h2 + s["b2"])
    E_total = sp.Rational(1, 2) * ((s["t1"] - a_o1) ** 2 + (s["t2"] - a_o2) ** 2)
    return dict(a_h1=a_h1, a_h2=a_h2, a_o1=a_o1, a_o2=a_o2, E_total=E_total)


@lru_cache(maxsize=1)
def _symbolic_derivatives() -> tuple[Any, ...]:
    import sympy as sp

    E_total, s = symbolic_forward()["E_total"], symbols()
    return tuple(sp.diff(E_total, s[n]) for n in WEIGHT_NAMES)


def symbolic_gradients(problem: Problem = CLASSIC) -> Weights:
    """dE_total/dw1..dw8 from sympy's derivative of :func:`symbolic_forward`, evaluated at a point.

    Evaluated with 30 significant digits, then rounded to float64.
    """
    import sympy as sp

    p = check_problem(problem)
    values = (*p.weights, *p.inputs, *p.targets, *p.biases)  # in the order of SYMBOL_NAMES
    point = {symbols()[n]: sp.Float(v, 30) for n, v in zip(SYMBOL_NAMES, values)}
    return tuple(float(d.evalf(30, subs=point)) for d in _symbolic_derivatives())  # type: ignore[return-value]


def simplified(expression: Any) -> Any:
    """``expression`` simplified: 0 exactly when it is zero for every value of the symbols."""
    import sympy as sp

    # rewriting as one fraction and cancelling is enough (and much faster than a bare simplify):
    # the expressions here are rational functions of the same exponentials
    return sp.simplify(sp.cancel(sp.together(expression)))


def hand_formula_residuals() -> dict[str, Any]:
    """For each weight, simplified(sympy's dE_total/dw - the hand formula): 0 when the formula is right.

    The hand formulas are the very code :func:`nnbook.backprop.network.gradients` runs, fed sympy
    symbols instead of floats, so this proves them for *every* input, weight and bias, not just at
    a point.
    """
    s = symbols()
    w, x, t, b = ([s[n] for n in names] for names in
                  (WEIGHT_NAMES, ("i1", "i2"), ("t1", "t2"), ("b1", "b2")))
    hand = backward_formulas(w, x, t, forward_formulas(w, x, t, b, _sympy_sigmoid))
    return {n: simplified(d - hand[f"d{n}"]) for n, d in zip(WEIGHT_NAMES, _symbolic_derivatives())}


# ---------------------------------------------------------------------------------------------
# for the chapters
# ---------------------------------------------------------------------------------------------

def check_table(problem: Problem = CLASSIC) -> pd.DataFrame:
    """Hand gradients next to autograd, finite differences and sympy, one row per weight.

    Columns: hand, autograd, finite difference, sympy, and the absolute difference of each check
    from the hand value.
    """
    refs = {
        "autograd": autograd_gradients(problem)[1],
        "finite difference": finite_difference_gradients(problem),
        "sympy": symbolic_gradients(problem),
    }
    table = pd.DataFrame({"hand": gradients(problem).dw, **refs}, index=[f"dE/d{n}" for n in WEIGHT_NAMES])
    for name in refs:
        table[f"|hand - {name}|"] = (table["hand"] - table[name]).abs()
    return table


def slipped_dw7(problem: Problem = CLASSIC) -> float:
    """A *wrong* dE_total/dw7, for the derivation chapter: (a_o1 - t1) where (a_o2 - t2) belongs.

    w7 feeds o2 only, so its error factor must come from output 2. Borrowing output 1's error
    (an easy slip when copying the w5 line) gives a number of the wrong size and even the wrong
    sign here.
    """
    fw = forward(problem)
    return (fw.a_o1 - problem.targets[0]) * fw.a_o2 * (1 - fw.a_o2) * fw.a_h1
