"""Command line: ``python -m nnbook.mnist train|evaluate|export``.

What was asked wrongly (:class:`~nnbook.errors.UsageError`: bad arguments, settings, run
folders) exits with a usage message and status 2; what stands in the way
(:class:`~nnbook.errors.EnvironmentProblem`: data, checkpoints, devices, a diverged run, and the
disk's own errors) exits with one ``error:`` line and status 1. Only a bug in the package
prints a Python traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports torch only once a command needs it
    from nnbook.mnist.config import TrainConfig

#: what to tell a reader whose Python has no PyTorch (a plain `pip install nnbook`)
NO_TORCH = ("error: Part 2 needs PyTorch, which this Python does not have: pip install 'nnbook[mnist]' "
            "(for a GPU build, follow https://pytorch.org/get-started/locally first)")


#: OUTPUT's suffix -> the format ``export`` writes
EXPORT_FORMATS = {".onnx": "onnx", ".pt": "torchscript", ".pth": "torchscript", ".ts": "torchscript"}


def _suffixes(kind: str) -> str:
    """The suffixes that choose format ``kind``, for help and error texts: ".pt, .pth, .ts"."""
    return ", ".join(suffix for suffix, k in EXPORT_FORMATS.items() if k == kind)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _path(text: str) -> Path:
    if not text.strip():  # Path("") is the current folder: never what an empty value meant
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _positive_float(text: str) -> float:
    value = _number(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _share(text: str) -> float:
    value = _number(text)
    if not 0 <= value < 1:  # (a NaN fails this too)
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    from nnbook.mnist.config import RECIPES, recipe
    from nnbook.mnist.device import PRECISIONS
    from nnbook.mnist.models import MODELS

    p = argparse.ArgumentParser(prog="python -m nnbook.mnist", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train a model, writing a checkpoint and history.json after every epoch",
                       description=f"Train a model. A recipe sets the defaults (book: {recipe('book').epochs} "
                       "epochs, the run the book reports; fast: a short run of "
                       f"{recipe('fast').epochs} epochs, at 99.4 % in most runs and a few images short in some; "
                       "tiny: the <= 5,000-parameter model); any setting given explicitly overrides it.")
    t.add_argument("--recipe", choices=list(RECIPES), default="book", help="default: book")
    t.add_argument("--epochs", type=_positive_int, default=None)
    t.add_argument("--seed", type=_seed, default=None)
    t.add_argument("--out", type=_path, required=True, help="run folder (must not exist, unless --resume/--overwrite)")
    t.add_argument("--lr", type=_positive_float, default=None, help="peak learning rate (one-cycle)")
    t.add_argument("--batch-size", type=_positive_int, default=None)
    t.add_argument("--label-smoothing", type=_share, default=None, metavar="EPS",
                   help="share of each target spread over the 10 classes (default: the recipe's, 0)")
    t.add_argument("--model", choices=sorted(MODELS), default=None)
    t.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    t.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bf16 on GPUs that have it, else fp16 with a gradient scaler; fp32 on the CPU")
    t.add_argument("--cuda-graph", choices=("auto", "off"), default="auto",
                   help="auto: replay each step as one CUDA graph on CUDA GPUs (fp32 and bf16)")
    t.add_argument("--limit-train", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training images only (quick runs)")
    t.add_argument("--data-root", type=_path, default=None,
                   help="folder holding mnist/ (default: the repository's data/)")
    t.add_argument("--download", action="store_true",
                   help="download MNIST when the shipped files are absent (verified as the shipped ones are)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")
    mode = t.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run in --out from its last complete epoch")
    mode.add_argument("--overwrite", action="store_true", help="delete the run in --out and start again")

    e = sub.add_parser("evaluate", help="accuracy of a checkpoint on all 10,000 test images, as one JSON line")
    e.add_argument("checkpoint", type=_path)
    e.add_argument("--model", choices=sorted(MODELS), default=None, help="default: the architecture that fits")
    e.add_argument("--device", default="auto")
    e.add_argument("--data-root", type=_path, default=None)
    e.add_argument("--download", action="store_true",
                   help="download the test split when the shipped files are absent (as train --download does)")

    onnx, script = _suffixes("onnx"), _suffixes("torchscript")
    x = sub.add_parser("export", help=f"write a self-contained model: ONNX (OUTPUT ending in {onnx}) or TorchScript",
                       description="Write a checkpoint as a self-contained model (float pixels (N, 1, 28, 28) in "
                       f"[0, 1] -> 10 scores). OUTPUT's suffix chooses the format: {onnx} writes ONNX, for "
                       "onnxruntime and other ONNX runtimes (needs pip install 'nnbook[onnx]'); "
                       f"{script} writes TorchScript, for torch.jit.load.")
    x.add_argument("checkpoint", type=_path)
    x.add_argument("output", type=_path, help=f"the file to write: {onnx} (ONNX) or {script} (TorchScript)")
    x.add_argument("--model", choices=sorted(MODELS), default=None)
    x.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    return p


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63 - 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        print(NO_TORCH, file=sys.stderr)
        return 1
    try:  # building the parser imports torch, a second or two: Ctrl-C there is still one line
        parser = _parser()
    except KeyboardInterrupt:
        print("interrupted while starting; nothing was written", file=sys.stderr)
        return 130
    args = parser.parse_args(argv)
    from nnbook.errors import EnvironmentProblem, NnbookWarning, UsageError

    previous = _terminate_as_interrupt()
    show = warnings.showwarning
    warnings.showwarning = lambda message, category, *rest, **kw: (  # ours: one line, like the errors
        print(f"warning: {message}", file=sys.stderr) if issubclass(category, NnbookWarning)
        else show(message, category, *rest, **kw))
    try:
        if args.cmd == "train":
            return _train(args)
        if args.cmd == "evaluate":
            return _evaluate(args)
        return _export(args)
    except EnvironmentProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the disk, not the package: full, read-only, a path through a file
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}; check the path, its permissions and the free space",
              file=sys.stderr)
        return 1
    except UsageError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = show
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0  # unreachable; keeps type checkers content


def _terminate_as_interrupt() -> Any:
    """Let SIGTERM (``kill``, ``timeout``, a container stopping) end the command as Ctrl-C does, so
    a run that saved no epoch removes its folder; return the previous handler (None if unchanged)."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the signal alone
        return None


