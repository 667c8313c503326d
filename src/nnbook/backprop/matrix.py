"""The same network in matrix form: weight matrices, delta vectors, outer products.

Row j of a weight matrix holds the weights *into* neuron j, so a layer is ``z = W @ a + b``::

    W1 = [[w1, w2],      W2 = [[w5, w6],      b_h = [b1, b1]    b_o = [b2, b2]
          [w3, w4]]            [w7, w8]]

Backpropagation is then four lines (``*`` is the element-wise product)::

    delta_o = (a_o - t) * a_o * (1 - a_o)
    dE/dW2  = outer(delta_o, a_h)
    delta_h = (W2.T @ delta_o) * a_h * (1 - a_h)
    dE/dW1  = outer(delta_h, i)

which is what autograd frameworks do for every layer, whatever its size. The biases are fixed,
so they appear in the forward pass only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nnbook.backprop.network import sigmoid
from nnbook.backprop.problem import CLASSIC, Problem, Weights, check_problem
from nnbook.backprop.validate import check_computation, finite_floats
from nnbook.errors import UsageError

__all__ = [
    "to_matrices",
    "from_matrices",
    "MatrixForward",
    "MatrixGradients",
    "forward_matrix",
    "backward_matrix",
    "gradients_matrix",
    "latex",
    "equation",
]


def to_matrices(weights: Sequence[float] = CLASSIC.weights) -> tuple[np.ndarray, np.ndarray]:
    """(w1..w8) -> (W1, W2), each 2x2, row j = the weights into neuron j."""
    w = np.array(finite_floats(weights, "weights", 8), dtype=np.float64)
    return w[:4].reshape(2, 2), w[4:].reshape(2, 2)


def from_matrices(W1: np.ndarray, W2: np.ndarray) -> Weights:
    """(W1, W2) -> (w1..w8): the inverse of :func:`to_matrices` (row-major flattening)."""
    flat = np.concatenate([np.asarray(W1, np.float64).reshape(-1),
                           np.asarray(W2, np.float64).reshape(-1)])
    return finite_floats(flat, "weights", 8)  # type: ignore[return-value]


@dataclass(frozen=True)
class MatrixForward:
    """The forward pass as vectors: x = (i1, i2), h = W1 x + b_h, a_h, o = W2 a_h + b_o, a_o, E_total.

    It keeps the weight matrices it was made with, for the backward pass.
    """

    W1: np.ndarray
    W2: np.ndarray
    x: np.ndarray
    t: np.ndarray
    h: np.ndarray
    a_h: np.ndarray
    o: np.ndarray
    a_o: np.ndarray
    E_total: float


@dataclass(frozen=True)
class MatrixGradients:
    """delta vectors (dE/do, dE/dh) and weight-matrix gradients (same shapes as W1, W2)."""

    delta_o: np.ndarray
    delta_h: np.ndarray
    dW1: np.ndarray
    dW2: np.ndarray

    @property
    def dw(self) -> Weights:
        """(dE/dw1, ..., dE/dw8), to compare with the scalar formulas."""
        return from_matrices(self.dW1, self.dW2)


def forward_matrix(problem: Problem = CLASSIC) -> MatrixForward:
    """The forward pass with matrices: two matrix-vector products, two bias vectors, two sigmoids."""
    p = check_problem(problem)
    W1, W2 = to_matrices(p.weights)
    x, t = np.array(p.inputs), np.array(p.targets)
    b_h, b_o = np.full(2, p.biases[0]), np.full(2, p.biases[1])  # one bias per layer, shared
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, with the scalar form's words
        h = W1 @ x + b_h
        a_h = sigmoid(h)
        o = W2 @ a_h + b_o
        a_o = sigmoid(o)
        E_total = float(0.5 * np.sum((t - a_o) ** 2))
    check_computation(lambda: {"h1": h[0], "h2": h[1], "o1": o[0], "o2": o[1], "E_total": E_total})
    return MatrixForward(W1=W1, W2=W2, x=x, t=t, h=h, a_h=a_h, o=o, a_o=a_o, E_total=E_total)


def backward_matrix(fw: MatrixForward) -> MatrixGradients:
    """Backpropagate through a forward pass (W1 is not needed: no layer below it)."""
    delta_o = (fw.a_o - fw.t) * fw.a_o * (1 - fw.a_o)
    dW2 = np.outer(delta_o, fw.a_h)
    # W2.T sends each output's error back along the same edges, weighted by the same weights
    delta_h = (fw.W2.T @ delta_o) * fw.a_h * (1 - fw.a_h)
    dW1 = np.outer(delta_h, fw.x)
    return MatrixGradients(delta_o=delta_o, delta_h=delta_h, dW1=dW1, dW2=dW2)


def gradients_matrix(problem: Problem = CLASSIC) -> MatrixGradients:
    """Forward then backward in matrix form."""
    return backward_matrix(forward_matrix(problem))


def latex(value: float | np.ndarray, decimals: int = 9) -> str:
    """A number, vector or matrix as LaTeX, each entry with ``decimals`` decimals.

    A vector becomes a column (``pmatrix`` with one entry per row), as in the chapter's equations;
    a matrix keeps its rows and columns.
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 2 or arr.size == 0:
        raise UsageError(f"latex() takes a number, a vector or a matrix, got an array of shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise UsageError("latex() needs finite numbers")
    if arr.ndim == 0:
        return f"{float(arr):.{decimals}f}"
    rows = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    body = r" \\ ".join(" & ".join(f"{x:.{decimals}f}" for x in row) for row in rows)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def equation(named: Sequence[tuple[str, float | np.ndarray]], decimals: int = 9) -> str:
    """``name = value`` for each (LaTeX name, value) pair, side by side: one line of display math."""
    if not named:
        raise UsageError("equation() needs at least one (name, value) pair")
    return r", \qquad ".join(f"{name} = {latex(value, decimals)}" for name, value in named)
