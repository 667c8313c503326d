"""The bridge's figure: squared error and cross-entropy trained from the same saturated start."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

__all__ = ["plot_loss_race"]


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
