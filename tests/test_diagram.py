"""The network drawing: drawn from the numbers it claims to show, wired as the equations are."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure

from nnbook.backprop import diagram, network
from reference import plain_forward
from nnbook.backprop.problem import CLASSIC, WEIGHT_NAMES, Problem

PROBLEM = Problem(inputs=(0.7, -0.3), targets=(0.25, 0.5), weights=(0.11, -0.22, 0.33, 0.44, 1.55, 0.66, -0.77, 0.88))


def _texts(fig: Figure) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid()}


def test_diagram_labels_every_neuron_and_weight_from_the_problem():
    fig = diagram.draw_network(PROBLEM)
    assert isinstance(fig, Figure)
    texts = _texts(fig)
    for neuron in ("i1", "i2", "h1", "h2", "o1", "o2"):
        assert texts[f"neuron-{neuron}"] == neuron
    for name, w in zip(WEIGHT_NAMES, PROBLEM.weights):
        assert texts[f"label-{name}"] == f"{name} = {w:.2f}"
    shown = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert {f"{x:.2f}" for x in PROBLEM.inputs} | {f"target {t:.2f}" for t in PROBLEM.targets} <= set(shown)
    classic = {t.get_text() for ax in diagram.draw_network(CLASSIC).axes for t in ax.texts}
    assert {"0.05", "0.10", "target 0.01", "target 0.99"} <= classic  # as the chapter's text writes them


def _net_inputs(problem: Problem) -> dict[str, float]:
    fw = network.forward(problem)
    return {"h1": fw.h1, "h2": fw.h2, "o1": fw.o1, "o2": fw.o2}


def _values(problem: Problem) -> dict[str, float]:
    """What each neuron sends along its edges: the input itself, or the activation."""
    fw = network.forward(problem)
    return {"i1": problem.inputs[0], "i2": problem.inputs[1], "h1": fw.a_h1, "h2": fw.a_h2}


@pytest.mark.parametrize("name", WEIGHT_NAMES)
def test_each_edge_is_the_weight_the_forward_pass_uses(name):
    """EDGES[w] = (src, dst) exactly when w multiplies src's value into dst's net input.

    Nudging w changes dst's net input by the nudge times src's value, and changes no net input
    of the same layer or below.
    """
    src, dst = diagram.EDGES[name]
    k, nudge = WEIGHT_NAMES.index(name), 1e-3
    weights = list(PROBLEM.weights)
    weights[k] += nudge
    before, after = _net_inputs(PROBLEM), _net_inputs(PROBLEM.with_weights(weights))
    assert after[dst] - before[dst] == pytest.approx(nudge * _values(PROBLEM)[src], rel=1e-9)
    layer = {"h1": 1, "h2": 1, "o1": 2, "o2": 2}
    for other in (n for n in before if n != dst and layer[n] <= layer[dst]):
        assert after[other] == before[other], (name, other)


def test_each_arrow_runs_from_its_source_to_its_destination():
    fig = diagram.draw_network()
    arrows = {a.get_gid(): a for ax in fig.axes for a in ax.texts if (a.get_gid() or "").startswith("edge-")}
    assert set(arrows) == {f"edge-{w}" for w in WEIGHT_NAMES} | {"edge-E1", "edge-E2"}
    for name, (src, dst) in diagram.EDGES.items():
        arrow = arrows[f"edge-{name}"]
        assert tuple(arrow.xyann) == diagram.NEURON_POSITIONS[src]
        assert tuple(arrow.xy) == diagram.NEURON_POSITIONS[dst]
    # E_k is fed by output o_k (E1 = (t1 - a_o1)^2 / 2 depends on o1 alone)
    for k in (1, 2):
        assert tuple(arrows[f"edge-E{k}"].xyann) == diagram.NEURON_POSITIONS[f"o{k}"]
        assert tuple(arrows[f"edge-E{k}"].xy) == diagram.ERROR_POSITIONS[f"E{k}"]


def test_each_neuron_shows_its_activation_and_the_errors_their_sum():
    texts = _texts(diagram.draw_network(PROBLEM))
    for layer in "ho":
        for k in "12":
            assert texts[f"activation-{layer}{k}"] == rf"$a_{{{layer}_{k}}} = \sigma({layer}_{k})$"
    assert "activation-i1" not in texts  # inputs are passed on as they are
    assert texts["error-E1"] == "E1" and texts["error-E2"] == "E2"
    assert texts["error-total"] == r"$E_\mathrm{total} = E_1 + E_2$"


def test_diagram_saves_atomically(tmp_path):
    out = tmp_path / "net.png"
    diagram.draw_network(CLASSIC, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_failed_figure_save_leaves_no_file(tmp_path, enospc_on_file):
    fig = diagram.draw_network()
    enospc_on_file(1)  # the disk fills while the image is written
    with pytest.raises(OSError, match="No space left on device"):
        diagram.save_figure(tmp_path / "net.png", fig)
    assert list(tmp_path.iterdir()) == []


def test_diagram_rejects_bad_input():
    with pytest.raises(ValueError, match="problem"):
        diagram.draw_network((0.1,) * 8)
    with pytest.raises(ValueError, match="path"):
        diagram.save_figure("no-extension", diagram.draw_network())


def test_chain_w5_shows_autograd_gradients_and_local_derivatives():
    """The chain figure: each node's value and its gradient (from torch autograd on the same chain),
    and on each backward arrow the local derivative, whose product with the upstream gradient
    is the gradient at the node to its left."""
    torch = pytest.importorskip("torch")
    p = PROBLEM
    fw = network.forward(p)
    w5 = torch.tensor(p.weights[4], dtype=torch.float64, requires_grad=True)
    o1 = w5 * fw.a_h1 + p.weights[5] * fw.a_h2
    o1.retain_grad()
    a_o1 = torch.sigmoid(o1)
    a_o1.retain_grad()
    (0.5 * (p.targets[0] - a_o1) ** 2).backward()
    expected = {"w5": w5.grad.item(), "o1": o1.grad.item(), "a_o1": a_o1.grad.item(), "E_total": 1.0}
    texts = _texts(diagram.draw_chain_w5(p))
    for node, grad in expected.items():
        assert texts[f"grad-{node}"] == f"{grad:.4f}", node
    assert texts["value-o1"] == f"{o1.item():.4f}" and texts["value-a_o1"] == f"{a_o1.item():.4f}"
    assert texts["value-w5"] == f"{p.weights[4]:.4f}"
    assert texts["value-E_total"] == f"{plain_forward(p.weights, p.inputs, p.targets)['E_total']:.4f}"
    order = [node for node, _, _ in diagram.CHAIN_W5]
    assert order == ["w5", "o1", "a_o1", "E_total"], "the chain from the weight to the error, in order"
    for left, right in zip(order, order[1:]):
        local = float(texts[f"local-{left}"].rsplit("= ", 1)[1].rstrip("$"))
        assert expected[right] * local == pytest.approx(expected[left], abs=2e-4)


def test_chain_w5_saves(tmp_path: Path):
    out = tmp_path / "chain.png"
    diagram.draw_chain_w5(CLASSIC, path=out)
    assert out.stat().st_size > 1000
