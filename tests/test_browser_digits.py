"""The "Draw a digit" page in headless Chromium, checked against the Python package.

The in-page network (digits.js with the weights the build exported) against the PyTorch
checkpoint on a thousand test images; a stroke drawn with real pointer events through the
canvas, preprocessed by the page and by ``nnbook.mnist.drawing.to_mnist``; the prediction and
probabilities on screen; the receptive field of a feature-map cell, through the page API and by a
click, against the input pixels the cell depends on in PyTorch; no console errors; nothing requested
beyond the local server; and the page opened from the disk with the network switched off. Run after
``make book``. The measured figures (agreement, time per prediction, page weight) go to
``_build/digits-figures.json``.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urljoin

import numpy as np
import pytest
import torch

from nnbook.mnist import web
from test_browser import BUILD, HTML, ROOT, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

PAGE = "book/part2/draw.html"
MODEL = ROOT / "results" / "book" / "cpu-seed1" / "model.pt"
N_IMAGES, BATCH = web.CHECKED_IMAGES, 100
FIGURES: dict[str, object] = {}

READY = """
const done = arguments[arguments.length - 1];
const started = Date.now();
(function poll() {
  const ready = window.nnbook && window.nnbook.digits && document.querySelector('[data-nnbook-digits] canvas.pad');
  if (ready) done('ok');
  else if (Date.now() - started > 20000) done('the drawing pad never appeared');
  else setTimeout(poll, 50);
})();
"""
PAD = "[data-nnbook-digits] canvas.pad"
# the pad's grey levels as the page holds them (red channel of white-on-black)
PAD_GREY = """
const pad = document.querySelector(arguments[0]);
const rgba = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
return {width: pad.width, height: pad.height, red: Array.from(rgba.filter((v, i) => i % 4 === 0))};
"""
SCREEN = """
const root = document.querySelector('[data-nnbook-digits]');
const input = root.querySelector('canvas.input');
const rgba = input.getContext('2d').getImageData(0, 0, 28, 28).data;
return {
  answer: root.querySelector('.answer').textContent,
  probs: [...root.querySelectorAll('.bar-row')].map(r => r.querySelector('.prob').textContent),
  widths: [...root.querySelectorAll('.bar')].map(b => parseFloat(b.style.width) || 0),
  input: Array.from(rgba.filter((v, i) => i % 4 === 0)),
  maps: [...root.querySelectorAll('.maps canvas')].map(c =>
    c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 0 && v > 0)),
};
"""


@pytest.fixture(scope="module")
def reference():
    """The committed model (PyTorch, eval mode) and the test split."""
    from nnbook.mnist import checkpoint, data

    model, _ = checkpoint.load_model(MODEL)
    return model, data.load_split(train=False)


@pytest.fixture(scope="module", autouse=True)
def figures():
    yield FIGURES
    if HTML.is_dir() and FIGURES:
        from nnbook.io import write_text_atomic

        print(f"\ndraw-a-digit figures: {FIGURES}")
        write_text_atomic(BUILD / "digits-figures.json", json.dumps(FIGURES, indent=2) + "\n")


def _open(driver, url: str) -> None:
    driver.get(url)
    assert driver.execute_async_script(READY) == "ok"


def _severe(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _draw_seven(driver) -> None:
    """A 7 drawn with the mouse: real pointer events (pointerdown, moves, pointerup) through the pad."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    pad = driver.find_element(By.CSS_SELECTOR, PAD)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", pad)
    actions = ActionChains(driver, duration=5)
    actions.move_to_element_with_offset(pad, -70, -90).click_and_hold()
    for _ in range(14):  # the bar, left to right
        actions.move_by_offset(10, 0)
    for _ in range(19):  # the stem, down and to the left
        actions.move_by_offset(-5, 10)
    actions.release().perform()


