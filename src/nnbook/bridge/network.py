"""The 2-2-2 network of Part 1 with a bias on every neuron, and a choice of output layer.

In matrix form (row j of a weight matrix holds the weights into neuron j)::

    h = W1 i + b_h      a_h = sigmoid(h)
    o = W2 a_h + b_o    output "sigmoid": a_o = sigmoid(o),  E = 1/2 sum (t - a_o)^2
                        output "softmax": p = softmax(o),    E = -sum t ln p

Backpropagation is Part 1's four lines plus one for each bias. A bias enters its neuron's net
input with coefficient 1, so its gradient is the neuron's delta, dE/db = delta; and only the
output deltas depend on the output layer:

    sigmoid + squared error:   delta_o = (a_o - t) * a_o * (1 - a_o)
    softmax + cross-entropy:   delta_o = p - t                (see :mod:`nnbook.bridge.softmax`)

Everything here is plain NumPy; :mod:`nnbook.bridge.checks` checks it against torch autograd,
finite differences and sympy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from nnbook.backprop.network import sigmoid  # Part 1's, overflow-free; arrays in, arrays out
from nnbook.backprop.validate import check_eta, check_steps
from nnbook.bridge._validate import finite_array
from nnbook.bridge.softmax import distribution, log_softmax, softmax
from nnbook.errors import UsageError

__all__ = [
    "PARAM_NAMES",
    "OUTPUTS",
    "Params",
    "CLASSIC",
    "CLASSIC_INPUTS",
    "CLASSIC_TARGETS",
    "Forward",
    "Gradients",
    "sigmoid",
    "forward",
    "gradients",
    "backward",
    "train",
]

Output = Literal["sigmoid", "softmax"]
#: the two output layers: sigmoid units with squared error, or a softmax with cross-entropy
OUTPUTS: tuple[str, ...] = ("sigmoid", "softmax")
#: the twelve parameters in a fixed order: Part 1's eight weights, then the four biases
PARAM_NAMES: tuple[str, ...] = (*(f"w{k}" for k in range(1, 9)), "b_h1", "b_h2", "b_o1", "b_o2")

#: the classic example's input and target
CLASSIC_INPUTS: tuple[float, float] = (0.05, 0.10)
CLASSIC_TARGETS: tuple[float, float] = (0.01, 0.99)


@dataclass(frozen=True)
class Params:
    """The network's twelve parameters: W1 and W2 (2x2, rows = the neuron fed), b_h and b_o."""

    W1: np.ndarray
    b_h: np.ndarray
    W2: np.ndarray
    b_o: np.ndarray

    def __post_init__(self) -> None:
        for name, shape in (("W1", (2, 2)), ("b_h", (2,)), ("W2", (2, 2)), ("b_o", (2,))):
            arr = finite_array(getattr(self, name), name, shape)
            arr.flags.writeable = False  # frozen means frozen: no one updates a weight in place
            object.__setattr__(self, name, arr)

    @classmethod
    def from_vector(cls, values: Any) -> "Params":
        """Build from (w1, ..., w8, b_h1, b_h2, b_o1, b_o2), the order of :data:`PARAM_NAMES`."""
        v = finite_array(values, "parameter vector", (12,))
        return cls(v[0:4].reshape(2, 2), v[8:10], v[4:8].reshape(2, 2), v[10:12])

    def vector(self) -> np.ndarray:
        """The twelve parameters in the order of :data:`PARAM_NAMES`."""
        return np.concatenate([self.W1.ravel(), self.W2.ravel(), self.b_h, self.b_o])

    def as_dict(self) -> dict[str, float]:
        """The parameters by name."""
        return dict(zip(PARAM_NAMES, map(float, self.vector())))


#: Part 1's weights with the biases of the widely circulated write-up, b1 = 0.35 into both hidden
#: neurons and b2 = 0.60 into both outputs; here each neuron gets its own copy, trained separately.
CLASSIC = Params.from_vector([0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, 0.35, 0.35, 0.60, 0.60])



@dataclass(frozen=True)
class Forward:
    """The forward pass: net inputs and activations of both layers, and the error E."""

    h: np.ndarray
    a_h: np.ndarray
    o: np.ndarray
    a_o: np.ndarray  #: the outputs: sigmoid activations, or the softmax probabilities p
    E: float


