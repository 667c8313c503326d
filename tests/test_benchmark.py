"""The pipeline benchmark runs and writes well-formed output (tiny settings, no timing claims).

The speed-up itself is measured by ``python -m benchmarks.pipeline`` and committed under
``results/benchmark/``; a timed test on a shared CI machine would only be flaky.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from nnbook.mnist.config import command_for
from nnbook.paths import project_root

ROOT = project_root()
sys.path.insert(0, str(ROOT))  # `benchmarks` is a top-level folder of the repository, not installed
from benchmarks import pipeline  # noqa: E402


def test_benchmark_runs_and_writes_json_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    argv = ["--out", str(out), "--conventional-epochs", "2", "--project-seeds", "1",
            "--project-epochs", "1", "--limit-train", "256", "--limit-test", "500", "--quiet",
            "--floor-batch-sizes", "16", "32", "--floor-seconds", "0.2"]
    assert pipeline.main(argv) == 0
    result = json.loads((out / "benchmark.json").read_text())
    a, b = result["conventional"], result["project"]
    # A B A: one A epoch before B's only epoch, one after it, then A stops (2 epochs)
    assert [r["epoch"] for r in a["epochs"]] == [1, 2]
    assert result["order"] == ["A1", "B1/1", "A2"]
    assert len(b["runs"]) == 1 and len(b["runs"][0]["epochs"]) == 1
    assert result["train_images"] == 256 and result["test_images_conventional"] == 500
    for side in (a, b):
        assert side["median_epoch_seconds"] > 0 and side["peak_rss_mib"] > 0
    a_secs = [r["seconds"] for r in a["epochs"]]
    b_secs = [r["seconds"] for run in b["runs"] for r in run["epochs"]]
    assert a["median_epoch_seconds"] == statistics.median(a_secs)
    assert b["median_epoch_seconds"] == statistics.median(b_secs)
    assert result["speedup_per_epoch"] == statistics.median(a_secs) / statistics.median(b_secs)
    run = b["runs"][0]
    assert run["final_acc"] == run["epochs"][-1]["test_acc"]
    assert run["equivalent_command"] == command_for(run["config"], out=f"runs/benchmark-seed{run['seed']}")
    assert (run["seconds_to_target"] is None) == (run["final_acc"] < pipeline.TARGET)
    floor = result["floor"]
    assert set(floor["seconds_per_epoch"]) == {"16", "32"} and all(v > 0 for v in floor["seconds_per_epoch"].values())
    assert floor["best_seconds_per_epoch"] == min(floor["seconds_per_epoch"].values())
    assert floor["seconds_per_epoch"][str(floor["best_batch_size"])] == floor["best_seconds_per_epoch"]
    assert result["speedup_ceiling"] == a["median_epoch_seconds"] / floor["best_seconds_per_epoch"]
    fastest_a = min(r["seconds"] for r in a["epochs"])
    assert result["fastest"]["speedup_ceiling"] == fastest_a / floor["best_seconds_per_epoch"]
    assert all(0 <= r["test_acc"] <= 1 for r in a["epochs"])
    assert {"cpu", "cores", "torch"} <= set(result["machine"]) and result["measured"].endswith("Z")
    assert "--limit-train 256" in result["command"]
    md = (out / "benchmark.md").read_text()
    assert md.startswith("| |") and "seconds per epoch" in md and "speed-up" in md and "arithmetic alone" in md
    assert not list(out.glob(".*.tmp")), "atomic writes leave no temporary files"


def test_committed_benchmark_is_well_formed() -> None:
    path = ROOT / "results" / "benchmark" / "benchmark.json"
    result = json.loads(path.read_text())
    assert result["train_images"] == 60_000 and result["test_images_conventional"] == 10_000
    a_secs = [r["seconds"] for r in result["conventional"]["epochs"]]
    b_secs = [r["seconds"] for run in result["project"]["runs"] for r in run["epochs"]]
    assert result["conventional"]["median_epoch_seconds"] == statistics.median(a_secs)
    assert result["project"]["median_epoch_seconds"] == statistics.median(b_secs)
    assert result["speedup_per_epoch"] == statistics.median(a_secs) / statistics.median(b_secs)
    first = next(r["epoch"] for r in result["conventional"]["epochs"] if r["test_acc"] >= pipeline.TARGET)
    assert result["conventional"]["first_epoch_at_target"] == first
    for run in result["project"]["runs"]:
        assert run["final_acc"] == run["epochs"][-1]["test_acc"] >= pipeline.TARGET
    floor = result["floor"]["best_seconds_per_epoch"]
    assert result["speedup_ceiling"] == result["conventional"]["median_epoch_seconds"] / floor
    # the arithmetic alone is a floor: B's epochs add data handling and evaluation to it
    assert floor < result["project"]["median_epoch_seconds"]
    a_secs = [r["seconds"] for r in result["conventional"]["epochs"]]
    b_secs = [r["seconds"] for run in result["project"]["runs"] for r in run["epochs"]]
    fast = result["fastest"]
    assert (fast["conventional_seconds"], fast["project_seconds"]) == (min(a_secs), min(b_secs))
    assert fast["speedup"] == min(a_secs) / min(b_secs) and fast["speedup_ceiling"] == min(a_secs) / floor
    assert floor < fast["project_seconds"]
    assert (ROOT / "results" / "benchmark" / "benchmark.md").read_text() == pipeline.markdown(result)


def test_every_candidate_name_spells_its_settings() -> None:
    """`e5-b256-lr0.2-d0-wd1e-3-ls0.1`: 5 epochs, batches of 256, peak rate 0.2, no rotation or
    dropout, weight decay 1e-3, label smoothing 0.1 (read back here from each name, for every candidate).
    That each committed sweep holds its round's candidates: tests/test_mnist_results.py."""
    import re

    from benchmarks.recipes import CANDIDATES

    pattern = re.compile(r"e(\d+)-b(\d+)-lr([\d.]+)-d0(?:-wd(\d+e-\d+))?(?:-ls([\d.]+))?")
    for name, settings in CANDIDATES.items():
        if name == "book":
            assert settings == {}
            continue
        epochs, batch, lr, wd, ls = pattern.fullmatch(name).groups()
        spelled = {"epochs": int(epochs), "batch_size": int(batch), "lr": float(lr), "max_degrees": 0.0, "dropout": 0.0,
                   **({"weight_decay": float(wd)} if wd else {}), **({"label_smoothing": float(ls)} if ls else {})}
        assert settings == spelled, name


def test_a_sweeps_seeds_are_a_seed_or_a_range_and_nothing_else() -> None:
    import argparse

    import pytest

    from benchmarks.recipes import _seeds

    assert _seeds("3") == [3] and _seeds("1-16") == list(range(1, 17)) and _seeds("7-7") == [7]
    for bad, message in (("5-1", "empty range"), ("x", "not a seed"), ("1-x", "not a seed")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            _seeds(bad)
