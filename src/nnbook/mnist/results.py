"""The committed runs under ``results/``: where they are, and the facts the chapters quote.

Layout: ``results/<recipe>/<device>-seed<N>/`` holds ``history.json`` and ``model.pt`` of one
run, made by ``tools/recipe_runs.py`` (CPU) or ``tools/gpu_check.py`` (CUDA), which also write
``results/<recipe>/<device>-runs.json``: each command's wall time, from process start to exit.
``results/gpu/`` keeps the raw records of the GPU machine: ``make gpu-check``'s log, and what was
measured on it before that check existed.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from nnbook.errors import UsageError
from nnbook.mnist.history import best_epoch, final_epoch, load_history, median_epoch_seconds, seconds_to
from nnbook.paths import project_root

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, torch when a model is evaluated
    from matplotlib.figure import Figure

    import pandas as pd
    from pandas.io.formats.style import Styler

    from nnbook.mnist.data import MnistSplit
    from nnbook.mnist.evaluate import Evaluation

__all__ = ["results_root", "run_dirs", "run_dir", "matches_recipe", "seed_runs", "evaluate_committed",
           "device_summary", "device_table", "startup_times", "load_benchmark", "benchmark_rows", "benchmark_table",
           "load_sweep", "sweep_seeds", "sweep_summary", "sweeps_table", "load_seed_sweep", "finals_by_seed",
           "plot_seed_finals", "images_needed", "on_benchmark_machine", "TARGET"]

#: The accuracy every claim of Part 2 is about.
TARGET = 0.994


def images_needed(total: int) -> int:
    """The fewest correct images out of ``total`` that make an accuracy of at least :data:`TARGET`."""
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise UsageError(f"images_needed() takes a positive count of images, got {total!r}")
    return math.ceil(round(TARGET * total, 9))  # rounded first: 0.994 * 10000 is 9939.999999999998


def results_root() -> Path:
    """The repository's ``results/`` folder."""
    return project_root() / "results"


def run_dirs(recipe: str, device: str) -> list[Path]:
    """The committed run folders of ``recipe`` on ``device`` (``cpu`` or ``cuda``), by seed."""
    found = []
    for path in (results_root() / recipe).glob(f"{device}-seed*"):
        match = re.fullmatch(rf"{device}-seed(\d+)", path.name)
        if match and (path / "history.json").is_file():
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def run_dir(recipe: str, device: str, seed: int) -> Path:
    """The committed run folder of ``recipe`` on ``device`` for ``seed`` (an error if none was committed)."""
    path = results_root() / recipe / f"{device}-seed{seed}"
    if path not in run_dirs(recipe, device):
        raise UsageError(f"no committed run of the {recipe} recipe on {device} for seed {seed} ({path})")
    return path


def _command_seconds(recipe: str, device: str) -> dict[int, float]:
    path = results_root() / recipe / f"{device}-runs.json"
    if not path.is_file():
        return {}
    return {row["seed"]: row["command_seconds"] for row in json.loads(path.read_text())}


def matches_recipe(history: dict[str, Any], recipe: str) -> bool:
    """Whether the run of ``history`` trained with ``recipe``'s settings as they are today (a
    recipe can change after its runs were committed; a setting the history predates is taken at
    the value the run had, ``config.complete_saved``; any other setting missing means no)."""
    from nnbook.mnist.config import complete_saved
    from nnbook.mnist.config import recipe as recipe_config

    return complete_saved(history["config"]) == recipe_config(recipe, seed=history["seed"]).as_dict()


def seed_runs(recipe: str, device: str) -> pd.DataFrame:
    """A pandas DataFrame, one row per committed seed: final and best accuracy, times, the
    machine it ran on (device name, precision, torch threads), and whether it ran with the
    recipe's current settings (``matches_recipe``)."""
    import pandas as pd

    wall = _command_seconds(recipe, device)
    rows = []
    for run in run_dirs(recipe, device):
        h = load_history(run)
        final, best = final_epoch(h), best_epoch(h)
        rows.append({"seed": h["seed"], "epochs": len(h["epochs"]), "final": final["test_acc"],
                     "final_correct": final["test_correct"], "best": best["test_acc"], "best_epoch": best["epoch"],
                     "s_per_epoch": median_epoch_seconds(h), "s_to_target": seconds_to(h, TARGET),
                     "train_s": h["total_seconds"], "command_s": wall.get(h["seed"]), "command": h["command"],
                     "device_name": h["device_name"], "precision": h["precision"], "step_mode": h["step_mode"],
                     "torch_threads": h.get("torch_threads"), "matches_recipe": matches_recipe(h, recipe)})
    return pd.DataFrame(rows).set_index("seed")


