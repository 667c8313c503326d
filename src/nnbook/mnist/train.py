"""Training: one-cycle SGD with Nesterov momentum, resumable after every epoch, on any device.

Every epoch ends with an evaluation on all 10,000 test images and three atomic writes into the
run folder (see :mod:`~nnbook.mnist.runfolder`). The randomness of epoch ``e`` is seeded from
``(seed, e)``, so a run resumed after epoch ``e`` replays exactly what an uninterrupted run does.
The step itself is :class:`~nnbook.mnist.step.Stepper`: no host synchronisation inside it, and
on a CUDA GPU one CUDA graph replay per step.
"""

from __future__ import annotations

import contextlib
import functools
import math
import platform
import random
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import nnbook
from nnbook.errors import EnvironmentProblem, first_line
from nnbook.mnist.config import ConfigError, TrainConfig
from nnbook.mnist.data import MnistSplit, epoch_batches, load_split, pixel_stats
from nnbook.mnist.device import choose_precision, device_name, select_device
from nnbook.mnist.evaluate import evaluate
from nnbook.mnist.models import build_model, count_parameters
from nnbook.mnist.progress import progress_bar_class
from nnbook.mnist.runfolder import RUN_FILES, RunFolder, RunFolderError
from nnbook.mnist.schedule import make_optimizer, one_cycle_rates
from nnbook.mnist.step import LossFn, Stepper

__all__ = ["TrainingDiverged", "RunFolderError", "RUN_FILES", "train", "command_line"]


#: The most steps a run may take (the book's run takes 9,360): the schedule holds every step's
#: rate, so ``--epochs 1000000000`` is refused at once rather than by running out of memory.
MAX_STEPS = 10_000_000

#: Training images held out for choosing recipes (``validation=True``): the last ten thousand.
VALIDATION_IMAGES = 10_000


