"""The network drawing and the loss plots: drawn from the numbers they claim to show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from nnbook import diagram, plots, tiny


def _texts(fig: Figure) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid()}


def test_diagram_labels_every_neuron_and_weight_from_the_weights():
    weights = (0.11, -0.22, 0.33, 0.44, 1.55, 0.66, -0.77, 0.88)
    fig = diagram.draw_network(weights)
    assert isinstance(fig, Figure)
    texts = _texts(fig)
    for neuron in ("i1", "i2", "h1", "h2", "o1", "o2"):
        assert texts[f"neuron-{neuron}"] == neuron
    for k, w in enumerate(weights, start=1):
        assert texts[f"label-w{k}"] == f"w{k} = {w:.2f}"


def test_diagram_edges_follow_the_equations():
    # h1 = w1*i1 + w2*i2, h2 = w3*i1 + w4*i2, o1 = w5*a_h1 + w6*a_h2, o2 = w7*a_h1 + w8*a_h2
    assert diagram.EDGES == {
        "w1": ("i1", "h1"), "w2": ("i2", "h1"), "w3": ("i1", "h2"), "w4": ("i2", "h2"),
        "w5": ("h1", "o1"), "w6": ("h2", "o1"), "w7": ("h1", "o2"), "w8": ("h2", "o2"),
    }


def test_diagram_saves_atomically(tmp_path):
    out = tmp_path / "net.png"
    diagram.draw_network(path=out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_failed_figure_save_leaves_no_file(tmp_path, monkeypatch):
    fig = diagram.draw_network()

    def explode(path, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", explode)
    with pytest.raises(OSError, match="disk full"):
        diagram.save_figure(fig, tmp_path / "net.png")
    assert list(tmp_path.iterdir()) == []


def test_diagram_rejects_bad_weights():
    with pytest.raises(ValueError, match="weights"):
        diagram.draw_network((0.1,) * 5)
    with pytest.raises(ValueError, match="path"):
        diagram.save_figure(diagram.draw_network(), "no-extension")


def test_loss_curves_and_plots():
    curves = plots.loss_curves(n_steps=100)
    assert list(curves.columns) == [0.1, 0.2, 0.5, 0.8, 1.0, 2.0]
    assert len(curves) == 101
    # independent of tiny.train: a plain loop of tiny.step
    w = tiny.CLASSIC.weights
    for _ in range(100):
        w = tiny.step(w, 0.8)
    assert curves[0.8].iloc[-1] == pytest.approx(tiny.forward(w).E_total, rel=1e-12)

    grid = plots.plot_loss_grid(curves)
    visible = [ax for ax in grid.axes if ax.get_visible()]
    assert len(visible) == 6
    for ax, eta in zip(visible, curves.columns):
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), curves[eta].to_numpy())
        assert f"{eta:g}" in ax.get_title()

    comparison = plots.plot_loss_comparison(curves)
    (ax,) = comparison.axes
    assert len(ax.lines) == 6
    assert ax.get_yscale() == "log"