def evaluate_committed(recipe: str, device: str, split: MnistSplit) -> tuple[pd.DataFrame, dict[int, Evaluation]]:
    """Every committed run of ``recipe`` on ``device`` evaluated again: each run's ``model.pt``
    loaded and scored on all of ``split``, on the split's device.

    Returns a pandas DataFrame, one row per seed (the checkpoint, its architecture and parameter
    count, the images, the number correct, the accuracy), and each seed's :class:`Evaluation`,
    scores included.
    """
    import pandas as pd

    from nnbook.mnist.checkpoint import load_model
    from nnbook.mnist.evaluate import evaluate
    from nnbook.mnist.models import count_parameters

    rows: dict[int, dict[str, Any]] = {}
    evaluations: dict[int, Evaluation] = {}
    for run in run_dirs(recipe, device):
        seed = load_history(run)["seed"]
        model, name = load_model(run / "model.pt")
        result = evaluations[seed] = evaluate(model.to(split.images.device), split)
        rows[seed] = {"checkpoint": (run / "model.pt").relative_to(results_root().parent).as_posix(), "model": name,
                      "parameters": count_parameters(model), "images": result.total, "correct": result.correct,
                      "accuracy": result.accuracy}
    if not rows:
        raise UsageError(f"no committed run of the {recipe} recipe on {device}")
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("seed"), evaluations


def device_table(recipes: tuple[str, ...] = ("book", "fast"),
                 runs: dict[tuple[str, str], Any] | None = None) -> Styler:
    """:func:`device_summary`, formatted for reading: percentages, seconds, "not timed"."""
    return device_summary(recipes, runs=runs).style.format(
        {"final min": "{:.2%}", "final max": "{:.2%}", "s per epoch": "{:.2f}", "s to 99.4 %": "{:.0f}",
         "s per command": "{:.1f}"}, na_rep="not timed")


