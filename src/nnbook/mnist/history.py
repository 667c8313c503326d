"""A run's ``history.json``: reading it, the facts the chapters quote from it, its curves."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the package
    from matplotlib.figure import Figure

__all__ = ["load_history", "best_epoch", "final_epoch", "seconds_to", "median_epoch_seconds", "plot_history",
           "plot_rates"]


def load_history(path: str | Path) -> dict[str, Any]:
    """Read a run's ``history.json`` (a run folder or the file itself).

    Its ``config`` gains the settings added after the run was written, with the value the run
    trained with (``config.complete_saved``).
    """
    from nnbook.mnist.config import complete_saved

    path = Path(path)
    history = json.loads((path / "history.json" if path.is_dir() else path).read_text())
    if isinstance(history.get("config"), dict):
        history["config"] = complete_saved(history["config"])
    return history


def best_epoch(history: dict[str, Any]) -> dict[str, Any]:
    """The epoch row with the highest test accuracy (the earliest of equals)."""
    return max(history["epochs"], key=lambda r: (r["test_acc"], -r["epoch"]))


def final_epoch(history: dict[str, Any]) -> dict[str, Any]:
    """The last epoch's row: the number the book reports."""
    return history["epochs"][-1]


def seconds_to(history: dict[str, Any], target: float = 0.994) -> float | None:
    """Training seconds (set-up included) until the first epoch at ``target`` test accuracy."""
    elapsed = history.get("setup_seconds", 0.0)
    for row in history["epochs"]:
        elapsed += row["seconds"]
        if row["test_acc"] >= target:
            return elapsed
    return None


def median_epoch_seconds(history: dict[str, Any]) -> float:
    """The median of the epochs' seconds (training and the test evaluation): a run's pace, unmoved
    by a slow first epoch (cuDNN choosing its kernels, caches filling)."""
    return statistics.median(row["seconds"] for row in history["epochs"])


def plot_history(history: dict[str, Any]) -> Figure:
    """A Figure: loss and accuracy per epoch, training (augmented, dropout on) and test."""
    from matplotlib.figure import Figure  # not pyplot: no global figure state, as in Part 1
    from matplotlib.ticker import MaxNLocator

    rows = history["epochs"]
    ep = [r["epoch"] for r in rows]
    fig = Figure(figsize=(10, 3.6))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for split, style in (("train", "o-"), ("test", "s-")):
        ax_loss.plot(ep, [r[f"{split}_loss"] for r in rows], style, ms=3, label=split)
        ax_acc.plot(ep, [100 * r[f"{split}_acc"] for r in rows], style, ms=3, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
    low = min(100 * min(r["train_acc"], r["test_acc"]) for r in rows)
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy", ylim=(min(97.0, low - 0.5), 100))
    ax_acc.axhline(99.4, color="grey", lw=0.8, ls="--", label="99.4 %")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_rates(rates: list[float], cfg: Any = None) -> Figure:
    """A Figure: the learning rate at every step (what the optimizer really used)."""
    from matplotlib.figure import Figure  # not pyplot: no global figure state, as in Part 1

    fig = Figure(figsize=(7, 2.8))
    ax = fig.subplots()
    ax.plot(range(len(rates)), rates, lw=1.5)
    ax.set(xlabel="step", ylabel="learning rate", title="one-cycle schedule", xlim=(0, len(rates) - 1),
           ylim=(0, max(rates) * 1.05))
    if cfg is not None:
        ax.axvline(cfg.warmup * len(rates), color="grey", lw=0.8, ls="--", label="end of warm-up")
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
