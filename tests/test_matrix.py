"""The matrix form against the scalar hand formulas and torch autograd, biases included."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.backprop import checks, matrix, network
from nnbook.backprop.problem import CLASSIC_WITH_BIASES, Problem
from nnbook.errors import UsageError

weights_st = st.lists(st.floats(-3, 3), min_size=8, max_size=8)
pair_st = st.lists(st.floats(-2, 2), min_size=2, max_size=2)
target_st = st.lists(st.floats(0, 1), min_size=2, max_size=2)
problems = st.builds(Problem, inputs=pair_st, targets=target_st, weights=weights_st, biases=pair_st)


@settings(max_examples=80, deadline=None)
@given(problems)
def test_matrix_form_equals_scalar_form(problem):
    g = network.gradients(problem)
    m = matrix.gradients_matrix(problem)
    np.testing.assert_allclose(m.dw, g.dw, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(m.delta_o, [g.delta_o1, g.delta_o2], rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(m.delta_h, [g.delta_h1, g.delta_h2], rtol=1e-12, atol=1e-16)
    fw, mf = network.forward(problem), matrix.forward_matrix(problem)
    np.testing.assert_allclose(mf.h, [fw.h1, fw.h2], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(mf.a_o, [fw.a_o1, fw.a_o2], rtol=1e-14)
    assert mf.E_total == pytest.approx(fw.E_total, rel=1e-12, abs=1e-15)


def test_biases_change_the_matrix_forward_pass():
    """The biases are not ignored: with them the matrix form agrees with the scalar form, and
    differs from the same problem without them."""
    p = CLASSIC_WITH_BIASES
    with_b, without_b = matrix.forward_matrix(p), matrix.forward_matrix(replace(p, biases=(0, 0)))
    assert with_b.E_total == pytest.approx(network.forward(p).E_total, rel=1e-14)
    assert abs(with_b.E_total - without_b.E_total) > 0.01


@settings(max_examples=30, deadline=None)
@given(weights_st, pair_st)
def test_matrices_hold_the_weights_into_each_neuron(weights, inputs):
    """Row j of W1 times the inputs is the net input of hidden neuron j (with no biases)."""
    W1, W2 = matrix.to_matrices(weights)
    fw = network.forward(Problem(inputs=inputs, weights=weights))
    np.testing.assert_allclose(W1 @ np.array(inputs), [fw.h1, fw.h2], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(W2 @ np.array([fw.a_h1, fw.a_h2]), [fw.o1, fw.o2], rtol=1e-14, atol=1e-15)
    assert matrix.from_matrices(W1, W2) == tuple(float(w) for w in weights)


def test_matrix_against_autograd_at_the_published_point():
    _, auto = checks.autograd_gradients(CLASSIC_WITH_BIASES)
    np.testing.assert_allclose(matrix.gradients_matrix(CLASSIC_WITH_BIASES).dw, auto, rtol=1e-13)


@pytest.mark.parametrize("call, argument", [
    (lambda: matrix.to_matrices((1.0,) * 9), "weights"),
    (lambda: matrix.from_matrices(np.eye(2), np.full((2, 2), np.nan)), "weights"),
    (lambda: matrix.forward_matrix((1.0,) * 8), "problem"),
])
def test_matrix_rejects_bad_input(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_latex_shows_every_entry_in_place():
    """Parse the LaTeX back: rows split at \\\\, columns at &, each entry the value to the digits asked."""
    values = np.array([[0.15, -0.2], [1e-4, 3.0]])
    body = re.fullmatch(r"\\begin\{pmatrix\} (.*) \\end\{pmatrix\}", matrix.latex(values, 4)).group(1)
    parsed = [[float(x) for x in row.split("&")] for row in body.split(r"\\")]
    np.testing.assert_allclose(parsed, values, atol=0.5e-4)
    column = re.fullmatch(r"\\begin\{pmatrix\} (.*) \\end\{pmatrix\}", matrix.latex([0.5, -0.25], 2)).group(1)
    assert [float(x) for x in column.split(r"\\")] == [0.5, -0.25]  # a vector is a column
    assert matrix.latex(0.1234567, 3) == "0.123"
    eq = matrix.equation([("W", values), ("E", 0.5)], decimals=1)
    assert eq.startswith("W = \\begin{pmatrix}") and eq.endswith(r"\qquad E = 0.5")


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 2)), [], [np.nan]])
def test_latex_refuses_what_it_cannot_show(bad):
    with pytest.raises(UsageError):
        matrix.latex(bad)