def device_summary(recipes: tuple[str, ...] = ("book", "fast"), devices: tuple[str, ...] = ("cpu", "cuda"),
                   runs: dict[tuple[str, str], Any] | None = None) -> pd.DataFrame:
    """One row per recipe and device with committed runs: the machine, the seeds, the accuracy
    range and the times (median over the seeds), from the run folders' :func:`seed_runs` tables
    (``runs``: those already read, by (recipe, device); the others are read here)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for recipe in recipes:
        for device in devices:
            table = (runs or {}).get((recipe, device))
            if table is None:
                if not run_dirs(recipe, device):
                    continue
                table = seed_runs(recipe, device)
            first = table.iloc[0]
            rows.append({
                "recipe": recipe, "device": first["device_name"], "precision": first["precision"],
                "step": first["step_mode"], "seeds": len(table), "final min": table["final"].min(),
                "final max": table["final"].max(), "s per epoch": table["s_per_epoch"].median(),
                # set-up and epochs until the first epoch at 99.4 %, over the seeds that got there
                "s to 99.4 %": table["s_to_target"].dropna().median(),
                "s per command": table["command_s"].median(),
            })
    return pd.DataFrame(rows).set_index(["recipe", "device"])


def startup_times(path: str | Path | None = None) -> dict[str, list[float]]:
    """The whole-command wall times of ``results/gpu/h100-startup.txt``, in seconds, by bytecode cache.

    The file holds two sections, each headed by a ``== ...`` line and listing ``seed N wall T s``
    lines: the fast recipe's command with Python's bytecode cache in use (``"cache"``) and with
    it switched off by ``PYTHONDONTWRITEBYTECODE=1`` (``"no cache"``).
    """
    path = Path(path) if path is not None else results_root() / "gpu" / "h100-startup.txt"
    times: dict[str, list[float]] = {}
    section = None
    for line in path.read_text().splitlines():
        if line.startswith("== "):
            section = "no cache" if "PYTHONDONTWRITEBYTECODE=1" in line else "cache"
            if section in times:
                raise UsageError(f"{path}: two sections {section!r}")
            times[section] = []
        elif match := re.fullmatch(r"seed \d+ wall ([\d.]+) s", line.strip()):
            if section is None:
                raise UsageError(f"{path}: a wall time before any '== ' section heading")
            times[section].append(float(match.group(1)))
    if set(times) != {"cache", "no cache"} or not all(times.values()):
        raise UsageError(f"{path}: expected wall times with and without the bytecode cache, found {times}")
    return times


def load_sweep(name: str) -> dict[str, Any]:
    """A committed recipe sweep, ``results/recipes/<name>.json`` (written by ``python -m benchmarks.recipes``)."""
    path = results_root() / "recipes" / f"{name}.json"
    if not path.is_file():
        raise UsageError(f"no committed sweep {name!r}: {path} is missing")
    return json.loads(path.read_text())


def sweep_seeds(sweep: dict[str, Any], seeds: Iterable[int]) -> dict[str, Any]:
    """``sweep`` with only the runs of ``seeds``, to sum up part of a sweep, such as the seeds
    that came after a choice was made."""
    wanted = set(seeds)
    runs = [run for run in sweep["runs"] if run["seed"] in wanted]
    if not runs:
        raise UsageError(f"the sweep has no run of seeds {sorted(wanted)}")
    return {**sweep, "runs": runs}


def sweep_summary(sweep: dict[str, Any]) -> pd.DataFrame:
    """Each candidate's lowest, mean and highest final accuracy in ``sweep``, over the seeds that
    every candidate ran (a pandas DataFrame, one row per candidate, in the sweep's order).

    A sweep stopped at a time limit (``"complete": false``) holds a few more seeds for some
    candidates than for others; only the common seeds, listed in ``.attrs["seeds"]``, compare them
    on the same footing. ``.attrs["settings"]`` maps each candidate to the settings it trained with.
    """
    import pandas as pd

    finals: dict[str, dict[int, float]] = {}
    settings: dict[str, dict[str, Any]] = {}
    for run in sweep["runs"]:
        finals.setdefault(run["candidate"], {})[run["seed"]] = run["final"]
        settings.setdefault(run["candidate"], run["settings"])
    if not finals:
        raise UsageError("the sweep holds no runs")
    seeds = sorted(set.intersection(*(set(by_seed) for by_seed in finals.values())))
    if not seeds:
        raise UsageError("the sweep's candidates have no seed in common")
    rows = {name: [by_seed[s] for s in seeds] for name, by_seed in finals.items()}
    table = pd.DataFrame({"lowest": {n: min(v) for n, v in rows.items()},
                          "mean": {n: sum(v) / len(v) for n, v in rows.items()},
                          "highest": {n: max(v) for n, v in rows.items()}}).rename_axis("candidate")
    table.attrs["seeds"] = seeds
    table.attrs["settings"] = settings
    return table


def sweeps_table(summaries: Mapping[str, pd.DataFrame], level: str) -> Styler:
    """Sweep summaries (:func:`sweep_summary`) side by side, formatted for reading: one group of
    columns per key (the column level is called ``level``), labelled with the seeds the summary
    compares, such as ``"cpu, seeds 1–11"``."""
    import pandas as pd

    labelled = {f"{name}, {_seeds_label(summary.attrs['seeds'])}": summary for name, summary in summaries.items()}
    return pd.concat(labelled, axis=1, names=[level]).style.format("{:.2%}", na_rep="not run")


def _seeds_label(seeds: list[int]) -> str:
    """``seeds 1–16`` for a run of consecutive seeds, ``seeds 1, 3, 4`` otherwise."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}–{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def load_seed_sweep(recipe: str, device: str) -> dict[str, Any]:
    """The committed sweep of one recipe over many seeds on one device, scored on the test set
    (``results/recipes/many-seeds-<recipe>-<device>.json``): how often its seeds miss :data:`TARGET`."""
    return load_sweep(f"many-seeds-{recipe}-{device}")


def finals_by_seed(sweep: dict[str, Any]) -> dict[int, float]:
    """Seed -> final accuracy of a sweep of one candidate (such as ``--candidates book`` over many seeds)."""
    names = {run["candidate"] for run in sweep["runs"]}
    if len(names) != 1:
        raise UsageError(f"finals_by_seed() takes a sweep of one candidate, this one has {sorted(names)}")
    return {run["seed"]: run["final"] for run in sorted(sweep["runs"], key=lambda run: run["seed"])}


def plot_seed_finals(finals: Mapping[str, Mapping[int, float]]) -> Figure:
    """A Figure, one row per recipe: the share of its seeds that ended at each final accuracy, the
    seeds below :data:`TARGET` in red. Accuracies on 10,000 test images come in steps of 0.01 %,
    so each bar is one count of correct images."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 1.2 + 1.6 * len(finals)))
    axes = fig.subplots(len(finals), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, by_seed) in zip(axes, finals.items()):
        counts = Counter(by_seed.values())
        xs = sorted(counts)
        ax.bar([100 * x for x in xs], [100 * counts[x] / len(by_seed) for x in xs], width=0.008,
               color=["tab:red" if x < TARGET else "tab:blue" for x in xs])
        # the line between a miss and a pass: half a step below the target
        ax.axvline(100 * TARGET - 0.005, color="grey", lw=0.8, ls="--")
        ax.set(ylabel="% of seeds", title=f"{name}: {len(by_seed)} seeds")
        ax.grid(alpha=0.3)
    axes[-1].set(xlabel="final test accuracy (%)")
    fig.tight_layout()
    return fig


def on_benchmark_machine(device_name: str, torch_threads: int | None, machine: dict[str, Any]) -> bool:
    """Whether a run recorded the pipeline benchmark's CPU and its thread count (one torch thread
    per core), the machine every committed CPU run of the book is timed on (``machine``: the
    benchmark's record of it, ``load_benchmark()["machine"]``)."""
    return device_name == "CPU: " + machine["cpu"] and torch_threads == machine["torch_threads"] == machine["cores"]


def load_benchmark(path: str | Path | None = None) -> dict[str, Any]:
    """The committed pipeline benchmark, ``results/benchmark/benchmark.json`` (``python -m benchmarks.pipeline``)."""
    return json.loads(Path(path or results_root() / "benchmark" / "benchmark.json").read_text())


def _to_target(seconds: float | None, epochs: int) -> str:
    return "not reached" if seconds is None else f"{seconds:.0f} s ({epochs} epochs)"


def benchmark_rows(bench: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The measurements both views of the benchmark show (the appendix's table and
    ``benchmark.md``): row label -> (conventional, this book), as text."""
    a, b = bench["conventional"], bench["project"]
    return {
        "seconds per epoch (median, incl. test)": (f"{a['median_epoch_seconds']:.1f}",
                                                   f"{b['median_epoch_seconds']:.1f}"),
        "speed-up per epoch": ("1.0×", f"{bench['speedup_per_epoch']:.1f}×"),
        "peak memory (RSS incl. workers)": (f"{a['peak_rss_mib']:.0f} MiB", f"{b['peak_rss_mib']:.0f} MiB"),
        "wall time to 99.4 % (final epoch)": (
            _to_target(a["seconds_to_target"], a["first_epoch_at_target"]),
            "; ".join(f"seed {r['seed']}: " + _to_target(r["seconds_to_target"], len(r["epochs"])) for r in b["runs"])),
    }


def benchmark_table(bench: dict[str, Any] | None = None) -> Styler:
    """The benchmark's two pipelines side by side, as text for reading (a pandas Styler, which
    shows the long descriptions whole): :func:`benchmark_rows` under each pipeline's description."""
    import pandas as pd

    bench = load_benchmark() if bench is None else bench
    descriptions = (bench["conventional"]["description"], bench["project"]["description"])
    rows = {"pipeline": descriptions, **benchmark_rows(bench)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["conventional", "this book"]).style
