"""Conventional MNIST pipeline versus the book's, on the same model, in one process.

Run from the repository root::

    .venv/bin/python -m benchmarks.pipeline            # the full benchmark (about 15 minutes on 2 cores)
    .venv/bin/python -m benchmarks.pipeline --help     # settings, e.g. a tiny smoke run

(A) the conventional pipeline of the usual write-ups: torchvision's ``MNIST`` dataset with
per-image PIL ``RandomRotation(7)``, ``ToTensor`` and ``Normalize((0.1307,), (0.3081,))``, a
``DataLoader`` with two worker processes, SGD with learning rate 0.01 and momentum 0.9, batch 128,
evaluation on all test images after every epoch. The model is the book's ``main`` network built
with mean 0 and std 1, so that the transform's ``Normalize`` does the normalisation.

(B) the book's pipeline, :func:`nnbook.mnist.train.train`: the whole split as one uint8 tensor,
batched rotation with ``affine_grid``/``grid_sample``, channels_last, one-cycle SGD, evaluation on
all 10,000 test images in inference mode after every epoch. Both run on the CPU, even where
there is a GPU. B runs once per seed, with the book
recipe's settings except the epochs, the batch size and the peak rate (``--project-*``): so with
the rotations and the model's dropout, unlike the ``fast`` recipe, which has neither.

Epochs alternate A B A B ... (B's epochs come one after another through ``train``'s
``on_epoch_end`` hook, and one A epoch runs in each hook), so slow drift of the machine hits both;
the ``order`` list of the result records the sequence. A stops once it has reached the target and
run ``--min-conventional-epochs`` epochs (or after ``--conventional-epochs``); B's remaining
epochs then run alone.
Reported: the median seconds per epoch (training plus the evaluation) of each, their ratio, the
peak memory of each, and the wall time to 99.4 % test accuracy: for B the whole run (start-up
included) when its FINAL epoch reaches it, for A the first epoch that reaches it (within
``--conventional-epochs``). The result goes to ``<out>/benchmark.json`` and ``<out>/benchmark.md``.

Memory: a sampler thread reads, every 50 ms, the resident set size (RSS) of this process plus its
child processes (the DataLoader workers) and keeps the maximum per phase. Both pipelines live in
one process, so both peaks include the shared baseline (Python, torch, both copies of the data),
which is reported too; RSS summed over forked workers counts pages they share with the parent
more than once, which is how the usual tools (``top``, ``ps``) count them as well.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nnbook.mnist.results import TARGET


# --------------------------------------------------------------------------------------------
# machine and memory


def machine() -> dict[str, Any]:
    """CPU model, cores, library versions: what the numbers were measured on."""
    import torchvision

    from nnbook.mnist.device import device_name

    return {
        "cpu": device_name(torch.device("cpu")).removeprefix("CPU: "),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class MemorySampler:
    """Peak RSS (this process plus its children) per named phase, sampled in a thread."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process()
        self._psutil = psutil
        self.interval = interval
        self.phase: str | None = None
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except self._psutil.Error:  # a worker that just exited
                pass
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            phase = self.phase
            if phase is not None:
                value = self.rss()
                if value > self.peaks.get(phase, 0):
                    self.peaks[phase] = value

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------------------------
# (A) the conventional pipeline


