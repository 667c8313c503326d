"""The 2-2-2 network as a PyTorch model, so a library training step can be read against Part 1.

:func:`as_model` builds ``nn.Sequential(Linear, Sigmoid, Linear, Sigmoid)`` in float64 with the
given parameters (``nn.Linear`` stores its weights as (out, in), the same layout as W1 and W2);
:func:`params_of` reads them back, so the weights after ``optimizer.step()`` can be compared with
the hand computation.
"""

from __future__ import annotations

from typing import Any

from nnbook.bridge.network import CLASSIC, Params

__all__ = ["as_model", "params_of"]


def as_model(params: Params = CLASSIC) -> Any:
    """The network as ``torch.nn.Sequential`` (float64), its weights and biases set to ``params``."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2), nn.Sigmoid()).double()
    with torch.no_grad():
        for layer, W, b in ((model[0], params.W1, params.b_h), (model[2], params.W2, params.b_o)):
            layer.weight.copy_(torch.from_numpy(W.copy()))
            layer.bias.copy_(torch.from_numpy(b.copy()))
    return model


def params_of(model: Any) -> Params:
    """The model's current weights and biases as :class:`~nnbook.bridge.network.Params`."""
    first, second = model[0], model[2]
    return Params(first.weight.detach().numpy(), first.bias.detach().numpy(),
                  second.weight.detach().numpy(), second.bias.detach().numpy())
