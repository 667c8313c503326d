"""The GPU check's own logic, run where CI runs it: on the CPU.

``make gpu-check`` runs on a GPU machine, which few sessions have; a mistake in its plumbing would
only show there, and cost that machine's time. So its parts are checked here: the command line
it drives (for real, on the CPU, on a short run), the verdict and the summary line (on made-up
runs), and its refusals.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import gpu_check  # tools/, on the path from conftest.py
from nnbook.mnist.results import TARGET

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


def _run(recipe: str, seed: int, final: float) -> dict:
    return {"recipe": recipe, "seed": seed, "final": final, "median_epoch_seconds": 0.31, "train_seconds": 1.04,
            "command_seconds": 6.25}


RUNS = [_run("book", 1, 0.9951), _run("fast", 1, 0.9944), _run("fast", 2, 0.9950), _run("tiny", 1, 0.9939)]


def test_the_verdict_needs_every_book_and_fast_run_at_the_target_and_the_tests_passed() -> None:
    summary, line, ok = gpu_check.summarise("GPU X", 0, "31 passed", RUNS, ["part2/data (3 s)"], {})
    assert ok and summary["book_and_fast_reached_99.4"]
    # the tiny model's run below the target is reported, not required
    assert line == ("gpu-check passed on GPU X: book recipe 0.31 s/epoch, final >= 99.51% (seeds 1-1); "
                    "fast recipe final >= 99.44% (seeds 1-2), <= 1.0 s training, <= 6.2 s per command; "
                    "tiny model final 99.39%; 31 passed; 1 chapters executed")
    assert (summary["fast_final_min"], summary["tiny_finals"]) == (0.9944, [0.9939])
    below = [*RUNS, _run("fast", 3, TARGET - 0.0001)]
    for runs, status in ((below, 0), (RUNS, 1), ([r for r in RUNS if r["recipe"] == "tiny"], 0), ([], 0)):
        summary, line, ok = gpu_check.summarise("GPU X", status, "31 passed", runs, [], {})
        assert not ok and not summary["book_and_fast_reached_99.4"] and line.startswith("gpu-check FAILED"), runs


def test_without_a_cuda_gpu_the_check_refuses_and_says_why(capsys: pytest.CaptureFixture) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert gpu_check.main(["--skip-chapters"]) == 2
    assert "no CUDA GPU here" in capsys.readouterr().err


def test_a_missing_module_is_named_before_any_training(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    # every other module present, whatever this Python has
    monkeypatch.setattr(gpu_check.importlib.util, "find_spec", lambda m: None if m in ("yaml", "myst_nb") else m)
    monkeypatch.setattr(gpu_check, "device_tests", lambda: pytest.fail("nothing may run before the check"))
    assert gpu_check.main([]) == 2
    assert "pip install pyyaml myst-nb" in capsys.readouterr().err
    assert gpu_check.missing_modules(chapters=False) == ["pyyaml"]


def test_the_command_line_it_drives_works_on_the_cpu(tmp_path: Path) -> None:
    """Train, resume, evaluate, export to TorchScript and ONNX, compare ONNX with PyTorch: the
    same calls the check makes on CUDA, here on a short run."""
    evaluated, agreement = gpu_check.command_line(tmp_path, device="cpu",
                                                  train_flags=("--epochs", "1", "--limit-train", "4096"))
    assert agreement.total == 10_000 and agreement.same_class == agreement.total
    # 16 steps learn far beyond chance (about 1,000 of the 10,000)
    assert evaluated["correct"] > 3_000 and (tmp_path / "exported.onnx").is_file()


def test_a_check_whose_parts_pass_writes_its_record_and_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    """main() itself, with the GPU's parts replaced by what they return: what it asks of each part,
    the record it keeps (--results) and the line it prints."""
    from nnbook.mnist.onnx_export import Agreement

    asked = {}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "GPU X")
    monkeypatch.setattr(gpu_check, "missing_modules", lambda chapters: [])
    monkeypatch.setattr(gpu_check, "device_tests", lambda: (0, "31 passed"))
    monkeypatch.setattr(gpu_check, "train_recipes", lambda results, seeds: asked.update(seeds=seeds) or RUNS)
    agreement = Agreement(same_class=10_000, total=10_000, max_difference=4.8e-6, onnx_correct=9949, torch_correct=9949)
    monkeypatch.setattr(gpu_check, "command_line", lambda work: ({"correct": 9949}, agreement))
    monkeypatch.setattr(gpu_check, "_chapters", lambda work: pytest.fail("--skip-chapters runs none"))
    assert gpu_check.main(["--results", str(tmp_path), "--fast-seeds", "2", "--skip-chapters"]) == 0
    assert asked["seeds"] == {"book": 3, "fast": 2, "tiny": 3}
    record = json.loads((tmp_path / "gpu-check.json").read_text())
    assert record["device_name"] == "GPU X" and record["onnx"]["same_class"] == 10_000
    assert record["evaluate"] == {"correct": 9949} and record["torch"] == str(torch.__version__)
    assert record["book_and_fast_reached_99.4"] and record["chapters"] == []
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("gpu-check passed on GPU X: book recipe")
    # one fast run below the target: the same check fails, and says so
    monkeypatch.setattr(gpu_check, "train_recipes", lambda results, seeds: [*RUNS, _run("fast", 3, 0.9937)])
    assert gpu_check.main(["--results", str(tmp_path), "--skip-chapters"]) == 1
    assert not json.loads((tmp_path / "gpu-check.json").read_text())["book_and_fast_reached_99.4"]
