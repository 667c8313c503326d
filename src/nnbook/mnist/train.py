"""Training: SGD with Nesterov momentum under a one-cycle schedule, resumable after every epoch.

Every epoch ends with an evaluation on all 10,000 test images and three atomic writes into the
run folder: ``resume.pt`` (everything needed to continue), ``model.pt`` (the weights alone, a
``state_dict``) and ``history.json`` (the metrics). The randomness of epoch ``e`` is seeded from
``(seed, e)``, so a run resumed after epoch ``e`` replays exactly what an uninterrupted run does.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import random
import shlex
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nnbook
from nnbook.io import atomic_path, write_text_atomic
from nnbook.mnist.data import iterate_batches, load_split, pixel_stats
from nnbook.mnist.device import select_device
from nnbook.mnist.evaluate import evaluate, export_torchscript
from nnbook.mnist.models import build_model, count_parameters

__all__ = [
    "TrainConfig",
    "TrainingDiverged",
    "RunFolderError",
    "training_setting",
    "train",
    "RUN_FILES",
    "load_history",
    "best_epoch",
    "plot_history",
    "seed_table",
    "config_from",
    "command_line",
]

#: Share of the one-cycle schedule's steps spent warming up to the peak learning rate.
WARMUP_FRACTION = 0.2

#: The files a run folder holds; ``--overwrite`` removes exactly these.
RUN_FILES = ("resume.pt", "model.pt", "history.json", "model.torchscript.pt")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers (the device aside)."""

    epochs: int = 20
    lr: float = 0.1  #: peak learning rate of the one-cycle schedule
    batch_size: int = 128
    model: str = "main"
    seed: int = 1
    limit_train: int | None = None  #: train on the first N images only (quick runs, tests)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    max_degrees: float = 7.0  #: random rotation, a different angle per image


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class RunFolderError(ValueError):
    """The run folder cannot be used as asked (exists, or was made with other settings)."""


def training_setting(env: str | None = None) -> dict[str, Any]:
    """How much the chapters train, chosen by ``NNBOOK_TRAINING=full|quick``.

    Default: ``full`` (20 epochs on all 60,000 images) when a CUDA or MPS GPU is present, else
    ``quick`` (2 epochs on 8,000 images, well under a minute on 2 CPU cores, for builds and CI).
    """
    value = (env if env is not None else os.environ.get("NNBOOK_TRAINING", "")).strip().lower()
    if not value:
        value = "full" if select_device().type != "cpu" else "quick"
    if value == "full":
        return {"name": "full", "epochs": 20, "limit_train": None}
    if value == "quick":
        return {"name": "quick", "epochs": 2, "limit_train": 8000}
    raise ValueError(f"NNBOOK_TRAINING must be 'full' or 'quick', not {value!r}")


def _progress_bar_class():
    """tqdm's notebook widget under Jupyter, text bars elsewhere; ``NNBOOK_PROGRESS=text`` asks
    for a bar drawn once, in its final state. The book build sets it: a widget saved into static
    HTML shows its first state (0 %) and needs JavaScript from a CDN, and a live text bar's
    hundreds of redraws would each become a line of the saved output."""
    if os.environ.get("NNBOOK_PROGRESS", "").strip().lower() == "text":
        return _final_state_bar_class()
    from tqdm.auto import tqdm

    return tqdm


