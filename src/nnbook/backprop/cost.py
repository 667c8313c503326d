"""Why backpropagation exists: its cost against finite differences, counted and timed.

A fully connected sigmoid network without biases (as in Part 1), random weights from a seed, a
batch of random inputs and targets, and the squared error averaged over the batch::

    net = random_network((784, 128, 10), seed=0)
    bp = backprop(net)                    # 1 forward pass + 1 backward pass, every weight at once
    fd = finite_differences(net)          # 2 forward passes per weight
    cost_table([measure((2, 2, 2)), measure((784, 128, 10))])

Every forward pass goes through :meth:`Network.loss` or :meth:`Network.activations`, which count
themselves, so the counts in the results are what the methods did, not what they should do.
Each pass is vectorised over the batch; the only Python loop is the one finite differences
inherently needs, one nudge of one weight at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from nnbook.backprop.checks import FD_STEP
from nnbook.backprop.network import sigmoid
from nnbook.backprop.tables import CELL_PADDING
from nnbook.notation import scientific
from nnbook.errors import UsageError

__all__ = ["Network", "GradientRun", "Cost", "random_network", "backprop", "finite_differences", "measure",
           "cost_table", "MS_DECIMALS", "shown_ms", "shown_ratio", "styled"]

#: times are shown in milliseconds with this many decimals, in the table and in the prose alike
MS_DECIMALS = 3


@dataclass
class Network:
    """Weights ``W[l]`` (row j = the weights into neuron j of layer l+1), inputs ``x`` and targets ``t``.

    ``x`` is (batch, sizes[0]) and ``t`` is (batch, sizes[-1]); ``forward_passes`` and
    ``backward_passes`` count what has been run on this network.
    """

    weights: list[np.ndarray]
    x: np.ndarray
    t: np.ndarray
    forward_passes: int = field(default=0, compare=False)
    backward_passes: int = field(default=0, compare=False)

    @property
    def n_weights(self) -> int:
        """How many weights there are: one gradient entry each."""
        return sum(W.size for W in self.weights)

    def activations(self) -> list[np.ndarray]:
        """One forward pass: the activations of every layer, the input first (each (batch, width))."""
        self.forward_passes += 1
        a = [self.x]
        for W in self.weights:
            a.append(sigmoid(a[-1] @ W.T))
        return a

    def loss(self) -> float:
        """One forward pass: E = ½ ‖t − a_L‖², averaged over the batch."""
        a_L = self.activations()[-1]
        return float(0.5 * np.sum((self.t - a_L) ** 2) / len(self.x))


@dataclass(frozen=True)
class GradientRun:
    """A gradient, the passes it took, and the seconds it took (best of the repeats).

    ``indices`` are the flat positions (over all weights, layer by layer) of the entries in
    ``gradient``: all of them, or the sample that finite differences was run on.
    """

    gradient: np.ndarray
    indices: np.ndarray
    forward_passes: int
    backward_passes: int
    seconds: float


def random_network(sizes: Sequence[int], batch: int = 1, seed: int = 0) -> Network:
    """A network of the given layer widths with N(0, 1/fan-in) weights, uniform inputs and targets in [0, 1).

    The 1/fan-in scale keeps the net inputs of order 1, so the sigmoids neither saturate nor
    vanish whatever the width.
    """
    sizes = tuple(sizes)
    if len(sizes) < 2 or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in sizes):
        raise UsageError(f"sizes must be at least two positive integer layer widths, got {sizes!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UsageError(f"batch must be a positive integer, got {batch!r}")
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_out, n_in)) for n_in, n_out in zip(sizes, sizes[1:])]
    return Network(weights, rng.random((batch, sizes[0])), rng.random((batch, sizes[-1])))


def _backprop_once(net: Network) -> np.ndarray:
    """The matrix form of the previous chapter for L layers: one forward pass, one backward pass."""
    a = net.activations()
    net.backward_passes += 1
    delta = (a[-1] - net.t) * a[-1] * (1 - a[-1]) / len(net.x)  # dE/dz_L, per example
    grads = [np.empty(0)] * len(net.weights)
    for layer in range(len(net.weights) - 1, -1, -1):
        grads[layer] = delta.T @ a[layer]  # the outer products delta a^T, summed over the batch
        if layer:
            delta = (delta @ net.weights[layer]) * a[layer] * (1 - a[layer])  # W^T delta, times sigma'
    return np.concatenate([g.ravel() for g in grads])


def _best_time(run, repeats: int) -> tuple[object, float]:
    """``run()``'s result and its fastest time over ``repeats`` runs (the least disturbed by other work)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return result, best