def _draw_one_with_a_finger(driver) -> None:
    """A 1 drawn by touch: a touch pointer's down, moves and up (pointerType "touch" in the page)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.by import By

    pad = driver.find_element(By.CSS_SELECTOR, PAD)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", pad)
    box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.top];", pad)
    actions = ActionChains(driver)
    actions.w3c_actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"), duration=5)
    finger = actions.w3c_actions.pointer_action
    finger.move_to_location(int(box[0] + 150), int(box[1] + 40)).pointer_down()
    for step in range(1, 21):
        finger.move_to_location(int(box[0] + 150 - step), int(box[1] + 40 + 10 * step))
    finger.pointer_up()
    actions.perform()


def _answer(driver) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = driver.execute_script(SCREEN)["answer"]
        if text.startswith("The network reads"):
            return text
        time.sleep(0.05)
    raise AssertionError(f"no prediction on screen after the stroke (shows {text!r})")


def _torch_scores(model, pixels: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(pixels, dtype=torch.float32).reshape(-1, 1, 28, 28)).numpy().astype(np.float64)


def test_page_network_equals_pytorch_on_test_images(server: str, browser, reference) -> None:
    model, test = reference
    _open(browser, urljoin(server, PAGE))
    images = test.images[:N_IMAGES].float() / 255  # exactly what the PyTorch model is given
    want = _torch_scores(model, images.numpy())
    got = []
    for start in range(0, N_IMAGES, BATCH):
        batch = images[start:start + BATCH].reshape(-1, 784).tolist()
        got += browser.execute_script("return arguments[0].map(p => window.nnbook.digits.predict(p))", batch)
    got = np.array(got)
    assert got.shape == (N_IMAGES, 10)
    gap = float(np.abs(got - want).max())
    same = int((got.argmax(1) == want.argmax(1)).sum())
    FIGURES.update(images_compared=N_IMAGES, same_class=same, max_score_gap=gap,
                   page_accuracy=float((got.argmax(1) == test.labels[:N_IMAGES].numpy()).mean()))
    assert same == N_IMAGES, f"the page and PyTorch classify {N_IMAGES - same} test images differently"
    assert gap < web.CHECKED_TOLERANCE, f"scores differ by up to {gap}"
    assert not _severe(browser)


def test_prediction_time_in_the_browser(server: str, browser, reference) -> None:
    _, test = reference
    _open(browser, urljoin(server, PAGE))
    pixels = (test.images[0].float() / 255).reshape(784).tolist()
    ms = browser.execute_script("""
        const p = arguments[0], n = arguments[1];
        window.nnbook.digits.predict(p);  // the first call also reads the weights
        const t0 = performance.now();
        for (let i = 0; i < n; i++) window.nnbook.digits.predict(p);
        return (performance.now() - t0) / n;""", pixels, 50)
    FIGURES["ms_per_prediction"] = round(ms, 2)
    assert 0 < ms < 100, f"a prediction takes {ms:.1f} ms: too slow to follow a stroke"


def test_a_drawn_stroke_is_preprocessed_and_predicted_on_screen(server: str, browser, reference) -> None:
    from nnbook.mnist.drawing import to_mnist

    model, _ = reference
    _open(browser, urljoin(server, PAGE))
    _draw_seven(browser)
    answer = _answer(browser)
    pad = browser.execute_script(PAD_GREY, PAD)
    grey = np.array(pad["red"], dtype=np.float64).reshape(pad["height"], pad["width"]) / 255
    assert grey.sum() > 100, "the stroke did not reach the canvas"

    # the page's preprocessing equals the Python reference on the same drawing
    want = to_mnist(grey).reshape(784)
    got = np.array(browser.execute_script(f"return window.nnbook.digits.preprocess(document.querySelector('{PAD}'))"))
    assert np.abs(got - want).max() < 1e-9
    FIGURES["stroke_preprocess_gap"] = float(np.abs(got - want).max())

    # what is on screen: the 28x28 input, the answer and the ten probabilities of PyTorch's scores
    screen = browser.execute_script(SCREEN)
    assert np.abs(np.array(screen["input"]) - np.round(255 * want)).max() <= 1
    scores = _torch_scores(model, want)[0]
    probs = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    shown = [float(re.fullmatch(r"(\d+\.\d) %", p).group(1)) for p in screen["probs"]]
    assert np.abs(np.array(shown) - 100 * probs).max() <= 0.051, (shown, probs)
    assert np.abs(np.array(screen["widths"]) - 100 * probs).max() <= 0.006
    best = int(probs.argmax())
    assert answer == f"The network reads: {best} ({100 * probs[best]:.1f} %)"
    assert best == 7, f"a drawn 7 read as {best}: {answer}"
    assert len(screen["maps"]) == 8 and all(screen["maps"]), "the first layer's feature maps are not painted"
    FIGURES["drawn_seven"] = answer

    # the page API on the same input gives the same scores
    logits = np.array(browser.execute_script("return window.nnbook.digits.predict(arguments[0])", want.tolist()))
    assert np.abs(logits - scores).max() < 1e-3

    # Clear empties the pad, the input and the answer
    browser.find_element("css selector", "[data-nnbook-digits] button").click()
    screen = browser.execute_script(SCREEN)
    assert screen["answer"] == "Draw a digit" and not any(screen["input"]) and not any(screen["maps"])
    assert not _severe(browser)


def test_a_finger_draws_too(server: str, browser, reference) -> None:
    from nnbook.mnist.drawing import to_mnist

    model, _ = reference
    _open(browser, urljoin(server, PAGE))
    browser.execute_script("""window.pointerTypes = [];
        document.querySelector(arguments[0]).addEventListener('pointerdown', e => pointerTypes.push(e.pointerType));""",
                           PAD)
    _draw_one_with_a_finger(browser)
    answer = _answer(browser)
    assert browser.execute_script("return window.pointerTypes") == ["touch"]
    pad = browser.execute_script(PAD_GREY, PAD)
    grey = np.array(pad["red"], dtype=np.float64).reshape(pad["height"], pad["width"]) / 255
    best = int(_torch_scores(model, to_mnist(grey).reshape(784))[0].argmax())
    assert answer.startswith(f"The network reads: {best} ") and best == 1, answer
    assert not _severe(browser)


@pytest.fixture(scope="module")
def folded_layers(reference) -> list:
    """The folded checkpoint's layers (float64), one for each layer of the page's list."""
    from torch import nn

    from nnbook.mnist import fold

    model, _ = reference
    return [m for m in fold.fold_model(model).double() if not isinstance(m, nn.Flatten)]


def _depends_on(layers: list, index: int, row: int, col: int) -> tuple[int, int, int, int]:
    """PyTorch's receptive field of a cell of layer ``index``'s output: the input pixels where the
    gradient of that cell (all its channels) is non-zero for some of 32 random inputs, which must
    fill a rectangle; returned as (top, left, bottom, right)."""
    x = torch.rand(32, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(index),
                   requires_grad=True)
    torch.nn.Sequential(*layers[:index + 1])(x)[:, :, row, col].sum().backward()  # (N, C, H, W): no Flatten
    seen = (x.grad[:, 0] != 0).any(0).numpy()
    rows, cols = np.nonzero(seen)
    box = (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()))
    assert seen.sum() == (box[2] - box[0] + 1) * (box[3] - box[1] + 1), "the pixels a cell sees form a square"
    return box


def _window(page: dict) -> tuple[int, int, int, int]:
    return page["top"], page["left"], page["bottom"], page["right"]


def test_receptive_fields_equal_pytorchs_dependencies(server: str, browser, reference, folded_layers) -> None:
    """For cells of every layer, the page's receptive field (computed from the exported kernel sizes,
    strides and paddings) is exactly the set of input pixels the cell depends on in PyTorch."""
    from nnbook.mnist.models import receptive_field_table

    _open(browser, urljoin(server, PAGE))
    geometry = browser.execute_script("return window.nnbook.digits.geometry()")
    assert len(geometry) == len(folded_layers)
    spatial = [(g["size"], g["rf"], g["jump"]) for g in geometry if g["type"] != "relu"]
    assert spatial == [(r.size, r.rf, r.jump) for r in receptive_field_table(reference[0])[1:]]
    compared = 0
    for index, g in enumerate(geometry):
        n = g["size"]
        for row, col in {(0, 0), (n - 1, n - 1), (min(1, n - 1), n - 1), (n // 2, 0)}:
            page = browser.execute_script("return window.nnbook.digits.receptiveField(...arguments)", index, row, col)
            assert _window(page) == _depends_on(folded_layers, index, row, col), (index, g["type"], row, col)
            compared += 1
    FIGURES["receptive_fields_compared"] = compared
    for args, message in (((len(geometry), 0, 0), "is not one of"), ((14, 4, 0), "outside layer 14")):
        error = browser.execute_script(
            "try { window.nnbook.digits.receptiveField(...arguments); } catch (e) { return e.message; }", *args)
        assert error and message in error, error
    assert not _severe(browser)


def _click_cell(driver, canvas, row: int, col: int) -> None:
    """A real mouse click in the middle of a cell of a feature map (offsets from the element's centre)."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", canvas)
    cells = int(canvas.get_attribute("width"))
    ActionChains(driver).move_to_element_with_offset(
        canvas, int((col + 0.5) * box[0] / cells - box[0] / 2), int((row + 0.5) * box[1] / cells - box[1] / 2)
    ).click().perform()


OUTLINE = """
const root = document.querySelector('[data-nnbook-digits]');
const canvas = root.querySelector('canvas.input'), box = root.querySelector('.rf-box').getBoundingClientRect();
const border = canvas.getBoundingClientRect();  // the 28x28 image is drawn inside the canvas's border
const input = {top: border.top + canvas.clientTop, left: border.left + canvas.clientLeft, width: canvas.clientWidth};
const cell = root.querySelector('.cell-box');
return {attribute: root.dataset.receptiveField, selection: window.nnbook.digits.selection(),
        info: root.querySelector('.rf-info').textContent,
        box: [box.top - input.top, box.left - input.left, box.bottom - input.top, box.right - input.left],
        scale: input.width / 28, cellIn: cell && cell.parentNode.querySelector('canvas') };
"""


def test_clicking_a_map_cell_outlines_its_receptive_field(server: str, browser, folded_layers) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, urljoin(server, PAGE))
    assert browser.execute_script("return window.nnbook.digits.selection()") is None
    _draw_seven(browser)
    _answer(browser)
    clicks = []
    # the deeper layer shown at first (the deepest), then the first listed; then the first layer's maps
    for choose, maps, channel, row, col in ((None, ".deep-maps", 5, 2, 1), (0, ".deep-maps", 3, 20, 7),
                                            (None, ".maps", 7, 25, 0)):
        if choose is not None:
            Select(browser.find_element(By.CSS_SELECTOR, "select.deep-layer")).select_by_index(choose)
            # the outline of a cell of the maps replaced is gone
            assert browser.execute_script(OUTLINE)["attribute"] is None
            assert browser.execute_script("return window.nnbook.digits.selection()") is None
        canvas = browser.find_elements(By.CSS_SELECTOR, f"[data-nnbook-digits] {maps} canvas")[channel]
        layer = int(canvas.get_attribute("data-layer"))
        _click_cell(browser, canvas, row, col)
        shown = browser.execute_script(OUTLINE)
        want = _depends_on(folded_layers, layer, row, col)
        assert shown["selection"] == dict(zip(("top", "left", "bottom", "right"), want),
                                          layer=layer, channel=channel, row=row, col=col), shown["selection"]
        assert shown["attribute"] == ",".join(map(str, want))
        # the outline on the 28x28 input covers exactly those pixels, and the clicked cell is marked on its map
        s = shown["scale"]
        outline = [want[0] * s, want[1] * s, (want[2] + 1) * s, (want[3] + 1) * s]
        assert np.abs(np.array(shown["box"]) - outline).max() < 0.6, (shown["box"], outline)
        assert shown["cellIn"] == canvas
        assert f"rows {want[0]}–{want[2]}, columns {want[1]}–{want[3]}" in shown["info"]
        clicks.append((layer, row, col, want))
    assert len({c[0] for c in clicks}) == 3, "three different layers clicked"
    FIGURES["clicked_receptive_fields"] = clicks
    assert not _severe(browser)