class TrainingDiverged(EnvironmentProblem, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def _splits(cfg: TrainConfig, data_root: str | Path | None, dev: torch.device, allow_download: bool,
            validation: bool) -> tuple[MnistSplit, MnistSplit, float, float, int]:
    """The training and evaluation splits on ``dev``, the training pixels' mean and std, the steps per epoch.

    With ``validation`` the evaluation split is the last 10,000 training images, held out.
    """
    train_split = load_split(True, data_root, dev, allow_download=allow_download)
    if validation:
        n = len(train_split) - VALIDATION_IMAGES
        test_split = MnistSplit(train_split.images[n:], train_split.labels[n:])
        train_split = MnistSplit(train_split.images[:n], train_split.labels[:n])
    else:
        test_split = load_split(False, data_root, dev, allow_download=allow_download)
    mean, std = pixel_stats(train_split.images)  # of all the training images, never typed in
    train_split = train_split.subset(cfg.limit_train)
    steps_per_epoch = len(train_split) // cfg.batch_size
    if steps_per_epoch == 0:
        raise ConfigError(f"batch_size {cfg.batch_size} is larger than the {len(train_split)} training images")
    if cfg.epochs * steps_per_epoch > MAX_STEPS:  # the schedule holds every step's rate in memory
        raise ConfigError(f"epochs {cfg.epochs} x {steps_per_epoch} steps per epoch is more than the "
                          f"{MAX_STEPS:,} steps a run may take; use fewer epochs or a larger batch size")
    return train_split, test_split, mean, std, steps_per_epoch


def _resumed_history(model: nn.Module, optimizer: torch.optim.Optimizer, lr: torch.Tensor, state: dict[str, Any],
                     path: Path | None, command: str | None, dev: torch.device) -> dict[str, Any]:
    """Load the saved weights and optimizer into ``model``/``optimizer``; the history, with this resumption noted."""
    _load_state(model, optimizer, lr, state, path)
    history = state["history"]
    history.setdefault("resumed_by", []).append({"command": command or "", "device_name": device_name(dev)})
    return history


def _epoch_line(row: dict[str, Any]) -> str:
    return (f"epoch {row['epoch']:2d}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.2%} | "
            f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.2%} | {row['seconds']:.1f} s")


def train(
    cfg: TrainConfig,
    out: str | Path | None = None,
    *,
    device: str = "auto",
    precision: str = "auto",
    graph: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    data_root: str | Path | None = None,
    allow_download: bool = False,
    progress: bool = True,
    echo: bool = True,
    command: str | None = None,
    recipe: str | None = None,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    loss_fn: LossFn | None = None,
    validation: bool = False,
) -> dict[str, Any]:
    """Train ``cfg.model`` on MNIST and return the history (also written to ``out``, if given).

    ``resume`` continues from the last complete epoch saved in ``out``; ``overwrite`` deletes a
    previous run's files first. ``precision`` and ``graph`` choose the arithmetic and whether
    a CUDA GPU replays the step as a CUDA graph (``auto``: bf16 or fp16 and a graph on CUDA,
    fp32 and eager steps elsewhere). Raises :class:`TrainingDiverged` when the loss stops being
    finite, naming epoch, step and rate. ``progress`` shows tqdm bars, ``echo`` one line per
    epoch. The loss is the cross-entropy with ``cfg.label_smoothing`` (so the history's
    ``train_loss`` is the smoothed one; its ``test_loss`` is always the plain cross-entropy);
    ``loss_fn`` replaces it (a test provokes a divergence with it).
    ``validation`` holds out the last 10,000 training images and evaluates on them instead of
    the test set: recipes are chosen that way, so the test set is touched only by the numbers
    the book reports (the history's ``evaluated_on`` says which split its ``test_*`` numbers are).
    """
    started = time.perf_counter()
    # Everything is checked before anything is created: device, folder, resume state, data.
    dev = select_device(device)
    prec = choose_precision(dev, precision)
    folder = RunFolder(Path(out) if out is not None else None, cfg, resume=resume, overwrite=overwrite)
    split = "validation" if validation else "test"
    saved_split = folder.state["history"].get("evaluated_on", "test") if folder.state is not None else split
    if saved_split != split:  # the other split changes the steps per epoch: the saved step count would not fit
        raise RunFolderError(f"cannot resume {folder.path}: it was evaluated on the {saved_split} split, this run "
                             f"asks for the {split} split; use the same setting, or --overwrite to start again")
    train_split, test_split, mean, std, steps_per_epoch = _splits(cfg, data_root, dev, allow_download, validation)

    # the GPU the run asked for is the current one for everything it does: streams, the CUDA
    # graph's capture and replay use the current device's, which is cuda:0 unless told
    with torch.cuda.device(dev) if dev.type == "cuda" else contextlib.nullcontext():
        folder.claim()
        try:
            model = _build(cfg, mean, std, dev)
            optimizer, lr = make_optimizer(model, cfg, dev)
            rates = one_cycle_rates(cfg, cfg.epochs * steps_per_epoch)
            state = folder.state
            if state is not None:
                history = _resumed_history(model, optimizer, lr, state, folder.path, command, dev)
            else:
                history = _new_history(cfg, recipe, command, dev, prec.name, model, train_split, test_split, mean, std)
                history["evaluated_on"] = split
            done = len(history["epochs"])
            stepper = Stepper(model, optimizer, lr, torch.tensor(rates, dtype=torch.float32, device=dev), prec,
                              loss_fn=_loss(cfg) if loss_fn is None else loss_fn,
                              graph=graph, first_step=done * steps_per_epoch)
            if state is not None and state.get("scaler"):
                try:
                    stepper.scaler.load_state_dict(state["scaler"])
                except Exception as exc:  # only a hand-edited file gets here
                    raise _unloadable(folder.path, "gradient scaler", exc) from None
            if done < cfg.epochs:  # (a finished run's history keeps the numbers of the run that made it)
                stepper.capture((cfg.batch_size, 1, 28, 28))
                if state is None:
                    history["step_mode"] = stepper.mode
                else:  # the history's device, precision and step mode stay its first part's; a resumption,
                    # perhaps on another device, records its own
                    history["resumed_by"][-1].update(precision=prec.name, step_mode=stepper.mode)
                history["setup_seconds"] = time.perf_counter() - started  # data, model, graph capture

            bar_class = progress_bar_class()
            for epoch in range(done + 1, cfg.epochs + 1):
                row = _run_epoch(epoch, cfg, stepper, train_split, test_split, rates, steps_per_epoch,
                                 bar_class if progress else None, folder.path)
                history["epochs"].append(row)
                history["total_seconds"] = sum(r["seconds"] for r in history["epochs"])
                folder.write_epoch(model, optimizer, stepper.scaler, history)
                if echo:
                    print(_epoch_line(row), flush=True)
                if on_epoch_end is not None:
                    on_epoch_end(row)

            if folder.path is not None:
                if state is not None and done >= cfg.epochs:  # already complete: refresh the outputs
                    folder.write_epoch(model, optimizer, stepper.scaler, history)
                from nnbook.mnist.checkpoint import export_torchscript

                with folder.writing():
                    export_torchscript(model, folder.path / "model.torchscript.pt", overwrite=True)
        except BaseException:
            folder.abandon()  # a failure before the first saved epoch leaves nothing that blocks a retry
            raise
        finally:
            folder.release()
        return history


def _build(cfg: TrainConfig, mean: float, std: float, dev: torch.device) -> nn.Module:
    """The model, initialised on the CPU (the same weights for a seed on every device), then moved."""
    _seed_all(cfg.seed)
    with torch.device("cpu"):
        model = build_model(cfg.model, mean, std, cfg.dropout)
    model = model.to(dev)
    if dev.type in ("cpu", "cuda"):
        model = model.to(memory_format=torch.channels_last)  # the layout oneDNN and cuDNN prefer
    return model


def _load_state(model: nn.Module, optimizer: torch.optim.Optimizer, lr: torch.Tensor, state: dict[str, Any],
                folder: Path | None) -> None:
    model.load_state_dict(state["model"])  # RunFolder checked that the weights fit
    # loading replaces every group setting by the saved one; the rate tensor and the implementation
    # (fused or not) belong to this run's device, not to the one that wrote the file
    kept = [{key: group[key] for key in ("fused", "foreach") if key in group} for group in optimizer.param_groups]
    try:
        optimizer.load_state_dict(state["optimizer"])
    except Exception as exc:  # torch's ValueError/KeyError/RuntimeError for a hand-edited state
        raise _unloadable(folder, "optimizer", exc) from None
    for group, own in zip(optimizer.param_groups, kept):
        group.update(own, lr=lr)
        for param in group["params"]:
            # a buffer keeps the memory layout of the device that saved it (channels_last on a CPU or
            # GPU, plain on Apple's MPS); the fused step pairs it with its weight element by element in
            # memory order, so it must have the weight's layout, or the update silently mixes them up
            buffer = optimizer.state.get(param, {}).get("momentum_buffer")
            if isinstance(buffer, torch.Tensor) and buffer.stride() != param.stride():
                optimizer.state[param]["momentum_buffer"] = torch.empty_like(param).copy_(buffer)


def _unloadable(folder: Path | None, what: str, exc: Exception) -> RunFolderError:
    first = first_line(exc)
    return RunFolderError(f"cannot resume from {folder}/resume.pt: its {what} state does not load "
                          f"({type(exc).__name__}: {first}); use --overwrite to start again")


def _seed_all(seed: int) -> torch.Generator:
    """Seed python, numpy and torch (every device); return a CPU generator for shuffles and angles."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator(device="cpu").manual_seed(seed)


def _run_epoch(
    epoch: int,
    cfg: TrainConfig,
    stepper: Stepper,
    train_split: MnistSplit,
    test_split: MnistSplit,
    rates: list[float],
    steps_per_epoch: int,
    bar_class: type | None,
    out: Path | None,
) -> dict[str, Any]:
    """Train one epoch, evaluate on the whole test set; return the history row."""
    t0 = time.perf_counter()
    # Per-epoch seeds: dropout, shuffling and rotations of epoch e depend on (seed, e) only.
    gen = _seed_all((cfg.seed * 100_003 + epoch) % 2**63)  # (the modulo changes no seed below 9e13)
    xs, ys = epoch_batches(train_split, cfg.batch_size, gen, max_degrees=cfg.max_degrees)
    stepper.model.train()
    stepper.reset_epoch()
    on_cpu = stepper.device.type == "cpu"  # reading a running sum there costs no wait
    bar = bar_class(total=steps_per_epoch, desc=f"epoch {epoch}/{cfg.epochs}", leave=True,
                    file=sys.stderr) if bar_class is not None else None
    for step in range(steps_per_epoch):
        stepper.step(xs[step], ys[step])
        if bar is not None:
            bar.update(1)
            if on_cpu and (step + 1) % 25 == 0:
                _postfix(bar, stepper, step + 1, cfg.batch_size)
    loss_sum, correct, first_bad = stepper.epoch_stats()  # the epoch's one wait for the device
    if bar is not None:
        _postfix(bar, stepper, steps_per_epoch, cfg.batch_size, (loss_sum, correct))
        bar.close()
    if first_bad >= 0:
        step_in_epoch = first_bad - (epoch - 1) * steps_per_epoch + 1
        raise TrainingDiverged(
            f"training diverged: loss is not finite at epoch {epoch}, step {step_in_epoch}/{steps_per_epoch}, "
            f"learning rate {rates[first_bad]:.4g}; try a smaller --lr. "
            + _kept(out, epoch, "No epoch had completed, so no checkpoint was written."))
    test = evaluate(stepper.model, test_split)
    if not math.isfinite(test.loss):  # the training loss stayed finite, the evaluation's did not
        raise TrainingDiverged(f"training diverged: the loss on the evaluation images is not finite after "
                               f"epoch {epoch}; try a smaller --lr. "
                               + _kept(out, epoch, "No checkpoint of this epoch was written."))
    seen = steps_per_epoch * cfg.batch_size
    return {
        "epoch": epoch,
        "train_loss": loss_sum / seen,
        "train_acc": correct / seen,
        "test_loss": test.loss,
        "test_acc": test.accuracy,
        "test_correct": test.correct,
        "lr_end": rates[epoch * steps_per_epoch - 1],  # the rate of the epoch's last step
        "seconds": time.perf_counter() - t0,
    }


def _kept(out: Path | None, epoch: int, otherwise: str) -> str:
    """The end of a divergence message: the checkpoint left in ``out``, which is the previous epoch's."""
    return f"The last good checkpoint (epoch {epoch - 1}) is kept in {out}." if out is not None and epoch > 1 \
        else otherwise


def _loss(cfg: TrainConfig) -> LossFn:
    """The cross-entropy the config asks for (smoothing 0 is PyTorch's plain one)."""
    return functools.partial(F.cross_entropy, label_smoothing=cfg.label_smoothing)


def _postfix(bar: Any, stepper: Stepper, steps: int, batch_size: int,
             sums: tuple[float, int] | None = None) -> None:
    loss_sum, correct = sums if sums is not None else (float(stepper.loss_sum), int(stepper.correct))
    seen = steps * batch_size
    bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.2%}")


