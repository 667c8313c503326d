"""The hand gradients against three independent referees: torch autograd, finite differences, sympy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.backprop import checks, network
from nnbook.backprop.problem import CLASSIC, CLASSIC_WITH_BIASES, FORWARD_NAMES, WEIGHT_NAMES, Problem
from reference import plain_forward

POINTS = {"book": CLASSIC, "published (biases)": CLASSIC_WITH_BIASES}

weights_st = st.lists(st.floats(-3, 3), min_size=8, max_size=8)
pair_st = st.lists(st.floats(-2, 2), min_size=2, max_size=2)
target_st = st.lists(st.floats(0, 1), min_size=2, max_size=2)
problems = st.builds(Problem, inputs=pair_st, targets=target_st, weights=weights_st, biases=pair_st)


@pytest.mark.parametrize("name", POINTS)
def test_autograd_at_classic_points(name):
    p = POINTS[name]
    E_total, grad = checks.autograd_gradients(p)
    assert E_total == pytest.approx(network.forward(p).E_total, rel=1e-14)
    np.testing.assert_allclose(network.gradients(p).dw, grad, rtol=1e-12, atol=1e-17)


@settings(max_examples=30, deadline=None)
@given(problems)
def test_torch_forward_is_the_forward_pass(problem):
    """The referee's own forward pass agrees with plain math.exp, quantity by quantity."""
    got = checks.torch_forward(problem)
    want = plain_forward(problem.weights, problem.inputs, problem.targets, problem.biases)
    assert list(got) == list(FORWARD_NAMES)
    for name in FORWARD_NAMES:
        assert got[name] == pytest.approx(want[name], rel=1e-13, abs=1e-15), name


@pytest.mark.parametrize("name", POINTS)
def test_finite_differences_at_classic_points(name):
    p = POINTS[name]
    np.testing.assert_allclose(network.gradients(p).dw, checks.finite_difference_gradients(p), rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", POINTS)
def test_sympy_at_classic_points(name):
    p = POINTS[name]
    np.testing.assert_allclose(network.gradients(p).dw, checks.symbolic_gradients(p), rtol=1e-13, atol=1e-18)


def test_sympy_proves_every_hand_formula():
    residuals = checks.hand_formula_residuals()
    assert set(residuals) == set(WEIGHT_NAMES)
    for name, r in residuals.items():
        assert r == 0, f"dE/d{name}: hand formula differs from sympy by {r}"


def test_sympy_residual_catches_a_wrong_formula():
    """The same simplification does not call a wrong formula right: (a_o1 - t1) in dE/dw7."""
    import sympy as sp

    f, s = checks.symbolic_forward(), checks.symbols()
    dE_dw7 = sp.diff(f["E_total"], s["w7"])
    wrong = (f["a_o1"] - s["t1"]) * f["a_o2"] * (1 - f["a_o2"]) * f["a_h1"]
    right = (f["a_o2"] - s["t2"]) * f["a_o2"] * (1 - f["a_o2"]) * f["a_h1"]
    assert checks.simplified(dE_dw7 - wrong) != 0
    assert checks.simplified(dE_dw7 - right) == 0


@settings(max_examples=60, deadline=None)
@given(problems)
def test_autograd_at_random_points(problem):
    _, auto = checks.autograd_gradients(problem)
    np.testing.assert_allclose(network.gradients(problem).dw, auto, rtol=1e-10, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(problems)
def test_finite_differences_at_random_points(problem):
    fd = checks.finite_difference_gradients(problem)
    np.testing.assert_allclose(network.gradients(problem).dw, fd, rtol=0, atol=2e-8)


@settings(max_examples=10, deadline=None)
@given(problems)
def test_sympy_at_random_points(problem):
    sym = checks.symbolic_gradients(problem)
    np.testing.assert_allclose(network.gradients(problem).dw, sym, rtol=1e-11, atol=1e-15)


def test_check_table():
    table = checks.check_table(CLASSIC_WITH_BIASES)
    assert list(table.index) == [f"dE/d{n}" for n in WEIGHT_NAMES]
    np.testing.assert_array_equal(table["hand"], network.gradients(CLASSIC_WITH_BIASES).dw)
    assert table["|hand - autograd|"].max() < 1e-15
    assert table["|hand - finite difference|"].max() < 1e-9
    assert table["|hand - sympy|"].max() < 1e-15


def test_slipped_dw7_is_the_wrong_formula():
    """The chapter's slip is output 1's error where output 2's belongs, so it differs from dE/dw7
    exactly by (t1 - t2 + a_o2 - a_o1) times the rest of the product."""
    fw, g = network.forward(), network.gradients()
    slip = checks.slipped_dw7()
    assert slip == pytest.approx(g.dE1_da_o1 * g.da_o2_do2 * fw.a_h1, rel=1e-15)
    assert slip * g.dw7 < 0


@pytest.mark.parametrize("call", [
    lambda: checks.autograd_gradients(CLASSIC.weights),
    lambda: checks.torch_forward("classic"),
    lambda: checks.finite_difference_gradients(None),
    lambda: checks.symbolic_gradients((0.05, 0.1)),
    lambda: checks.check_table(CLASSIC.inputs),
])
def test_checks_reject_what_is_not_a_problem(call):
    with pytest.raises(ValueError, match="problem must be"):
        call()


def test_core_stays_numpy_only():
    import subprocess
    import sys

    code = ("import sys, nnbook.backprop.network, nnbook.backprop.matrix, nnbook.backprop.sheet, "
            "nnbook.backprop.checks, nnbook.backprop.diagram, nnbook.backprop.plots; "
            "bad = {'torch', 'sympy'} & set(sys.modules); assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
