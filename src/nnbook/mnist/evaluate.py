"""Evaluation on the whole test set: scores, loss, accuracy, confusion matrix, the mistakes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from nnbook.mnist.data import MnistSplit, iterate_batches

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the package
    from matplotlib.figure import Figure

__all__ = [
    "Evaluation",
    "evaluate",
    "predict",
    "confusion_matrix",
    "plot_confusion",
    "misclassified_grid",
]


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy on a whole split, and the scores they were computed from."""

    loss: float
    correct: int
    total: int
    scores: torch.Tensor | None = field(default=None, repr=False, compare=False)  #: (N, 10), in split order

    @property
    def accuracy(self) -> float:
        return self.correct / self.total

    @property
    def standard_error(self) -> float:
        """The accuracy's standard error, sqrt(p(1 - p) / n): by how much the accuracy on another
        ``total`` images drawn like these would typically differ, the model held fixed."""
        p = self.accuracy
        return math.sqrt(p * (1 - p) / self.total)


@torch.inference_mode()
def predict(model: nn.Module, split: MnistSplit, batch_size: int | None = None) -> torch.Tensor:
    """Scores (N, 10) for every image of ``split``, in order, in float32 (model switched to eval mode).

    ``batch_size`` None: the whole test set at once on a GPU, 500 images at a time on a CPU.
    """
    model.eval()
    if batch_size is None:
        batch_size = 10_000 if split.images.device.type in ("cuda", "mps") else 500  # measured best on 2 cores
    return torch.cat([model(x).float() for x, _ in iterate_batches(split, batch_size)])


def evaluate(model: nn.Module, split: MnistSplit, batch_size: int | None = None) -> Evaluation:
    """Mean cross-entropy and number correct over ALL images of ``split``."""
    scores = predict(model, split, batch_size)
    loss = F.cross_entropy(scores, split.labels, reduction="sum").item() / len(split)
    correct = int((scores.argmax(1) == split.labels).sum().item())
    return Evaluation(loss, correct, len(split), scores)


def confusion_matrix(scores: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Counts (true, predicted) as a (classes, classes) int64 tensor, with one bincount."""
    pred = scores.argmax(1)
    flat = labels.cpu() * classes + pred.cpu()
    return torch.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def plot_confusion(matrix: torch.Tensor) -> Figure:
    """A Figure of a confusion matrix with the off-diagonal counts written in the cells."""
    from matplotlib.figure import Figure  # not pyplot: no global figure state, as in Part 1

    m = matrix.cpu().numpy()
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.subplots()
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


def misclassified_grid(scores: torch.Tensor, split: MnistSplit, limit: int = 40, cols: int = 10) -> Figure:
    """A Figure of the first ``limit`` misclassified digits, titled 'true→predicted'."""
    from nnbook.mnist.data import digit_grid

    pred = scores.argmax(1).cpu()
    labels = split.labels.cpu()
    wrong = (pred != labels).nonzero().flatten()[:limit]
    titles = [f"{int(labels[i])}→{int(pred[i])}" for i in wrong]
    return digit_grid(split.images.cpu()[wrong], titles=titles, cols=cols)