def _interrupted(args: argparse.Namespace) -> str:
    """What an interruption left: say --resume only when there is something to resume."""
    if args.cmd != "train":
        return "interrupted"
    if (args.out / "resume.pt").is_file():
        return f"interrupted; the last complete epoch is saved in {args.out}, continue with --resume"
    return "interrupted before the first epoch was saved; nothing to resume, run the command again"


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The :class:`~nnbook.mnist.config.TrainConfig` a parsed ``train`` command line asks for."""
    from nnbook.mnist.config import recipe

    return recipe(args.recipe, epochs=args.epochs, seed=args.seed, lr=args.lr, batch_size=args.batch_size,
                  model=args.model, limit_train=args.limit_train, label_smoothing=args.label_smoothing)


def _train(args: argparse.Namespace) -> int:
    from nnbook.mnist.train import command_line, train

    cfg = train_config(args)
    history = train(cfg, args.out, device=args.device, precision=args.precision, graph=args.cuda_graph,
                    resume=args.resume, overwrite=args.overwrite, data_root=args.data_root,
                    allow_download=args.download, progress=not args.no_progress, echo=not args.no_progress,
                    command=command_line(), recipe=args.recipe)
    last = history["epochs"][-1]
    print(json.dumps({"out": str(args.out), "epochs": last["epoch"], "test_acc": last["test_acc"],
                      "device": history["device_name"], "precision": history["precision"],
                      "step_mode": history["step_mode"], "train_seconds": round(history["total_seconds"], 2),
                      "setup_seconds": round(history["setup_seconds"], 2)}, allow_nan=False))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nnbook.mnist.checkpoint import load_model
    from nnbook.mnist.data import load_split
    from nnbook.mnist.device import select_device
    from nnbook.mnist.evaluate import evaluate
    from nnbook.mnist.models import count_parameters

    dev = select_device(args.device)
    model, name = load_model(args.checkpoint, args.model)
    result = evaluate(model.to(dev), load_split(False, args.data_root, dev, allow_download=args.download))
    if not math.isfinite(result.loss):  # finite weights can still overflow; JSON has no NaN
        from nnbook.mnist.checkpoint import CheckpointError

        raise CheckpointError(f"{args.checkpoint}: its weights are finite but its scores overflow (test loss "
                              f"{result.loss}): the run that wrote it diverged")
    print(json.dumps({"accuracy": result.accuracy, "correct": result.correct, "total": result.total,
                      "loss": result.loss, "params": count_parameters(model), "model": name,
                      "checkpoint": str(args.checkpoint)}, allow_nan=False))
    return 0


def _export(args: argparse.Namespace) -> int:
    from nnbook.errors import UsageError
    from nnbook.mnist.checkpoint import check_export_target, export_torchscript, load_model

    # what cannot be written (a folder, a FIFO, an existing file without --force) is named as such first
    check_export_target(args.output, overwrite=args.force, source=args.checkpoint)
    kind = EXPORT_FORMATS.get(args.output.suffix.lower())
    if kind is None:  # before loading anything: a typo must not silently pick a format
        raise UsageError(f"cannot tell the format from {args.output.name!r}: end OUTPUT in "
                         f"{_suffixes('onnx')} (ONNX) or {_suffixes('torchscript')} (TorchScript)")
    model, _ = load_model(args.checkpoint, args.model)
    if kind == "onnx":
        from nnbook.mnist.onnx_export import export_onnx

        print(export_onnx(model, args.output, overwrite=args.force, source=args.checkpoint))
    else:
        print(export_torchscript(model, args.output, overwrite=args.force, source=args.checkpoint))
    return 0


if __name__ == "__main__":
    sys.exit(main())
