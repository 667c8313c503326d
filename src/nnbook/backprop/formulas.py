"""The hand formulas of the 2-2-2 network, written once, for any kind of number.

They use only ``+ - *`` and a sigmoid passed in, so :mod:`nnbook.backprop.network` runs them on
floats and :mod:`nnbook.backprop.checks` runs the very same lines on sympy symbols. The network::

    h1 = w1*i1 + w2*i2 + b1    h2 = w3*i1 + w4*i2 + b1    a_h = sigmoid(h)
    o1 = w5*a_h1 + w6*a_h2 + b2    o2 = w7*a_h1 + w8*a_h2 + b2    a_o = sigmoid(o)
    E1 = (t1 - a_o1)**2 / 2    E2 = (t2 - a_o2)**2 / 2    E_total = E1 + E2

The book has no biases (b1 = b2 = 0); the widely circulated write-up of the exercise has b1 = 0.35
and b2 = 0.60, never trained.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

__all__ = ["forward_formulas", "backward_formulas"]


def forward_formulas(weights: Sequence[Any], inputs: Sequence[Any], targets: Sequence[Any],
                     biases: Sequence[Any], sigma: Callable[[Any], Any]) -> dict[str, Any]:
    """Every quantity of the forward pass by name (:data:`~nnbook.backprop.problem.FORWARD_NAMES`)."""
    w1, w2, w3, w4, w5, w6, w7, w8 = weights
    (i1, i2), (t1, t2), (b1, b2) = inputs, targets, biases
    h1 = w1 * i1 + w2 * i2 + b1
    h2 = w3 * i1 + w4 * i2 + b1
    a_h1, a_h2 = sigma(h1), sigma(h2)
    o1 = w5 * a_h1 + w6 * a_h2 + b2
    o2 = w7 * a_h1 + w8 * a_h2 + b2
    a_o1, a_o2 = sigma(o1), sigma(o2)
    E1 = (t1 - a_o1) ** 2 / 2
    E2 = (t2 - a_o2) ** 2 / 2
    return dict(h1=h1, a_h1=a_h1, h2=h2, a_h2=a_h2, o1=o1, a_o1=a_o1, o2=o2, a_o2=a_o2,
                E1=E1, E2=E2, E_total=E1 + E2)


def backward_formulas(weights: Sequence[Any], inputs: Sequence[Any], targets: Sequence[Any],
                      fw: Mapping[str, Any]) -> dict[str, Any]:
    """The chain rule, factor by factor as the derivation chapter shows, from a forward pass ``fw``.

    Returns every factor by name (see :class:`~nnbook.backprop.network.Gradients`) and
    ``dw1``..``dw8`` = dE_total/dw1..dw8. No sigmoid is evaluated here: its slope is
    a (1 - a) of the activation the forward pass already holds.
    """
    _, _, _, _, w5, w6, w7, w8 = weights
    (i1, i2), (t1, t2) = inputs, targets
    a_h1, a_h2, a_o1, a_o2 = fw["a_h1"], fw["a_h2"], fw["a_o1"], fw["a_o2"]
    # output layer: dE/dw = dE/da_o * da_o/do * do/dw; E2 does not depend on o1 and E1 not on o2
    dE1_da_o1 = a_o1 - t1
    dE2_da_o2 = a_o2 - t2
    da_o1_do1 = a_o1 * (1 - a_o1)          # sigma'(x) = sigma(x) (1 - sigma(x))
    da_o2_do2 = a_o2 * (1 - a_o2)
    delta_o1 = dE1_da_o1 * da_o1_do1       # dE_total/do1
    delta_o2 = dE2_da_o2 * da_o2_do2       # dE_total/do2
    # hidden layer: a_h1 feeds both o1 (through w5) and o2 (through w7), so two paths add up
    dE1_da_h1, dE2_da_h1 = delta_o1 * w5, delta_o2 * w7
    dE1_da_h2, dE2_da_h2 = delta_o1 * w6, delta_o2 * w8
    dE_da_h1 = dE1_da_h1 + dE2_da_h1
    dE_da_h2 = dE1_da_h2 + dE2_da_h2
    da_h1_dh1 = a_h1 * (1 - a_h1)
    da_h2_dh2 = a_h2 * (1 - a_h2)
    delta_h1 = dE_da_h1 * da_h1_dh1        # dE_total/dh1
    delta_h2 = dE_da_h2 * da_h2_dh2        # dE_total/dh2
    return dict(
        dE1_da_o1=dE1_da_o1, da_o1_do1=da_o1_do1, delta_o1=delta_o1,
        dE2_da_o2=dE2_da_o2, da_o2_do2=da_o2_do2, delta_o2=delta_o2,
        dE1_da_h1=dE1_da_h1, dE2_da_h1=dE2_da_h1, dE_da_h1=dE_da_h1,
        dE1_da_h2=dE1_da_h2, dE2_da_h2=dE2_da_h2, dE_da_h2=dE_da_h2,
        da_h1_dh1=da_h1_dh1, da_h2_dh2=da_h2_dh2, delta_h1=delta_h1, delta_h2=delta_h2,
        dw1=delta_h1 * i1, dw2=delta_h1 * i2, dw3=delta_h2 * i1, dw4=delta_h2 * i2,
        dw5=delta_o1 * a_h1, dw6=delta_o1 * a_h2, dw7=delta_o2 * a_h1, dw8=delta_o2 * a_h2,
    )
