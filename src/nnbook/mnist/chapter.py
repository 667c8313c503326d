"""How much a chapter trains when a reader runs it, and what it may then claim.

``NNBOOK_TRAINING`` chooses: ``full`` (the book's 20-epoch recipe), ``fast`` (the fast recipe:
about a minute on two CPU cores, 99.4 % in most of its committed runs) or ``quick`` (2 epochs on
8,000 images: a smoke run for builds and CI, which set it explicitly). Without it a reader gets
``full`` on a GPU (seconds on the H100 it was timed on) and ``fast`` on a CPU. ``full`` and
``fast`` assert 99.4 % on the final epoch, which a ``fast`` run can miss by a few test images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnbook.mnist.config import TrainConfig, recipe
from nnbook.mnist.device import select_device

if TYPE_CHECKING:  # pandas is imported when a table is made, not with the package
    import pandas as pd

__all__ = ["Setting", "SETTINGS", "settings_table", "training_setting"]


@dataclass(frozen=True)
class Setting:
    """A named amount of training and the final test accuracy the chapter then asserts."""

    name: str
    recipe: str
    config: TrainConfig
    must_reach: float  #: final-epoch test accuracy the chapter asserts

    @property
    def description(self) -> str:
        images = f"{self.config.limit_train:,}" if self.config.limit_train else "all 60,000"
        return f"{self.config.epochs} epochs, {images} images ({self.recipe} recipe)"


SETTINGS = {
    "full": Setting("full", "book", recipe("book"), 0.994),
    "fast": Setting("fast", "fast", recipe("fast"), 0.994),
    # a smoke run: enough to show the loop works, far from the target (the build has no time)
    "quick": Setting("quick", "book", recipe("book", epochs=2, limit_train=8000), 0.90),
}


def settings_table() -> pd.DataFrame:
    """A pandas DataFrame: what each value of ``NNBOOK_TRAINING`` trains, and what it asserts."""
    import pandas as pd

    return pd.DataFrame({name: {"trains": s.description, "asserts final accuracy >=": f"{s.must_reach:.1%}"}
                         for name, s in SETTINGS.items()}).T.rename_axis("NNBOOK_TRAINING")


def training_setting(env: str | None = None) -> Setting:
    """The setting named by ``env`` (default: ``$NNBOOK_TRAINING``; unset: full on a GPU, else fast)."""
    value = (env if env is not None else os.environ.get("NNBOOK_TRAINING", "")).strip().lower()
    if not value:
        value = "full" if select_device().type != "cpu" else "fast"
    if value not in SETTINGS:
        raise ValueError(f"NNBOOK_TRAINING must be one of {', '.join(SETTINGS)}, not {value!r}")
    return SETTINGS[value]
