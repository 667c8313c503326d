"""What decides a run's numbers: :class:`TrainConfig`, and the named recipes that fill it in.

A recipe is a set of defaults (``book``: the 20-epoch run the book reports; ``fast``: a short
run that takes about a minute on two CPU cores and ends at 99.4 % in most of its committed runs,
just below in a few; ``tiny``: the <= 5,000-parameter model of the last chapter). Settings
given explicitly override the recipe.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from nnbook.errors import UsageError

if TYPE_CHECKING:  # pandas is imported when a table is made, not with the package
    import pandas as pd

__all__ = ["TrainConfig", "RECIPES", "ADDED_LATER", "recipe", "recipes_table", "config_from", "complete_saved",
           "command_for", "ConfigError"]


class ConfigError(UsageError):
    """A setting is unknown or out of range; the message names it."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers (the device and its precision aside).

    The optimizer is SGD with Nesterov momentum (a constant ``momentum``) and L2 weight decay;
    the learning rate follows a one-cycle schedule: it warms up from ``lr / 10`` to ``lr`` over
    the first ``warmup`` share of the steps, then anneals along a cosine to ``lr / 1e4``. The loss
    is the cross-entropy against targets smoothed by ``label_smoothing`` (0: the labels as they are).
    """

    epochs: int = 20
    lr: float = 0.1  #: peak learning rate of the one-cycle schedule
    batch_size: int = 128
    model: str = "main"
    seed: int = 1
    limit_train: int | None = None  #: train on the first N images only (quick runs, tests)
    momentum: float = 0.9  #: constant: the schedule moves the learning rate only
    weight_decay: float = 1e-4  #: L2 penalty, added to every weight's gradient by SGD
    max_degrees: float = 7.0  #: random rotation, a different angle per image
    warmup: float = 0.2  #: share of the steps spent warming up to the peak rate
    dropout: float | None = None  #: rate of the model's dropout layers (None: the model's default)
    label_smoothing: float = 0.0  #: share of each target's probability spread evenly over the 10 classes

    def __post_init__(self) -> None:
        from nnbook.mnist.models import MODELS

        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"{name} {why}, got {getattr(self, name)!r}")

        for name in ("epochs", "batch_size", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad(name, "must be an integer")
        if self.epochs < 1 or self.batch_size < 1:
            raise bad("epochs" if self.epochs < 1 else "batch_size", "must be at least 1")
        if not 0 <= self.seed < 2**63:
            raise bad("seed", "must be between 0 and 2**63 - 1")
        if self.limit_train is not None and (not isinstance(self.limit_train, int) or self.limit_train < 1):
            raise bad("limit_train", "must be a positive integer or None")
        for name, low, high in (("lr", 0.0, math.inf), ("momentum", 0.0, 1.0), ("weight_decay", 0.0, 1.0),
                                ("max_degrees", 0.0, 180.0), ("warmup", 0.0, 1.0),
                                ("label_smoothing", 0.0, 1.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad(name, "must be a finite number")
            if not (low < value if name == "lr" else low <= value) or value >= high:
                raise bad(name, f"must lie in {'(' if name == 'lr' else '['}{low}, {high})")
        if self.dropout is not None and (isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float))
                                         or not 0 <= self.dropout < 1):
            raise bad("dropout", "must be None or a number in [0, 1)")
        if self.model not in MODELS:
            raise bad("model", f"must be one of {', '.join(MODELS)}")

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as stored in ``history.json`` and the resume file."""
        return asdict(self)


#: name -> the settings a recipe changes from :class:`TrainConfig`'s defaults.
RECIPES: dict[str, dict[str, Any]] = {
    "book": {},
    # chosen on the validation split (benchmarks/recipes.py): 5 epochs, no augmentation and no
    # dropout (a short run underfits; regularising it only slows it), a stronger weight decay. A
    # second round of neighbours, on CPUs and the GPU, moved no mean beyond the seeds' spread; a
    # third, on the CPU, tried label smoothing, which did not raise the lowest seed either.
    "fast": {"epochs": 5, "batch_size": 256, "lr": 0.2, "max_degrees": 0.0, "dropout": 0.0, "weight_decay": 1e-3},
    "tiny": {"model": "tiny", "epochs": 15, "lr": 0.2},
}


def recipes_table() -> pd.DataFrame:
    """A pandas DataFrame: the settings each recipe trains with (what differs between them).

    The dropout column holds the rate that applies: where a recipe leaves it unset, the model's own.
    """
    import pandas as pd

    from nnbook.mnist.models import default_dropout

    rows = {}
    for name in RECIPES:
        cfg = recipe(name)
        rows[name] = {**cfg.as_dict(), "dropout": default_dropout(cfg.model) if cfg.dropout is None else cfg.dropout}
    table = pd.DataFrame(rows).T.rename_axis("recipe")
    return table[["model", "epochs", "batch_size", "lr", "max_degrees", "dropout", "weight_decay"]]


def recipe(name: str = "book", **overrides: Any) -> TrainConfig:
    """The :class:`TrainConfig` of recipe ``name``, with ``overrides`` (None means: keep)."""
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return config_from(**{**RECIPES[name], **{k: v for k, v in overrides.items() if v is not None}})


def config_from(**kwargs: Any) -> TrainConfig:
    """A :class:`TrainConfig` from keyword arguments; an unknown name is an error, not ignored."""
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    return replace(TrainConfig(), **kwargs)


#: the settings ``python -m nnbook.mnist train`` sets with a flag; the others come from its recipe
FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "model": "--model", "seed": "--seed",
         "limit_train": "--limit-train", "label_smoothing": "--label-smoothing"}

#: settings added after runs were committed, with the value every run made before then had
ADDED_LATER: dict[str, Any] = {"label_smoothing": 0.0}


def complete_saved(config: dict[str, Any]) -> dict[str, Any]:
    """A saved config (a history's or a resume file's) with the settings it predates filled in
    (:data:`ADDED_LATER`: how that run trained). Any other missing setting stays missing."""
    return {**ADDED_LATER, **config}


def command_for(settings: TrainConfig | dict[str, Any], out: str = "runs/x") -> str:
    """The ``train`` command line that trains with ``settings`` (a config, or one from a history).

    The first recipe whose other settings match is named and only the differing flags given, so
    the line is as short as it can be; a config no recipe and flags can express is refused.
    """
    cfg = settings if isinstance(settings, TrainConfig) else config_from(**settings)
    for name in RECIPES:
        base = recipe(name)
        if all(getattr(base, f.name) == getattr(cfg, f.name) for f in fields(TrainConfig) if f.name not in FLAGS):
            flags = [f"{flag} {getattr(cfg, key)}" for key, flag in FLAGS.items()
                     if getattr(cfg, key) != getattr(base, key)]
            return " ".join(["python -m nnbook.mnist train --recipe", name, *flags, "--out", out])
    raise ConfigError("no recipe has these settings, and the command line cannot set "
                      f"{', '.join(f.name for f in fields(TrainConfig) if f.name not in FLAGS)}")
