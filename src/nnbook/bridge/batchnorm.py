"""Batch normalisation of one channel, by hand: the formula, training versus evaluation.

In training, each value is normalised with the mean and (biased) variance of its batch, then
scaled and shifted by two learned numbers, gamma and beta::

    x_hat = (x - mean) / sqrt(var + eps),    y = gamma * x_hat + beta

and a running mean and variance are kept, each step moving ``momentum`` of the way to the batch's
values (PyTorch stores the *unbiased* batch variance, n / (n - 1) times the biased one, in the
running variance). In evaluation the running values replace the batch's, so an image's output
no longer depends on which other images share its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnbook.bridge._validate import finite_array
from nnbook.errors import UsageError

__all__ = ["EPS", "MOMENTUM", "TrainStep", "train_step", "evaluate"]

#: PyTorch's defaults for ``nn.BatchNorm2d``
EPS, MOMENTUM = 1e-5, 0.1


@dataclass(frozen=True)
class TrainStep:
    """One training-mode pass: the output, the batch statistics, and the updated running ones."""

    y: np.ndarray
    mean: float
    var: float  #: biased: the mean of the squared deviations
    running_mean: float
    running_var: float


def train_step(x: Any, gamma: float = 1.0, beta: float = 0.0, running_mean: float = 0.0,
               running_var: float = 1.0, momentum: float = MOMENTUM, eps: float = EPS) -> TrainStep:
    """Normalise the values ``x`` (one channel: every image and position of a batch) with their own
    statistics, and update the running statistics."""
    x = finite_array(x, "x (one channel's values in the batch)", (None,))
    if x.size < 2:
        raise UsageError("a training batch needs at least two values to have a variance")
    mean = float(x.mean())
    var = float(np.mean((x - mean) ** 2))
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta
    unbiased = var * x.size / (x.size - 1)
    return TrainStep(y, mean, var, (1 - momentum) * running_mean + momentum * mean,
                     (1 - momentum) * running_var + momentum * unbiased)


def evaluate(x: Any, running_mean: float, running_var: float, gamma: float = 1.0, beta: float = 0.0,
             eps: float = EPS) -> np.ndarray:
    """Evaluation mode: the same formula with the running statistics, value by value."""
    x = finite_array(x, "x", (None,))
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
