"""nnbook.tiny against numbers that do not come from it: published values, float math, rules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook import tiny
from nnbook.tiny import CLASSIC, CLASSIC_WITH_BIASES, TABLE_COLUMNS

# The widely published worked example of this exercise (with its fixed biases b1 = 0.35,
# b2 = 0.60), typed in from the write-up: literature values, not computed by this package.
PUBLISHED_E_TOTAL = 0.298371109
PUBLISHED_A_O1 = 0.75136507
PUBLISHED_A_O2 = 0.772928465
PUBLISHED_AFTER_ONE_STEP = {  # eta = 0.5
    "w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
    "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121,
}

P = CLASSIC_WITH_BIASES
ETAS = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0)


def _args(problem=P):
    return problem.weights, problem.inputs, problem.targets, problem.biases


def test_classic_constants():
    assert CLASSIC.inputs == (0.05, 0.10)
    assert CLASSIC.targets == (0.01, 0.99)
    assert CLASSIC.weights == (0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55)
    assert CLASSIC.biases == (0.0, 0.0)
    assert CLASSIC_WITH_BIASES.biases == (0.35, 0.60)


def test_published_forward_values():
    fw = tiny.forward(*_args())
    assert fw.E_total == pytest.approx(PUBLISHED_E_TOTAL, abs=1e-9)
    assert fw.a_o1 == pytest.approx(PUBLISHED_A_O1, abs=1e-8)
    assert fw.a_o2 == pytest.approx(PUBLISHED_A_O2, abs=1e-9)
    assert fw.E_total == fw.E1 + fw.E2


def test_published_weights_after_one_step():
    w, x, t, b = _args()
    new = dict(zip(tiny.WEIGHT_NAMES, tiny.step(w, 0.5, x, t, b)))
    for name, value in PUBLISHED_AFTER_ONE_STEP.items():
        assert new[name] == pytest.approx(value, abs=1e-8), name


def test_bias_free_forward_by_plain_math():
    """The book's network (no biases), recomputed with math.exp, one equation at a time."""
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    w1, w2, w3, w4, w5, w6, w7, w8 = CLASSIC.weights
    i1, i2 = CLASSIC.inputs
    t1, t2 = CLASSIC.targets
    ah1, ah2 = s(w1 * i1 + w2 * i2), s(w3 * i1 + w4 * i2)
    ao1, ao2 = s(w5 * ah1 + w6 * ah2), s(w7 * ah1 + w8 * ah2)
    fw = tiny.forward()
    assert fw.a_h1 == pytest.approx(ah1, rel=1e-15)
    assert fw.a_h2 == pytest.approx(ah2, rel=1e-15)
    assert fw.a_o1 == pytest.approx(ao1, rel=1e-15)
    assert fw.a_o2 == pytest.approx(ao2, rel=1e-15)
    assert fw.E_total == pytest.approx(0.5 * (t1 - ao1) ** 2 + 0.5 * (t2 - ao2) ** 2, rel=1e-14)
    assert fw.h1 == pytest.approx(0.0275, rel=1e-15)
    assert fw.h2 == pytest.approx(0.0425, rel=1e-15)


def test_gradient_factors_fit_together():
    g = tiny.gradients()
    assert g.delta_o1 == g.dE1_da_o1 * g.da_o1_do1
    assert g.dE_da_h1 == g.dE1_da_h1 + g.dE2_da_h1
    assert g.dE_da_h2 == g.dE1_da_h2 + g.dE2_da_h2
    assert g.dw == (g.dw1, g.dw2, g.dw3, g.dw4, g.dw5, g.dw6, g.dw7, g.dw8)


# ------------------------------------------------------------------ sigmoid

@pytest.mark.parametrize("x, expected", [(1000.0, 1.0), (-1000.0, 0.0), (0.0, 0.5),
                                         (math.inf, 1.0), (-math.inf, 0.0)])
def test_sigmoid_extremes_without_warnings(x, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tiny.sigmoid(x) == expected
        assert isinstance(tiny.sigmoid(x), float)
        out = tiny.sigmoid(np.array([x, -x]))
    assert out.shape == (2,)


@given(st.floats(-700, 700))
def test_sigmoid_matches_textbook_formula(x):
    assert tiny.sigmoid(x) == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-14, abs=1e-300)
    assert tiny.sigmoid(x) + tiny.sigmoid(-x) == pytest.approx(1.0, abs=1e-15)


# ------------------------------------------------------------------ training