def _new_history(cfg: TrainConfig, recipe: str | None, command: str | None, dev: torch.device, precision: str,
                 model: nn.Module, train_split: MnistSplit, test_split: MnistSplit, mean: float,
                 std: float) -> dict[str, Any]:
    return {
        "command": command,
        "recipe": recipe,
        "seed": cfg.seed,
        "config": cfg.as_dict(),
        "optimizer": {  # what ran, in words a reader can check against the code
            "name": "SGD", "nesterov": True, "momentum": cfg.momentum, "momentum_schedule": "constant",
            "weight_decay": cfg.weight_decay, "schedule": "one-cycle (torch OneCycleLR, cosine)",
            "lr_start": cfg.lr / 10, "lr_peak": cfg.lr, "lr_final": cfg.lr / 1e4, "warmup": cfg.warmup,
        },
        "versions": _versions(),
        "device": dev.type,
        "device_name": device_name(dev),
        "precision": precision,
        "params": count_parameters(model),
        "torch_threads": torch.get_num_threads(),  # CPU results are bit-identical only at equal counts
        "train_images": len(train_split),
        "images_per_epoch": (len(train_split) // cfg.batch_size) * cfg.batch_size,
        "test_images": len(test_split),
        "mean": mean,
        "std": std,
        "epochs": [],
        "total_seconds": 0.0,
    }


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # a TorchVersion object would defeat weights_only loading
        "nnbook": nnbook.__version__,
    }


def command_line(argv: list[str] | None = None) -> str:
    """The exact command, as one could paste it into a shell."""
    argv = sys.argv if argv is None else argv
    return "python -m nnbook.mnist " + shlex.join(argv[1:])

