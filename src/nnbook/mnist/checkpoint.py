"""Checkpoints: loading one with clear errors, and exporting a self-contained TorchScript model.

The ONNX export (:mod:`nnbook.mnist.onnx_export`) checks its target with the same rules."""

from __future__ import annotations

import copy
import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from nnbook.errors import EnvironmentProblem, first_line
from nnbook.io import write_bytes_atomic
from nnbook.mnist.models import MODELS, build_model

__all__ = ["CheckpointError", "read_state_dict", "load_model", "check_export_target", "cpu_copy", "export_torchscript",
           "mismatches", "non_finite"]


class CheckpointError(EnvironmentProblem, ValueError):
    """A checkpoint cannot be read, holds no usable weights, or does not fit the model."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint with ``weights_only=True`` (a plain state_dict, or a resume file)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give a checkpoint file, such as {path / 'model.pt'}")
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise CheckpointError(f"{path} is not a regular file; give a checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (a copy that failed?); give a checkpoint file")
    try:
        with warnings.catch_warnings():  # a TorchScript file: torch warns, then refuses; we say why
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        if exc.filename is not None:
            raise  # the disk's own error (an unreadable file), naming it: the command line shows it
        # torch's reader raises a bare OSError (EINVAL) for some cut-off files: name the file
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (cut off? {first_line(exc)})") from None
    except Exception as exc:  # pickle, zip and weights_only errors alike: name the file, not the stack
        raise CheckpointError(f"{path}: {why_unreadable(exc)}") from None
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # a resume file holds the weights under "model"
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: does not hold a state_dict (a dict of tensors)")
    bad = non_finite(obj)
    if bad:
        raise CheckpointError(f"{path}: holds weights that are NaN or infinite ({', '.join(bad[:3])}"
                              f"{', ...' if len(bad) > 3 else ''}): the run that wrote it diverged")
    return obj


def why_unreadable(exc: Exception, what: str = "PyTorch checkpoint",
                   instead: str = "neither a state_dict nor a resume file") -> str:
    """What a ``torch.load`` failure means, in words (``what``: the kind of file that was expected,
    ``instead``: what the file is when torch's safe loader refuses it); never torch's advice to load
    unsafely."""
    text = str(exc)
    if "TorchScript" in text:
        return ("a TorchScript export (what `export` writes), not a checkpoint; "
                "give the run's model.pt or resume.pt")
    if "Unsupported global" in text or "GLOBAL" in text:
        return (f"not a readable {what}: it holds objects other than tensors, and loading "
                "those could run code")
    if "weights_only" in text or "Weights only" in text:  # anything else torch's safe loader refuses
        return f"not a readable {what} ({instead})"
    first = first_line(text)
    return f"not a readable {what} ({type(exc).__name__}: {first})"


def non_finite(state: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors of ``state`` that hold a NaN or an infinity."""
    return [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def mismatches(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Human-readable differences between a model's expected tensors and a state_dict."""
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    out = [f"missing {k} {list(s)}" for k, s in want.items() if k not in got]
    out += [f"unexpected {k} {list(s)}" for k, s in got.items() if k not in want]
    out += [f"{k}: checkpoint {list(got[k])} vs model {list(s)}"
            for k, s in want.items() if k in got and got[k] != s]
    return out


def load_model(path: str | Path, name: str | None = None) -> tuple[nn.Module, str]:
    """Build the model a checkpoint belongs to and load it; return (model in eval mode, name).

    With ``name`` None the registered architecture whose layers match is used. A mismatch raises
    :class:`CheckpointError` listing the layers that differ, instead of torch's long traceback.
    """
    state = read_state_dict(path)
    candidates = [name] if name else list(MODELS)
    found: list[tuple[str, list[str]]] = []
    for candidate in candidates:
        with torch.device("cpu"):
            model = build_model(candidate)
        problems = mismatches(model, state)
        if not problems:
            model.load_state_dict(state)
            return model.eval(), candidate
        found.append((candidate, problems))
    closest, problems = min(found, key=lambda item: len(item[1]))  # name the nearest architecture
    shown = "; ".join(problems[:8]) + (f"; ... ({len(problems) - 8} more)" if len(problems) > 8 else "")
    raise CheckpointError(f"{path} does not fit model {closest!r} (a different architecture?): {shown}")


def check_export_target(out: str | Path, *, overwrite: bool = False, source: str | Path | None = None) -> Path:
    """Refuse an export target that must not be written: ``source`` itself, a folder, a device or FIFO,
    or an existing file without ``overwrite``. Every exporter checks its ``out`` with this first."""
    out = Path(out)
    if source is not None and out.exists() and Path(source).exists() and os.path.samefile(out, source):
        raise CheckpointError(f"{out} is the checkpoint being exported; writing it would destroy it. "
                              "Choose another output file")
    if out.is_dir():
        raise CheckpointError(f"{out} is a folder; give the path of the file to write")
    if out.exists() and not out.is_file():  # --force must not replace /dev/null or a FIFO by a file
        raise CheckpointError(f"{out} is not a regular file; give the path of the file to write")
    if out.exists() and not overwrite:
        raise CheckpointError(f"{out} already exists; add --force to replace it")
    return out


def cpu_copy(model: nn.Module) -> nn.Module:
    """A CPU copy of ``model`` in eval mode with contiguous weights: what an exporter traces or scripts,
    so the caller's model is left on its device and in its mode."""
    clone = copy.deepcopy(model).cpu().eval()
    with torch.no_grad():
        for p in clone.parameters():  # channels_last weights export fine, but plain is the norm
            p.data = p.data.contiguous()
    return clone


def export_torchscript(model: nn.Module, out: str | Path, *, overwrite: bool = False,
                       source: str | Path | None = None) -> Path:
    """Write a TorchScript model (float pixels (N, 1, 28, 28) in [0, 1] -> 10 scores), atomically.

    Scripts a CPU copy in eval mode: the caller's model is left on its device and in its mode.
    An existing ``out`` is replaced only with ``overwrite``, and never when it is ``source``.
    """
    out = check_export_target(out, overwrite=overwrite, source=source)
    buffer = io.BytesIO()  # in memory first: a full disk is then an OSError naming ``out``
    with warnings.catch_warnings():  # torch 2.10+ flags TorchScript as deprecated; it still is
        warnings.simplefilter("ignore", FutureWarning)  # the one format loadable without Python
        torch.jit.save(torch.jit.script(cpu_copy(model)), buffer)
    write_bytes_atomic(out, buffer.getvalue())
    return out
