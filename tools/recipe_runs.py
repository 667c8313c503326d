"""Run a recipe for several seeds on one device, each as its own command, and time each command.

    python tools/recipe_runs.py --recipe fast --device cpu --seeds 1-16 --results results

Each run is ``python -m nnbook.mnist train --recipe R --seed S --device D --out DIR/R/D-seedS``
(the command its ``history.json`` records); ``DIR/R/D-runs.json`` gets one row per seed with
the final accuracy and the wall time of the whole command, from process start to exit
(imports, data, training, evaluation and export included). Runs go one after another, so
the timings do not share the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the book's package, where it is not installed
from nnbook.errors import UsageError  # noqa: E402
from nnbook.io import write_text_atomic  # noqa: E402
from nnbook.mnist.history import median_epoch_seconds  # noqa: E402


def run_seed(recipe: str, seed: int, device: str, results: Path, env: dict[str, str] | None = None) -> dict:
    """Train one seed as a separate process; return its row (raises on failure)."""
    out = results / recipe / f"{device}-seed{seed}"
    try:
        shown = out.relative_to(ROOT)
    except ValueError:
        shown = out
    cmd = [sys.executable, "-m", "nnbook.mnist", "train", "--recipe", recipe, "--seed", str(seed), "--device", device,
           "--no-progress", "--out", str(shown), "--overwrite"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env or os.environ.copy())
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    for name in ("resume.pt", "model.torchscript.pt", ".nnbook.lock"):  # committed runs keep weights and history
        (out / name).unlink()
    h = json.loads((out / "history.json").read_text())
    return {"seed": seed, "final": h["epochs"][-1]["test_acc"], "final_correct": h["epochs"][-1]["test_correct"],
            "epochs": len(h["epochs"]), "median_epoch_seconds": median_epoch_seconds(h),
            "train_seconds": h["total_seconds"], "setup_seconds": h["setup_seconds"], "command_seconds": wall,
            "device_name": h["device_name"], "precision": h["precision"], "step_mode": h["step_mode"],
            "command": h["command"]}


def add_runs(table: Path, rows: list[dict]) -> None:
    """Put ``rows`` into the runs table ``table`` (``<recipe>/<device>-runs.json``), by seed.

    A row replaces the row of its seed; the rows of seeds not run this time stay, as their run
    folders do, so more seeds add to a table. A table holds one machine's times: rows from another
    device are refused (move the old table away first). The file is written whole.
    """
    merged = {row["seed"]: row for row in (json.loads(table.read_text()) if table.is_file() else [])}
    machines = {row["device_name"] for row in [*merged.values(), *rows]}
    if len(machines) > 1:
        raise UsageError(f"{table} would mix the times of {' and '.join(sorted(machines))}; "
                         "move it away to start a table for this machine")
    merged |= {row["seed"]: row for row in rows}
    write_text_atomic(table, json.dumps([merged[s] for s in sorted(merged)], indent=1) + "\n")


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--seeds", type=_seeds, default=_seeds("1-3"))
    p.add_argument("--results", type=Path, default=ROOT / "results")
    args = p.parse_args(argv)
    results = args.results.resolve()
    for seed in args.seeds:
        row = run_seed(args.recipe, seed, args.device, results)
        add_runs(results / args.recipe / f"{args.device}-runs.json", [row])
        print(f"{args.recipe} {args.device} seed {seed}: final {row['final']:.2%}, train {row['train_seconds']:.1f} s, "
              f"command {row['command_seconds']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
