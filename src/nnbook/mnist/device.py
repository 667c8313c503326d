"""Pick the training device: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import torch

__all__ = ["select_device"]


def select_device(name: str = "auto") -> torch.device:
    """Return ``torch.device(name)``, or for ``"auto"`` the fastest one available."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda asked for, but no CUDA GPU is available")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("--device mps asked for, but Apple MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
