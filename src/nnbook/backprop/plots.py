"""Figures shared by the Part 1 chapters: how the error falls for different learning rates."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
from matplotlib.figure import Figure

from nnbook.backprop.network import train
from nnbook.backprop.problem import CLASSIC, Problem

__all__ = ["ETAS", "loss_curves", "plot_loss_grid", "plot_loss_comparison", "plot_eta_sweep"]

#: the learning rates the training chapter compares
ETAS: tuple[float, ...] = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0)


def loss_curves(problem: Problem = CLASSIC, etas: Sequence[float] = ETAS, steps: int = 100) -> pd.DataFrame:
    """E_total at iterations 0..steps, one column per learning rate (index: iteration)."""
    curves = {float(eta): train(problem, eta, steps)["E_total"].to_numpy() for eta in etas}
    out = pd.DataFrame(curves, index=pd.RangeIndex(steps + 1, name="iteration"))
    out.columns.name = "eta"
    return out


def plot_loss_grid(curves: pd.DataFrame, ncols: int = 3) -> Figure:
    """One small plot of E_total per learning rate, on a shared y axis."""
    n = curves.shape[1]
    nrows = -(-n // ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.5 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, eta in zip(axes, curves.columns):
        ax.plot(curves.index, curves[eta], color="C0")
        ax.set_title(f"η = {eta:g}  (final E = {curves[eta].iloc[-1]:.4f})", fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("iteration")
    for ax in axes[::ncols]:
        ax.set_ylabel("E_total")
    return fig


def plot_loss_comparison(curves: pd.DataFrame, log: bool = True) -> Figure:
    """All learning rates on one plot (log y axis by default, where the late steps show)."""
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for eta in curves.columns:
        ax.plot(curves.index, curves[eta], label=f"η = {eta:g}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("E_total" + (" (log scale)" if log else ""))
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="learning rate")
    return fig


def plot_eta_sweep(sweep: pd.DataFrame, steps: int, floor: float | None = None) -> Figure:
    """E_total after ``steps`` steps against eta (both axes logarithmic), from ``sweep.eta_sweep``.

    ``floor``, when given, is drawn as a dashed line: the error at which saturated outputs freeze.
    """
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(sweep.index, sweep["E_final"], marker=".", color="C0", label=f"E_total after {steps} steps")
    best = sweep["E_final"].idxmin()
    ax.plot([best], [sweep["E_final"].min()], "o", color="C3", label=f"best: η = {best:.3g}")
    if floor is not None:
        ax.axhline(floor, color="C2", linestyle="--", label="saturated outputs: E frozen")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate η (log scale)")
    ax.set_ylabel("final E_total (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig
