"""A drawing made MNIST-like: the Python reference of the page's preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook.errors import UsageError
from nnbook.mnist import drawing


def _extent(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(image)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def _stroke(rng: np.random.Generator, shape=(280, 300)) -> np.ndarray:
    """A thick random polyline with soft edges, somewhere in a larger canvas."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.zeros(shape)
    points = rng.uniform([20, 20], [h - 20, w - 20], size=(4, 2))
    for (y0, x0), (y1, x1) in zip(points[:-1], points[1:]):
        for t in np.linspace(0, 1, 60):
            d = np.hypot(yy - (y0 + t * (y1 - y0)), xx - (x0 + t * (x1 - x0)))
            image = np.maximum(image, np.clip(10 - d, 0, 1))
    return image


def test_a_blank_drawing_is_all_zeros() -> None:
    out = drawing.to_mnist(np.zeros((280, 280)))
    assert out.shape == (28, 28) and not out.any()


def test_mnist_digits_drawn_ten_times_larger_come_back_pixel_for_pixel() -> None:
    from nnbook.mnist import data

    digits = data.load_split(train=False).images[:200, 0].numpy() / 255
    for digit in digits:
        big = np.kron(digit, np.ones((10, 10)))
        np.testing.assert_allclose(drawing.to_mnist(big), digit, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_a_stroke_fills_a_20_pixel_box_centred_by_its_centre_of_mass(seed: int) -> None:
    grey = _stroke(np.random.default_rng(seed))
    out = drawing.to_mnist(grey)
    assert out.min() >= 0 and out.max() <= 1
    h, w = _extent(grey)
    oh, ow = _extent(out)
    assert max(oh, ow) == drawing.BOX
    assert abs(min(oh, ow) - min(h, w) * drawing.BOX / max(h, w)) <= 1, "the aspect ratio is kept"
    # box filtering keeps the ink, scaled by the change of area
    th, tw = (drawing.BOX, ow) if h >= w else (oh, drawing.BOX)
    assert out.sum() == pytest.approx(grey.sum() * th * tw / (h * w), rel=1e-9)
    ys, xs = np.mgrid[0:28, 0:28]
    cy, cx = (out * ys).sum() / out.sum(), (out * xs).sum() / out.sum()
    assert abs(cy - drawing.CENTRE) <= 0.5 and abs(cx - drawing.CENTRE) <= 0.5


def test_a_thin_line_keeps_its_shape_and_stays_in_the_frame() -> None:
    line = np.zeros((100, 400))
    line[40:50, 10:390] = 1.0  # 10 high, 380 wide: becomes 20 wide and 1 high (0.53 rounds to 1)
    out = drawing.to_mnist(line)
    assert _extent(out) == (1, 20)
    assert out.sum() == pytest.approx(line.sum() * 20 * 1 / (10 * 380))


def test_area_weights_average_each_covered_interval() -> None:
    for n, m in [(7, 3), (3, 7), (200, 20), (5, 5)]:
        a = drawing.area_weights(n, m)
        assert np.allclose(a.sum(axis=1), 1) and np.allclose(a.sum(axis=0), m / n)


@pytest.mark.parametrize("bad,message", [
    (np.zeros((2, 2, 3)), "height, width"), (np.zeros((0, 5)), "non-empty"),
    (np.full((4, 4), 2.0), r"\[0, 1\]"), (np.full((4, 4), np.nan), r"\[0, 1\]"),
])
def test_bad_images_are_refused_with_the_reason(bad: np.ndarray, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        drawing.to_mnist(bad)


def test_the_page_script_uses_the_reference_constants() -> None:
    """digits.js repeats the box, frame, centre and pad sizes: they must be the ones the chapter quotes."""
    import re

    from nnbook.mnist import web

    script = (web.page_folder() / web.SCRIPT_NAME).read_text()
    box, frame, centre = map(float, re.search(r"const BOX = (\d+), FRAME = (\d+), CENTRE = (\d+);", script).groups())
    assert (box, frame, centre) == (drawing.BOX, drawing.FRAME, drawing.CENTRE)
    assert int(re.search(r"const PAD = (\d+),", script).group(1)) == drawing.PAD
