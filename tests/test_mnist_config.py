"""Recipes, settings and the learning-rate schedule, checked against PyTorch's own scheduler."""

from __future__ import annotations

import math
import shlex
import warnings

import pytest
import torch
from torch import nn

from nnbook.mnist.config import RECIPES, ConfigError, TrainConfig, command_for, config_from, recipe
from nnbook.mnist.models import build_model
from nnbook.mnist.schedule import one_cycle_rates


def _stepped_scheduler(cfg: TrainConfig, total: int) -> list[float]:
    """The rates the real OneCycleLR gives, stepped one by one (the slow, obvious way)."""
    p = torch.zeros(1, device="cpu", requires_grad=True)
    opt = torch.optim.SGD([p], lr=cfg.lr, momentum=cfg.momentum)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total, 2), pct_start=cfg.warmup,
                                                div_factor=10, final_div_factor=1e3, cycle_momentum=False)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(total):
            rates.append(sched.get_last_lr()[0])
            assert opt.param_groups[0]["momentum"] == cfg.momentum  # constant, as recorded
            if k < total - 1:
                opt.step()
                sched.step()
    return rates


@pytest.mark.parametrize("total,lr,warmup", [(1, 0.1, 0.2), (2, 0.1, 0.2), (7, 0.2, 0.3), (469, 0.1, 0.2),
                                             (1404, 0.2, 0.0), (100, 0.3, 0.5)])
def test_rates_are_those_of_torch_one_cycle(total: int, lr: float, warmup: float) -> None:
    cfg = TrainConfig(lr=lr, warmup=warmup)
    ours, theirs = one_cycle_rates(cfg, total), _stepped_scheduler(cfg, total)
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    assert max(ours) <= lr * (1 + 1e-12)
    if total > 2:
        assert ours[0] == pytest.approx(lr / 10 if warmup else lr, rel=1e-5)
        assert ours[-1] == pytest.approx(lr / 1e4)


def test_a_warm_up_ending_at_step_zero_starts_at_a_tenth_of_the_peak() -> None:
    # warmup * steps == 1 (one epoch of 640 images in batches of 128): OneCycleLR itself divides by zero
    cfg = TrainConfig(lr=0.1, warmup=0.2)
    with pytest.raises(ZeroDivisionError):
        _stepped_scheduler(cfg, 5)
    ours = one_cycle_rates(cfg, 5)
    assert all(math.isfinite(rate) for rate in ours) and ours[0] == pytest.approx(cfg.lr / 10, rel=1e-12)
    # the limit of a warm-up just longer than that: the same rates
    assert ours == pytest.approx(_stepped_scheduler(TrainConfig(lr=0.1, warmup=0.2 + 1e-12), 5), rel=1e-9)


def test_unknown_setting_is_an_error_not_ignored() -> None:
    with pytest.raises(ConfigError, match="unknown setting.*learning_rate"):
        config_from(learning_rate=0.5)
    with pytest.raises(ConfigError, match="unknown recipe"):
        recipe("slow")


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"epochs": 2.5}, {"lr": float("nan")}, {"lr": 0.0}, {"lr": -1.0},
                                 {"momentum": 1.0}, {"batch_size": True}, {"model": "resnet"}, {"seed": -1},
                                 {"limit_train": 0}, {"warmup": 1.5}, {"label_smoothing": 1.0},
                                 {"label_smoothing": -0.1}, {"label_smoothing": True}])
def test_out_of_range_settings_name_themselves(bad: dict) -> None:
    (name,) = bad
    with pytest.raises(ConfigError, match=name):
        config_from(**bad)


def test_recipes_fill_defaults_and_explicit_settings_win() -> None:
    assert recipe("book") == TrainConfig()
    fast = recipe("fast")
    assert all(getattr(fast, k) == v for k, v in RECIPES["fast"].items())
    assert recipe("fast", seed=9, lr=None).seed == 9 and recipe("fast", lr=None).lr == fast.lr
    assert recipe("tiny").model == "tiny" and recipe("tiny", epochs=3).epochs == 3
    assert fast.epochs <= 20


def test_recipes_table_shows_what_each_recipe_trains() -> None:
    from nnbook.mnist.config import recipes_table

    table = recipes_table()
    assert list(table.index) == list(RECIPES)
    for name in RECIPES:
        cfg = recipe(name)
        assert (table.loc[name, "epochs"], table.loc[name, "lr"], table.loc[name, "model"]) == (cfg.epochs, cfg.lr,
                                                                                               cfg.model)
        # the rate the built model's dropout layers really have (0 where it has none), never None
        built = {m.p for m in build_model(cfg.model, dropout=cfg.dropout).modules() if isinstance(m, nn.Dropout)}
        assert table.loc[name, "dropout"] == (built.pop() if built else 0.0)
        assert not built, "one rate per model"
        # every setting a recipe changes is shown, with the value it trains with
        assert set(RECIPES[name]) <= set(table.columns), name
        assert all(table.loc[name, key] == getattr(cfg, key) for key in RECIPES[name]), name


def test_settings_table_names_every_setting_and_its_assertion() -> None:
    from nnbook.mnist.chapter import SETTINGS, settings_table

    table = settings_table()
    assert list(table.index) == list(SETTINGS)
    assert table.loc["full", "asserts final accuracy >="] == "99.4%" and "20 epochs" in table.loc["full", "trains"]
    assert table["trains"].str.len().max() <= 50, "pandas cuts longer cells short in the page"


@pytest.mark.parametrize("name", sorted(RECIPES))
@pytest.mark.parametrize("overrides", [{}, {"epochs": 3, "lr": 0.05},
                                       {"batch_size": 512, "seed": 9, "limit_train": 999}, {"label_smoothing": 0.1}])
def test_command_for_is_a_command_that_trains_those_settings(name: str, overrides: dict) -> None:
    """Parsed by the real command line, the line gives back exactly the settings it was made from."""
    from nnbook.mnist.__main__ import _parser, train_config

    cfg = recipe(name, **overrides)
    line = command_for(cfg, out="runs/here")
    assert line.startswith("python -m nnbook.mnist train ")
    args = _parser().parse_args(shlex.split(line)[3:])
    assert train_config(args) == cfg and str(args.out) == "runs/here"
    assert command_for(cfg.as_dict(), out="runs/here") == line


def test_command_for_refuses_settings_no_command_can_give() -> None:
    with pytest.raises(ConfigError, match="cannot set"):
        command_for(recipe("book", max_degrees=3.0))
