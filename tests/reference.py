"""Reference values for Part 1 that share no code with the package.

The forward pass in plain Python floats and ``math.exp``, one line per equation of the chapter,
and the published worked example's numbers (typed in from the write-up, with its fixed biases
b1 = 0.35 and b2 = 0.60): literature values, not computed by this package.
"""

from __future__ import annotations

import math
from typing import Sequence

PUBLISHED_BIASES = (0.35, 0.60)
PUBLISHED_ETA = 0.5
#: the published forward pass (the write-up's net_h1, out_h1, out_h2, net_o1, out_o1, out_o2, E_o1, E_o2, E_total)
PUBLISHED_FORWARD = {
    "h1": 0.3775, "a_h1": 0.593269992, "a_h2": 0.596884378, "o1": 1.105905967,
    "a_o1": 0.75136507, "a_o2": 0.772928465, "E1": 0.274811083, "E2": 0.023560026,
    "E_total": 0.298371109,
}
#: the published weights after one step with eta = 0.5
PUBLISHED_AFTER_ONE_STEP = {
    "w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
    "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121,
}


def plain_forward(weights: Sequence[float], inputs: Sequence[float], targets: Sequence[float],
                  biases: Sequence[float] = (0.0, 0.0)) -> dict[str, float]:
    """The forward pass with ``math.exp``: h1, a_h1, ..., E_total by name."""
    def sig(x: float) -> float:
        return 1.0 / (1.0 + math.exp(-x))

    w1, w2, w3, w4, w5, w6, w7, w8 = weights
    (i1, i2), (t1, t2), (b1, b2) = inputs, targets, biases
    h1, h2 = w1 * i1 + w2 * i2 + b1, w3 * i1 + w4 * i2 + b1
    a_h1, a_h2 = sig(h1), sig(h2)
    o1, o2 = w5 * a_h1 + w6 * a_h2 + b2, w7 * a_h1 + w8 * a_h2 + b2
    a_o1, a_o2 = sig(o1), sig(o2)
    E1, E2 = 0.5 * (t1 - a_o1) ** 2, 0.5 * (t2 - a_o2) ** 2
    return dict(h1=h1, a_h1=a_h1, h2=h2, a_h2=a_h2, o1=o1, a_o1=a_o1, o2=o2, a_o2=a_o2,
                E1=E1, E2=E2, E_total=E1 + E2)
