"""A drawn digit made into an MNIST-like 28x28 input: the reference for the page's JavaScript.

MNIST's digits were scaled (aspect ratio kept) to fit a 20x20 box, with grey levels from
anti-aliasing, then placed in a 28x28 frame so that their centre of mass sits at the frame's
centre. :func:`to_mnist` does the same to a drawing, step for step as ``digits.js`` does in the
page (the browser tests compare the two on a stroke drawn with real pointer events):

1. crop to the bounding box of the non-zero pixels;
2. resample it so that its longer side is 20 pixels, each new pixel the area-weighted mean of
   the old pixels it covers (box filtering: the grey levels of a thin stroke survive);
3. shift it by whole pixels so that its centre of mass lands as close as possible to (14, 14),
   the centre of mass of the average MNIST digit, keeping the box inside the frame.
"""

from __future__ import annotations

import math

import numpy as np

from nnbook.errors import UsageError

__all__ = ["BOX", "FRAME", "CENTRE", "PAD", "to_mnist", "area_weights"]

BOX = 20  #: the longer side of the digit's box, in pixels
FRAME = 28  #: the input's side, in pixels
CENTRE = 14.0  #: where the centre of mass goes (row and column index; MNIST's mean is 14.0)
PAD = 280  #: the side of the page's drawing pad, in pixels (``digits.js`` uses the same; a test checks)


def _round_half_up(x: float) -> int:
    """``floor(x + 0.5)``, as JavaScript's ``Math.round`` (Python's ``round`` rounds half to even)."""
    return math.floor(x + 0.5)


def area_weights(n: int, m: int) -> np.ndarray:
    """(m, n) matrix resampling n pixels to m: row i averages the source interval [i n/m, (i+1) n/m)."""
    step = n / m
    out = np.zeros((m, n))
    for i in range(m):
        lo, hi = i * step, (i + 1) * step
        for j in range(math.floor(lo), min(n, math.ceil(hi))):
            out[i, j] = (min(hi, j + 1) - max(lo, j)) / step
    return out


def to_mnist(grey: np.ndarray) -> np.ndarray:
    """A (H, W) grey image in [0, 1], white digit on black, as a (28, 28) MNIST-like float array.

    A blank image gives all zeros.
    """
    grey = np.asarray(grey, dtype=np.float64)
    if grey.ndim != 2 or min(grey.shape) == 0:
        raise UsageError(f"to_mnist takes a non-empty (height, width) image, not shape {grey.shape}")
    if not np.isfinite(grey).all() or grey.min() < 0 or grey.max() > 1:
        raise UsageError("to_mnist takes grey levels in [0, 1] (white digit on black)")
    out = np.zeros((FRAME, FRAME))
    rows, cols = np.nonzero(grey)
    if rows.size == 0:
        return out
    crop = grey[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    th, tw = max(1, _round_half_up(h * scale)), max(1, _round_half_up(w * scale))
    small = area_weights(h, th) @ crop @ area_weights(w, tw).T
    total = small.sum()
    cy = (small.sum(axis=1) @ np.arange(th)) / total
    cx = (small.sum(axis=0) @ np.arange(tw)) / total
    top = min(max(_round_half_up(CENTRE - cy), 0), FRAME - th)
    left = min(max(_round_half_up(CENTRE - cx), 0), FRAME - tw)
    out[top:top + th, left:left + tw] = np.minimum(small, 1.0)
    return out
