"""nnbook.backprop.network against numbers that do not come from it: published values, plain math, rules."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbook.backprop import network
from nnbook.backprop.problem import (CLASSIC, CLASSIC_WITH_BIASES, FORWARD_NAMES, GRADIENT_NAMES, WEIGHT_NAMES,
                                     Problem)
from nnbook.errors import UsageError
from reference import (PUBLISHED_AFTER_ONE_STEP, PUBLISHED_BIASES, PUBLISHED_ETA, PUBLISHED_FORWARD,
                       plain_forward)

ETAS = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0)

weights_st = st.lists(st.floats(-3, 3), min_size=8, max_size=8)
pair_st = st.lists(st.floats(-2, 2), min_size=2, max_size=2)
target_st = st.lists(st.floats(0, 1), min_size=2, max_size=2)
problems = st.builds(Problem, inputs=pair_st, targets=target_st, weights=weights_st, biases=pair_st)


def _to_published_digits(value: float) -> float:
    """Half a unit in the last digit the write-up prints: how close a correct value must come."""
    return 0.5 * 10.0 ** -len(repr(value).split(".")[1])


def test_the_book_problem_is_the_published_one_without_its_biases():
    """CLASSIC_WITH_BIASES reproduces the write-up's forward pass to every published digit,
    and the book's CLASSIC differs from it in the biases alone (which it sets to 0)."""
    assert CLASSIC_WITH_BIASES.biases == PUBLISHED_BIASES
    assert replace(CLASSIC_WITH_BIASES, biases=(0, 0)) == CLASSIC
    fw = network.forward(CLASSIC_WITH_BIASES).as_dict()
    for name, value in PUBLISHED_FORWARD.items():
        assert fw[name] == pytest.approx(value, abs=_to_published_digits(value)), name


def test_published_weights_after_one_step():
    new = dict(zip(WEIGHT_NAMES, network.step(CLASSIC_WITH_BIASES, PUBLISHED_ETA).weights))
    for name, value in PUBLISHED_AFTER_ONE_STEP.items():
        assert new[name] == pytest.approx(value, abs=_to_published_digits(value)), name


@settings(max_examples=60, deadline=None)
@given(problems)
def test_forward_equals_plain_math(problem):
    """Every quantity of the forward pass, against the equations recomputed with math.exp."""
    want = plain_forward(problem.weights, problem.inputs, problem.targets, problem.biases)
    got = network.forward(problem).as_dict()
    assert list(got) == list(FORWARD_NAMES)
    for name in FORWARD_NAMES:
        # abs: E1 and E2 square a difference that may cancel, so their relative error can be large
        assert got[name] == pytest.approx(want[name], rel=1e-14, abs=1e-15), name


def test_gradient_factors_fit_together():
    g = network.gradients()
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
        assert network.sigmoid(x) == expected
        assert isinstance(network.sigmoid(x), float)
        out = network.sigmoid(np.array([x, -x]))
    assert out.shape == (2,)


@given(st.floats(-700, 700))
def test_sigmoid_matches_textbook_formula(x):
    assert network.sigmoid(x) == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-14, abs=1e-300)
    assert network.sigmoid(x) + network.sigmoid(-x) == pytest.approx(1.0, abs=1e-15)


# ------------------------------------------------------------------ training

@pytest.mark.parametrize("eta", ETAS)
def test_error_decreases_every_step_for_100_steps(eta):
    table = network.train(CLASSIC, eta, 100)
    e = table["E_total"].to_numpy()
    assert len(e) == 101
    assert np.all(np.diff(e) < 0), f"E_total rose somewhere for eta={eta}"


def test_train_table_follows_the_update_rule_and_plain_math():
    eta, steps = 0.5, 7
    table = network.train(CLASSIC, eta, steps)
    assert list(table.columns) == ["iteration", *WEIGHT_NAMES, *FORWARD_NAMES, *GRADIENT_NAMES]
    assert table["iteration"].tolist() == list(range(steps + 1))
    assert tuple(table.loc[0, list(WEIGHT_NAMES)]) == CLASSIC.weights
    w = table[list(WEIGHT_NAMES)].to_numpy()
    g = table[list(GRADIENT_NAMES)].to_numpy()
    np.testing.assert_array_equal(w[1:], w[:-1] - eta * g[:-1])
    # each row's forward pass is the forward pass of that row's weights
    for _, row in table.iterrows():
        want = plain_forward(tuple(row[list(WEIGHT_NAMES)]), CLASSIC.inputs, CLASSIC.targets)
        for name in FORWARD_NAMES:
            assert row[name] == pytest.approx(want[name], rel=1e-14), name


def test_train_is_repeated_steps():
    """Row k of the table is what k calls of step give, bit for bit (biases kept fixed)."""
    p, eta = CLASSIC_WITH_BIASES, 0.8
    table = network.train(p, eta, 5)
    for k in range(6):
        assert tuple(table.loc[k, list(WEIGHT_NAMES)]) == p.weights
        assert table.loc[k, "E_total"] == network.forward(p).E_total
        p = p.with_weights(network.step(p, eta).weights)


