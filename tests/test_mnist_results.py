"""The committed results as the chapters read them: the GPU start-up record, the pipeline benchmark."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nnbook.errors import UsageError
from nnbook.mnist import results as R


def test_startup_times_read_every_run_of_the_committed_record() -> None:
    """Each ``seed N wall T s`` line follows the run's own JSON line: the wall time of the whole
    command must cover that run's set-up and training, and no run may be lost or moved."""
    path = R.results_root() / "gpu" / "h100-startup.txt"
    times = R.startup_times()
    runs: dict[str, list[dict]] = {"cache": [], "no cache": []}
    section = None
    for line in path.read_text().splitlines():
        if line.startswith("=="):
            section = "no cache" if "PYTHONDONTWRITEBYTECODE" in line else "cache"
        elif line.startswith("{"):
            runs[section].append(json.loads(line))
    assert {k: len(v) for k, v in times.items()} == {k: len(v) for k, v in runs.items()}
    for key in runs:
        for wall, run in zip(times[key], runs[key]):
            assert wall > run["setup_seconds"] + run["train_seconds"]
    # without the cache every start compiles again: slower than every cached start but the first
    assert min(times["no cache"]) > max(times["cache"][1:])


def test_startup_times_reject_a_record_without_both_sections(tmp_path: Path) -> None:
    path = tmp_path / "startup.txt"
    path.write_text("== with a cache:\nseed 1 wall 7.0 s\n")
    with pytest.raises(UsageError, match="with and without the bytecode cache"):
        R.startup_times(path)
    path.write_text("seed 1 wall 7.0 s\n")
    with pytest.raises(UsageError, match="before any"):
        R.startup_times(path)


def test_benchmark_table_shows_the_committed_numbers_whole() -> None:
    bench = R.load_benchmark()
    a, b = bench["conventional"], bench["project"]
    styler = R.benchmark_table()
    table = styler.data
    assert list(table.columns) == ["conventional", "this book"]
    # the speed-up recomputed from the two medians, not copied from the summary field
    ratio = a["median_epoch_seconds"] / b["median_epoch_seconds"]
    assert table.loc["speed-up per epoch", "this book"] == f"{ratio:.1f}×"
    assert table.loc["seconds per epoch (median, incl. test)", "conventional"] == f"{a['median_epoch_seconds']:.1f}"
    to_target = table.loc["wall time to 99.4 % (final epoch)", "this book"]
    shown = re.findall(r"seed (\d+): (\d+) s \((\d+) epochs\)", to_target)
    assert [tuple(map(int, row)) for row in shown] == [
        (r["seed"], round(r["seconds_to_target"]), len(r["epochs"])) for r in b["runs"]]
    html = styler.to_html()
    assert a["description"].replace("&", "&amp;") in html and b["description"].replace("&", "&amp;") in html


@pytest.mark.parametrize("recipe", ["book", "fast", "tiny"])
def test_seed_runs_say_where_each_run_ran(recipe: str) -> None:
    """The CPU computes in float32; a GPU run records the GPU and a lower precision (see train)."""
    cpu, cuda = R.seed_runs(recipe, "cpu"), R.seed_runs(recipe, "cuda")
    assert (cpu["precision"] == "fp32").all() and cpu["device_name"].str.startswith("CPU").all()
    assert cuda["precision"].isin({"bf16", "fp16"}).all() and not cuda["device_name"].str.startswith("CPU").any()
    assert list(cpu.index) == list(cuda.index)


def test_sweep_summary_compares_candidates_on_their_common_seeds() -> None:
    runs = [{"candidate": "a", "seed": 1, "final": 0.9940}, {"candidate": "a", "seed": 2, "final": 0.9950},
            {"candidate": "a", "seed": 3, "final": 0.9900},  # only "a" got to seed 3: left out
            {"candidate": "b", "seed": 2, "final": 0.9930}, {"candidate": "b", "seed": 1, "final": 0.9960}]
    for run in runs:
        run["settings"] = {"lr": 0.1 if run["candidate"] == "a" else 0.2}
    table = R.sweep_summary({"runs": runs, "complete": False})
    assert table.attrs["seeds"] == [1, 2]
    assert table.attrs["settings"] == {"a": {"lr": 0.1}, "b": {"lr": 0.2}}
    assert list(table.index) == ["a", "b"]
    assert table.loc["a"].tolist() == pytest.approx([0.9940, 0.9945, 0.9950])
    assert table.loc["b"].tolist() == pytest.approx([0.9930, 0.9945, 0.9960])
    with pytest.raises(UsageError, match="no seed in common"):
        R.sweep_summary({"runs": [{"candidate": "a", "seed": 1, "final": 0.99, "settings": {}},
                                  {"candidate": "b", "seed": 2, "final": 0.99, "settings": {}}]})


