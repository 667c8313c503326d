"""Referees for the bridge's hand computations, sharing no code with them.

* torch autograd in float64, on forward passes written again here with torch operations
  (``torch.softmax``, ``F.conv2d``, ``F.max_pool2d``, ``F.relu``);
* central finite differences, which need only the forward pass;
* sympy: the network's error written again as a symbolic expression, differentiated exactly.

torch and sympy are imported inside the functions, so the hand modules stay NumPy-only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd

from nnbook.backprop.checks import FD_STEP
from nnbook.bridge import network
from nnbook.bridge.network import CLASSIC, CLASSIC_INPUTS, CLASSIC_TARGETS, PARAM_NAMES, Params

__all__ = [
    "autograd_network",
    "finite_differences",
    "sympy_network",
    "network_check_table",
    "symbolic_bias_residuals",
    "symbolic_softmax_residuals",
    "autograd_batch",
    "autograd_conv",
    "autograd_relu_pool",
]


def autograd_network(params: Params = CLASSIC, inputs: Any = CLASSIC_INPUTS, targets: Any = CLASSIC_TARGETS,
                     output: str = "sigmoid") -> tuple[float, np.ndarray]:
    """(E, dE/d of the twelve parameters in :data:`PARAM_NAMES` order) from torch autograd."""
    import torch

    v = torch.tensor(params.vector(), dtype=torch.float64, requires_grad=True)
    x = torch.tensor(np.asarray(inputs, dtype=np.float64))
    t = torch.tensor(np.asarray(targets, dtype=np.float64))
    a_h = torch.sigmoid(v[0:4].reshape(2, 2) @ x + v[8:10])
    o = v[4:8].reshape(2, 2) @ a_h + v[10:12]
    if output == "sigmoid":
        E = 0.5 * torch.sum((t - torch.sigmoid(o)) ** 2)
    else:
        E = -torch.sum(t * torch.log_softmax(o, dim=0))
    E.backward()
    assert v.grad is not None
    return float(E.detach()), v.grad.numpy().copy()


def finite_differences(f: Callable[[np.ndarray], float], at: np.ndarray, h: float = FD_STEP) -> np.ndarray:
    """Central differences (f(v + h e_k) - f(v - h e_k)) / 2h for every entry of ``at`` (any shape)."""
    at = np.asarray(at, dtype=np.float64)
    out = np.empty_like(at)
    for k in np.ndindex(at.shape):
        plus, minus = at.copy(), at.copy()
        plus[k] += h
        minus[k] -= h
        out[k] = (f(plus) - f(minus)) / (2 * h)
    return out


def _network_fd(params: Params, inputs: Any, targets: Any, output: str) -> np.ndarray:
    return finite_differences(
        lambda v: network.forward(Params.from_vector(v), inputs, targets, output).E, params.vector())


@lru_cache(maxsize=2)
def _symbolic_error(output: str) -> tuple[Any, tuple[Any, ...], tuple[Any, ...]]:
    """(E as a sympy expression, the twelve parameter symbols, the symbols i1, i2, t1, t2)."""
    import sympy as sp

    p = sp.symbols(PARAM_NAMES, real=True)
    i1, i2, t1, t2 = sp.symbols("i1 i2 t1 t2", real=True)
    w1, w2, w3, w4, w5, w6, w7, w8, b_h1, b_h2, b_o1, b_o2 = p

    def sig(x: Any) -> Any:
        return 1 / (1 + sp.exp(-x))

    a_h1 = sig(w1 * i1 + w2 * i2 + b_h1)
    a_h2 = sig(w3 * i1 + w4 * i2 + b_h2)
    o1 = w5 * a_h1 + w6 * a_h2 + b_o1
    o2 = w7 * a_h1 + w8 * a_h2 + b_o2
    if output == "sigmoid":
        E = sp.Rational(1, 2) * ((t1 - sig(o1)) ** 2 + (t2 - sig(o2)) ** 2)
    else:
        denominator = sp.exp(o1) + sp.exp(o2)
        E = -(t1 * sp.log(sp.exp(o1) / denominator) + t2 * sp.log(sp.exp(o2) / denominator))
    return E, p, (i1, i2, t1, t2)


def sympy_network(params: Params = CLASSIC, inputs: Any = CLASSIC_INPUTS, targets: Any = CLASSIC_TARGETS,
                  output: str = "sigmoid") -> np.ndarray:
    """dE/d of the twelve parameters from sympy's exact derivative, evaluated to 30 digits."""
    import sympy as sp

    E, p, data = _symbolic_error(output)
    point = dict(zip((*p, *data), (sp.Float(float(v), 30) for v in
                                   (*params.vector(), *np.asarray(inputs), *np.asarray(targets)))))
    return np.array([float(sp.diff(E, s).evalf(30, subs=point)) for s in p])


def network_check_table(params: Params = CLASSIC, inputs: Any = CLASSIC_INPUTS, targets: Any = CLASSIC_TARGETS,
                        output: str = "sigmoid") -> pd.DataFrame:
    """Hand gradients of all twelve parameters beside autograd, finite differences and sympy."""
    hand = network.gradients(params, inputs, targets, output).vector()
    refs = {"autograd": autograd_network(params, inputs, targets, output)[1],
            "finite difference": _network_fd(params, inputs, targets, output),
            "sympy": sympy_network(params, inputs, targets, output)}
    table = pd.DataFrame({"hand": hand, **refs}, index=[f"dE/d{n}" for n in PARAM_NAMES])
    for name in refs:
        table[f"|hand - {name}|"] = (table["hand"] - table[name]).abs()
    return table


