"""The 2-2-2 network on sliders (the Part 1 pages), checked in Chromium against ``nnbook.backprop``.

The page API ``window.nnbook.backprop.run`` against :func:`nnbook.backprop.network.train` for random weights
and learning rates, and the controls moved with real keyboard and mouse input, on the training page
and on the forward-pass page: the numbers on screen become the package's numbers for the weights the
sliders then hold. Run after ``make book``.
"""

from __future__ import annotations

import time
from urllib.parse import urljoin

import numpy as np
import pytest

from nnbook.backprop import checks, network
from nnbook.backprop.problem import CLASSIC, CLASSIC_ETA, WEIGHT_NAMES, Problem
from test_browser import browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

PAGE = "book/part1/training.html"
ROOT = "[data-nnbook-backprop]"
READY = """
const done = arguments[arguments.length - 1];
const started = Date.now();
(function poll() {
  if (window.nnbook && window.nnbook.backprop && document.querySelector('[data-nnbook-backprop] .E-start')) done('ok');
  else if (Date.now() - started > 20000) done('the controls never appeared');
  else setTimeout(poll, 50);
})();
"""
SCREEN = """
const root = document.querySelector('[data-nnbook-backprop]');
const text = sel => root.querySelector(sel).textContent;
return {
  weights: [...root.querySelectorAll('input.weight')].map(i => parseFloat(i.value)),
  eta: parseFloat(root.querySelector('input.eta').value),
  steps: parseInt(root.querySelector('input.steps').value, 10),
  gradients: [...root.querySelectorAll('.grad')].map(g => parseFloat(g.textContent)),
  start: text('.E-start'), end: text('.E-end'),
  actual: text('.nudge-actual'), predicted: text('.nudge-predicted'),
  checks: [...root.querySelectorAll('.check')].map(c => c.classList.contains('pass')),
  edges: [...root.querySelectorAll('line.edge')].map(l => [l.getAttribute('stroke'),
                                                          parseFloat(l.getAttribute('stroke-width'))]),
};
"""


def _open(driver, server: str) -> None:
    driver.get(urljoin(server, PAGE))
    assert driver.execute_async_script(READY) == "ok"


def _number(text: str) -> float:
    return float(text.rsplit(" ", 1)[-1])


def _close(a: float, b: float) -> bool:
    """Equal to the 10 significant digits the page shows."""
    return abs(a - b) <= checks.AGREEMENT * max(abs(b), 1e-300)


def test_run_equals_the_package_for_random_weights_and_rates(server: str, browser) -> None:
    _open(browser, server)
    rng = np.random.default_rng(0)
    for _ in range(8):
        weights = rng.uniform(-2, 2, 8).tolist()
        eta, steps = float(rng.uniform(0.05, 5)), int(rng.integers(1, 60))
        inputs, targets = rng.uniform(0, 1, 2).tolist(), rng.uniform(0.01, 0.99, 2).tolist()
        page = browser.execute_script("return window.nnbook.backprop.run(arguments[0])", {
            "weights": weights, "eta": eta, "steps": steps, "inputs": inputs, "targets": targets})
        problem = Problem(inputs=inputs, targets=targets, weights=weights)
        table = network.train(problem, eta, steps)
        assert len(page["loss"]) == steps + 1
        assert np.abs(np.array(page["loss"]) - table["E_total"].to_numpy()).max() < checks.AGREEMENT
        last = table.iloc[-1][list(WEIGHT_NAMES)].to_numpy(float)
        assert np.abs(np.array(page["weights"]) - last).max() < checks.AGREEMENT
        assert np.abs(np.array(page["gradients"]) - np.array(network.gradients(problem).dw)).max() < checks.AGREEMENT
    error = browser.execute_script(
        "try { window.nnbook.backprop.run({weights: [1, 2]}); } catch (e) { return e.message; }")
    assert "weights must be 8 finite numbers" in error