class Conventional:
    """The usual write-up's pipeline, one epoch (training + full evaluation) per :meth:`epoch`."""

    def __init__(self, *, seed: int, data_root: str | Path | None, limit_train: int | None,
                 limit_test: int | None, workers: int = 2, batch_size: int = 128) -> None:
        from torch.utils.data import DataLoader, Subset
        from torchvision import datasets, transforms

        from nnbook.mnist.data import prepare
        from nnbook.mnist.models import build_model

        t0 = time.perf_counter()
        tv_root = str(prepare(data_root))  # the same verified files, read by torchvision
        normalize = transforms.Normalize((0.1307,), (0.3081,))
        train_tf = transforms.Compose([transforms.RandomRotation(7), transforms.ToTensor(), normalize])
        test_tf = transforms.Compose([transforms.ToTensor(), normalize])
        train_ds = datasets.MNIST(tv_root, train=True, transform=train_tf)
        test_ds = datasets.MNIST(tv_root, train=False, transform=test_tf)
        if limit_train:
            train_ds = Subset(train_ds, range(min(limit_train, len(train_ds))))
        if limit_test:
            test_ds = Subset(test_ds, range(min(limit_test, len(test_ds))))
        # its own generator: the book's training reseeds torch's global one every epoch
        gen = torch.Generator().manual_seed(seed)
        self.train_loader = DataLoader(train_ds, batch_size=batch_size, shuffle=True,
                                       num_workers=workers, generator=gen)
        self.test_loader = DataLoader(test_ds, batch_size=1000, shuffle=False, num_workers=workers)
        torch.manual_seed(seed)
        self.model = build_model("main", mean=0.0, std=1.0)  # Normalize in the transform instead
        self.lr, self.momentum, self.batch_size, self.workers = 0.01, 0.9, batch_size, workers
        self.opt = torch.optim.SGD(self.model.parameters(), lr=self.lr, momentum=self.momentum)
        self.setup_seconds = time.perf_counter() - t0
        self.rows: list[dict[str, Any]] = []
        self.train_images, self.test_images = len(train_ds), len(test_ds)

    def epoch(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        model, opt = self.model, self.opt
        model.train()
        for x, y in self.train_loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in self.test_loader:
                correct += int((model(x).argmax(1) == y).sum())
        row = {"epoch": len(self.rows) + 1, "test_acc": correct / self.test_images,
               "seconds": time.perf_counter() - t0}
        self.rows.append(row)
        return row

    def reached(self) -> dict[str, Any] | None:
        """The first epoch at or above the target, or None."""
        return next((r for r in self.rows if r["test_acc"] >= TARGET), None)


# --------------------------------------------------------------------------------------------
# the floor: the network's own arithmetic


def arithmetic_floor(batch_sizes: list[int], *, images: int = 60_000, seconds: float = 5.0,
                     model_name: str = "main") -> dict[str, Any]:
    """Seconds per epoch of the model's forward pass, backward pass and SGD step alone.

    One fixed batch of random pixels already in memory, the model in training mode (dropout and
    batch statistics on, so the model's dropout too), channels_last as in the book's pipeline;
    three warm-up steps, then as many steps as fit in ``seconds``, scaled to ``images`` per epoch.
    No data handling and no evaluation: at these batch sizes, on the machine as it is while the
    benchmark runs, no pipeline can train an epoch of this model (with its dropout) faster, so
    ``conventional epoch / floor`` bounds the speed-up any pipeline can reach there. A model
    without dropout, or the same machine less busy, can be faster than this floor.
    """
    from nnbook.mnist.models import build_model
    from nnbook.mnist.config import TrainConfig

    cfg = TrainConfig()  # the optimizer settings the book's training uses
    per_batch: dict[str, float] = {}
    for bs in batch_sizes:
        torch.manual_seed(0)
        model = build_model(model_name, mean=0.13, std=0.31).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                              weight_decay=cfg.weight_decay)
        x = torch.rand(bs, 1, 28, 28).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (bs,))

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        for _ in range(3):
            step()
        n, t0 = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < seconds:
            step()
            n += bs
        per_batch[str(bs)] = elapsed / n * images
    best = min(per_batch, key=per_batch.__getitem__)
    return {"seconds_per_epoch": per_batch, "best_batch_size": int(best), "best_seconds_per_epoch": per_batch[best]}


# --------------------------------------------------------------------------------------------
# the benchmark


