"""The GPU check: everything a reader with an NVIDIA GPU runs, run on one, ending in one summary line.

    make gpu-check                      # or: python tools/gpu_check.py [--results results]

Needs a Python that already has torch and torchvision (Colab, a GPU workstation); it installs
nothing. Steps: (1) the unit tests that take a ``device`` (CPU and CUDA cases); (2) the command
line on CUDA: ``train`` (the book's recipe for seeds 1-3, the fast recipe for seeds 1-16, the
tiny model's for seeds 1-3, each a separate process timed from its start), ``--resume`` of a
finished run, ``evaluate``, ``export``; (3) every Part 2 chapter executed as its notebook, as a
Colab reader runs it (a GPU present, so the training chapter trains the full recipe). With
``--results DIR`` the runs' histories and weights are kept in ``DIR/<recipe>/cuda-seed<N>/``
(as ``tools/recipe_runs.py`` keeps CPU runs) and the measurements in ``DIR/gpu-check.json``.

The evaluation chapter runs the model exported to ONNX: the Python needs onnx and onnxruntime too.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "src")]  # a sibling script, and the book's package
from recipe_runs import add_runs, run_seed  # noqa: E402  (a sibling script)

from nnbook.io import write_text_atomic  # noqa: E402
from nnbook.mnist.results import TARGET  # noqa: E402

# every chapter that runs Part 2's code (book/<name>.ipynb), in the book's order
CHAPTERS = ["part2/data", "part2/model", "part2/training", "part2/evaluation", "part2/draw", "part2/going-further",
            "appendix/data-integrity", "appendix/fast-recipe", "appendix/pipeline-benchmark"]


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    env.pop("NNBOOK_TRAINING", None)  # as a reader: the chapter decides from the device
    env["PYTHONWARNINGS"] = "ignore::FutureWarning"
    return env


def _cli(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", *args], capture_output=True, text=True, cwd=ROOT,
                          env=_env())
    if proc.returncode != 0:
        raise SystemExit(f"gpu-check: nnbook.mnist {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def onnx_matches(checkpoint_path: Path, onnx_path: Path):
    """The ONNX file's scores on every test image beside PyTorch's for the checkpoint (an
    ``onnx_export.Agreement``), both on the CPU, where the book's web page and a reader's app run it."""
    import numpy as np

    from nnbook.mnist import checkpoint, data, evaluate, onnx_export

    model, _ = checkpoint.load_model(checkpoint_path)
    test = data.load_split(train=False)
    pixels = test.images.numpy().astype(np.float32) / 255  # as onnx_scores takes them: [0, 1]
    return onnx_export.compare(onnx_export.onnx_scores(onnx_path, pixels), evaluate.predict(model, test), test.labels)


def _chapters(work: Path) -> list[str]:
    import nbformat
    from nbclient import NotebookClient

    os.environ.update({k: v for k, v in _env().items() if k == "PYTHONPATH"})  # the kernel finds nnbook
    os.environ.pop("NNBOOK_TRAINING", None)
    done = []
    for name in CHAPTERS:
        path = ROOT / "book" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        nbformat.write(nb, work / f"executed-{name.replace('/', '-')}.ipynb")
        done.append(f"{name} ({time.perf_counter() - t0:.0f} s)")
        print(f"gpu-check: chapter {name} executed in {time.perf_counter() - t0:.1f} s", flush=True)
    return done


def device_tests() -> tuple[int, str]:
    """Every test that takes a device (and the rest of test_mnist_devices.py): the ``devices``
    marker. Returns pytest's exit status and its last line."""
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", "-m", "devices"],
                           cwd=ROOT, env=_env(), capture_output=True, text=True)
    print(tests.stdout[-6000:], flush=True)
    if tests.returncode != 0:  # go on: the runs and chapters are worth seeing either way
        print(tests.stderr[-3000:], file=sys.stderr)
    return tests.returncode, tests.stdout.strip().splitlines()[-1]