@pytest.mark.parametrize("name", ["round2-validation-cpu", "round2-validation-cuda", "round3-first-look-cpu",
                                  "round3-validation-cpu"])
def test_sweep_summary_of_each_later_round_is_its_runs_seed_by_seed(name: str) -> None:
    sweep = R.load_sweep(name)
    table = R.sweep_summary(sweep)
    for candidate, row in table.iterrows():  # recomputed here from the runs, seed by seed
        finals = sorted(r["final"] for r in sweep["runs"]
                        if r["candidate"] == candidate and r["seed"] in table.attrs["seeds"])
        assert len(finals) == len(table.attrs["seeds"])
        assert (row["lowest"], row["highest"]) == (finals[0], finals[-1])
        assert row["mean"] == pytest.approx(sum(finals) / len(finals), abs=1e-12)
    assert all(r["evaluated_on"] == "validation" for r in sweep["runs"])
    with pytest.raises(UsageError, match="no committed sweep"):
        R.load_sweep("no-such-sweep")


def test_sweep_seeds_keeps_the_runs_of_those_seeds() -> None:
    runs = [{"candidate": c, "seed": seed, "final": 0.99 + seed / 1000, "settings": {}}
            for c in "ab" for seed in (1, 2, 3)]
    sweep = {"runs": runs}
    part = R.sweep_seeds(sweep, range(2, 4))
    assert [(r["candidate"], r["seed"]) for r in part["runs"]] == [("a", 2), ("a", 3), ("b", 2), ("b", 3)]
    assert R.sweep_summary(part).attrs["seeds"] == [2, 3] and R.sweep_summary(part).loc["a", "lowest"] == 0.992
    assert len(sweep["runs"]) == 6  # the sweep itself is left alone
    with pytest.raises(UsageError, match=r"no run of seeds \[7\]"):
        R.sweep_seeds(sweep, [7])


def test_recipe_runs_add_seeds_to_the_committed_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import recipe_runs  # tools/, on the path from conftest.py

    table = tmp_path / "fast" / "cpu-runs.json"
    table.parent.mkdir(parents=True)
    cpu = {"device_name": "CPU: A"}
    table.write_text(json.dumps([{"seed": 1, "final": 0.995, **cpu}, {"seed": 2, "final": 0.993, **cpu}]))
    new = {"final": 0.5, "train_seconds": 1.0, "command_seconds": 2.0, **cpu}
    monkeypatch.setattr(recipe_runs, "run_seed", lambda recipe, seed, device, results: {"seed": seed, **new})
    assert recipe_runs.main(["--recipe", "fast", "--device", "cpu", "--seeds", "2-3", "--results", str(tmp_path)]) == 0
    assert json.loads(table.read_text()) == [{"seed": 1, "final": 0.995, **cpu}, {"seed": 2, **new}, {"seed": 3, **new}]
    assert [p.name for p in table.parent.iterdir()] == ["cpu-runs.json"]  # no temporary file left behind
    # another machine's times are not mixed into the table
    before = table.read_text()
    with pytest.raises(UsageError, match="would mix the times of CPU: A and CPU: B"):
        recipe_runs.add_runs(table, [{"seed": 4, "final": 0.99, "device_name": "CPU: B"}])
    assert table.read_text() == before


def test_images_needed_is_the_fewest_correct_images_at_the_target() -> None:
    for total in (1, 7, 500, 9_999, 10_000, 12_345):
        needed = R.images_needed(total)
        assert needed / total >= R.TARGET and (needed - 1) / total < R.TARGET, total
    assert R.images_needed(10_000) == 9_940  # where 0.994 * 10000 in floating point is 9939.999...
    with pytest.raises(UsageError, match="positive count"):
        R.images_needed(0)


