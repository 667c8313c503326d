"""Shrinking a feature map: strided convolution, global average pooling, 1x1 convolutions, sizes and counts.

* A layer with kernel k, stride s and padding p turns n positions into floor((n + 2p - k) / s) + 1
  (:func:`output_size`): 2x2 max pooling (k = s = 2) halves a map, as a stride-2 convolution does.
* A stride-s convolution is the stride-1 one kept at every s-th position (:func:`strided_correlate`).
  It is linear and learns its kernel; max pooling has no weights and is not linear.
* Global average pooling takes each channel's mean over all positions: (C, H, W) -> (C,).
* A 1x1 convolution is the same C_out x C_in matrix applied to every pixel's channel vector.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbook.bridge._validate import finite_array
from nnbook.errors import UsageError

__all__ = ["output_size", "strided_correlate", "global_average_pool", "global_average_pool_backward", "conv1x1",
           "conv_parameters", "dense_parameters"]


def _positive(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UsageError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Positions along one side after a window of ``kernel`` moved by ``stride``: (n + 2p - k) // s + 1."""
    n, kernel, stride = _positive(n, "n"), _positive(kernel, "kernel"), _positive(stride, "stride")
    padding = _positive(padding, "padding", minimum=0)
    if kernel > n + 2 * padding:
        raise UsageError(f"a kernel of {kernel} does not fit in {n} positions padded by {padding}")
    return (n + 2 * padding - kernel) // stride + 1


def strided_correlate(image: Any, kernel: Any, stride: int) -> np.ndarray:
    """Y[i, j] = sum_{a, b} K[a, b] X[s i + a, s j + b]: the kernel moved ``stride`` pixels at a time."""
    X = finite_array(image, "image", (None, None))
    K = finite_array(kernel, "kernel", (None, None))
    s = _positive(stride, "stride")
    if K.size == 0:
        raise UsageError("the kernel must be non-empty")
    Y = np.zeros((output_size(X.shape[0], K.shape[0], s), output_size(X.shape[1], K.shape[1], s)))
    for i, j in np.ndindex(Y.shape):
        Y[i, j] = np.sum(K * X[s * i:s * i + K.shape[0], s * j:s * j + K.shape[1]])
    return Y


def global_average_pool(maps: Any) -> np.ndarray:
    """Each channel's mean over all its positions: maps of shape (C, H, W) give a vector of C."""
    M = finite_array(maps, "maps (channels, height, width)", (None, None, None))
    if M.size == 0:
        raise UsageError(f"maps must be non-empty, got shape {M.shape}")
    return M.sum(axis=(1, 2)) / (M.shape[1] * M.shape[2])


def global_average_pool_backward(upstream: Any, height: int, width: int) -> np.ndarray:
    """dL/dmaps from dL/dg: every position of channel c gets g_c's gradient divided by H * W."""
    g = finite_array(upstream, "upstream (dL/dg, one per channel)", (None,))
    height, width = _positive(height, "height"), _positive(width, "width")
    return np.broadcast_to(g[:, None, None] / (height * width), (len(g), height, width)).copy()


def conv1x1(maps: Any, weights: Any, bias: Any = None) -> np.ndarray:
    """out[:, i, j] = W @ maps[:, i, j] (+ b): one linear map across channels, the same at every pixel."""
    M = finite_array(maps, "maps (channels, height, width)", (None, None, None))
    W = finite_array(weights, "weights (out channels, in channels)", (None, M.shape[0]))
    b = np.zeros(W.shape[0]) if bias is None else finite_array(bias, "bias", (W.shape[0],))
    out = np.zeros((W.shape[0], M.shape[1], M.shape[2]))
    for i, j in np.ndindex(M.shape[1:]):
        out[:, i, j] = W @ M[:, i, j] + b
    return out


def conv_parameters(c_in: int, c_out: int, kernel: int, bias: bool = False) -> int:
    """Weights of a k x k convolution from c_in to c_out channels: c_out * c_in * k * k (+ c_out biases)."""
    c_in, c_out, kernel = _positive(c_in, "c_in"), _positive(c_out, "c_out"), _positive(kernel, "kernel")
    return c_out * c_in * kernel * kernel + (c_out if bias else 0)


def dense_parameters(n_in: int, n_out: int, bias: bool = True) -> int:
    """Weights of a fully connected layer: n_in * n_out (+ n_out biases)."""
    n_in, n_out = _positive(n_in, "n_in"), _positive(n_out, "n_out")
    return n_in * n_out + (n_out if bias else 0)
