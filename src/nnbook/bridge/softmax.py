"""Softmax and cross-entropy, and why their gradient is simply p - t.

For scores (logits) z_1..z_K the softmax gives probabilities p_k = e^{z_k} / sum_j e^{z_j}, and
the cross-entropy against a target distribution t (t_k >= 0, sum t_k = 1) is L = -sum_k t_k ln p_k.
The chain rule through the softmax's Jacobian dp_k/dz_j = p_k (1[k = j] - p_j) gives

    dL/dz_j = -sum_k (t_k / p_k) p_k (1[k = j] - p_j) = -t_j + p_j sum_k t_k = p_j - t_j,

so the output delta is the prediction minus the target, with no slope factor left to vanish.
:func:`delta_by_chain_rule` takes the long way (Jacobian times dL/dp) so the cancellation can be
seen happening; :func:`delta` is the short way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnbook.bridge._validate import finite_array
from nnbook.errors import UsageError

__all__ = ["softmax", "log_softmax", "cross_entropy", "jacobian", "delta", "delta_by_chain_rule", "distribution"]


def log_softmax(z: Any) -> np.ndarray:
    """ln softmax(z), computed as z - max - ln sum e^(z - max) so no exponential overflows."""
    z = finite_array(z, "z (the scores)", (None,))
    shifted = z - z.max()
    return shifted - np.log(np.sum(np.exp(shifted)))


def softmax(z: Any) -> np.ndarray:
    """The probabilities e^{z_k} / sum_j e^{z_j}; adding a constant to every z changes nothing."""
    return np.exp(log_softmax(z))


def distribution(t: Any, k: int) -> np.ndarray:
    """``t`` as an array of ``k`` targets that form a probability distribution (>= 0, summing to 1):
    the delta p - t is the cross-entropy's gradient only for such targets; anything else is refused."""
    t = finite_array(t, "targets", (k,))
    if np.any(t < 0) or abs(float(t.sum()) - 1.0) > 1e-12:
        raise UsageError(f"targets must be a probability distribution (>= 0, summing to 1), got {t.tolist()}")
    return t


def cross_entropy(p: Any, t: Any) -> float:
    """-sum_k t_k ln p_k for probabilities ``p`` and a target distribution ``t``."""
    p = finite_array(p, "p (the probabilities)", (None,))
    t = distribution(t, p.size)
    if np.any(p <= 0):
        raise UsageError("p must be positive: ln 0 is -inf (compute the loss from the scores instead)")
    return -float(np.sum(t * np.log(p)))


def jacobian(z: Any) -> np.ndarray:
    """The softmax's Jacobian, entry (k, j) = dp_k/dz_j = p_k (1[k = j] - p_j) = diag(p) - p p^T."""
    p = softmax(z)
    return np.diag(p) - np.outer(p, p)


def delta(z: Any, t: Any) -> np.ndarray:
    """dL/dz for L = cross_entropy(softmax(z), t): the short formula p - t."""
    p = softmax(z)
    return p - distribution(t, p.size)


def delta_by_chain_rule(z: Any, t: Any) -> np.ndarray:
    """dL/dz the long way: (dp/dz)^T dL/dp with dL/dp_k = -t_k / p_k (equals :func:`delta`)."""
    p = softmax(z)
    dL_dp = -distribution(t, p.size) / p
    return jacobian(z).T @ dL_dp