def run(args: argparse.Namespace) -> dict[str, Any]:
    from nnbook.mnist.config import command_for, config_from
    from nnbook.mnist.train import train

    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if not args.quiet else (lambda *a: None)
    started = _dt.datetime.now(_dt.timezone.utc)
    load_start = load_average()
    with MemorySampler() as mem:
        mem.phase = "baseline"
        time.sleep(0.2)
        mem.phase = "A"
        conv = Conventional(seed=args.seed, data_root=args.data_root, limit_train=args.limit_train,
                            limit_test=args.limit_test)
        mem.phase = None

        order: list[str] = []  # the epochs in the order they ran: "A3", "B2/1" (seed 2, epoch 1)

        def a_epoch() -> None:
            if len(conv.rows) >= args.conventional_epochs:
                return
            if conv.reached() is not None and len(conv.rows) >= args.min_conventional_epochs:
                return  # A has its answer and enough epochs for a median: stop spending time on it
            mem.phase = "A"
            row = conv.epoch()
            mem.phase = "B"
            order.append(f"A{row['epoch']}")
            log(f"A epoch {row['epoch']:2d}: test acc {row['test_acc']:.2%} | {row['seconds']:.1f} s")

        a_in_hooks = 0.0
        b_runs = []
        a_epoch()  # A first, then B, A, B, ...
        for seed in args.project_seeds:
            cfg = config_from(epochs=args.project_epochs, batch_size=args.project_batch_size,
                              lr=args.project_lr, seed=seed, limit_train=args.limit_train)

            def hook(row: dict[str, Any], seed: int = seed) -> None:
                nonlocal a_in_hooks
                log(f"B seed {seed} epoch {row['epoch']:2d}: test acc {row['test_acc']:.2%} | {row['seconds']:.1f} s")
                order.append(f"B{seed}/{row['epoch']}")
                t = time.perf_counter()
                a_epoch()
                a_in_hooks += time.perf_counter() - t

            mem.phase = "B"
            a_before, t0 = a_in_hooks, time.perf_counter()
            # on the CPU, as A is, whatever GPU the machine has: the ratio compares pipelines, not devices
            history = train(cfg, None, device="cpu", data_root=args.data_root, progress=False, echo=False,
                            on_epoch_end=hook)
            wall = time.perf_counter() - t0 - (a_in_hooks - a_before)  # B's own time, A's epochs taken out
            mem.phase = None
            final = history["epochs"][-1]
            b_runs.append({
                "seed": seed,
                # run inside this process (its epochs interleaved with A's): the command that
                # trains the same settings on its own, not a command that was run
                "equivalent_command": command_for(cfg, out=f"runs/benchmark-seed{seed}"),
                "config": history["config"],
                "epochs": [{k: r[k] for k in ("epoch", "test_acc", "seconds")} for r in history["epochs"]],
                "final_acc": final["test_acc"],
                "wall_seconds": wall,
                "seconds_to_target": wall if final["test_acc"] >= TARGET else None,
            })
        # B is done: A goes on alone until it reaches the target (or runs out of epochs)
        while len(conv.rows) < args.conventional_epochs and conv.reached() is None:
            a_epoch()
        mem.phase = None
    log("network arithmetic alone, batch sizes " + ", ".join(map(str, args.floor_batch_sizes)))
    floor = arithmetic_floor(args.floor_batch_sizes, images=conv.train_images, seconds=args.floor_seconds)

    a_rows = conv.rows
    b_secs = [r["seconds"] for run_ in b_runs for r in run_["epochs"]]
    a_secs = [r["seconds"] for r in a_rows]
    first = conv.reached()
    a_to_target = (conv.setup_seconds + sum(r["seconds"] for r in a_rows[: first["epoch"]])) if first else None
    a_med, b_med = statistics.median(a_secs), statistics.median(b_secs)
    mib = lambda n: round(n / 2**20, 1) if n else None  # noqa: E731
    return {
        "measured": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "command": " ".join(["python -m benchmarks.pipeline", *map(shlex.quote, args.argv)]).strip(),
        "target": TARGET,
        "order": order,
        "train_images": conv.train_images,
        "test_images_conventional": conv.test_images,
        "conventional": {
            "description": "torchvision MNIST + PIL RandomRotation(7), ToTensor, Normalize; DataLoader "
                           "num_workers=2; SGD lr 0.01 momentum 0.9; batch 128; main model (mean 0, std 1)",
            "lr": conv.lr, "momentum": conv.momentum, "batch_size": conv.batch_size, "workers": conv.workers,
            "setup_seconds": conv.setup_seconds,
            "epochs": a_rows,
            "median_epoch_seconds": a_med,
            "peak_rss_mib": mib(mem.peaks.get("A")),
            "first_epoch_at_target": first["epoch"] if first else None,
            "seconds_to_target": a_to_target,
            "best_acc": max(r["test_acc"] for r in a_rows),
        },
        "project": {
            "description": f"nnbook.mnist.train: one-cycle SGD (Nesterov), batch {args.project_batch_size}, "
                           f"peak lr {args.project_lr:g}, {args.project_epochs} epochs; main model; otherwise "
                           "the book recipe's settings (rotations, the model's dropout)",
            "runs": b_runs,
            "median_epoch_seconds": b_med,
            "peak_rss_mib": mib(mem.peaks.get("B")),
            "seconds_to_target": [r["seconds_to_target"] for r in b_runs],
        },
        "baseline_rss_mib": mib(mem.peaks.get("baseline")),
        "floor": floor,
        **ratios(a_secs, b_secs, floor["best_seconds_per_epoch"]),
        "memory_note": "peak RSS of this process plus its child processes (DataLoader workers), sampled "
                       "every 50 ms while each pipeline ran; both include the shared baseline",
    }