@pytest.mark.parametrize("steps", [0, 1, 100])
def test_one_forward_pass_per_step(monkeypatch, steps):
    """train makes steps + 1 forward passes: one per step, one for the final row.

    Counted through the public sigmoid, which every forward pass evaluates once per neuron (four
    times) and the backward pass never (it uses a (1 - a) of the stored activations).
    """
    calls, real = [], network.sigmoid

    def counting_sigmoid(x):
        calls.append(x)
        return real(x)

    monkeypatch.setattr(network, "sigmoid", counting_sigmoid)
    network.forward()
    assert len(calls) == 4, "one forward pass evaluates four sigmoids"
    calls.clear()
    network.train(CLASSIC, 0.5, steps)
    assert len(calls) == 4 * (steps + 1)


def test_zero_steps_and_zero_eta():
    assert len(network.train(steps=0)) == 1
    assert network.step(eta=0.0).weights == CLASSIC.weights


# ------------------------------------------------------------------ bad input

BAD_CALLS = [
    (lambda: network.step(eta=-0.1), "eta"),
    (lambda: network.step(eta=math.nan), "eta"),
    (lambda: network.step(eta=math.inf), "eta"),
    (lambda: network.train(eta=-1.0, steps=3), "eta"),
    (lambda: network.train(eta="0.5", steps=3), "eta"),
    (lambda: network.train(steps=-1), "steps"),
    (lambda: network.train(steps=2.5), "steps"),
    (lambda: network.train(steps=True), "steps"),
    (lambda: Problem(weights=(0.1,) * 7), "weights"),
    (lambda: Problem(weights=(0.1,) * 9), "weights"),
    (lambda: Problem(weights=(math.nan,) + (0.1,) * 7), "weights"),
    (lambda: CLASSIC.with_weights((math.inf,) * 8), "weights"),
    (lambda: Problem(weights="abcdefgh"), "weights"),
    (lambda: Problem(weights=(10**400,) + (0.1,) * 7), "weights"),
    (lambda: Problem(inputs=(0.05, math.nan)), "inputs"),
    (lambda: Problem(inputs=(0.05,)), "inputs"),
    (lambda: Problem(inputs=[[0.05], [0.10]]), "inputs"),  # two numbers, but not a flat pair
    (lambda: Problem(targets=(math.inf, 0.99)), "targets"),
    (lambda: Problem(targets=(0.01, 0.99, 0.5)), "targets"),
    (lambda: Problem(biases=(0.0, -math.inf)), "biases"),
    (lambda: network.forward(CLASSIC.weights), "problem"),
    (lambda: network.train(None), "problem"),
]


@pytest.mark.parametrize("call, argument", BAD_CALLS)
def test_bad_input_raises_usage_error_naming_argument(call, argument):
    with pytest.raises(UsageError, match=argument):
        call()


@settings(max_examples=30, deadline=None)
@given(weights_st, st.floats(0, 2))
def test_step_lowers_error_for_a_small_enough_eta(weights, eta):
    """Gradient descent with a tiny step never raises the error (first-order argument)."""
    p = CLASSIC.with_weights(weights)
    g = np.array(network.gradients(p).dw)
    if np.linalg.norm(g) < 1e-9:
        return
    small = 1e-4 * eta
    assert network.forward(p.with_weights(network.step(p, small).weights)).E_total <= network.forward(p).E_total


@pytest.mark.parametrize("kwargs,argument", [
    ({"weights": (True, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55)}, "weights"),
    ({"weights": ("0.15", 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55)}, "weights"),
    ({"inputs": (0.05, False)}, "inputs"),
    ({"targets": ("0.01", 0.99)}, "targets"),
], ids=["bool-weight", "string-weight", "bool-input", "string-target"])
def test_bools_and_strings_are_refused_like_for_eta(kwargs: dict, argument: str) -> None:
    with pytest.raises(ValueError, match=f"{argument} must be real numbers"):
        Problem(**kwargs)
    with pytest.raises(ValueError, match="eta"):
        network.step(eta=True)


@pytest.mark.parametrize("kwargs", [
    {"targets": (1e200, 0.99)},  # (t - a)**2 overflows: once an OverflowError
    {"weights": (10.0, -10.0, 10.0, -10.0, 0.4, 0.45, 0.5, 0.55), "inputs": (1e308, 1e308)},  # inf - inf: once NaN
], ids=["huge-target", "inf-minus-inf"])
def test_extreme_finite_values_give_a_value_error_not_nan_or_overflow(kwargs: dict) -> None:
    from nnbook.backprop import matrix

    for fn in (network.forward, network.gradients, network.step, matrix.forward_matrix, matrix.gradients_matrix):
        with pytest.raises(ValueError, match="too large for float64"):
            fn(Problem(**kwargs))


def test_a_step_that_overflows_is_refused_not_returned() -> None:
    """Finite gradients times a finite eta can still overflow float64 in the update itself."""
    with pytest.raises(ValueError, match="too large for float64|overflow"):
        network.step(Problem(targets=(1e150, 0.5)), 1e300)
