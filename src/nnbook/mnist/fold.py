"""Fold a trained CNN's normalisation and BatchNorm layers into its convolutions, for inference.

In eval mode BatchNorm is a fixed per-channel affine map, ``y = gamma * (z - mu) / sqrt(var + eps) + beta``,
and the input normalisation is another one, ``(x - mean) / std``. A convolution followed (or, for
an unpadded one, preceded) by an affine map is again a convolution with other weights and a
bias, so the folded network is plain convolutions, ReLUs and poolings: the same scores, fewer
operations, and a layer list short enough to run in a page's JavaScript (see :mod:`nnbook.mnist.web`).
"""

from __future__ import annotations

import torch
from torch import nn

from nnbook.errors import UsageError
from nnbook.mnist.checkpoint import cpu_copy
from nnbook.mnist.models import Normalize

__all__ = ["fold_model", "fold_batchnorm", "fold_input_affine"]

#: Layers the folded network keeps as they are (Dropout is dropped: in eval mode it is the identity).
_KEPT = (nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.Flatten)


def fold_batchnorm(weight: torch.Tensor, bias: torch.Tensor | None,
                   bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias of ``bn(conv(x))`` as one convolution (float64).

    With ``s = gamma / sqrt(var + eps)`` per output channel: ``W' = s * W`` and ``b' = s * (b - mu) + beta``.
    """
    w = weight.double()
    b = torch.zeros(weight.shape[0], dtype=torch.float64, device=w.device) if bias is None else bias.double()
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    return w * scale.view(-1, 1, 1, 1), scale * (b - bn.running_mean.double()) + bn.bias.double()


def fold_input_affine(weight: torch.Tensor, bias: torch.Tensor, mean: float,
                      std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias of ``conv((x - mean) / std)`` as one convolution, for an unpadded convolution.

    ``W' = W / std`` and ``b' = b - (mean / std) * sum(W)`` (the sum over each filter's inputs).
    """
    w = weight.double()
    return w / std, bias.double() - (mean / std) * w.sum(dim=(1, 2, 3))


def _leaves(model: nn.Module) -> list[nn.Module]:
    """The model's layers in forward order (its nested Sequentials flattened)."""
    if not isinstance(model, nn.Sequential):
        raise UsageError("fold_model takes an nn.Sequential (a model of nnbook.mnist.models), "
                         f"not {type(model).__name__}")
    out: list[nn.Module] = []
    for layer in model:
        out.extend(_leaves(layer) if isinstance(layer, nn.Sequential) else [layer])
    return out


def fold_model(model: nn.Module) -> nn.Sequential:
    """An equivalent float32 network of biased convolutions, ReLUs and poolings only.

    Equal to ``model.eval()`` up to float32 rounding; the caller's model is left as it is and
    may be on any device: a CPU copy is folded, and the folded network is on the CPU (where it
    is exported). Raises :class:`~nnbook.errors.UsageError` for a layer the folding does not know.
    """
    layers: list[nn.Module] = []
    pending: tuple[float, float] | None = None  # a Normalize waiting for the next convolution
    last_conv: nn.Conv2d | None = None  # the newest convolution, which a BatchNorm may follow
    for layer in _leaves(cpu_copy(model) if isinstance(model, nn.Sequential) else model):
        if isinstance(layer, Normalize):
            pending = (float(layer.mean), float(layer.std))
        elif isinstance(layer, nn.Conv2d):
            if layer.groups != 1 or layer.dilation != (1, 1):
                raise UsageError(f"cannot fold {layer}: only plain convolutions (groups=1, no dilation)")
            w = layer.weight.detach().double()
            b = (layer.bias.detach().double() if layer.bias is not None
                 else torch.zeros(layer.out_channels, dtype=torch.float64, device="cpu"))
            if pending is not None:
                if layer.padding != (0, 0):  # padding adds zeros after the normalisation, not before
                    raise UsageError(f"cannot fold the input normalisation into the padded {layer}")
                w, b = fold_input_affine(w, b, *pending)
                pending = None
            last_conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                  stride=layer.stride, padding=layer.padding, bias=True, dtype=torch.float64,
                                  device="cpu")
            with torch.no_grad():
                last_conv.weight.copy_(w)
                last_conv.bias.copy_(b)
            layers.append(last_conv)
        elif isinstance(layer, nn.BatchNorm2d):
            if last_conv is None or layers[-1] is not last_conv:
                raise UsageError("cannot fold a BatchNorm2d that does not follow a convolution directly")
            with torch.no_grad():
                w, b = fold_batchnorm(last_conv.weight, last_conv.bias, layer)
                last_conv.weight.copy_(w)
                last_conv.bias.copy_(b)
        elif isinstance(layer, nn.Dropout):
            continue
        elif isinstance(layer, _KEPT):
            if pending is not None:
                raise UsageError(f"cannot fold the input normalisation: {type(layer).__name__} comes "
                                 "before any convolution")
            layers.append(layer)
        else:
            raise UsageError(f"cannot fold a {type(layer).__name__} layer; known: Normalize, Conv2d, BatchNorm2d, "
                             "ReLU, MaxPool2d, AdaptiveAvgPool2d, Flatten, Dropout")
    if pending is not None:
        raise UsageError("cannot fold the input normalisation: no convolution follows it")
    return nn.Sequential(*layers).float().eval()