def _final_state_bar_class():
    from tqdm.std import tqdm

    class FinalStateBar(tqdm):
        """A text bar that draws nothing while it runs and prints its final state when closed."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["file"] = io.StringIO()  # the running redraws go nowhere
            kwargs.setdefault("ascii", False)  # a StringIO would otherwise get an ASCII bar
            super().__init__(*args, **kwargs)

        def close(self) -> None:
            if not self.disable and not getattr(self, "_final_printed", False):
                self._final_printed = True
                print(str(self), file=sys.stderr, flush=True)
            super().close()

    return FinalStateBar


def _seed_all(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return the generator for shuffling and augmentation."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _versions() -> dict[str, str]:
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # a TorchVersion object would defeat weights_only loading
        "torchvision": torchvision.__version__,
        "nnbook": nnbook.__version__,
    }


def _optimizer(model: nn.Module, cfg: TrainConfig, steps: int):
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                          weight_decay=cfg.weight_decay)
    # One cycle: warm up for 20 % of the steps, then cosine-anneal to lr/1e4 so that the last
    # epoch is the best-settled one (a constant rate leaves the final epoch to chance).
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=steps, pct_start=WARMUP_FRACTION, div_factor=10, final_div_factor=1e3
    )
    return opt, sched


def _save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _load_resume(out: Path, cfg: TrainConfig) -> dict[str, Any] | None:
    """The saved state of an earlier run in ``out``, checked against ``cfg``; None if none."""
    path = out / "resume.pt"
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = state["config"]
    except Exception as exc:  # written atomically, so only a foreign or hand-edited file gets here
        raise RunFolderError(f"cannot resume from {path} ({type(exc).__name__}); use --overwrite to start again") from None
    diff = [f"{k}: run has {saved.get(k)!r}, command gives {v!r}"
            for k, v in asdict(cfg).items() if saved.get(k) != v]
    if diff:
        raise RunFolderError(f"cannot resume {out}: it was started with other settings ({'; '.join(diff)}); "
                             "use the same command, or --overwrite to start again")
    return state


def train(
    cfg: TrainConfig,
    out: str | Path | None = None,
    *,
    device: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    data_root: str | Path | None = None,
    allow_download: bool = False,
    progress: bool = True,
    echo: bool = True,
    command: str | None = None,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``cfg.model`` on MNIST and return the history (also written to ``out``, if given).

    ``resume`` continues from the last complete epoch saved in ``out`` (or starts afresh when
    there is none); ``overwrite`` deletes a previous run's files first. Raises
    :class:`TrainingDiverged` when the loss stops being finite, naming epoch, step and rate.
    ``progress`` shows tqdm bars, ``echo`` prints one summary line per epoch.
    """
    tqdm = _progress_bar_class()
    out = Path(out) if out is not None else None
    if out is not None and out.exists() and not (resume or overwrite):
        raise RunFolderError(f"{out} already exists; add --resume to continue it or --overwrite to replace it")
    state = _load_resume(out, cfg) if (out is not None and resume) else None

    dev = select_device(device)
    # Data before touching the run folder: a bad file fails before any training, and leaves
    # nothing behind that would block re-running the same command.
    train_split = load_split(True, data_root, dev, allow_download=allow_download)
    test_split = load_split(False, data_root, dev, allow_download=allow_download)
    mean, std = pixel_stats(train_split.images)  # of all 60,000 training images, never typed in
    train_split = train_split.subset(cfg.limit_train)

    if out is not None:
        if overwrite:
            for name in RUN_FILES:
                (out / name).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob(".*.tmp"):  # left by a process killed mid-write; never a real file
            stale.unlink()

    _seed_all(cfg.seed)
    model = build_model(cfg.model, mean, std).to(dev)
    if dev.type == "cpu":
        model = model.to(memory_format=torch.channels_last)  # oneDNN's preferred layout for convolutions
    steps_per_epoch = math.ceil(len(train_split) / cfg.batch_size)
    opt, sched = _optimizer(model, cfg, cfg.epochs * steps_per_epoch)
    amp = dev.type == "cuda"  # mixed precision only where it pays and is well supported
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        if amp and state["scaler"]:
            scaler.load_state_dict(state["scaler"])
        history = state["history"]
        history.setdefault("resumed_by", []).append(command or "")
    else:
        history = {
            "command": command,
            "seed": cfg.seed,
            "config": asdict(cfg),
            "versions": _versions(),
            "device": str(dev),
            "params": count_parameters(model),
            "torch_threads": torch.get_num_threads(),  # results are bit-identical only at equal counts
            "train_images": len(train_split),
            "test_images": len(test_split),
            "mean": mean,
            "std": std,
            "epochs": [],
            "total_seconds": 0.0,
        }
    start_epoch = len(history["epochs"]) + 1

    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        # Per-epoch seeds: dropout, shuffling and rotations of epoch e depend on (seed, e) only.
        gen = _seed_all(cfg.seed * 100_003 + epoch)
        model.train()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.int64)
        seen = 0
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch}/{cfg.epochs}", disable=not progress,
                   leave=True, file=sys.stderr)
        batches = iterate_batches(train_split, cfg.batch_size, shuffle=True, generator=gen,
                                  max_degrees=cfg.max_degrees)
        for step, (x, y) in enumerate(batches, start=1):
            if dev.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
                scores = model(x)
                loss = F.cross_entropy(scores, y)
            if not torch.isfinite(loss).item():
                bar.close()
                raise TrainingDiverged(
                    f"training diverged: loss is {loss.item()} at epoch {epoch}, step {step}/"
                    f"{steps_per_epoch}, learning rate {sched.get_last_lr()[0]:.4g}; try a smaller --lr. "
                    + (f"The last good checkpoint (epoch {epoch - 1}) is kept in {out}."
                       if out is not None and epoch > 1 else "No epoch had completed, so no checkpoint was written.")
                )
            lr_used = sched.get_last_lr()[0]
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            loss_sum += loss.detach() * y.shape[0]
            correct += (scores.argmax(1) == y).sum()
            seen += y.shape[0]
            bar.update(1)
            if progress and (step % 25 == 0 or step == steps_per_epoch):  # .item() waits for a GPU
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.2%}")
        bar.close()
        test = evaluate(model, test_split)
        seconds = time.perf_counter() - t0
        row = {
            "epoch": epoch,
            "train_loss": loss_sum.item() / seen,
            "train_acc": correct.item() / seen,
            "test_loss": test.loss,
            "test_acc": test.accuracy,
            "test_correct": test.correct,
            "lr_end": float(lr_used),  # the rate of the epoch's last step
            "seconds": seconds,
        }
        history["epochs"].append(row)
        history["total_seconds"] = sum(r["seconds"] for r in history["epochs"])
        if out is not None:
            _write_epoch(out, model, opt, sched, scaler, cfg, history)
        if echo:
            print(f"epoch {epoch:2d}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.2%} | "
                  f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.2%} | {seconds:.1f} s", flush=True)
        if on_epoch_end is not None:
            on_epoch_end(row)

    if out is not None:
        if state is not None and start_epoch > cfg.epochs:  # already complete: refresh the outputs
            _write_epoch(out, model, opt, sched, scaler, cfg, history)
        export_torchscript(_cpu_copy(model, cfg), out / "model.torchscript.pt")
    return history