def test_on_benchmark_machine_needs_its_cpu_and_a_thread_per_core() -> None:
    machine = {"cpu": "AMD EPYC", "cores": 2, "torch_threads": 2}
    assert R.on_benchmark_machine("CPU: AMD EPYC", 2, machine)
    assert not R.on_benchmark_machine("CPU: AMD EPYC", 1, machine)
    assert not R.on_benchmark_machine("CPU: Intel Xeon", 2, machine)
    assert not R.on_benchmark_machine("NVIDIA H100 80GB HBM3", 2, machine)
    assert not R.on_benchmark_machine("CPU: AMD EPYC", 4, {**machine, "cores": 4})  # its own threads: 2
    # every committed CPU run of the three recipes was timed there
    machine = R.load_benchmark()["machine"]
    assert all(R.on_benchmark_machine(r.device_name, r.torch_threads, machine)
               for name in ("book", "fast", "tiny") for r in R.seed_runs(name, "cpu").itertuples())


def test_run_dir_names_a_committed_run_or_refuses() -> None:
    assert R.run_dir("book", "cpu", 1) == R.results_root() / "book" / "cpu-seed1"
    assert R.run_dir("fast", "cuda", 16) in R.run_dirs("fast", "cuda")
    with pytest.raises(UsageError, match="no committed run of the book recipe on cpu for seed 99"):
        R.run_dir("book", "cpu", 99)


def test_device_summary_from_tables_already_read_is_the_same() -> None:
    read = {(name, dev): R.seed_runs(name, dev) for name in ("book", "fast") for dev in ("cpu", "cuda")}
    assert R.device_summary(runs=read).equals(R.device_summary())
    fast = R.device_summary().xs("fast")
    assert fast.loc["NVIDIA H100 80GB HBM3", "step"] == "cuda-graph" and fast["seeds"].tolist() == [16, 16]


def test_matches_recipe_tells_a_run_of_the_current_settings_from_an_earlier_one() -> None:
    from nnbook.mnist.config import recipe

    config = recipe("book", seed=3).as_dict()
    assert R.matches_recipe({"config": config, "seed": 3}, "book")
    assert not R.matches_recipe({"config": {**config, "lr": 0.3}, "seed": 3}, "book")
    assert not R.matches_recipe({"config": config, "seed": 3}, "fast")
    # a history written before label smoothing existed trained with none, the book's setting
    older = {k: v for k, v in config.items() if k != "label_smoothing"}
    assert R.matches_recipe({"config": older, "seed": 3}, "book")
    # any other setting missing is not filled in: such a history is not of the recipe
    assert not R.matches_recipe({"config": {k: v for k, v in config.items() if k != "lr"}, "seed": 3}, "book")


def test_a_history_written_before_a_setting_existed_reads_with_its_default(tmp_path: Path) -> None:
    from nnbook.mnist.config import recipe
    from nnbook.mnist.history import load_history

    written = json.loads((R.run_dir("fast", "cpu", 6) / "history.json").read_text())
    assert "label_smoothing" not in written["config"], "the committed runs predate the setting"
    (tmp_path / "history.json").write_text(json.dumps(written))
    read = load_history(tmp_path)
    assert read["config"] == recipe("fast", seed=6).as_dict() and read["config"]["label_smoothing"] == 0.0
    assert {k: v for k, v in read.items() if k != "config"} == {k: v for k, v in written.items() if k != "config"}


#: each committed sweep and the round of benchmarks/recipes.py that made it (``book``: --candidates book)
SWEEP_ROUNDS = {"validation": "1", "test": "1", "round2-validation-cpu": "2", "round2-validation-cuda": "2",
                "round3-first-look-cpu": "3-first-look", "round3-validation-cpu": "3", "validation-book": "book",
                "many-seeds-fast-cuda": "fast", "many-seeds-book-cuda": "book", "many-seeds-fast-cpu": "fast"}