def train_recipes(results: Path, seeds: dict[str, int]) -> list[dict]:
    """Train each recipe for seeds 1..N on CUDA, each as its own timed command (``recipe_runs.run_seed``),
    keeping the runs in ``results`` and each recipe's times in ``results/<recipe>/cuda-runs.json``."""
    runs = []
    for recipe, count in seeds.items():
        rows = []
        for seed in range(1, count + 1):
            row = {"recipe": recipe, **run_seed(recipe, seed, "cuda", results, env=_env())}
            rows.append(row)
            print(f"gpu-check: {recipe} seed {seed}: final {row['final']:.2%}, "
                  f"{row['median_epoch_seconds']:.3f} s/epoch, "
                  f"train {row['train_seconds']:.1f} s, command {row['command_seconds']:.1f} s ({row['step_mode']}, "
                  f"{row['precision']})", flush=True)
        if rows:  # (--tiny-seeds 0: no runs, no file)
            add_runs(results / recipe / "cuda-runs.json", rows)
        runs += rows
    return runs


def command_line(work: Path, device: str = "cuda", train_flags: tuple[str, ...] = ()):
    """The command line as a reader uses it, on ``device``: train the fast recipe (with
    ``train_flags`` on top), resume the finished run, evaluate, export to TorchScript and to
    ONNX. Returns what ``evaluate`` printed and the ONNX file's agreement with PyTorch; a step
    that fails or disagrees stops the check."""
    import torch

    run = work / "cli-run"
    train = ("train", "--recipe", "fast", *train_flags, "--device", device, "--no-progress", "--out", str(run))
    _cli(*train)
    before = json.loads((run / "history.json").read_text())["epochs"]
    _cli(*train, "--resume")
    if json.loads((run / "history.json").read_text())["epochs"] != before:
        raise SystemExit("gpu-check: resuming a finished run changed its history")
    evaluated = json.loads(_cli("evaluate", str(run / "model.pt"), "--device", device))
    if abs(evaluated["correct"] - before[-1]["test_correct"]) > 3:  # another batch size sums in another order
        raise SystemExit(f"gpu-check: evaluate found {evaluated['correct']} correct, "
                         f"the training's last epoch {before[-1]['test_correct']}")
    _cli("export", str(run / "model.pt"), str(work / "exported.pt"))
    if torch.jit.load(str(work / "exported.pt"))(torch.rand(2, 1, 28, 28)).shape != (2, 10):
        raise SystemExit("gpu-check: the TorchScript export does not give 10 scores per image")
    # the checkpoint as ONNX through the command line, the file's scores beside PyTorch's
    _cli("export", str(run / "model.pt"), str(work / "exported.onnx"))
    agreement = onnx_matches(run / "model.pt", work / "exported.onnx")
    if agreement.same_class != agreement.total or not agreement.max_difference < 1e-3:  # (NaN fails too)
        raise SystemExit(f"gpu-check: the ONNX export disagrees with PyTorch: {agreement}")
    return evaluated, agreement