def test_page_api_rejects_bad_input(server: str, browser) -> None:
    _open(browser, urljoin(server, PAGE))
    for bad, message in (("new Array(783).fill(0)", "784 numbers"), ("new Array(784).fill(2)", "in [0, 1]")):
        error = browser.execute_script(
            f"try {{ window.nnbook.digits.predict({bad}); return null; }} catch (e) {{ return e.message; }}")
        assert error and message in error


def test_nothing_leaves_localhost(server: str, browser) -> None:
    _open(browser, urljoin(server, PAGE))
    _draw_seven(browser)
    _answer(browser)
    requested = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(name.endswith("_static/digits/digits-weights.js") for name in requested)
    foreign = [name for name in requested if not name.startswith(server)]
    assert not foreign, f"the page requested {foreign}"


def test_page_works_from_the_disk_with_the_network_off(browser, reference) -> None:
    """Opened as a file (no server) with Chromium's network emulated offline: it still draws and predicts."""
    model, test = reference
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions",
                            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        _open(browser, (HTML / PAGE).as_uri())
        pixels = (test.images[:5].float() / 255).reshape(5, 784)
        got = np.array(browser.execute_script("return arguments[0].map(p => window.nnbook.digits.predict(p))",
                                              pixels.tolist()))
        assert np.abs(got - _torch_scores(model, pixels.numpy())).max() < 1e-3
        _draw_seven(browser)
        assert _answer(browser).startswith("The network reads: ")
        assert browser.execute_script("return navigator.onLine") is False
        assert not _severe(browser)
    finally:
        browser.execute_cdp_cmd("Network.emulateNetworkConditions",
                                {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        browser.execute_cdp_cmd("Network.disable", {})


def test_the_site_serves_the_checkpoint_folded(reference) -> None:
    """The weights in the built site are the committed checkpoint's, folded, bit for bit."""
    from nnbook.mnist import fold

    model, _ = reference
    folder = HTML / "_static" / "digits"
    _, arrays = web.read_weights(folder / web.WEIGHTS_NAME)
    expected = [p.detach().numpy() for p in fold.fold_model(model).parameters()]
    assert len(arrays) == len(expected) and all(np.array_equal(a, e) for a, e in zip(arrays, expected))
    weight = web.page_weight(folder)
    FIGURES["page_weight_bytes"] = weight
    assert (folder / web.SCRIPT_NAME).read_bytes() == (web.page_folder() / web.SCRIPT_NAME).read_bytes()
