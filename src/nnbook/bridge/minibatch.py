"""Minibatches: the gradient of the mean loss over a batch is the mean of the per-example gradients.

Differentiation is linear, so for L = (1/B) sum_n l_n, the mean of the examples' own losses l_n,
the gradient is (1/B) sum_n dl_n/dtheta.
Two ways to compute it, which must agree: :func:`per_example_gradients` runs Part 1's
backpropagation once per example and :func:`mean_gradient` averages the rows; :func:`batch_gradients`
does the whole batch at once with matrices, one example per column, as a library does, where the
outer product of Part 1 becomes a matrix product that sums over the examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nnbook.bridge import network
from nnbook.bridge._validate import finite_array
from nnbook.bridge.network import PARAM_NAMES, Gradients, Params, sigmoid
from nnbook.errors import UsageError

__all__ = ["BATCH_INPUTS", "BATCH_TARGETS", "per_example_gradients", "mean_gradient", "gradient_table",
           "BatchGradients", "batch_gradients"]

#: a batch of four examples, one per row: the classic example first, then three more
BATCH_INPUTS: np.ndarray = np.array([[0.05, 0.10], [0.90, 0.20], [0.40, 0.70], [0.60, 0.60]])
BATCH_TARGETS: np.ndarray = np.array([[0.01, 0.99], [0.99, 0.01], [0.50, 0.50], [0.20, 0.80]])
BATCH_INPUTS.flags.writeable = BATCH_TARGETS.flags.writeable = False


def _batch(inputs: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    X = finite_array(inputs, "inputs (one example per row)", (None, 2))
    T = finite_array(targets, "targets (one example per row)", (X.shape[0], 2))
    if X.shape[0] == 0:
        raise UsageError("a batch needs at least one example")
    return X, T


def per_example_gradients(params: Params, inputs: Any = BATCH_INPUTS, targets: Any = BATCH_TARGETS,
                          output: str = "sigmoid") -> pd.DataFrame:
    """One row per example: its own loss l_n (column "loss") and dl_n/d of the twelve parameters,
    by backpropagation."""
    X, T = _batch(inputs, targets)
    rows = []
    for x, t in zip(X, T):
        fw = network.forward(params, x, t, output)  # one forward pass per example, for its loss and its gradient
        rows.append({"loss": fw.E, **dict(zip(PARAM_NAMES, network.backward(params, fw, x, t, output).vector()))})
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="example"))


def mean_gradient(per_example: pd.DataFrame) -> pd.Series:
    """The mean over the examples (rows) of :func:`per_example_gradients`: the batch's gradient."""
    return per_example.mean(axis=0)


def gradient_table(per_example: pd.DataFrame) -> pd.DataFrame:
    """:func:`per_example_gradients` turned on its side, one column per example, with their mean
    as a last column named "mean" (rows: loss, then the parameters)."""
    table = per_example.T.copy()
    table.columns = [str(c) for c in table.columns]
    table["mean"] = mean_gradient(per_example)
    return table


@dataclass(frozen=True)
class BatchGradients(Gradients):
    """:class:`Gradients` of the mean loss over a batch, its deltas 2 x B (one column per example)."""

    loss: float


def batch_gradients(params: Params, inputs: Any = BATCH_INPUTS, targets: Any = BATCH_TARGETS,
                    output: str = "sigmoid") -> BatchGradients:
    """The mean loss and its gradient for the whole batch at once (sigmoid + squared error only).

    With X = the inputs as columns (2 x B): H = W1 X + b_h, the deltas become 2 x B matrices, and
    dW2 = Delta_o A_h^T / B sums the B outer products delta_n a_h,n^T in one matrix product; a
    bias's gradient is the mean of its row of deltas.
    """
    if output != "sigmoid":
        raise UsageError("batch_gradients writes out the sigmoid + squared-error network only")
    X, T = (m.T for m in _batch(inputs, targets))
    B = X.shape[1]
    A_h = sigmoid(params.W1 @ X + params.b_h[:, None])
    A_o = sigmoid(params.W2 @ A_h + params.b_o[:, None])
    loss = 0.5 * float(np.sum((T - A_o) ** 2)) / B
    Delta_o = (A_o - T) * A_o * (1 - A_o) / B  # the 1/B of the mean, carried by every delta
    Delta_h = (params.W2.T @ Delta_o) * A_h * (1 - A_h)
    return BatchGradients(delta_o=Delta_o, delta_h=Delta_h, dW1=Delta_h @ X.T, db_h=Delta_h.sum(axis=1),
                          dW2=Delta_o @ A_h.T, db_o=Delta_o.sum(axis=1), loss=loss)