def summarise(name: str, tests_status: int, test_line: str, runs: list[dict], chapters: list[str],
              extra: dict) -> tuple[dict, str, bool]:
    """The check's record, its one summary line, and whether it passed: the device tests passed
    and every run of the book's and the fast recipe (at least one) ended at 99.4 % or more."""
    by_recipe = {recipe: [r for r in runs if r["recipe"] == recipe] for recipe in ("book", "fast", "tiny")}
    book, fast, tiny = by_recipe["book"], by_recipe["fast"], by_recipe["tiny"]
    summary = {"device_name": name, "tests": test_line, "runs": runs, "chapters": chapters, **extra}
    parts = []  # the summary line: only the recipes that ran (--book-seeds 0 etc. skip one)
    if book:
        summary |= {"book_epoch_seconds": max(r["median_epoch_seconds"] for r in book),
                    "book_final_min": min(r["final"] for r in book)}
        parts.append(f"book recipe {summary['book_epoch_seconds']:.2f} s/epoch, final >= "
                     f"{summary['book_final_min']:.2%} (seeds 1-{len(book)})")
    if fast:
        summary |= {"fast_final_min": min(r["final"] for r in fast),
                    "fast_train_seconds_max": max(r["train_seconds"] for r in fast),
                    "fast_command_seconds_max": max(r["command_seconds"] for r in fast)}
        parts.append(f"fast recipe final >= {summary['fast_final_min']:.2%} (seeds 1-{len(fast)}), <= "
                     f"{summary['fast_train_seconds_max']:.1f} s training, <= "
                     f"{summary['fast_command_seconds_max']:.1f} s per command")
    # The GPU targets ask 99.4 % on the final epoch of every seed tried of the book and fast recipes;
    # the tiny model's margin is a few images (going-further.md says another device may land either
    # side), so its runs are reported, not required.
    if tiny:
        summary["tiny_finals"] = [r["final"] for r in tiny]
        parts.append(f"tiny model final {', '.join(f'{f:.2%}' for f in summary['tiny_finals'])}")
    # (with no book or fast run at all, nothing was shown to reach it)
    ok = bool(book + fast) and all(r["final"] >= TARGET for r in book + fast) and tests_status == 0
    summary["book_and_fast_reached_99.4"] = ok
    verdict = "passed" if ok else "FAILED (a test failed or a book or fast run ended below 99.4 %)"
    line = f"gpu-check {verdict} on {name}: " + "; ".join([*parts, test_line, f"{len(chapters)} chapters executed"])
    return summary, line, ok


def missing_modules(chapters: bool = True) -> list[str]:
    """What the check needs beyond torch and this Python lacks, as pip names.

    pytest imports every test module before ``-m devices`` selects, so it needs what they import too.
    """
    needed = ["onnx", "onnxruntime", "pytest", "torchvision", "numpy", "pandas", "matplotlib", "hypothesis",
              "jupytext", "yaml", "nbformat", "packaging"] + (["nbclient", "ipykernel", "myst_nb"] if chapters else [])
    pip_names = {"yaml": "pyyaml", "myst_nb": "myst-nb"}
    return [pip_names.get(m, m) for m in needed if importlib.util.find_spec(m) is None]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=None, help="keep runs and measurements here")
    p.add_argument("--book-seeds", type=int, default=3)
    p.add_argument("--fast-seeds", type=int, default=16)  # as many as the committed CPU runs
    p.add_argument("--tiny-seeds", type=int, default=3)
    p.add_argument("--skip-chapters", action="store_true")
    args = p.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("gpu-check: no CUDA GPU here; on a machine without one, `make test` checks everything else "
              "(the CUDA cases are then reported as skipped)", file=sys.stderr)
        return 2
    # asked before the first of the check's many minutes of training
    missing = missing_modules(chapters=not args.skip_chapters)
    if missing:
        print(f"gpu-check: this Python lacks what the check needs: pip install {' '.join(missing)}", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name()
    print(f"gpu-check: {name}, torch {torch.__version__}, Python {sys.version.split()[0]}", flush=True)

    tests_status, test_line = device_tests()
    keep = args.results
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    runs = train_recipes((keep or work / "results").resolve(),
                       {"book": args.book_seeds, "fast": args.fast_seeds, "tiny": args.tiny_seeds})
    evaluated, agreement = command_line(work)
    chapters = [] if args.skip_chapters else _chapters(work)
    print(f"gpu-check: runs and executed notebooks in {work}", flush=True)

    extra = {"torch": str(torch.__version__), "evaluate": evaluated, "onnx": dataclasses.asdict(agreement),
             "bytecode_cache": not sys.flags.dont_write_bytecode}  # without one, every import compiles
    summary, line, ok = summarise(name, tests_status, test_line, runs, chapters, extra)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        write_text_atomic(keep / "gpu-check.json", json.dumps(summary, indent=1) + "\n")
    print(line, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