def _cpu_copy(model: nn.Module, cfg: TrainConfig) -> nn.Module:
    """A contiguous-format CPU copy of ``model`` for export (the trained one may be channels_last)."""
    copy = build_model(cfg.model)
    copy.load_state_dict(_cpu_weights(model))
    return copy.eval()


def _cpu_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state_dict as contiguous CPU tensors: loadable anywhere, whatever the device or layout."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def _write_epoch(out: Path, model, opt, sched, scaler, cfg: TrainConfig, history: dict) -> None:
    """Three atomic writes; ``resume.pt`` first, so it is never behind the other two."""
    weights = _cpu_weights(model)
    _save({"config": asdict(cfg), "model": weights, "optimizer": opt.state_dict(),
           "scheduler": sched.state_dict(), "scaler": scaler.state_dict(), "history": history},
          out / "resume.pt")
    _save(weights, out / "model.pt")
    write_text_atomic(out / "history.json", json.dumps(history, indent=1) + "\n")


def config_from(**kwargs: Any) -> TrainConfig:
    """A :class:`TrainConfig` from keyword arguments, ignoring those it does not know."""
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in kwargs.items() if k in names and v is not None})


def command_line(argv: list[str] | None = None) -> str:
    """The exact command, as one could paste it into a shell."""
    argv = sys.argv if argv is None else argv
    return "python -m nnbook.mnist " + shlex.join(argv[1:])


def load_history(path: str | Path) -> dict[str, Any]:
    """Read a run's ``history.json`` (a run folder or the file itself)."""
    path = Path(path)
    return json.loads((path / "history.json" if path.is_dir() else path).read_text())


def best_epoch(history: dict[str, Any]) -> dict[str, Any]:
    """The epoch row with the highest test accuracy (the earliest of equals)."""
    return max(history["epochs"], key=lambda r: (r["test_acc"], -r["epoch"]))


def plot_history(history: dict[str, Any]):
    """A Figure: loss and accuracy per epoch, training (augmented, dropout on) and test."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = history["epochs"]
    ep = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    for split, style in (("train", "o-"), ("test", "s-")):
        ax_loss.plot(ep, [r[f"{split}_loss"] for r in rows], style, ms=3, label=split)
        ax_acc.plot(ep, [100 * r[f"{split}_acc"] for r in rows], style, ms=3, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy", ylim=(97, 100))
    ax_acc.axhline(99.4, color="grey", lw=0.8, ls="--", label="99.4 %")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def seed_table(runs: list[str | Path]):
    """A pandas DataFrame, one row per run: seed, final and best epoch's test accuracy."""
    import pandas as pd

    rows = []
    for run in runs:
        h = load_history(run)
        best = best_epoch(h)
        rows.append({"seed": h["seed"], "epochs": len(h["epochs"]), "final": h["epochs"][-1]["test_acc"],
                     "best": best["test_acc"], "best_epoch": best["epoch"],
                     "command": h["command"]})
    return pd.DataFrame(rows).set_index("seed")
