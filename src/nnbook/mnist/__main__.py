"""Command line: ``python -m nnbook.mnist train|evaluate|export``.

Bad arguments exit with a usage message and status 2; data, checkpoint and divergence errors
exit with one ``error:`` line and status 1. Neither prints a Python traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from nnbook.mnist.models import MODELS


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nnbook.mnist", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train a model, writing a checkpoint and history.json after every epoch")
    t.add_argument("--epochs", type=_positive_int, default=20)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--out", type=Path, required=True, help="run folder (must not exist, unless --resume/--overwrite)")
    t.add_argument("--lr", type=_positive_float, default=0.1, help="peak learning rate (one-cycle)")
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--model", choices=sorted(MODELS), default="main")
    t.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    t.add_argument("--limit-train", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training images only (quick runs)")
    t.add_argument("--data-root", type=Path, default=None, help="folder holding mnist/ (default: the repository's data/)")
    t.add_argument("--download", action="store_true", help="let torchvision download MNIST when the shipped files are absent")
    t.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")
    mode = t.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run in --out from its last complete epoch")
    mode.add_argument("--overwrite", action="store_true", help="delete the run in --out and start again")

    e = sub.add_parser("evaluate", help="accuracy of a checkpoint on all 10,000 test images, as one JSON line")
    e.add_argument("checkpoint", type=Path)
    e.add_argument("--model", choices=sorted(MODELS), default=None, help="default: the architecture that fits")
    e.add_argument("--device", default="auto")
    e.add_argument("--data-root", type=Path, default=None)

    x = sub.add_parser("export", help="write a self-contained TorchScript model")
    x.add_argument("checkpoint", type=Path)
    x.add_argument("output", type=Path)
    x.add_argument("--model", choices=sorted(MODELS), default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    # Imported after parsing: a usage error should not wait for torch to load.
    from nnbook.mnist.data import MnistDataError
    from nnbook.mnist.evaluate import CheckpointError
    from nnbook.mnist.train import RunFolderError, TrainingDiverged

    try:
        if args.cmd == "train":
            return _train(args, parser)
        if args.cmd == "evaluate":
            return _evaluate(args)
        return _export(args)
    except (MnistDataError, CheckpointError, TrainingDiverged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RunFolderError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        print("interrupted; the last complete epoch is saved, continue with --resume", file=sys.stderr)
        return 130
    return 0  # unreachable; keeps type checkers content


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from nnbook.mnist.train import command_line, config_from, train

    cfg = config_from(epochs=args.epochs, seed=args.seed, lr=args.lr, batch_size=args.batch_size,
                      model=args.model, limit_train=args.limit_train)
    try:
        history = train(cfg, args.out, device=args.device, resume=args.resume, overwrite=args.overwrite,
                        data_root=args.data_root, allow_download=args.download,
                        progress=not args.no_progress, command=command_line())
    except ValueError as exc:
        if type(exc) is ValueError:  # e.g. --device cuda without a GPU
            parser.error(str(exc))
        raise
    last = history["epochs"][-1]
    print(json.dumps({"out": str(args.out), "epochs": last["epoch"], "test_acc": last["test_acc"],
                      "total_seconds": round(history["total_seconds"], 1)}))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nnbook.mnist.data import load_split
    from nnbook.mnist.device import select_device
    from nnbook.mnist.evaluate import evaluate, load_model
    from nnbook.mnist.models import count_parameters

    model, name = load_model(args.checkpoint, args.model)
    dev = select_device(args.device)
    result = evaluate(model.to(dev), load_split(False, args.data_root, dev))
    print(json.dumps({"accuracy": result.accuracy, "correct": result.correct, "total": result.total,
                      "loss": result.loss, "params": count_parameters(model), "model": name,
                      "checkpoint": str(args.checkpoint)}))
    return 0


def _export(args: argparse.Namespace) -> int:
    from nnbook.mnist.evaluate import export_torchscript, load_model

    model, _ = load_model(args.checkpoint, args.model)
    print(export_torchscript(model, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
