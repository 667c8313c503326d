"""The cost comparison: backprop's gradient against torch autograd, finite differences against both,
and the counted forward passes (1 + 1 backward for backprop, 2 per weight for finite differences)."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook.backprop import cost
from nnbook.errors import UsageError

torch = pytest.importorskip("torch")


def autograd_gradient(net: cost.Network) -> np.ndarray:
    """The same loss written in torch, differentiated by autograd (no code shared with the package)."""
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in net.weights]
    a = torch.tensor(net.x, dtype=torch.float64)
    for W in Ws:
        a = torch.sigmoid(a @ W.T)
    loss = 0.5 * ((torch.tensor(net.t, dtype=torch.float64) - a) ** 2).sum() / len(net.x)
    loss.backward()
    return np.concatenate([W.grad.numpy().ravel() for W in Ws])


@pytest.mark.parametrize("sizes, batch", [((2, 2, 2), 1), ((3, 5, 4, 2), 7), ((30, 20, 10), 4), ((784, 128, 10), 2)])
def test_backprop_equals_autograd(sizes, batch):
    net = cost.random_network(sizes, batch=batch, seed=3)
    run = cost.backprop(net, repeats=2)
    np.testing.assert_allclose(run.gradient, autograd_gradient(net), rtol=1e-10, atol=1e-17)
    assert (run.forward_passes, run.backward_passes) == (1, 1)
    assert net.forward_passes == 2 and net.backward_passes == 2  # two repeats, one pass each way


@pytest.mark.parametrize("sizes", [(2, 2, 2), (4, 6, 3), (2, 3, 3, 2)])
def test_finite_differences_agree_and_count_two_passes_per_weight(sizes):
    net = cost.random_network(sizes, batch=3, seed=1)
    fd = cost.finite_differences(net)
    reference = autograd_gradient(net)
    assert np.linalg.norm(fd.gradient - reference) / np.linalg.norm(reference) < 1e-6
    assert fd.forward_passes == net.forward_passes == 2 * net.n_weights == 2 * len(reference)
    assert fd.backward_passes == 0


def test_finite_differences_leave_the_weights_as_they_were():
    net = cost.random_network((5, 4, 3), seed=2)
    before = [W.copy() for W in net.weights]
    cost.finite_differences(net)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights))


@pytest.mark.parametrize("order", ["fortran", "strided"])
def test_finite_differences_nudge_weights_in_any_memory_order(order):
    """A matrix that is not C-contiguous (Fortran order, or a strided view that is neither C nor
    Fortran) is nudged where it lies: a nudge of a reshaped copy would leave the loss, and so
    every difference, at zero."""
    net = cost.random_network((4, 6, 3), batch=2, seed=5)
    if order == "fortran":
        net.weights = [np.asfortranarray(W) for W in net.weights]
        assert all(W.flags.f_contiguous for W in net.weights)
    else:
        net.weights = [np.repeat(W, 2, axis=1)[:, ::2] for W in net.weights]  # every other column
        assert not any(W.flags.f_contiguous for W in net.weights)
    assert not any(W.flags.c_contiguous for W in net.weights)
    fd = cost.finite_differences(net)
    reference = autograd_gradient(net)
    assert np.linalg.norm(fd.gradient - reference) / np.linalg.norm(reference) < 1e-6


def test_a_sample_is_the_same_entries_of_the_full_gradient():
    net = cost.random_network((20, 10, 5), batch=2, seed=4)
    fd = cost.finite_differences(net, sample=37, seed=9)
    assert len(np.unique(fd.indices)) == 37 and fd.forward_passes == 74
    np.testing.assert_allclose(fd.gradient, autograd_gradient(net)[fd.indices], rtol=1e-5, atol=1e-10)


def test_measure_extrapolates_a_sampled_run_and_says_so():
    c = cost.measure((40, 30, 10), max_fd_weights=1000, sample=200)
    assert c.fd_sampled and len(c.finite_differences.indices) == 200
    assert c.n_weights == 40 * 30 + 30 * 10
    assert c.finite_differences.forward_passes == 2 * 200  # counted: two per weight of the sample
    assert c.fd_forward_passes == 2 * c.n_weights  # extrapolated to every weight
    assert c.fd_seconds == pytest.approx(c.finite_differences.seconds * c.n_weights / 200)
    assert c.relative_error < 1e-6
    # backprop's time in forward passes: its measured seconds over a forward pass's
    assert c.backprop_in_forward_passes == c.backprop.seconds / c.forward_seconds > 0
    full = cost.measure((4, 3, 2))
    assert not full.fd_sampled and full.fd_forward_passes == full.finite_differences.forward_passes == 2 * 18


def test_cost_table_rows():
    table = cost.cost_table([cost.measure((2, 2, 2)), cost.measure((6, 5, 4))])
    assert list(table.index) == ["2-2-2", "6-5-4"]
    assert list(table["weights"]) == [8, 50]
    assert list(table["FD forward passes"]) == [16, 100]
    assert (table["backprop passes (forward + backward)"] == "1 + 1").all()
    html = cost.styled(table).to_html()
    assert "e-" not in html and "×" in html and "(forward + backward)" in html and ">1 + 1<" in html


def test_the_shown_ratio_is_the_division_of_the_shown_times():
    """A reader who divides the two printed times gets the printed ratio, and each printed time is
    the measured one rounded to the printed decimals."""
    table = cost.cost_table([cost.measure((2, 2, 2)), cost.measure((6, 5, 4))])
    shown = cost.styled(table).data
    for net in shown.columns:
        bp, fd = (float(shown.loc[row, net].replace(",", "")) for row in ("backprop ms", "FD ms"))
        assert shown.loc["FD / backprop", net] == f"{fd / bp:,.0f}"
        half = 0.5 * 10.0 ** -cost.MS_DECIMALS + 1e-12
        assert abs(bp - 1e3 * table.loc[net, "backprop seconds"]) <= half
        assert abs(fd - 1e3 * table.loc[net, "FD seconds"]) <= half
    with pytest.raises(UsageError, match="0 ms"):
        cost.shown_ratio(1.0, 1e-7)


@pytest.mark.parametrize("kwargs", [dict(sizes=(3,)), dict(sizes=(3, 0, 2)), dict(sizes=(2, 2), batch=0),
                                    dict(sizes=(2, 2.5))])
def test_bad_networks_are_refused(kwargs):
    with pytest.raises(UsageError):
        cost.random_network(**kwargs)


def test_bad_finite_difference_settings_are_refused():
    net = cost.random_network((2, 2, 2))
    with pytest.raises(UsageError, match="sample"):
        cost.finite_differences(net, sample=9)
    with pytest.raises(UsageError, match="h must"):
        cost.finite_differences(net, h=0.0)
