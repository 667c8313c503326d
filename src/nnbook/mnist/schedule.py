"""The optimizer and its one-cycle learning-rate schedule, as the step uses them."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from nnbook.mnist.config import TrainConfig

__all__ = ["one_cycle_rates", "make_optimizer"]


def one_cycle_rates(cfg: TrainConfig, total_steps: int) -> list[float]:
    """The learning rate of every step, 0 .. ``total_steps - 1``, of PyTorch's ``OneCycleLR``.

    Warm-up from ``lr / 10`` to ``lr`` over the first ``cfg.warmup`` share of the steps, then a
    cosine down to ``lr / 1e4``: a high rate early explores, a rate near zero at the end lets
    the weights settle, so the final epoch is the one to report. The momentum stays constant
    (``cycle_momentum=False``), so the history's ``momentum`` is what ran.

    Computed with ``OneCycleLR``'s own formula (cosine annealing within each phase), in one
    vectorised expression: stepping the scheduler itself costs seconds for a 20-epoch run. The
    tests check every rate against the scheduler.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps}")
    start, peak = cfg.lr / 10, cfg.lr
    final = start / 1e3
    steps = max(total_steps, 2)  # OneCycleLR needs two; a one-step run takes the first rate
    warm_end = float(cfg.warmup * steps) - 1  # OneCycleLR's phase boundaries
    last = steps - 1
    k = np.arange(total_steps, dtype=np.float64)

    def anneal(a: float, b: float, pct: np.ndarray) -> np.ndarray:
        return b + (a - b) / 2.0 * (np.cos(math.pi * pct) + 1)

    with np.errstate(divide="ignore", invalid="ignore"):
        # a warm-up that ends at step 0 (warmup * steps == 1: OneCycleLR divides by zero) starts at lr / 10,
        # as any longer one does and as the limit of a warm-up just longer than it
        up = anneal(start, peak, np.divide(k, warm_end, out=np.zeros_like(k), where=warm_end > 0))
        down = anneal(peak, final, (k - warm_end) / (last - warm_end))
    return np.where(k <= warm_end, up, down).tolist()


def make_optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> tuple[torch.optim.SGD, torch.Tensor]:
    """SGD with Nesterov momentum and weight decay; returns it and its learning rate, a 0-dim
    tensor on ``device`` that the step sets from the schedule without the host.

    The fused implementation reads the rate from device memory, which is what lets a CUDA graph
    replay a step whose rate changes; it is also one kernel instead of several per step.
    """
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    lr = torch.tensor(cfg.lr, dtype=torch.float32, device=device)
    fused = device.type in _get_fused_kernels_supported_devices()
    # elsewhere the per-tensor version, which reads the tensor rate on the host at every step
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum, nesterov=True,
                          weight_decay=cfg.weight_decay, fused=fused or None, foreach=False if not fused else None)
    return opt, lr