def backprop(net: Network, repeats: int = 5) -> GradientRun:
    """dE/dw for every weight by backpropagation; passes counted for one run, time the best of ``repeats``."""
    before = (net.forward_passes, net.backward_passes)
    gradient, seconds = _best_time(lambda: _backprop_once(net), repeats)
    passes = ((net.forward_passes - before[0]) // repeats, (net.backward_passes - before[1]) // repeats)
    return GradientRun(gradient, np.arange(net.n_weights), *passes, seconds)


def finite_differences(net: Network, h: float = FD_STEP, sample: int | None = None, seed: int = 0,
                       repeats: int = 1) -> GradientRun:
    """dE/dw ≈ (E(w + h) − E(w − h)) / 2h, one weight at a time: two forward passes per weight.

    With ``sample`` only that many weights, drawn without replacement from a seeded generator,
    are differentiated (for networks too large to do in full); ``indices`` says which.
    """
    if not (isinstance(h, float) and 0 < h < 1):
        raise UsageError(f"h must be a float between 0 and 1, got {h!r}")
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int)
                               or not 1 <= sample <= net.n_weights):
        raise UsageError(f"sample must be an integer from 1 to the {net.n_weights} weights, got {sample!r}")
    if sample is None:
        indices = np.arange(net.n_weights)
    else:
        indices = np.sort(np.random.default_rng(seed).choice(net.n_weights, size=sample, replace=False))
    # flat index -> (layer's matrix, (row, column)): the nudge goes into the network's own matrix,
    # whatever its memory order (a reshaped copy would leave the loss unchanged)
    starts = np.cumsum([0] + [W.size for W in net.weights])
    layers = np.searchsorted(starts, indices, side="right") - 1
    where = [(net.weights[layer], np.unravel_index(int(i - starts[layer]), net.weights[layer].shape))
             for layer, i in zip(layers, indices)]  # outside the timing

    def run() -> np.ndarray:
        out = np.empty(len(indices))
        for k, (w, j) in enumerate(where):
            old = w[j]
            w[j] = old + h
            up = net.loss()
            w[j] = old - h
            down = net.loss()
            w[j] = old  # restore exactly: the next weight sees the original network
            out[k] = (up - down) / (2 * h)
        return out

    before = net.forward_passes
    gradient, seconds = _best_time(run, repeats)
    return GradientRun(gradient, indices, (net.forward_passes - before) // repeats, 0, seconds)


@dataclass(frozen=True)
class Cost:
    """One network's row of the cost table; ``fd_*`` are extrapolated to every weight when
    finite differences ran on a sample (``fd_sampled``)."""

    sizes: tuple[int, ...]
    backprop: GradientRun
    finite_differences: GradientRun
    relative_error: float
    forward_seconds: float

    @property
    def name(self) -> str:
        """The network as the table names it: its layer widths joined, "784-128-10"."""
        return "-".join(map(str, self.sizes))

    @property
    def n_weights(self) -> int:
        """How many weights the network has: backprop computes every one."""
        return len(self.backprop.gradient)

    @property
    def fd_sampled(self) -> bool:
        """Whether finite differences ran on a sample of the weights only."""
        return len(self.finite_differences.indices) < self.n_weights

    @property
    def _fd_scale(self) -> float:
        return self.n_weights / len(self.finite_differences.indices)

    @property
    def fd_forward_passes(self) -> int:
        """Forward passes finite differences needs for every weight: counted, or extrapolated from the sample."""
        return round(self.finite_differences.forward_passes * self._fd_scale)

    @property
    def fd_seconds(self) -> float:
        """Seconds finite differences needs for every weight: measured, or extrapolated from the sample."""
        return self.finite_differences.seconds * self._fd_scale

    @property
    def backprop_in_forward_passes(self) -> float:
        """Backpropagation's time in units of one forward pass's time."""
        return self.backprop.seconds / self.forward_seconds

    @property
    def ratio(self) -> float:
        """How many times longer finite differences takes than backpropagation."""
        return self.fd_seconds / self.backprop.seconds


def measure(sizes: Sequence[int], seed: int = 0, max_fd_weights: int = 5000,
            sample: int = 5000) -> Cost:
    """Backprop and finite differences on one seeded network; FD on a sample if it has over ``max_fd_weights``.

    A sampled FD run is extrapolated honestly: its seconds per weight times the number of
    weights, and 2 forward passes per weight. ``relative_error`` is
    ‖g_bp − g_fd‖ / ‖g_bp‖ over the entries finite differences computed.
    """
    net = random_network(sizes, seed=seed)
    bp = backprop(net)
    forward_seconds = _best_time(net.loss, 5)[1]
    sampled = net.n_weights > max_fd_weights
    # best of 3 where that is cheap, so one hiccup of the machine does not make a small network's time
    fd = finite_differences(net, sample=min(sample, net.n_weights) if sampled else None, seed=seed,
                            repeats=1 if sampled else 3)
    reference = bp.gradient[fd.indices]
    error = float(np.linalg.norm(reference - fd.gradient) / np.linalg.norm(reference))
    return Cost(tuple(sizes), bp, fd, error, forward_seconds)


def cost_table(costs: Sequence[Cost]) -> pd.DataFrame:
    """One row per :func:`measure` result: weights, forward passes and seconds each way, their ratio."""
    rows = []
    for c in costs:
        rows.append({
            "network": c.name,
            "weights": c.n_weights,
            "backprop passes (forward + backward)": f"{c.backprop.forward_passes} + {c.backprop.backward_passes}",
            "FD forward passes": c.fd_forward_passes,
            "backprop seconds": c.backprop.seconds,
            "FD seconds": c.fd_seconds,
            "FD / backprop": c.ratio,
            "FD timed on": "all weights" if not c.fd_sampled else f"a sample of {len(c.finite_differences.indices):,}",
            "relative difference": c.relative_error,
        })
    return pd.DataFrame(rows).set_index("network")


def shown_ms(seconds: float) -> float:
    """``seconds`` in milliseconds, rounded to :data:`MS_DECIMALS` decimals as the chapter shows them."""
    return round(float(seconds) * 1e3, MS_DECIMALS)


def shown_ratio(fd_seconds: float, backprop_seconds: float) -> float:
    """FD's time over backprop's, divided as *shown* (:func:`shown_ms`), so a reader who divides the
    two printed times gets the printed ratio; a time that rounds to 0 ms cannot be divided by."""
    bp = shown_ms(backprop_seconds)
    if bp <= 0:
        raise UsageError(f"a backprop time of {backprop_seconds!r} s shows as 0 ms: no ratio can be read from it")
    return shown_ms(fd_seconds) / bp


def styled(table: pd.DataFrame) -> Styler:
    """:func:`cost_table` for a chapter: one column per network (so four networks fit a page's
    width), thousands separated, times in milliseconds to :data:`MS_DECIMALS` decimals and their
    ratio divided from those shown times, no e-notation."""
    ms = "{:,.%df}" % MS_DECIMALS
    formats: dict[str, Callable[[Any], str]] = {
        "weights": "{:,}".format, "backprop passes (forward + backward)": str,
        "FD forward passes": "{:,}".format,
        "backprop ms": ms.format, "FD ms": ms.format, "FD / backprop": "{:,.0f}".format,
        "FD timed on": str, "relative difference": scientific}
    shown = table.assign(**{
        "backprop ms": table["backprop seconds"].map(shown_ms), "FD ms": table["FD seconds"].map(shown_ms),
        "FD / backprop": [shown_ratio(fd, bp) for fd, bp in zip(table["FD seconds"], table["backprop seconds"])]})
    shown = pd.DataFrame({name: shown[name].map(fmt) for name, fmt in formats.items()})
    return shown.T.style.set_table_styles([{"selector": "td, th", "props": f"padding: {CELL_PADDING}"}])