@pytest.mark.parametrize("name", SWEEP_ROUNDS)
def test_each_committed_sweep_is_its_rounds_candidates_with_their_settings(name: str) -> None:
    """So `python -m benchmarks.recipes --round R` (or `--candidates book`) re-runs what the file
    holds, and nothing else."""
    from benchmarks.recipes import CANDIDATES, FAST_NAME, ROUNDS

    sweep = R.load_sweep(name)
    rounds = {**ROUNDS, "book": {"book": CANDIDATES["book"]}, "fast": {FAST_NAME: CANDIDATES[FAST_NAME]}}
    candidates = rounds[SWEEP_ROUNDS[name]]
    assert list(dict.fromkeys(run["candidate"] for run in sweep["runs"])) == list(candidates)
    assert all(run["settings"] == candidates[run["candidate"]] for run in sweep["runs"])
    assert sorted(p.stem for p in (R.results_root() / "recipes").glob("*.json")) == sorted(SWEEP_ROUNDS), \
        "every sweep file is named here"


def test_finals_by_seed_reads_a_sweep_of_one_candidate() -> None:
    runs = [{"candidate": "a", "seed": seed, "final": 0.99 + seed / 1000, "settings": {}} for seed in (3, 1, 2)]
    assert R.finals_by_seed({"runs": runs}) == {1: 0.991, 2: 0.992, 3: 0.993}
    assert list(R.finals_by_seed({"runs": runs})) == [1, 2, 3]
    with pytest.raises(UsageError, match=r"one candidate, this one has \['a', 'b'\]"):
        R.finals_by_seed({"runs": runs + [{**runs[0], "candidate": "b"}]})


def test_plot_seed_finals_shows_each_seed_once_and_the_misses_in_red() -> None:
    from matplotlib.colors import to_rgba

    finals = {"x": {1: 0.9950, 2: 0.9950, 3: 0.9935, 4: 0.9940}, "y": {1: 0.9961}}
    fig = R.plot_seed_finals(finals)
    for ax, by_seed in zip(fig.axes, finals.values()):
        bars = list(ax.patches)
        assert sum(b.get_height() for b in bars) == pytest.approx(100)  # shares of the seeds
        heights = {round(b.get_x() + b.get_width() / 2, 6): b.get_height() for b in bars}
        assert heights == {round(100 * a, 6): pytest.approx(100 * list(by_seed.values()).count(a) / len(by_seed))
                           for a in by_seed.values()}
        red = [b for b in bars if b.get_facecolor() == to_rgba("tab:red")]
        assert [round(b.get_x() + b.get_width() / 2, 6) for b in red] == [
            round(100 * a, 6) for a in sorted(set(by_seed.values())) if a < R.TARGET]
        (line,) = ax.get_lines()  # between the last miss (99.39 %) and the first pass (99.40 %)
        assert 99.39 < line.get_xdata()[0] < 99.40


@pytest.mark.parametrize("recipe, machine", [("fast", "cuda"), ("book", "cuda"), ("fast", "cpu")])
def test_the_many_seeds_sweeps_and_the_committed_runs(recipe: str, machine: str) -> None:
    """On the GPU the sweep trained each seed as `make gpu-check` did (the same settings, the same
    GPU, bf16 and a CUDA graph), so its first seeds must end where the committed runs ended, image
    for image. On the CPU it ran one torch thread per run where the committed runs had one per
    core: the same machine, sums in another order, other finals. Seeds are 1..N without a gap,
    every run on the test set. (The parameter is not named ``device``: the conftest would take this
    for a test that runs on a device, and `make gpu-check` would run it as one.)"""
    sweep = R.load_seed_sweep(recipe, machine)
    assert sweep == R.load_sweep(f"many-seeds-{recipe}-{machine}")
    finals = R.finals_by_seed(sweep)
    assert list(finals) == list(range(1, len(finals) + 1))
    committed = R.seed_runs(recipe, machine)
    assert len(finals) > 4 * len(committed)
    same = {seed: finals[seed] for seed in committed.index} == committed["final"].to_dict()
    assert same == (machine == "cuda")
    assert {r["evaluated_on"] for r in sweep["runs"]} == {"test"}
    assert {r["device_name"] for r in sweep["runs"]} == set(committed["device_name"])
    if machine == "cuda":
        assert {(r["precision"], r["step_mode"]) for r in sweep["runs"]} == {
            tuple(committed[["precision", "step_mode"]].iloc[0])}
    else:
        assert {r["torch_threads"] for r in sweep["runs"]} == {1} and 1 not in set(committed["torch_threads"])


