"""The bridge's figures: two losses from one saturated start, optimisers in a valley, a schedule."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_loss_race", "plot_descent_paths", "plot_schedule"]


def plot_loss_race(runs: dict[str, pd.DataFrame], target: float) -> Figure:
    """Two panels from :func:`nnbook.bridge.network.train` tables, one line per run.

    Left: 1/2 sum (t - output)^2, the same yardstick for every run (log scale). Right: the first
    output, with its ``target`` dashed, which shows how long each run stays stuck.
    """
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    for label, table in runs.items():
        left.plot(table["iteration"], table["squared_error"], label=label)
        right.plot(table["iteration"], table["out1"], label=label)
    right.axhline(target, color="grey", linestyle="--", linewidth=1, label="target")
    left.set_yscale("log")
    left.set_ylabel("½ Σ (t − output)²  (log scale)")
    right.set_ylabel("first output")
    for ax in (left, right):
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3, which="both")
    right.legend()
    return fig


def plot_descent_paths(paths: dict[str, np.ndarray], f: Callable[[np.ndarray], float]) -> Figure:
    """Left: each optimiser's path over the contours of ``f`` (a function of two weights).
    Right: f at each step, on a log scale."""
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    span = max(float(np.abs(p).max()) for p in paths.values()) * 1.1
    grid = np.linspace(-span, span, 201)
    W1, W2 = np.meshgrid(grid, grid)
    F = np.vectorize(lambda a, b: f(np.array([a, b])))(W1, W2)
    left.contour(W1, W2, F, levels=np.geomspace(max(F.min(), 1e-3), F.max(), 12), colors="lightgrey",
                 linewidths=0.8)
    for label, path in paths.items():
        left.plot(path[:, 0], path[:, 1], marker=".", markersize=3, linewidth=1, label=label)
        right.plot(np.arange(len(path)), [f(w) for w in path], label=label)
    left.set_xlabel("$w_1$ (steep)")
    left.set_ylabel("$w_2$ (shallow)")
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("f(w)  (log scale)")
    right.grid(alpha=0.3, which="both")
    right.legend()
    return fig


def plot_schedule(rates: Sequence[float], momentum: float, steps_per_epoch: int) -> Figure:
    """The learning rate and the momentum of every step of a run, with epochs on the top axis."""
    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2, sharex=True)
    steps = np.arange(len(rates))
    left.plot(steps, rates)
    right.plot(steps, np.full(len(rates), momentum))
    left.set_ylabel("learning rate")
    right.set_ylabel("momentum")
    right.set_ylim(0, 1)
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        top = ax.secondary_xaxis("top", functions=(lambda s: s / steps_per_epoch, lambda e: e * steps_per_epoch))
        top.set_xlabel("epoch")
    return fig
