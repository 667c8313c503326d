"""The training device and its arithmetic: CUDA, then Apple MPS, then the CPU; fp32, bf16 or fp16."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from nnbook.errors import EnvironmentProblem

__all__ = ["DeviceError", "select_device", "device_name", "Precision", "choose_precision", "PRECISIONS",
           "native_bf16"]


class DeviceError(EnvironmentProblem, ValueError):
    """The device or precision asked for does not exist here; the message says what does."""


def select_device(name: str = "auto") -> torch.device:
    """Return ``torch.device(name)``, or for ``"auto"`` the fastest one available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {name!r} is not supported; use auto, cpu, cuda, cuda:N or mps")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name} asked for, but no CUDA GPU is available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"--device {name} asked for, but Apple MPS is not available here; use --device cpu")
    return device


def device_name(device: torch.device) -> str:
    """A human name for ``device``: the GPU's model, or the CPU's, as the history records it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"CPU: {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    return f"CPU: {platform.processor() or platform.machine()}"


@dataclass(frozen=True)
class Precision:
    """How the forward and backward passes compute: ``fp32``, or autocast to ``bf16``/``fp16``."""

    name: str

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The dtype autocast runs the convolutions in; None for plain float32."""
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.name)

    @property
    def needs_scaler(self) -> bool:
        """float16 underflows small gradients unless the loss is scaled first."""
        return self.name == "fp16"


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def native_bf16(device: torch.device) -> bool:
    """Whether the CUDA GPU ``device`` computes bf16 natively: compute capability 8.0 (Ampere) or
    newer, or an AMD GPU under ROCm. Asked of ``device`` itself, not the current GPU, and with an
    API every supported torch has (``is_bf16_supported(including_emulation=...)`` is newer than 2.3)."""
    if torch.version.hip:
        return True
    return tuple(torch.cuda.get_device_capability(device)) >= (8, 0)


def choose_precision(device: torch.device, requested: str = "auto") -> Precision:
    """``auto``: bf16 on a CUDA GPU that computes it natively (Ampere and newer), fp16 with a
    gradient scaler on older CUDA GPUs (a T4), fp32 elsewhere. Mixed precision is never used on
    the CPU: it would be slower there, not faster."""
    if requested not in PRECISIONS:
        raise DeviceError(f"unknown precision {requested!r}; use one of {', '.join(PRECISIONS)}")
    if requested == "auto":
        if device.type != "cuda":
            return Precision("fp32")
        return Precision("bf16" if native_bf16(device) else "fp16")
    if requested != "fp32" and device.type != "cuda":
        raise DeviceError(f"precision {requested} is for CUDA GPUs; on {device.type} use fp32 (or auto)")
    if requested == "bf16" and not native_bf16(device):
        raise DeviceError(f"{device_name(device)} has no native bf16; use fp16 (or auto)")
    return Precision(requested)