@pytest.mark.parametrize("eta", ETAS)
def test_error_decreases_every_step_for_100_steps(eta):
    table = tiny.train(eta=eta, n_steps=100)
    e = table["E_total"].to_numpy()
    assert len(e) == 101
    assert np.all(np.diff(e) < 0), f"E_total rose somewhere for eta={eta}"


def test_train_table_layout_and_update_rule():
    eta = 0.5
    table = tiny.train(eta=eta, n_steps=7)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["iteration"].tolist() == list(range(8))
    assert tuple(table.loc[0, list(tiny.WEIGHT_NAMES)]) == CLASSIC.weights
    w = table[list(tiny.WEIGHT_NAMES)].to_numpy()
    g = table[[f"dE/d{n}" for n in tiny.WEIGHT_NAMES]].to_numpy()
    np.testing.assert_array_equal(w[1:], w[:-1] - eta * g[:-1])
    # each row's forward pass is the forward pass of that row's weights
    row = table.iloc[5]
    fw = tiny.forward(tuple(row[list(tiny.WEIGHT_NAMES)]))
    assert row["E_total"] == fw.E_total


def test_zero_steps_and_zero_eta():
    assert len(tiny.train(n_steps=0)) == 1
    assert tiny.step(eta=0.0) == CLASSIC.weights


# ------------------------------------------------------------------ bad input

BAD_CALLS = [
    (lambda: tiny.step(eta=-0.1), "eta"),
    (lambda: tiny.step(eta=math.nan), "eta"),
    (lambda: tiny.step(eta=math.inf), "eta"),
    (lambda: tiny.train(eta=-1.0, n_steps=3), "eta"),
    (lambda: tiny.train(eta="0.5", n_steps=3), "eta"),
    (lambda: tiny.train(n_steps=-1), "n_steps"),
    (lambda: tiny.train(n_steps=2.5), "n_steps"),
    (lambda: tiny.train(n_steps=True), "n_steps"),
    (lambda: tiny.forward(weights=(0.1,) * 7), "weights"),
    (lambda: tiny.forward(weights=(0.1,) * 9), "weights"),
    (lambda: tiny.forward(weights=(math.nan,) + (0.1,) * 7), "weights"),
    (lambda: tiny.gradients(weights=(math.inf,) * 8), "weights"),
    (lambda: tiny.forward(weights="abcdefgh"), "weights"),
    (lambda: tiny.forward(inputs=(0.05, math.nan)), "inputs"),
    (lambda: tiny.forward(inputs=(0.05,)), "inputs"),
    (lambda: tiny.gradients(targets=(math.inf, 0.99)), "targets"),
    (lambda: tiny.step(targets=(0.01, 0.99, 0.5)), "targets"),
    (lambda: tiny.forward(biases=(0.0, -math.inf)), "biases"),
    (lambda: tiny.Problem(eta=-2), "eta"),
    (lambda: tiny.Problem(weights=(1,) * 3), "weights"),
]


@pytest.mark.parametrize("call, argument", BAD_CALLS)
def test_bad_input_raises_value_error_naming_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=8, max_size=8), st.floats(0, 2))
def test_step_lowers_error_for_a_small_enough_eta(weights, eta):
    """Gradient descent with a tiny step never raises the error (first-order argument)."""
    g = np.array(tiny.gradients(weights).dw)
    if np.linalg.norm(g) < 1e-9:
        return
    small = 1e-4 * eta
    assert tiny.forward(tiny.step(weights, small)).E_total <= tiny.forward(weights).E_total


@pytest.mark.parametrize("kwargs,argument", [
    ({"weights": (True, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55)}, "weights"),
    ({"weights": ("0.15", 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55)}, "weights"),
    ({"inputs": (0.05, False)}, "inputs"),
    ({"targets": ("0.01", 0.99)}, "targets"),
], ids=["bool-weight", "string-weight", "bool-input", "string-target"])
def test_bools_and_strings_are_refused_like_for_eta(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=f"{argument} must be real numbers"):
        tiny.forward(**kwargs)
    with pytest.raises(ValueError, match="eta"):
        tiny.step(eta=True)


@pytest.mark.parametrize("kwargs", [
    {"targets": (1e200, 0.99)},  # (t - a)**2 overflows: once an OverflowError
    {"weights": (10.0, -10.0, 10.0, -10.0, 0.4, 0.45, 0.5, 0.55), "inputs": (1e308, 1e308)},  # inf - inf: once NaN
], ids=["huge-target", "inf-minus-inf"])
def test_extreme_finite_values_give_a_value_error_not_nan_or_overflow(kwargs: dict) -> None:
    for fn in (tiny.forward, tiny.gradients, tiny.step):
        with pytest.raises(ValueError, match="too large for float64"):
            fn(**kwargs)