def symbolic_bias_residuals(output: str = "sigmoid") -> dict[str, Any]:
    """simplify(dE/db - delta) for the four biases, with each delta written by the hand rule.

    The deltas are the chain-rule formulas of the chapter, written in sympy: 0 for every bias
    proves dE/db = delta for every value of the weights, biases, input and target.
    """
    import sympy as sp

    E, p, (i1, i2, t1, t2) = _symbolic_error(output)
    w1, w2, w3, w4, w5, w6, w7, w8, b_h1, b_h2, b_o1, b_o2 = p

    def sig(x: Any) -> Any:
        return 1 / (1 + sp.exp(-x))

    a_h1, a_h2 = sig(w1 * i1 + w2 * i2 + b_h1), sig(w3 * i1 + w4 * i2 + b_h2)
    o1, o2 = w5 * a_h1 + w6 * a_h2 + b_o1, w7 * a_h1 + w8 * a_h2 + b_o2
    if output == "sigmoid":
        a1, a2 = sig(o1), sig(o2)
        d_o1, d_o2 = (a1 - t1) * a1 * (1 - a1), (a2 - t2) * a2 * (1 - a2)
    else:  # softmax + cross-entropy: delta = p - t, given t1 + t2 = 1
        p1 = sp.exp(o1) / (sp.exp(o1) + sp.exp(o2))
        E = E.subs(t2, 1 - t1)
        d_o1, d_o2 = p1 - t1, (1 - p1) - (1 - t1)
    d_h1 = (d_o1 * w5 + d_o2 * w7) * a_h1 * (1 - a_h1)
    d_h2 = (d_o1 * w6 + d_o2 * w8) * a_h2 * (1 - a_h2)
    out = {}
    for b, d in ((b_h1, d_h1), (b_h2, d_h2), (b_o1, d_o1), (b_o2, d_o2)):
        diff = sp.diff(E, b) - d
        out[str(b)] = sp.simplify(sp.cancel(sp.together(diff.rewrite(sp.exp))))
    return out


def symbolic_softmax_residuals(k: int = 3) -> list[Any]:
    """simplify(dL/dz_j - (p_j - t_j)) for a k-way softmax with cross-entropy, t_k = 1 - (the rest).

    Zero for every j proves delta = p - t for all scores and all target distributions.
    """
    import sympy as sp

    z = sp.symbols(f"z1:{k + 1}", real=True)
    free_t = sp.symbols(f"t1:{k}", real=True)
    t = (*free_t, 1 - sum(free_t))
    denominator = sum(sp.exp(zj) for zj in z)
    p = [sp.exp(zj) / denominator for zj in z]
    L = -sum(tj * sp.log(pj) for tj, pj in zip(t, p))
    return [sp.simplify(sp.diff(L, zj) - (pj - tj)) for zj, pj, tj in zip(z, p, t)]


def autograd_batch(params: Params, inputs: np.ndarray, targets: np.ndarray,
                   output: str = "sigmoid") -> tuple[float, np.ndarray]:
    """(mean loss over the batch, its gradient in :data:`PARAM_NAMES` order) from torch autograd.

    ``inputs`` and ``targets`` hold one example per row; the whole batch goes through torch at
    once, as a library does it.
    """
    import torch

    v = torch.tensor(params.vector(), dtype=torch.float64, requires_grad=True)
    X = torch.tensor(np.asarray(inputs, dtype=np.float64))
    T = torch.tensor(np.asarray(targets, dtype=np.float64))
    A_h = torch.sigmoid(X @ v[0:4].reshape(2, 2).T + v[8:10])
    scores = A_h @ v[4:8].reshape(2, 2).T + v[10:12]
    if output == "sigmoid":
        per_example = 0.5 * torch.sum((T - torch.sigmoid(scores)) ** 2, dim=1)
    else:
        per_example = -torch.sum(T * torch.log_softmax(scores, dim=1), dim=1)
    loss = per_example.mean()
    loss.backward()
    assert v.grad is not None
    return float(loss.detach()), v.grad.numpy().copy()


def autograd_conv(image: np.ndarray, kernel: np.ndarray,
                  upstream: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output, dL/dimage, dL/dkernel) of ``F.conv2d`` (no padding, stride 1) by autograd.

    ``upstream`` is dL/doutput, the delta the layer above sends down.
    """
    import torch
    import torch.nn.functional as F

    x = torch.tensor(np.asarray(image, dtype=np.float64)[None, None], requires_grad=True)
    k = torch.tensor(np.asarray(kernel, dtype=np.float64)[None, None], requires_grad=True)
    y = F.conv2d(x, k)
    y.backward(torch.tensor(np.asarray(upstream, dtype=np.float64)[None, None]))
    assert x.grad is not None and k.grad is not None
    return y.detach()[0, 0].numpy(), x.grad[0, 0].numpy(), k.grad[0, 0].numpy()


def autograd_relu_pool(z: np.ndarray, upstream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(maxpool2x2(relu(z)), dL/dz) by autograd, ``upstream`` being dL/d(the pooled map)."""
    import torch
    import torch.nn.functional as F

    zt = torch.tensor(np.asarray(z, dtype=np.float64)[None, None], requires_grad=True)
    y = F.max_pool2d(F.relu(zt), 2)
    y.backward(torch.tensor(np.asarray(upstream, dtype=np.float64)[None, None]))
    assert zt.grad is not None
    return y.detach()[0, 0].numpy(), zt.grad[0, 0].numpy()