def test_moving_the_sliders_shows_the_packages_numbers(server: str, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open(browser, server)
    before = browser.execute_script(SCREEN)
    assert before["weights"] == list(CLASSIC.weights)
    assert _close(_number(before["start"]), network.forward().E_total)

    sliders = browser.find_elements(By.CSS_SELECTOR, f"{ROOT} input.weight")
    for k, presses in ((4, 7), (1, 12)):  # w5 up 0.07, w2 down 0.12, by keyboard
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", sliders[k])
        sliders[k].send_keys((Keys.ARROW_RIGHT if k == 4 else Keys.ARROW_LEFT) * presses)
    browser.find_element(By.CSS_SELECTOR, f"{ROOT} input.eta").send_keys(Keys.ARROW_RIGHT * 10)
    time.sleep(0.2)

    after = browser.execute_script(SCREEN)
    w = after["weights"]
    assert w[4] == pytest.approx(0.47) and w[1] == pytest.approx(0.08), w
    assert after["eta"] != CLASSIC_ETA
    assert _close(_number(after["start"]), network.forward(_at(w)).E_total)
    assert all(_close(a, b) for a, b in zip(after["gradients"], network.gradients(_at(w)).dw))
    final = float(network.train(_at(w), after["eta"], after["steps"])["E_total"].iloc[-1])
    assert _close(_number(after["end"]), final)

    # the nudge: the actual change of E_total, and the gradient's prediction
    eps = 0.01
    moved = list(w)
    moved[0] += eps
    assert _close(_number(after["actual"]), network.forward(_at(moved)).E_total - network.forward(_at(w)).E_total)
    assert _close(_number(after["predicted"]), network.gradients(_at(w)).dw[0] * eps)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_the_diagram_shows_each_gradients_sign_and_size(server: str, browser) -> None:
    _open(browser, server)
    screen = browser.execute_script(SCREEN)
    g = np.array(network.gradients().dw)
    assert [colour for colour, _ in screen["edges"]] == ["#c44e52" if x > 0 else "#4c72b0" for x in g]
    widths = np.array([width for _, width in screen["edges"]])
    assert np.abs(widths - (1 + 7 * np.abs(g) / np.abs(g).max())).max() < 1e-3


def _at(weights: list[float]) -> Problem:
    """The classic example at other weights."""
    return CLASSIC.with_weights(weights)


def _slipped(w: list[float], slip: str, eta: float) -> list[float]:
    """The gradients with one slip of the derivation chapter, from the package's quantities."""
    (i1, i2), (t1, t2) = CLASSIC.inputs, CLASSIC.targets
    f, gr = network.forward(_at(w)), network.gradients(_at(w))
    g = list(gr.dw)
    if slip == "wrongError":
        g[6] = checks.slipped_dw7(_at(w))
    elif slip == "onePath":  # only output 1's path back into each hidden neuron
        d_h1, d_h2 = gr.dE1_da_h1 * gr.da_h1_dh1, gr.dE1_da_h2 * gr.da_h2_dh2
        g[:4] = [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2]
    elif slip == "netSlope":  # x (1 - x) of the net inputs
        d_o1, d_o2 = (f.a_o1 - t1) * f.o1 * (1 - f.o1), (f.a_o2 - t2) * f.o2 * (1 - f.o2)
        d_h1 = (d_o1 * w[4] + d_o2 * w[6]) * f.h1 * (1 - f.h1)
        d_h2 = (d_o1 * w[5] + d_o2 * w[7]) * f.h2 * (1 - f.h2)
        g = [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2, d_o1 * f.a_h1, d_o1 * f.a_h2, d_o2 * f.a_h1, d_o2 * f.a_h2]
    elif slip == "updatedWeights":  # back through w5..w8 after this step's update
        v = network.step(_at(w), eta).weights[4:]
        d_h1 = (gr.delta_o1 * v[0] + gr.delta_o2 * v[2]) * gr.da_h1_dh1
        d_h2 = (gr.delta_o1 * v[1] + gr.delta_o2 * v[3]) * gr.da_h2_dh2
        g[:4] = [d_h1 * i1, d_h1 * i2, d_h2 * i1, d_h2 * i2]
    return g


@pytest.mark.parametrize("slip", ["wrongError", "onePath", "netSlope", "updatedWeights"])
def test_each_slip_breaks_the_gradients_it_should_and_the_check_says_so(server: str, browser, slip: str) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, server)
    box = browser.find_element(By.CSS_SELECTOR, f"{ROOT} input.slip[data-slip={slip}]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()
    screen = browser.execute_script(SCREEN)
    w = screen["weights"]
    want = _slipped(w, slip, screen["eta"])
    assert all(_close(a, b) for a, b in zip(screen["gradients"], want)), (screen["gradients"], want)
    right = network.gradients(_at(w)).dw
    broken = [abs(a - b) > 1e-7 for a, b in zip(want, right)]
    assert any(broken), f"the slip {slip} changes no gradient"
    assert screen["checks"] == [not b for b in broken], "the finite-difference check flags exactly the broken ones"
    box.click()
    assert all(browser.execute_script(SCREEN)["checks"])


FORWARD_PAGE = "book/part1/network.html"
FORWARD_READY = READY.replace(".E-start", ".forward-values .value")
FORWARD_SCREEN = """
const root = document.querySelector('[data-nnbook-backprop="forward"]');
return {
  weights: [...root.querySelectorAll('input.weight')].map(i => parseFloat(i.value)),
  shown: [...root.querySelectorAll('.weight-value')].map(s => s.textContent),
  values: [...root.querySelectorAll('.forward-values tr')].map(
    r => [r.dataset.quantity, r.querySelector('.value').textContent]),
  actual: root.querySelector('.nudge-actual').textContent, ratio: root.querySelector('.nudge-ratio').textContent,
  predicted: root.querySelector('.nudge-predicted').textContent,
  activations: [...root.querySelectorAll('text.activation')].map(t => t.textContent),
  edges: [...root.querySelectorAll('line.edge')].map(l => [l.getAttribute('stroke'),
                                                          parseFloat(l.getAttribute('stroke-width'))]),
  controls: [...root.querySelectorAll('input, select')].map(i => i.className),
};
"""


def _forward_screen_is_the_packages(screen: dict, w: list[float], nudged: int, eps: float) -> None:
    """Every number the forward-pass widget shows, against ``nnbook.backprop.network`` at weights ``w``."""
    fw = network.forward(_at(w)).as_dict()
    shown = dict(screen["values"])
    assert [name for name, _ in screen["values"]] == list(fw), "the package's forward quantities, in order"
    assert all(_close(float(shown[name]), value) for name, value in fw.items()), (shown, fw)
    assert screen["shown"] == [f"{v:.2f}" for v in w]
    assert screen["activations"] == [f"{fw[name]:.4f}" for name in ("a_h1", "a_h2", "a_o1", "a_o2")]
    colours = ["#c44e52" if v > 0 else "#4c72b0" for v in w]
    widths = 1 + 7 * np.abs(w) / np.abs(w).max()
    assert [c for c, _ in screen["edges"]] == colours
    assert np.abs(np.array([x for _, x in screen["edges"]]) - widths).max() < 1e-3
    moved = list(w)
    moved[nudged] += eps
    actual = network.forward(_at(moved)).E_total - fw["E_total"]
    assert _close(_number(screen["actual"]), actual)
    assert _close(_number(screen["ratio"]), actual / eps)
    assert _close(_number(screen["predicted"]), network.gradients(_at(w)).dw[nudged] * eps)


def test_the_forward_page_recomputes_the_forward_pass_as_the_sliders_move(server: str, browser) -> None:
    """On the first chapter: eight weight sliders (no eta, steps or slips yet), moved by keyboard and
    by dragging with the mouse; the forward pass, the diagram and the nudge follow the package."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    browser.get(urljoin(server, FORWARD_PAGE))
    assert browser.execute_async_script(FORWARD_READY) == "ok"
    root = '[data-nnbook-backprop="forward"]'
    screen = browser.execute_script(FORWARD_SCREEN)
    assert screen["weights"] == list(CLASSIC.weights)
    assert screen["controls"] == ["weight"] * 8 + ["nudge-weight", "nudge-epsilon"], "only the chapter's controls"
    _forward_screen_is_the_packages(screen, screen["weights"], 0, 0.01)

    sliders = browser.find_elements(By.CSS_SELECTOR, f"{root} input.weight")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", sliders[6])
    sliders[6].send_keys(Keys.ARROW_LEFT * 25)  # w7 down 0.25 by keyboard
    # w3 dragged with the mouse from its thumb to past the left end of the track: -3
    width = sliders[2].size["width"]
    thumb = (CLASSIC.weights[2] + 3) / 6 * width - width / 2
    ActionChains(browser, duration=20).move_to_element_with_offset(sliders[2], int(thumb), 0).click_and_hold() \
        .move_by_offset(-int(thumb + width / 2) - 20, 0).release().perform()
    Select(browser.find_element(By.CSS_SELECTOR, f"{root} select.nudge-weight")).select_by_index(7)
    epsilon = browser.find_element(By.CSS_SELECTOR, f"{root} input.nudge-epsilon")
    epsilon.clear()
    epsilon.send_keys("0.0001")
    time.sleep(0.2)

    screen = browser.execute_script(FORWARD_SCREEN)
    w = screen["weights"]
    want = list(CLASSIC.weights)
    want[6], want[2] = 0.25, -3.0
    assert w == pytest.approx(want), w
    assert network.forward(_at(w)).E_total != network.forward().E_total
    _forward_screen_is_the_packages(screen, w, 7, 0.0001)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
