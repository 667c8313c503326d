"""A Part 2 model as a picture: its stages, the shape of what each one passes on, its weights.

:func:`stages` runs one blank image through the model's top-level blocks and records what each
block is, the shape it outputs and the parameters it holds; :func:`plot_architecture` draws
them as a row of feature maps shrinking from 28×28 to ten scores. PyTorch's own printout and
torchinfo's table say the same in text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from nnbook.errors import UsageError
from nnbook.mnist.models import count_parameters, dropout_rate, model_device

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not with the package
    from matplotlib.figure import Figure

__all__ = ["Stage", "stages", "plot_architecture"]


@dataclass(frozen=True)
class Stage:
    """One top-level block of a model."""

    label: str  #: what the block does, e.g. "3×3 conv" or "max-pool + 1×1 conv"
    shape: tuple[int, ...]  #: what it outputs for one image: (channels, height, width), or (scores,)
    parameters: int  #: trainable numbers it holds
    dropout: float  #: the share of its activations dropped out during training (0: none)


def _label(block: nn.Module) -> str:
    if not isinstance(block, nn.Sequential):
        return "normalise"
    parts = []
    for m in block:
        if isinstance(m, nn.MaxPool2d):
            parts.append("max-pool")
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            parts.append("average")
        elif isinstance(m, nn.Conv2d):
            k = m.kernel_size[0]
            parts.append(f"{k}×{k} conv")
    return " + ".join(parts)


def stages(model: nn.Sequential) -> list[Stage]:
    """The model's top-level blocks in order, each with its output shape for one 28×28 image.

    The model is left as it was (same device, same train or eval mode): the blank image is
    made on the model's own device and the pass runs in eval mode without gradients.
    """
    if not isinstance(model, nn.Sequential) or len(model) == 0:
        raise UsageError(f"stages() takes a Part 2 model (an nn.Sequential of blocks), got {type(model).__name__}")
    x = torch.zeros(1, 1, 28, 28, device=model_device(model))
    was_training = model.training
    out = []
    try:
        model.eval()
        with torch.no_grad():
            for block in model:
                x = block(x)
                out.append(Stage(label=_label(block), shape=tuple(x.shape[1:]),
                                 parameters=count_parameters(block), dropout=dropout_rate(block)))
    finally:
        model.train(was_training)
    return out


def plot_architecture(model: nn.Sequential) -> Figure:
    """A Figure: the model's stages left to right, each output drawn as a block as tall as the
    feature map is wide and as deep as it has channels, its shape above, its weights below."""
    from matplotlib.figure import Figure  # not pyplot: no global figure state
    from matplotlib.patches import Rectangle

    rows = stages(model)
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    ax = fig.subplots()
    x, gap, top = 0.0, 0.55, 28.0
    colours = {"normalise": "#dbe9f6", "conv": "#fde7c8", "max-pool": "#d9f0d3", "average": "#f6d5d5"}
    for i, stage in enumerate(rows):
        side = stage.shape[1] if len(stage.shape) == 3 else 1
        channels = stage.shape[0]
        width = 0.35 + 0.05 * channels  # depth grows with the channels, height with the map's side
        kind = next((k for k in ("average", "max-pool", "conv", "normalise") if k in stage.label), "conv")
        ax.add_patch(Rectangle((x, (top - side) / 2), width, side, facecolor=colours[kind],
                               edgecolor="black", hatch="//" if stage.dropout else None, lw=0.8))
        shape = "×".join(str(s) for s in stage.shape) if len(stage.shape) == 3 else f"{channels} scores"
        ax.text(x + width / 2, top + 1.2, shape, ha="center", va="bottom", fontsize=8.5)
        ax.text(x + width / 2, -1.2, stage.label.replace(" + ", "\n+ "), ha="center", va="top", fontsize=8.5)
        if stage.parameters:
            ax.text(x + width / 2, -6.3, f"{stage.parameters:,}", ha="center", va="top", fontsize=8, color="#444")
        if i + 1 < len(rows):
            ax.annotate("", xy=(x + width + gap - 0.08, top / 2), xytext=(x + width + 0.08, top / 2),
                        arrowprops={"arrowstyle": "->", "lw": 0.8})
        x += width + gap
    ax.text(-0.3, -6.3, "parameters", ha="right", va="top", fontsize=8, color="#444")
    total = sum(s.parameters for s in rows)
    rates = sorted({s.dropout for s in rows if s.dropout})
    dropped = f"; hatched blocks drop out {' or '.join(f'{r:.0%}' for r in rates)} of their activations in training"
    ax.set_title(f"{total:,} parameters" + (dropped if rates else ""), fontsize=10)
    ax.set_xlim(-1.6, x)
    ax.set_ylim(-9.5, top + 4)
    ax.axis("off")
    return fig
