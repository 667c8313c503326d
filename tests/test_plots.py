"""The loss curves and their plots: the curves are training runs, the plots show exactly them."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook.backprop import checks, plots
from nnbook.backprop.problem import CLASSIC, CLASSIC_WITH_BIASES


def test_loss_curves_are_repeated_steps():
    pytest.importorskip("torch")  # the referee; Part 1's torch-free install runs the other tests here
    etas, steps = (0.3, 1.7), 40
    curves = plots.loss_curves(CLASSIC_WITH_BIASES, etas, steps)
    assert list(curves.columns) == list(etas)
    assert list(curves.index) == list(range(steps + 1))
    for eta in etas:  # the referee shares no code with the package's training: torch autograd steps
        p, errors = CLASSIC_WITH_BIASES, []
        for _ in range(steps):
            e, grad = checks.autograd_gradients(p)
            errors.append(e)
            p = p.with_weights([w - eta * g for w, g in zip(p.weights, grad)])
        errors.append(checks.autograd_gradients(p)[0])
        np.testing.assert_allclose(curves[eta], errors, rtol=1e-12)


@pytest.mark.parametrize("n_curves, ncols", [(6, 3), (4, 3), (1, 2)])
def test_grid_shows_each_curve_once_on_its_own_axes(n_curves, ncols):
    curves = plots.loss_curves(CLASSIC, [0.1 * (k + 1) for k in range(n_curves)], 10)
    grid = plots.plot_loss_grid(curves, ncols=ncols)
    visible = [ax for ax in grid.axes if ax.get_visible()]
    # the hidden axes are only the grid's leftovers: fewer than one row
    assert len(visible) == n_curves and len(grid.axes) - n_curves < ncols
    for ax, eta in zip(visible, curves.columns):
        (line,) = ax.lines
        np.testing.assert_array_equal(line.get_ydata(), curves[eta].to_numpy())
        assert f"{eta:g}" in ax.get_title()
        assert f"{curves[eta].iloc[-1]:.4f}" in ax.get_title()


def test_comparison_shows_every_curve_on_one_log_axis():
    curves = plots.loss_curves(CLASSIC, (0.5, 2.0), 10)
    (ax,) = plots.plot_loss_comparison(curves).axes
    assert [line.get_label() for line in ax.lines] == ["η = 0.5", "η = 2"]
    for line, eta in zip(ax.lines, curves.columns):
        np.testing.assert_array_equal(line.get_ydata(), curves[eta].to_numpy())
    assert ax.get_yscale() == "log"
    assert plots.plot_loss_comparison(curves, log=False).axes[0].get_yscale() == "linear"
