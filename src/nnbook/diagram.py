"""The network drawing, made from the weights themselves (so the picture can never disagree)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from matplotlib.figure import Figure

from nnbook.io import atomic_path
from nnbook.tiny import CLASSIC, WEIGHT_NAMES, _finite_floats

__all__ = ["NEURON_POSITIONS", "EDGES", "draw_network", "save_figure"]

#: (x, y) of each neuron: inputs on the left, outputs on the right, "1" above "2"
NEURON_POSITIONS: dict[str, tuple[float, float]] = {
    "i1": (0.0, 1.0), "i2": (0.0, 0.0),
    "h1": (1.0, 1.0), "h2": (1.0, 0.0),
    "o1": (2.0, 1.0), "o2": (2.0, 0.0),
}
#: weight name -> (from neuron, to neuron), as in h1 = w1*i1 + w2*i2, o1 = w5*a_h1 + w6*a_h2
EDGES: dict[str, tuple[str, str]] = {
    "w1": ("i1", "h1"), "w2": ("i2", "h1"), "w3": ("i1", "h2"), "w4": ("i2", "h2"),
    "w5": ("h1", "o1"), "w6": ("h2", "o1"), "w7": ("h1", "o2"), "w8": ("h2", "o2"),
}
_COLOURS = {"i": "#dbe9f6", "h": "#fde7c8", "o": "#d9f0d3"}


def draw_network(weights: Sequence[float] = CLASSIC.weights,
                 inputs: Sequence[float] = CLASSIC.inputs,
                 targets: Sequence[float] = CLASSIC.targets,
                 path: str | os.PathLike[str] | None = None) -> Figure:
    """Draw the 2-2-2 network with every edge labelled ``wk = value``; return the Figure.

    Inputs and targets are written beside the input and output neurons. With ``path`` the
    figure is also saved there (atomically; the format follows the file's extension).
    """
    w = dict(zip(WEIGHT_NAMES, _finite_floats(weights, "weights", 8)))
    x = _finite_floats(inputs, "inputs", 2)
    t = _finite_floats(targets, "targets", 2)

    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    pos = NEURON_POSITIONS
    for name, (src, dst) in EDGES.items():
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color="0.45", lw=1.2,
                                    shrinkA=22, shrinkB=22))
        # crossing edges get their label nearer the source, so the two labels do not collide
        frac = 0.5 if y0 == y1 else 0.3
        lx, ly = x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)
        ax.text(lx, ly, f"{name} = {w[name]:.2f}", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.8"), gid=f"label-{name}")
    for name, (px, py) in pos.items():
        ax.scatter([px], [py], s=1500, color=_COLOURS[name[0]], edgecolors="0.3", zorder=3)
        ax.text(px, py, name, ha="center", va="center", fontsize=12, weight="bold", zorder=4,
                gid=f"neuron-{name}")
    for k in (0, 1):
        ax.text(-0.28, pos[f"i{k + 1}"][1], f"{x[k]:g}", ha="right", va="center", fontsize=10)
        ax.text(2.28, pos[f"o{k + 1}"][1], f"target {t[k]:g}", ha="left", va="center",
                fontsize=10)
    for px, label in ((0.0, "inputs"), (1.0, "hidden layer"), (2.0, "outputs")):
        ax.text(px, 1.42, label, ha="center", va="bottom", fontsize=10, color="0.35")
    ax.set_xlim(-0.75, 2.85)
    ax.set_ylim(-0.35, 1.55)
    ax.set_aspect("equal")
    ax.axis("off")
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` atomically (format from the extension, e.g. .png or .svg)."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"path must end in a file extension such as .png, got {str(path)!r}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return Path(path)