def ratios(a_secs: list[float], b_secs: list[float], floor: float) -> dict[str, Any]:
    """The speed-up (ratio of the median epochs), and the bounds the arithmetic floor puts on the
    speed-up, from the medians and from the fastest
    epochs. The machine's speed drifts during a long run; the fastest epoch of each pipeline and
    the floor, all taken at the machine's best, compare like with like."""
    a_med, a_min, b_min = statistics.median(a_secs), min(a_secs), min(b_secs)
    return {
        "speedup_per_epoch": a_med / statistics.median(b_secs),
        "speedup_ceiling": a_med / floor,  # median conventional epoch over the floor
        "fastest": {"conventional_seconds": a_min, "project_seconds": b_min, "speedup": a_min / b_min,
                    "speedup_ceiling": a_min / floor},
    }


def markdown(result: dict[str, Any]) -> str:
    """The result as a markdown table (the rows the appendix shows, from the same function), with
    the machine and date beneath it."""
    from nnbook.mnist.results import benchmark_rows

    a, b, m = result["conventional"], result["project"], result["machine"]
    lines = ["| | conventional (A) | this book (B) |", "|---|---|---|"]
    lines += [f"| {label} | {a_text} | {b_text} |" for label, (a_text, b_text) in benchmark_rows(result).items()]
    lines += [
        f"| epochs run | {len(a['epochs'])} | {', '.join(str(len(r['epochs'])) for r in b['runs'])} |",
        "",
        f"The network's arithmetic alone (forward, backward and SGD step on one batch already in memory, "
        f"no data handling, no evaluation) takes {result['floor']['best_seconds_per_epoch']:.1f} s per epoch "
        f"at its fastest batch size ({result['floor']['best_batch_size']}): "
        f"{result['speedup_ceiling']:.2f}× less than the conventional median epoch. "
        f"Fastest epochs: conventional {result['fastest']['conventional_seconds']:.1f} s, this book "
        f"{result['fastest']['project_seconds']:.1f} s ({result['fastest']['speedup']:.2f}×); at the machine's best, "
        f"no pipeline could run this model more than {result['fastest']['speedup_ceiling']:.2f}× as fast as "
        "the conventional one.",
        "",
        f"Measured {result['measured']} on {m['cpu']} ({m['cores']} cores, torch {m['torch']}, "
        f"{m['torch_threads']} threads); load average {result['load_average_start']} at the start. "
        f"Baseline RSS {result['baseline_rss_mib']} MiB.",
        "",
    ]
    return "\n".join(lines)


def write(result: dict[str, Any], out: Path) -> None:
    from nnbook.io import write_text_atomic

    write_text_atomic(out / "benchmark.json", json.dumps(result, indent=1) + "\n")
    write_text_atomic(out / "benchmark.md", markdown(result))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("results/benchmark"))
    p.add_argument("--seed", type=int, default=1, help="seed of the conventional run")
    p.add_argument("--conventional-epochs", type=int, default=20)
    p.add_argument("--min-conventional-epochs", type=int, default=6,
                   help="A stops once it has reached the target and run this many epochs")
    p.add_argument("--project-seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--project-epochs", type=int, default=5)
    p.add_argument("--project-batch-size", type=int, default=256)
    p.add_argument("--project-lr", type=float, default=0.2)
    p.add_argument("--floor-batch-sizes", type=int, nargs="+", default=[128, 256, 512, 1024],
                   help="batch sizes at which the network's arithmetic alone is timed")
    p.add_argument("--floor-seconds", type=float, default=8.0, help="timing per floor batch size")
    p.add_argument("--limit-train", type=int, default=None, help="train on the first N images (smoke runs)")
    p.add_argument("--limit-test", type=int, default=None, help="A: test on the first N images (smoke runs)")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    result = run(args)
    write(result, args.out)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