def test_the_times_of_a_hand_written_history() -> None:
    """seconds_to counts the set-up and every epoch up to the first at the target; the pace is the
    true median of the epochs' seconds (the mean of the middle two for an even count)."""
    from nnbook.mnist.history import median_epoch_seconds, seconds_to

    rows = [{"epoch": e, "test_acc": acc, "seconds": s}
            for e, (acc, s) in enumerate([(0.98, 9.0), (0.993, 2.0), (0.994, 3.0), (0.990, 5.0)], start=1)]
    history = {"setup_seconds": 1.5, "epochs": rows}
    assert seconds_to(history, 0.994) == 1.5 + 9.0 + 2.0 + 3.0  # the first epoch at 99.4 %, not a later one
    assert seconds_to(history, 0.98) == 1.5 + 9.0 and seconds_to(history, 0.995) is None
    assert seconds_to({"epochs": rows}, 0.98) == 9.0  # a history without set-up time
    assert median_epoch_seconds(history) == (3.0 + 5.0) / 2
    assert median_epoch_seconds({"epochs": rows[:3]}) == 3.0
    # the committed tables use it: each seed's pace from its own history
    table = R.seed_runs("book", "cpu")
    for seed, run in zip(table.index, R.run_dirs("book", "cpu")):
        seconds = sorted(row["seconds"] for row in json.loads((run / "history.json").read_text())["epochs"])
        assert table.loc[seed, "s_per_epoch"] == (seconds[9] + seconds[10]) / 2  # 20 epochs


def test_sweeps_table_sets_summaries_side_by_side_under_the_seeds_they_compare() -> None:
    runs = [{"candidate": c, "seed": s, "final": 0.99 + s / 1000, "settings": {}}
            for c in ("a", "b") for s in (1, 2, 3)]
    late = [{"candidate": "a", "seed": s, "final": 0.993, "settings": {}} for s in (4, 7)]
    summaries = {"cpu": R.sweep_summary({"runs": runs}), "gpu": R.sweep_summary({"runs": late})}
    table = R.sweeps_table(summaries, level="device").data
    assert list(table.columns.get_level_values(0).unique()) == ["cpu, seeds 1–3", "gpu, seeds 4, 7"]
    assert table.columns.names[0] == "device"
    assert table.loc["a", ("cpu, seeds 1–3", "mean")] == pytest.approx(0.992)
    assert table.loc["a", ("gpu, seeds 4, 7", "lowest")] == 0.993
    assert table[("gpu, seeds 4, 7", "mean")].isna().tolist() == [False, True]  # b never ran there: "not run"
    assert R.sweeps_table({"x": R.sweep_summary({"runs": late[:1]})}, "step").data.columns[0][0] == "x, seed 4"


def test_evaluate_committed_scores_every_committed_checkpoint_again() -> None:
    import torch

    from nnbook.mnist import data

    test = data.load_split(False)
    part = data.MnistSplit(test.images[:500], test.labels[:500])
    table, evaluations = R.evaluate_committed("tiny", "cpu", part)
    seeds = [json.loads((run / "history.json").read_text())["seed"] for run in R.run_dirs("tiny", "cpu")]
    assert list(table.index) == seeds == sorted(evaluations)
    assert set(table["model"]) == {"tiny"} and (table["images"] == 500).all()
    for seed in seeds:  # the counts, made again from each seed's own scores
        right = int((evaluations[seed].scores.argmax(1) == part.labels).sum())
        assert table.loc[seed, "correct"] == right and table.loc[seed, "accuracy"] == right / 500
        assert table.loc[seed, "checkpoint"] == f"results/tiny/cpu-seed{seed}/model.pt"
    assert isinstance(evaluations[seeds[0]].scores, torch.Tensor)
    with pytest.raises(UsageError, match="no committed run of the book recipe on mps"):
        R.evaluate_committed("book", "mps", part)
