"""The trained network as an ONNX file, and its scores computed by onnxruntime, without PyTorch.

:func:`export_onnx` writes the file (float pixels ``pixels`` (N, 1, 28, 28) in [0, 1] -> 10 scores
``scores``, any N); :func:`onnx_scores` runs it with onnxruntime and numpy alone, as any program
outside PyTorch would; :func:`compare` says how closely those scores agree with PyTorch's.
The exporter is PyTorch's TorchScript-based one (``dynamo=False``): it works from torch 2.3 on and
needs only the ``onnx`` package, where the newer exporter needs onnxscript as well.
"""

from __future__ import annotations

import importlib
import inspect
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn

from nnbook.errors import EnvironmentProblem, UsageError, first_line
from nnbook.io import write_bytes_atomic
from nnbook.mnist.checkpoint import check_export_target, cpu_copy
from nnbook.notation import scientific

__all__ = ["OnnxUnavailable", "OnnxModelError", "Agreement", "export_onnx", "onnx_scores", "compare",
           "INPUT_NAME", "OUTPUT_NAME", "OPSET", "INSTALL"]

INPUT_NAME = "pixels"  #: the model's input: float32 (N, 1, 28, 28), pixels in [0, 1]
OUTPUT_NAME = "scores"  #: the model's output: float32 (N, 10), one score (logit) per digit
#: ONNX opset 17: written by torch 2.3's exporter and read by every onnxruntime the extra admits
OPSET = 17
INSTALL = "pip install 'nnbook[onnx]'"  #: the fix when a package is missing


class OnnxUnavailable(EnvironmentProblem, ImportError):
    """The ``onnx`` or ``onnxruntime`` package this needs is not installed."""


class OnnxModelError(EnvironmentProblem, ValueError):
    """A file that is not a readable ONNX model, or input that does not fit it."""


def _require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or say which extra installs it (torch's own message names neither)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise OnnxUnavailable(f"{purpose} needs the {module} package, which this Python does not have: "
                              f"{INSTALL}") from None


def export_onnx(model: nn.Module, out: str | Path, *, overwrite: bool = False,
                source: str | Path | None = None) -> Path:
    """Write ``model`` as an ONNX file (``pixels`` (N, 1, 28, 28) -> ``scores`` (N, 10)), atomically.

    Exports a CPU copy in eval mode: the caller's model is left on its device and in its mode.
    An existing ``out`` is replaced only with ``overwrite``, and never when it is ``source``.
    """
    out = check_export_target(out, overwrite=overwrite, source=source)
    _require("onnx", "the ONNX export")  # torch's exporter imports it deep inside, with a bare message
    options = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    buffer = io.BytesIO()  # in memory first: a full disk is then an OSError naming ``out``
    # torch 2.9+ flags this exporter as legacy (it is the one torch 2.3 has); the exporter makes
    # tensors of its own on the default device, so the whole export runs with the CPU as default:
    # a reader who made CUDA the default still exports the CPU copy
    with warnings.catch_warnings(), torch.device("cpu"):
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        example = torch.zeros(1, 1, 28, 28, device="cpu")
        torch.onnx.export(cpu_copy(model), (example,), buffer, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}},
                          opset_version=OPSET, do_constant_folding=True, **options)
    write_bytes_atomic(out, buffer.getvalue())
    return out


def onnx_scores(path: str | Path, pixels: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The scores (N, 10) onnxruntime computes from an ONNX file for float pixels (N, 1, 28, 28) in [0, 1].

    Only numpy and onnxruntime run here (on the CPU), ``batch_size`` images at a time.
    """
    ort = _require("onnxruntime", "running an ONNX model")
    path = Path(path)
    if not path.is_file():
        raise OnnxModelError(f"{path}: no such ONNX file" if not path.exists() else f"{path} is not a regular file")
    pixels = np.asarray(pixels)
    if pixels.ndim != 4 or pixels.shape[1:] != (1, 28, 28):
        raise UsageError(f"pixels must have shape (N, 1, 28, 28), not {pixels.shape}")
    if pixels.dtype != np.float32:
        raise UsageError(f"pixels must be float32 in [0, 1] (images / 255), not {pixels.dtype}")
    if batch_size < 1:
        raise UsageError(f"batch_size must be at least 1, got {batch_size}")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types differ between versions
        first = first_line(exc)
        raise OnnxModelError(f"{path}: not a readable ONNX model ({first})") from None
    names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if names != ([INPUT_NAME], [OUTPUT_NAME]):
        raise OnnxModelError(f"{path}: not written by export_onnx (inputs, outputs: {names})")
    parts = [session.run([OUTPUT_NAME], {INPUT_NAME: pixels[i : i + batch_size]})[0]
             for i in range(0, len(pixels), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)


@dataclass(frozen=True)
class Agreement:
    """How the ONNX model's scores compare with PyTorch's on the same images."""

    same_class: int  #: images for which both predict the same digit
    total: int  #: images compared
    max_difference: float  #: largest absolute difference between two corresponding scores
    onnx_correct: int  #: images the ONNX model classifies correctly
    torch_correct: int  #: images the PyTorch model classifies correctly

    @property
    def onnx_accuracy(self) -> float:
        return self.onnx_correct / self.total

    def __str__(self) -> str:
        return (f"same class for {self.same_class:,} of {self.total:,} images; largest score difference "
                f"{scientific(self.max_difference)}; correct: ONNX {self.onnx_correct:,}, "
                f"PyTorch {self.torch_correct:,}")

    def _repr_markdown_(self) -> str:  # how a notebook shows it: a sentence, no e-notation
        return str(self)


def compare(onnx: np.ndarray, reference: torch.Tensor, labels: torch.Tensor) -> Agreement:
    """Compare ONNX scores (N, 10) with PyTorch's ``reference`` scores for images with these ``labels``."""
    ref, truth = reference.detach().cpu().float().numpy(), labels.cpu().numpy()
    if onnx.shape != ref.shape or len(truth) != len(ref):
        raise UsageError(f"scores of shapes {onnx.shape} and {ref.shape}, and {len(truth)} labels, do not match")
    return Agreement(same_class=int((onnx.argmax(1) == ref.argmax(1)).sum()), total=len(truth),
                     max_difference=float(np.abs(onnx - ref).max()) if len(truth) else 0.0,
                     onnx_correct=int((onnx.argmax(1) == truth).sum()),
                     torch_correct=int((ref.argmax(1) == truth).sum()))
