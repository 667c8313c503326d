"""The CNNs of Part 2, a registry of them by name, and their receptive-field table.

Every model takes float pixels in [0, 1] of shape (N, 1, 28, 28) and normalises them itself
(mean and std are buffers saved in the checkpoint), so an exported model is self-contained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

__all__ = [
    "Normalize",
    "MODELS",
    "build_model",
    "default_dropout",
    "dropout_rate",
    "count_parameters",
    "model_device",
    "after_pooling",
    "transition_conv",
    "RFRow",
    "receptive_field_table",
    "summary",
]


class Normalize(nn.Module):
    """``(x - mean) / std`` with the training set's statistics stored as buffers."""

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _conv(c_in: int, c_out: int, dropout: float) -> nn.Sequential:
    """3x3 convolution -> BatchNorm -> ReLU [-> Dropout]; no bias (BatchNorm's shift replaces it)."""
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, 3, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _transition(c_in: int, c_out: int) -> nn.Sequential:
    """MaxPool to halve the resolution, then a 1x1 convolution to cut the channels cheaply."""
    return nn.Sequential(
        nn.MaxPool2d(2),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _head(c_in: int) -> nn.Sequential:
    """Global average pooling then a 1x1 convolution to 10 scores: no large dense layer."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, 10, 1), nn.Flatten())


def main_model(mean: float = 0.0, std: float = 1.0, dropout: float = 0.05) -> nn.Sequential:
    """The book's network: under 20,000 parameters, 99.4 % on the test set after 20 epochs.

    ``dropout`` acts in the three 3x3 blocks after the transition, where the features combine
    strokes into parts of digits. The two full-resolution layers hold few of the weights; the
    last 3x3 layer feeds the global average pool, whose mean over each channel's positions a few
    masked values would barely change.
    """
    return nn.Sequential(
        Normalize(mean, std),
        _conv(1, 8, 0.0),  # 28 -> 26
        _conv(8, 16, 0.0),  # 26 -> 24
        _transition(16, 8),  # 24 -> 12: the layers below run on a quarter of the pixels
        _conv(8, 16, dropout),  # 12 -> 10
        _conv(16, 16, dropout),  # 10 -> 8
        _conv(16, 24, dropout),  # 8 -> 6
        _conv(24, 32, 0.0),  # 6 -> 4, receptive field now covers the whole digit
        _head(32),
    )


def tiny_model(mean: float = 0.0, std: float = 1.0, dropout: float = 0.0) -> nn.Sequential:
    """A smaller sibling (under 5,000 parameters), the 'going further' chapter's model.

    The same shape as :func:`main_model` with fewer channels, most of them cut after the pooling
    (full resolution 8 and 12, then 10, 10, 10, 12). No dropout: a model this small has no
    channels to spare. Trained with ``--recipe tiny``.
    """
    if dropout:
        raise ValueError("the tiny model has no dropout layers; leave dropout unset")
    return nn.Sequential(
        Normalize(mean, std),
        _conv(1, 8, 0.0),  # 26
        _conv(8, 12, 0.0),  # 24
        _transition(12, 8),  # 12
        _conv(8, 10, 0.0),  # 10
        _conv(10, 10, 0.0),  # 8
        _conv(10, 10, 0.0),  # 6
        _conv(10, 12, 0.0),  # 4
        _head(12),
    )


#: name -> constructor taking (mean, std); ``main`` is the book's model.
MODELS: dict[str, Callable[..., nn.Module]] = {"main": main_model, "tiny": tiny_model}


def _constructor(name: str) -> Callable[..., nn.Sequential]:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str = "main", mean: float = 0.0, std: float = 1.0, dropout: float | None = None) -> nn.Module:
    """Build a registered model; ``mean``/``std`` are the training pixels' statistics, ``dropout``
    (None: the model's own default) the rate of its dropout layers."""
    extra = {} if dropout is None else {"dropout": dropout}
    return _constructor(name)(mean=mean, std=std, **extra)


def default_dropout(name: str = "main") -> float:
    """The dropout rate model ``name`` is built with when none is given (0 for a model without dropout)."""
    return dropout_rate(_constructor(name)())


def dropout_rate(module: nn.Module) -> float:
    """The highest rate of the dropout layers in ``module`` (0 where it has none)."""
    return float(max((m.p for m in module.modules() if isinstance(m, nn.Dropout)), default=0.0))


def after_pooling(model: nn.Sequential) -> nn.Sequential:
    """The layers from the pooling stage on (the transition, the low-resolution layers, the head)."""
    for index, stage in enumerate(model):
        if isinstance(stage, nn.Sequential) and isinstance(stage[0], nn.MaxPool2d):
            return model[index:]
    raise ValueError("the model has no pooling stage")


def transition_conv(model: nn.Sequential) -> nn.Conv2d:
    """The 1x1 convolution right after the pooling, which cuts the channels."""
    return after_pooling(model)[0][1]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def model_device(model: nn.Module) -> torch.device:
    """The device the model's parameters (or, without any, its buffers) live on; the CPU for an empty one."""
    return next((t.device for t in [*model.parameters(), *model.buffers()]), torch.device("cpu"))


@dataclass(frozen=True)
class RFRow:
    """One row of the receptive-field table."""

    layer: str  #: e.g. ``"1.0 Conv2d 3x3"``
    size: int  #: output height (= width)
    rf: int  #: receptive field in input pixels
    jump: int  #: distance in input pixels between neighbouring outputs


def _pair(v: int | tuple[int, ...]) -> int:
    return v[0] if isinstance(v, tuple) else int(v)


def receptive_field_table(model: nn.Module, input_size: int = 28) -> list[RFRow]:
    """Walk the model's spatial layers in order and compute size, receptive field and jump.

    For a layer with kernel k, stride s and padding p: size' = (size + 2p - k) // s + 1,
    rf' = rf + (k - 1) * jump, jump' = jump * s. Global pooling makes rf the whole input.
    """
    size, rf, jump = input_size, 1, 1
    rows = [RFRow("input", size, rf, jump)]
    for name, layer in model.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
            k, s, p = _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.padding)
            size = (size + 2 * p - k) // s + 1
            rf, jump = rf + (k - 1) * jump, jump * s
            label = f"{type(layer).__name__} {k}x{k}" + (f" /{s}" if s > 1 else "")
        elif isinstance(layer, nn.AdaptiveAvgPool2d):
            rf, jump = rf + (size - 1) * jump, jump * size
            size, label = 1, "global average pool"
        else:
            continue
        rows.append(RFRow(f"{name} {label}", size, rf, jump))
    return rows


def summary(model: nn.Module, batch: int = 1) -> str:
    """A torchinfo table of the model: layers, output shapes, parameters, kernel shapes.

    Each column is as wide as its widest entry, not torchinfo's fixed 40 and 25 characters, so
    the table of the book's model fits the code column of a book page (about 75 characters).
    """
    from torchinfo import summary as torchinfo_summary

    # on the model's own device: torchinfo moves the model to the device it is given, and makes its
    # example input on the default device before moving it there
    device = model_device(model)
    with torch.device(device):
        stats = torchinfo_summary(model, input_size=(batch, 1, 28, 28), verbose=0, device=device,
                                  col_names=("output_size", "num_params", "kernel_size"), depth=2)
    fmt = stats.formatting
    shown = [layer for layer in stats.summary_list if layer.depth <= fmt.max_depth]
    fmt.layer_name_width = max(len("Layer (type:depth-idx)"), *(
        len(fmt.get_start_str(layer.depth) + layer.get_layer_name(fmt.show_var_name, fmt.show_depth))
        for layer in shown))
    # one width for the three value columns: the widest output shape, or a header
    fmt.col_width = max(len("Kernel Shape"), *(len(fmt.str_(layer.output_size)) for layer in shown))
    text = str(stats)
    # torchinfo formats its unit enum with an f-string, which since Python 3.11 writes the member's
    # name ("Units.MEGABYTES") instead of its value ("M")
    for unit in type(fmt.macs_units):
        text = text.replace(f"({unit})", f"({unit.value})")
    return text
