"""Evaluation on the whole test set, checkpoint loading with clear errors, TorchScript export."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from nnbook.io import atomic_path
from nnbook.mnist.data import MnistSplit, iterate_batches
from nnbook.mnist.models import MODELS, build_model

__all__ = [
    "CheckpointError",
    "Evaluation",
    "evaluate",
    "predict",
    "read_state_dict",
    "load_model",
    "export_torchscript",
    "confusion_matrix",
    "plot_confusion",
    "misclassified_grid",
]


class CheckpointError(ValueError):
    """A checkpoint cannot be read or does not fit the model; the message says which layers."""


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy on a whole split."""

    loss: float
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total


@torch.inference_mode()
def predict(model: nn.Module, split: MnistSplit, batch_size: int = 2000) -> torch.Tensor:
    """Scores (N, 10) for every image of ``split``, in order (model switched to eval mode)."""
    model.eval()
    return torch.cat([model(x).float() for x, _ in iterate_batches(split, batch_size)])


def evaluate(model: nn.Module, split: MnistSplit, batch_size: int = 2000) -> Evaluation:
    """Mean cross-entropy and number correct over ALL images of ``split``."""
    scores = predict(model, split, batch_size)
    loss = F.cross_entropy(scores, split.labels, reduction="sum").item() / len(split)
    correct = int((scores.argmax(1) == split.labels).sum().item())
    return Evaluation(loss, correct, len(split))


def confusion_matrix(scores: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Counts (true, predicted) as a (classes, classes) int64 tensor, with one bincount."""
    pred = scores.argmax(1)
    flat = labels.cpu() * classes + pred.cpu()
    return torch.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint with ``weights_only=True`` (a plain state_dict, or a resume file)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and weights_only errors alike: name the file, not the stack
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # a resume file holds the weights under "model"
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: does not hold a state_dict (a dict of tensors)")
    return obj


def _mismatches(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
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
    for candidate in candidates:
        model = build_model(candidate)
        problems = _mismatches(model, state)
        if not problems:
            model.load_state_dict(state)
            return model.eval(), candidate
    shown = "; ".join(problems[:8]) + (f"; ... ({len(problems) - 8} more)" if len(problems) > 8 else "")
    raise CheckpointError(
        f"{path} does not fit model {candidates[-1]!r} (a different architecture?): {shown}"
    )


def export_torchscript(model: nn.Module, out: str | Path) -> Path:
    """Write a TorchScript model (float pixels (N, 1, 28, 28) in [0, 1] -> 10 scores), atomically."""
    with warnings.catch_warnings():  # torch 2.10+ flags TorchScript as deprecated; it still is
        warnings.simplefilter("ignore", FutureWarning)  # the one format loadable without Python
        scripted = torch.jit.script(model.cpu().eval())
    with atomic_path(out) as tmp:
        scripted.save(str(tmp))
    return Path(out)


def plot_confusion(matrix: torch.Tensor):
    """A Figure of a confusion matrix with the off-diagonal counts written in the cells."""
    import matplotlib.pyplot as plt

    m = matrix.cpu().numpy()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    off = m.copy()
    off[range(len(m)), range(len(m))] = 0  # colour the mistakes; the diagonal would swamp them
    ax.imshow(off, cmap="Reds")
    for t in range(len(m)):
        for p in range(len(m)):
            if m[t, p]:
                dark = off[t, p] > off.max() / 2  # white on the darkest reds, to stay legible
                ax.text(p, t, str(m[t, p]), ha="center", va="center", fontsize=7,
                        color="tab:blue" if t == p else ("white" if dark else "black"))
    ax.set(xticks=range(len(m)), yticks=range(len(m)), xlabel="predicted", ylabel="true",
           title="confusion matrix (test set)")
    fig.tight_layout()
    return fig


def misclassified_grid(scores: torch.Tensor, split: MnistSplit, limit: int = 40, cols: int = 10):
    """A Figure of the first ``limit`` misclassified digits, titled 'true→predicted'."""
    from nnbook.mnist.data import digit_grid

    pred = scores.argmax(1).cpu()
    labels = split.labels.cpu()
    wrong = (pred != labels).nonzero().flatten()[:limit]
    titles = [f"{int(labels[i])}→{int(pred[i])}" for i in wrong]
    return digit_grid(split.images.cpu()[wrong], titles=titles, cols=cols)
