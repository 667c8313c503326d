"""The network drawing, made from the weights themselves (so the picture can never disagree)."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnbook.backprop.problem import CLASSIC, WEIGHT_NAMES, Problem, check_problem
from nnbook.errors import UsageError
from nnbook.io import atomic_path

__all__ = ["NEURON_POSITIONS", "EDGES", "ERROR_POSITIONS", "CHAIN_W5", "draw_network", "draw_chain_w5",
           "save_figure"]

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
#: (x, y) of the error nodes: E1 measures output o1 against target t1, E2 output o2 against t2
ERROR_POSITIONS: dict[str, tuple[float, float]] = {"E1": (3.0, 1.0), "E2": (3.0, 0.0)}
_COLOURS = {"i": "#dbe9f6", "h": "#fde7c8", "o": "#d9f0d3", "E": "#f6d5d5"}


def draw_network(problem: Problem = CLASSIC, path: str | os.PathLike[str] | None = None) -> Figure:
    """Draw the 2-2-2 network with every edge labelled ``wk = value``; return the Figure.

    Inputs are written beside the input neurons; each hidden and output neuron carries its net
    input (its name) and its activation, ``a = sigma(net input)``; the error nodes E1, E2 compare
    the outputs with their targets and add up to E_total. With ``path`` the figure is also saved
    there (atomically; the format follows the file's extension).
    """
    p = check_problem(problem)
    fig = Figure(figsize=(8.6, 4.4), layout="constrained")
    ax = fig.add_subplot()
    _draw_edges(ax, dict(zip(WEIGHT_NAMES, p.weights)))
    _draw_neurons(ax, p.inputs)
    _draw_errors(ax, p.targets)
    ax.set_xlim(-0.75, 3.45)
    ax.set_ylim(-0.35, 1.55)
    ax.set_aspect("equal")
    ax.axis("off")
    if path is not None:
        save_figure(path, fig)
    return fig


def _draw_edges(ax: Axes, weights: dict[str, float]) -> None:
    """One arrow per weight, from the neuron it leaves to the neuron it enters, labelled with its value."""
    for name, (src, dst) in EDGES.items():
        (x0, y0), (x1, y1) = NEURON_POSITIONS[src], NEURON_POSITIONS[dst]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color="0.45", lw=1.2,
                                    shrinkA=25, shrinkB=25), gid=f"edge-{name}")
        # crossing edges get their label nearer the source, so the two labels do not collide
        frac = 0.5 if y0 == y1 else 0.3
        lx, ly = x0 + frac * (x1 - x0), y0 + frac * (y1 - y0)
        ax.text(lx, ly, f"{name} = {weights[name]:.2f}", ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.8"), gid=f"label-{name}")


def _draw_neurons(ax: Axes, inputs: tuple[float, float]) -> None:
    """The six neurons, the input values beside them, each neuron's activation, and the layer names."""
    pos = NEURON_POSITIONS
    for name, (px, py) in pos.items():
        ax.scatter([px], [py], s=1900, color=_COLOURS[name[0]], edgecolors="0.3", zorder=3)
        ax.text(px, py, name, ha="center", va="center", fontsize=14, weight="bold", zorder=4,
                gid=f"neuron-{name}")
        if name[0] != "i":  # net input -> sigma -> activation, written above "1", below "2"
            dy = 0.2 if name[1] == "1" else -0.2
            ax.text(px, py + dy, rf"$a_{{{name[0]}_{name[1]}}} = \sigma({name[0]}_{name[1]})$", ha="center",
                    va="center", fontsize=12, zorder=4, gid=f"activation-{name}",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    for k in (0, 1):
        # two decimals, as the weights and the text write them: 0.10, not 0.1
        ax.text(-0.28, pos[f"i{k + 1}"][1], f"{inputs[k]:.2f}", ha="right", va="center", fontsize=12)
    for px, label in ((0.0, "inputs"), (1.0, "hidden layer"), (2.0, "outputs"), (3.0, "errors")):
        ax.text(px, 1.42, label, ha="center", va="bottom", fontsize=12, color="0.35")


def _draw_errors(ax: Axes, targets: tuple[float, float]) -> None:
    """E1 and E2, each fed by its output and its target, and their sum E_total."""
    for k, (name, (px, py)) in enumerate(ERROR_POSITIONS.items()):
        ox, oy = NEURON_POSITIONS[f"o{k + 1}"]
        ax.annotate("", xy=(px, py), xytext=(ox, oy), gid=f"edge-{name}",
                    arrowprops=dict(arrowstyle="-|>", color="0.45", lw=1.2, shrinkA=25, shrinkB=18))
        ax.text(px, py, name, ha="center", va="center", fontsize=14, weight="bold", zorder=4,
                gid=f"error-{name}", bbox=dict(boxstyle="round,pad=0.4", fc=_COLOURS["E"], ec="0.3"))
        dy = 0.2 if k == 0 else -0.2
        ax.text(px, py + dy, f"target {targets[k]:.2f}", ha="center", va="center", fontsize=12)
    ax.text(3.0, 0.5, r"$E_\mathrm{total} = E_1 + E_2$", ha="center", va="center", fontsize=12,
            gid="error-total")


#: the chain from w5 to the error, as (node, LaTeX name, local derivative's LaTeX) left to right;
#: the local derivative is that of the node to its right with respect to this node
CHAIN_W5: tuple[tuple[str, str, str], ...] = (
    ("w5", r"w_5", r"\frac{\partial o_1}{\partial w_5} = a_{h_1}"),
    ("o1", r"o_1", r"\frac{\partial a_{o_1}}{\partial o_1} = \sigma'(o_1)"),
    ("a_o1", r"a_{o_1}", r"\frac{\partial E_\mathrm{total}}{\partial a_{o_1}} = a_{o_1} - t_1"),
    ("E_total", r"E_\mathrm{total}", ""),
)


def draw_chain_w5(problem: Problem = CLASSIC, path: str | os.PathLike[str] | None = None) -> Figure:
    """The computational graph of w5's chain: values flow right, gradients flow back left.

    Each node shows its value (top) and the gradient of E_total with respect to it (bottom); each
    backward arrow is labelled with the local derivative it multiplies the upstream gradient by.
    Values come from :func:`nnbook.backprop.network.forward` and ``gradients``.
    """
    from nnbook.backprop import network  # drawing the network itself needs no forward pass

    p = check_problem(problem)
    fw = network.forward(p)
    g = network.backward(p, fw)  # from this forward pass, not a second one
    values = {"w5": p.weights[4], "o1": fw.o1, "a_o1": fw.a_o1, "E_total": fw.E_total}
    grads = {"E_total": 1.0, "a_o1": g.dE1_da_o1, "o1": g.delta_o1, "w5": g.dw5}
    locals_ = {"a_o1": g.dE1_da_o1, "o1": g.da_o1_do1, "w5": fw.a_h1}
    colours = {"w5": "white", "o1": _COLOURS["o"], "a_o1": _COLOURS["o"], "E_total": _COLOURS["E"]}
    fig = Figure(figsize=(9.6, 3.0), layout="constrained")
    ax = fig.add_subplot()
    for k, (node, tex, local_tex) in enumerate(CHAIN_W5):
        x = 3.0 * k
        ax.text(x, 0.0, f"${tex}$", ha="center", va="center", fontsize=15, gid=f"node-{node}",
                bbox=dict(boxstyle="round,pad=0.45", fc=colours[node], ec="0.3"))
        ax.text(x, 0.55, f"{values[node]:.4f}", ha="center", va="center", fontsize=11, gid=f"value-{node}")
        ax.text(x, -0.55, f"{grads[node]:.4f}", ha="center", va="center", fontsize=11, color="#b03030",
                weight="bold", gid=f"grad-{node}")
        if k + 1 < len(CHAIN_W5):  # forward arrow above, backward arrow below, local derivative on it
            ax.annotate("", xy=(x + 2.3, 0.2), xytext=(x + 0.7, 0.2), gid=f"forward-{node}",
                        arrowprops=dict(arrowstyle="-|>", color="0.55", lw=1.1))
            ax.annotate("", xy=(x + 0.7, -0.2), xytext=(x + 2.3, -0.2), gid=f"backward-{node}",
                        arrowprops=dict(arrowstyle="-|>", color="#b03030", lw=1.4))
            ax.text(x + 1.5, -0.9, rf"$\times\ {local_tex}$" + f"\n$= {locals_[node]:.4f}$", ha="center", va="top",
                    fontsize=10, color="#b03030", gid=f"local-{node}")
    ax.text(-1.2, 0.55, "value", ha="right", va="center", fontsize=10, color="0.35")
    ax.text(-1.2, -0.55, r"$\partial E_\mathrm{total} / \partial\,\cdot$", ha="right", va="center", fontsize=10,
            color="#b03030")
    ax.set_xlim(-2.6, 3.0 * (len(CHAIN_W5) - 1) + 0.9)
    ax.set_ylim(-1.5, 0.8)
    ax.axis("off")
    if path is not None:
        save_figure(path, fig)
    return fig


def save_figure(path: str | os.PathLike[str], fig: Figure, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` atomically (format from the extension, e.g. .png or .svg)."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if not fmt:
        raise UsageError(f"path must end in a file extension such as .png, got {str(path)!r}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return Path(path)