@dataclass(frozen=True)
class Gradients:
    """The deltas of both layers and dE/d of every parameter (same shapes as :class:`Params`)."""

    delta_o: np.ndarray
    delta_h: np.ndarray
    dW1: np.ndarray
    db_h: np.ndarray
    dW2: np.ndarray
    db_o: np.ndarray

    def vector(self) -> np.ndarray:
        """dE/d of the twelve parameters, in the order of :data:`PARAM_NAMES`."""
        return np.concatenate([self.dW1.ravel(), self.dW2.ravel(), self.db_h, self.db_o])


def _check_output(output: Any) -> Output:
    if output not in OUTPUTS:
        raise UsageError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    return output


def _example(inputs: Any, targets: Any, output: Output) -> tuple[np.ndarray, np.ndarray]:
    x = finite_array(inputs, "inputs", (2,))
    # the softmax's delta p - t is the loss's gradient only when the targets are a distribution
    return x, distribution(targets, 2) if output == "softmax" else finite_array(targets, "targets", (2,))


def forward(params: Params = CLASSIC, inputs: Any = CLASSIC_INPUTS, targets: Any = CLASSIC_TARGETS,
            output: Output = "sigmoid") -> Forward:
    """Run the network on one example. ``output`` picks the output layer and its loss."""
    output = _check_output(output)
    x, t = _example(inputs, targets, output)
    h = params.W1 @ x + params.b_h
    a_h = sigmoid(h)
    o = params.W2 @ a_h + params.b_o
    if output == "sigmoid":
        a_o = sigmoid(o)
        E = 0.5 * float(np.sum((t - a_o) ** 2))
    else:
        a_o = softmax(o)
        E = -float(np.sum(t * log_softmax(o)))  # from the scores: exact even where p rounds to 0
    return Forward(h, a_h, o, a_o, E)


def gradients(params: Params = CLASSIC, inputs: Any = CLASSIC_INPUTS, targets: Any = CLASSIC_TARGETS,
              output: Output = "sigmoid") -> Gradients:
    """Backpropagation by the hand formulas of the module docstring, for one example."""
    return backward(params, forward(params, inputs, targets, output), inputs, targets, output)


def backward(params: Params, fw: Forward, inputs: Any, targets: Any, output: Output = "sigmoid") -> Gradients:
    """The backward pass alone, from the forward pass ``fw`` of the same example (no second forward
    pass): ``inputs`` and ``targets`` are required, so a forward pass is never paired with the
    classic example's by default."""
    output = _check_output(output)
    x, t = _example(inputs, targets, output)
    if output == "sigmoid":
        delta_o = (fw.a_o - t) * fw.a_o * (1 - fw.a_o)
    else:
        delta_o = fw.a_o - t  # the softmax's slope and the logarithm's 1/p cancel
    delta_h = (params.W2.T @ delta_o) * fw.a_h * (1 - fw.a_h)
    # a bias is a weight on an input that is always 1: its gradient is delta * 1
    return Gradients(delta_o, delta_h, np.outer(delta_h, x), delta_h.copy(), np.outer(delta_o, fw.a_h),
                     delta_o.copy())


def train(params: Params = CLASSIC, eta: float = 0.5, n_steps: int = 100, inputs: Any = CLASSIC_INPUTS,
          targets: Any = CLASSIC_TARGETS, output: Output = "sigmoid", train_biases: bool = True) -> pd.DataFrame:
    """Gradient descent on one example; one row per iteration, as Part 1's spreadsheet.

    Row k holds the parameters after k steps, the outputs ``out1``, ``out2`` they give, the
    training loss ``E`` (squared error or cross-entropy, per ``output``) and ``squared_error``,
    1/2 sum (t - output)^2, which measures both output layers on one scale. With
    ``train_biases=False`` the biases stay where they start, as in the classic write-up.
    """
    eta, n_steps = check_eta(eta), check_steps(n_steps, "n_steps")  # Part 1's checks: numpy numbers are fine too
    output = _check_output(output)
    _, t = _example(inputs, targets, output)
    rows = []
    for k in range(n_steps + 1):
        fw = forward(params, inputs, targets, output)
        rows.append({"iteration": k, **params.as_dict(), "out1": float(fw.a_o[0]), "out2": float(fw.a_o[1]),
                     "E": fw.E, "squared_error": 0.5 * float(np.sum((t - fw.a_o) ** 2))})
        g = backward(params, fw, inputs, targets, output)
        step = g.vector() if train_biases else np.concatenate([g.vector()[:8], np.zeros(4)])
        params = Params.from_vector(params.vector() - eta * step)
    return pd.DataFrame(rows)
