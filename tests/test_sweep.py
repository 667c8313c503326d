"""eta_sweep against plain loops that share no code with it: torch autograd gradients and math.exp."""

from __future__ import annotations


import numpy as np
import pytest

from nnbook.backprop import checks, network, plots, sweep
from nnbook.backprop.problem import CLASSIC, CLASSIC_WITH_BIASES, Problem
from nnbook.errors import UsageError


def _autograd_run(problem: Problem, eta: float, steps: int) -> tuple[list[float], float]:
    """(E_total at iterations 0..steps, largest |gradient|) from a loop of torch autograd steps."""
    p, errors, largest = problem, [], 0.0
    for _ in range(steps):
        e, grad = checks.autograd_gradients(p)
        errors.append(e)
        largest = max(largest, *(abs(g) for g in grad))
        p = p.with_weights([w - eta * g for w, g in zip(p.weights, grad)])
    errors.append(checks.autograd_gradients(p)[0])
    return errors, largest


@pytest.mark.parametrize("problem", [CLASSIC, CLASSIC_WITH_BIASES])
def test_sweep_matches_an_autograd_loop(problem):
    etas, steps = (0.5, 71.0, 1e4), 30
    table = sweep.eta_sweep(problem, etas, steps)
    assert list(table.index) == list(etas) and list(table.columns) == list(sweep.SWEEP_COLUMNS)
    for eta in etas:
        errors, largest = _autograd_run(problem, eta, steps)
        assert table.loc[eta, "E_final"] == pytest.approx(errors[-1], rel=1e-9, abs=1e-15)
        assert table.loc[eta, "rose"] == any(b > a for a, b in zip(errors, errors[1:]))
        # the largest one-step change of E_total (a fall, negative, where E never rose)
        assert table.loc[eta, "largest_rise"] == pytest.approx(max(b - a for a, b in zip(errors, errors[1:])),
                                                               rel=1e-6, abs=1e-15)
        assert table.loc[eta, "largest_gradient"] == pytest.approx(largest, rel=1e-12)


def test_a_rise_is_detected():
    """A problem on which big steps do overshoot: targets 0.5 in the middle of the sigmoid, where a
    large step carries the output far past them, while saturated hidden neurons (h = 5) hardly move."""
    p = Problem(inputs=(1.0, 0.0), targets=(0.5, 0.5), weights=(5, 0, 5, 0, 0.5, 0, 0.5, 0))
    table = sweep.eta_sweep(p, (0.1, 100.0), 20)
    errors, _ = _autograd_run(p, 100.0, 20)
    assert any(b > a for a, b in zip(errors, errors[1:]))  # the referee sees the rise ...
    assert table.loc[100.0, "rose"] and table.loc[100.0, "largest_rise"] > 0  # ... and so does the sweep
    assert not table.loc[0.1, "rose"] and table.loc[0.1, "largest_rise"] < 0


def test_huge_steps_freeze_at_the_saturated_error():
    """On the book's problem a huge eta pins the outputs at 0 and 1: E is then (0.01^2 + 0.01^2) / 2."""
    floor = sweep.saturated_error(CLASSIC)
    assert floor == pytest.approx(0.5 * (0.01**2 + (1 - 0.99) ** 2), rel=1e-12)
    table = sweep.eta_sweep(CLASSIC, (1e5,), 5)
    assert table.loc[1e5, "E_final"] == pytest.approx(floor, rel=1e-9)
    assert table.loc[1e5, "largest_rise"] <= 0
    # the outputs themselves sit where the sigmoid has no slope left
    last = network.train(CLASSIC, 1e5, 1).iloc[-1]
    assert last["a_o1"] * (1 - last["a_o1"]) < 1e-12 and last["a_o2"] * (1 - last["a_o2"]) < 1e-12


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(etas=()), "at least one"),
    (dict(etas=(-1.0,)), "eta"),
    (dict(steps=0), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(problem="classic"), "Problem"),
])
def test_bad_arguments_are_named(kwargs, fragment):
    with pytest.raises(UsageError, match=fragment):
        sweep.eta_sweep(**{"problem": CLASSIC, "etas": (1.0,), "steps": 3, **kwargs})


def test_saturated_error_needs_targets_in_the_unit_interval():
    with pytest.raises(UsageError, match="targets"):
        sweep.saturated_error(Problem(targets=(0.5, 2.0)))


def test_sweep_plot_shows_the_sweep_and_its_best_point():
    table = sweep.eta_sweep(CLASSIC, (1.0, 10.0, 100.0), 5)
    (ax,) = plots.plot_eta_sweep(table, 5, floor=1e-4).axes
    curve, best = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(curve.get_ydata(), table["E_final"].to_numpy())
    assert best.get_xdata()[0] == table["E_final"].idxmin()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
