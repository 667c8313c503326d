"""What Part 1 computes on: one training example and the network's starting weights.

Every Part 1 function takes a :class:`Problem` first, with :data:`CLASSIC` (the book's exercise)
as the default, and then, where it trains, a learning rate ``eta`` and a number of ``steps``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from nnbook.backprop.validate import finite_floats
from nnbook.errors import UsageError

__all__ = [
    "WEIGHT_NAMES",
    "FORWARD_NAMES",
    "GRADIENT_NAMES",
    "Weights",
    "Pair",
    "Problem",
    "CLASSIC",
    "CLASSIC_WITH_BIASES",
    "CLASSIC_ETA",
    "check_problem",
]

WEIGHT_NAMES: tuple[str, ...] = tuple(f"w{k}" for k in range(1, 9))
#: every quantity of the forward pass, in the order it is computed
FORWARD_NAMES: tuple[str, ...] = (
    "h1", "a_h1", "h2", "a_h2", "o1", "a_o1", "o2", "a_o2", "E1", "E2", "E_total",
)
GRADIENT_NAMES: tuple[str, ...] = tuple(f"dE/d{w}" for w in WEIGHT_NAMES)

Weights = tuple[float, float, float, float, float, float, float, float]
Pair = tuple[float, float]


@dataclass(frozen=True)
class Problem:
    """One training example (inputs, targets), the starting weights w1..w8 and the biases.

    The defaults are the classic exercise: inputs (0.05, 0.10), targets (0.01, 0.99),
    weights 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55 and no biases. The biases b1 (into
    h1 and h2) and b2 (into o1 and o2) are fixed: training never changes them. Every field is
    checked on creation, so a Problem in hand is always valid.
    """

    inputs: Pair = (0.05, 0.10)
    targets: Pair = (0.01, 0.99)
    weights: Weights = (0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55)
    biases: Pair = (0.0, 0.0)

    def __post_init__(self) -> None:
        # frozen: normalise through object.__setattr__ once, so every later use is validated
        object.__setattr__(self, "inputs", finite_floats(self.inputs, "inputs", 2))
        object.__setattr__(self, "targets", finite_floats(self.targets, "targets", 2))
        object.__setattr__(self, "weights", finite_floats(self.weights, "weights", 8))
        object.__setattr__(self, "biases", finite_floats(self.biases, "biases", 2))

    def with_weights(self, weights: Sequence[float]) -> Problem:
        """The same example and biases with other weights (as after a training step)."""
        return replace(self, weights=weights)


#: The book's exercise (no biases).
CLASSIC = Problem()
#: The exercise as it is usually published: fixed biases b1 = 0.35, b2 = 0.60.
CLASSIC_WITH_BIASES = Problem(biases=(0.35, 0.60))
#: The exercise's learning rate.
CLASSIC_ETA = 0.5


def check_problem(problem: Any) -> Problem:
    """``problem`` itself if it is a :class:`Problem`; else a UsageError saying how to make one."""
    if not isinstance(problem, Problem):
        raise UsageError(f"problem must be a nnbook.backprop.problem.Problem, such as CLASSIC or "
                         f"Problem(inputs=..., targets=..., weights=..., biases=...); got {problem!r}")
    return problem
