"""The hand gradients against three independent referees, and the matrix form against them all."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook import checks, matrix, tiny
from nnbook.tiny import CLASSIC, CLASSIC_WITH_BIASES, WEIGHT_NAMES

POINTS = {"book": CLASSIC, "published (biases)": CLASSIC_WITH_BIASES}

weights_st = st.lists(st.floats(-3, 3), min_size=8, max_size=8)
pair_st = st.lists(st.floats(-2, 2), min_size=2, max_size=2)
target_st = st.lists(st.floats(0, 1), min_size=2, max_size=2)


def _args(p):
    return p.weights, p.inputs, p.targets, p.biases


@pytest.mark.parametrize("name", POINTS)
def test_autograd_at_classic_points(name):
    args = _args(POINTS[name])
    E_total, grad = checks.autograd_gradients(*args)
    assert E_total == pytest.approx(tiny.forward(*args).E_total, rel=1e-14)
    np.testing.assert_allclose(tiny.gradients(*args).dw, grad, rtol=1e-12, atol=1e-17)


@pytest.mark.parametrize("name", POINTS)
def test_finite_differences_at_classic_points(name):
    args = _args(POINTS[name])
    np.testing.assert_allclose(tiny.gradients(*args).dw,
                               checks.finite_difference_gradients(*args), rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", POINTS)
def test_sympy_at_classic_points(name):
    args = _args(POINTS[name])
    np.testing.assert_allclose(tiny.gradients(*args).dw, checks.symbolic_gradients(*args),
                               rtol=1e-13, atol=1e-18)


def test_sympy_proves_every_hand_formula():
    residuals = checks.hand_formula_residuals()
    assert set(residuals) == set(WEIGHT_NAMES)
    for name, r in residuals.items():
        assert r == 0, f"dE/d{name}: hand formula differs from sympy by {r}"


def test_sympy_residual_catches_a_wrong_formula():
    """The same simplification does not call a wrong formula right: (a_o1 - t1) in dE/dw7."""
    import sympy as sp

    E, s = checks.symbolic_error()
    sig = lambda x: 1 / (1 + sp.exp(-x))  # noqa: E731
    a_h1 = sig(s["w1"] * s["i1"] + s["w2"] * s["i2"] + s["b1"])
    a_h2 = sig(s["w3"] * s["i1"] + s["w4"] * s["i2"] + s["b1"])
    a_o1 = sig(s["w5"] * a_h1 + s["w6"] * a_h2 + s["b2"])
    a_o2 = sig(s["w7"] * a_h1 + s["w8"] * a_h2 + s["b2"])
    wrong = (a_o1 - s["t1"]) * a_o2 * (1 - a_o2) * a_h1
    right = (a_o2 - s["t2"]) * a_o2 * (1 - a_o2) * a_h1
    assert sp.simplify(sp.cancel(sp.together(sp.diff(E, s["w7"]) - wrong))) != 0
    assert sp.simplify(sp.cancel(sp.together(sp.diff(E, s["w7"]) - right))) == 0


@settings(max_examples=60, deadline=None)
@given(weights_st, pair_st, target_st, pair_st)
def test_autograd_at_random_points(weights, inputs, targets, biases):
    hand = tiny.gradients(weights, inputs, targets, biases).dw
    _, auto = checks.autograd_gradients(weights, inputs, targets, biases)
    np.testing.assert_allclose(hand, auto, rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(weights_st, pair_st, target_st, pair_st)
def test_finite_differences_at_random_points(weights, inputs, targets, biases):
    hand = tiny.gradients(weights, inputs, targets, biases).dw
    fd = checks.finite_difference_gradients(weights, inputs, targets, biases)
    np.testing.assert_allclose(hand, fd, rtol=0, atol=2e-8)


@settings(max_examples=10, deadline=None)
@given(weights_st, pair_st, target_st, pair_st)
def test_sympy_at_random_points(weights, inputs, targets, biases):
    hand = tiny.gradients(weights, inputs, targets, biases).dw
    sym = checks.symbolic_gradients(weights, inputs, targets, biases)
    np.testing.assert_allclose(hand, sym, rtol=1e-11, atol=1e-15)


# ------------------------------------------------------------------ the matrix form

@settings(max_examples=80, deadline=None)
@given(weights_st, pair_st, target_st)
def test_matrix_form_equals_scalar_form(weights, inputs, targets):
    g = tiny.gradients(weights, inputs, targets)
    m = matrix.gradients_matrix(weights, inputs, targets)
    np.testing.assert_allclose(m.dw, g.dw, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(m.delta_o, [g.delta_o1, g.delta_o2], rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(m.delta_h, [g.delta_h1, g.delta_h2], rtol=1e-12, atol=1e-16)
    W1, W2 = matrix.to_matrices(weights)
    fw = matrix.forward_matrix(W1, W2, inputs, targets)
    assert fw.E_total == pytest.approx(tiny.forward(weights, inputs, targets).E_total, rel=1e-12)


def test_matrix_layout():
    W1, W2 = matrix.to_matrices(CLASSIC.weights)
    np.testing.assert_array_equal(W1, [[0.15, 0.20], [0.25, 0.30]])
    np.testing.assert_array_equal(W2, [[0.40, 0.45], [0.50, 0.55]])
    assert matrix.from_matrices(W1, W2) == CLASSIC.weights


def test_matrix_against_autograd_at_classic_point():
    _, auto = checks.autograd_gradients()
    np.testing.assert_allclose(matrix.gradients_matrix().dw, auto, rtol=1e-13)


def test_check_table():
    table = checks.check_table()
    assert list(table.index) == [f"dE/d{n}" for n in WEIGHT_NAMES]
    assert table["|hand - autograd|"].max() < 1e-15
    assert table["|hand - finite difference|"].max() < 1e-9
    assert table["|hand - sympy|"].max() < 1e-15


@pytest.mark.parametrize("call, argument", [
    (lambda: checks.autograd_gradients(weights=(1.0,) * 7), "weights"),
    (lambda: checks.finite_difference_gradients(inputs=(float("nan"), 0.1)), "inputs"),
    (lambda: checks.symbolic_gradients(targets=(0.1,)), "targets"),
    (lambda: matrix.to_matrices((1.0,) * 9), "weights"),
    (lambda: matrix.gradients_matrix(inputs=(0.0, float("inf"))), "inputs"),
])
def test_checks_reject_bad_input(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_core_stays_numpy_only():
    import subprocess
    import sys

    code = ("import sys, nnbook.tiny, nnbook.matrix, nnbook.sheet, nnbook.checks; "
            "bad = {'torch', 'sympy'} & set(sys.modules); assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
