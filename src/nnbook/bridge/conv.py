"""A convolution layer by hand: one channel, no padding, stride 1, loops you can follow.

What deep learning calls a convolution (``torch.nn.functional.conv2d``) slides the kernel K over
the image X without flipping it (mathematicians call that a cross-correlation)::

    Y[i, j] = sum_{a, b} K[a, b] * X[i + a, j + b]

Backward, with G = dL/dY (the deltas the layer above sends down):

* every kernel weight K[a, b] is used at every output position, so its gradient sums the
  contributions of all of them: dL/dK[a, b] = sum_{i, j} G[i, j] X[i + a, j + b], a correlation
  of the input with G (:func:`kernel_gradient`);
* every pixel X[p, q] feeds the outputs whose window covers it, so its gradient sums over those:
  dL/dX[p, q] = sum G[i, j] K[p - i, q - j] (:func:`input_gradient`, written as a scatter), which
  is a *full* convolution: G padded with zeros, correlated with the kernel flipped both ways
  (:func:`full_convolution`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbook.bridge._validate import finite_array
from nnbook.errors import UsageError

__all__ = ["correlate", "written_out", "kernel_gradient", "kernel_gradient_terms", "input_gradient",
           "pad", "flip", "full_convolution"]


def _image_kernel(image: Any, kernel: Any) -> tuple[np.ndarray, np.ndarray]:
    X = finite_array(image, "image", (None, None))
    K = finite_array(kernel, "kernel", (None, None))
    if K.shape[0] > X.shape[0] or K.shape[1] > X.shape[1] or K.size == 0:
        raise UsageError(f"the kernel {K.shape} must be non-empty and fit inside the image {X.shape}")
    return X, K


def _out_shape(X: np.ndarray, K: np.ndarray) -> tuple[int, int]:
    return X.shape[0] - K.shape[0] + 1, X.shape[1] - K.shape[1] + 1


def _upstream(upstream: Any, shape: tuple[int, int]) -> np.ndarray:
    return finite_array(upstream, "upstream (dL/doutput)", shape)


def correlate(image: Any, kernel: Any) -> np.ndarray:
    """Y[i, j] = sum_{a, b} K[a, b] X[i + a, j + b]: the layer's forward pass ("valid": no padding)."""
    X, K = _image_kernel(image, kernel)
    Y = np.zeros(_out_shape(X, K))
    for i, j in np.ndindex(Y.shape):
        for a, b in np.ndindex(K.shape):
            Y[i, j] += K[a, b] * X[i + a, j + b]
    return Y


def written_out(image: Any, kernel: Any, i: int, j: int, fmt: str = "{:g}") -> str:
    """Y[i, j] as LaTeX, every product shown: ``1 \\cdot 3 + 2 \\cdot 0 + ...`` (kernel value first)."""
    X, K = _image_kernel(image, kernel)
    rows, cols = _out_shape(X, K)
    if not (0 <= i < rows and 0 <= j < cols):
        raise UsageError(f"output position ({i}, {j}) is outside the {rows}x{cols} output")

    def num(x: float) -> str:
        text = fmt.format(x)
        return f"({text})" if text.startswith("-") else text

    return " + ".join(f"{num(K[a, b])} \\cdot {num(X[i + a, j + b])}" for a, b in np.ndindex(K.shape))


def _image_upstream(image: Any, upstream: Any, kernel_shape: Any) -> tuple[np.ndarray, np.ndarray]:
    """The image and the upstream gradient of a layer whose kernel has ``kernel_shape``, checked."""
    shape = np.asarray(kernel_shape)
    if shape.shape != (2,) or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                                      for n in kernel_shape):
        raise UsageError(f"kernel_shape must be two integers (rows, columns), got {kernel_shape!r}")
    X, K = _image_kernel(image, np.zeros(tuple(int(n) for n in kernel_shape)))  # the same fit as correlate
    return X, _upstream(upstream, _out_shape(X, K))


def kernel_gradient(image: Any, upstream: Any, kernel_shape: tuple[int, int]) -> np.ndarray:
    """dL/dK: each weight sums G[i, j] * (the pixel it met at output position (i, j)) over all (i, j)."""
    X, G = _image_upstream(image, upstream, kernel_shape)
    dK = np.zeros(kernel_shape)
    for a, b in np.ndindex(dK.shape):
        for i, j in np.ndindex(G.shape):
            dK[a, b] += G[i, j] * X[i + a, j + b]
    return dK


def kernel_gradient_terms(image: Any, upstream: Any, kernel_shape: tuple[int, int], a: int,
                          b: int) -> list[tuple[float, float]]:
    """The (G[i, j], X[i + a, j + b]) pairs whose products add up to dL/dK[a, b], one per position."""
    X, G = _image_upstream(image, upstream, kernel_shape)
    if not (0 <= a < kernel_shape[0] and 0 <= b < kernel_shape[1]):
        raise UsageError(f"kernel position ({a}, {b}) is outside the {kernel_shape[0]}x{kernel_shape[1]} kernel")
    return [(float(G[i, j]), float(X[i + a, j + b])) for i, j in np.ndindex(G.shape)]


def input_gradient(kernel: Any, upstream: Any) -> np.ndarray:
    """dL/dX by scattering: output (i, j) sends G[i, j] * K[a, b] back to the pixel X[i + a, j + b]."""
    K = finite_array(kernel, "kernel", (None, None))
    G = finite_array(upstream, "upstream (dL/doutput)", (None, None))
    dX = np.zeros((G.shape[0] + K.shape[0] - 1, G.shape[1] + K.shape[1] - 1))
    for i, j in np.ndindex(G.shape):
        for a, b in np.ndindex(K.shape):
            dX[i + a, j + b] += G[i, j] * K[a, b]
    return dX


def pad(values: Any, rows: int, cols: int) -> np.ndarray:
    """``values`` with ``rows`` zero rows above and below and ``cols`` zero columns left and right."""
    return np.pad(finite_array(values, "values", (None, None)), ((rows, rows), (cols, cols)))


def flip(kernel: Any) -> np.ndarray:
    """The kernel rotated by 180 degrees (flipped top-bottom and left-right)."""
    return finite_array(kernel, "kernel", (None, None))[::-1, ::-1].copy()


def full_convolution(upstream: Any, kernel: Any) -> np.ndarray:
    """dL/dX again, as G padded by (kernel size - 1) zeros, correlated with the flipped kernel."""
    K = finite_array(kernel, "kernel", (None, None))
    return correlate(pad(upstream, K.shape[0] - 1, K.shape[1] - 1), flip(K))
