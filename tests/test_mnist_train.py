"""Training, resuming, diverging, checkpoints and export: each failure provoked for real.

Runs use 512 training images and 2 epochs so the whole file stays fast on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from nnbook.mnist import evaluate as ev
from nnbook.mnist import models
from nnbook.mnist import train as T
from nnbook.paths import project_root

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

CFG = T.TrainConfig(epochs=2, limit_train=512, seed=7)
METRICS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "test_correct", "lr_end")


def _metrics(history: dict) -> list[dict]:
    """Per-epoch numbers without the wall times (those legitimately differ)."""
    return [{k: row[k] for k in METRICS} for row in history["epochs"]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One uninterrupted run that the other tests compare with."""
    out = tmp_path_factory.mktemp("ref") / "run"
    return out, T.train(CFG, out, progress=False, echo=False)


def _subprocess(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True,
                          text=True, cwd=project_root(), env=env, timeout=300)


def test_run_folder_contents(reference: tuple[Path, dict]) -> None:
    out, history = reference
    assert sorted(p.name for p in out.iterdir()) == sorted(T.RUN_FILES)
    saved = json.loads((out / "history.json").read_text())
    assert saved == json.loads(json.dumps(history))
    assert len(saved["epochs"]) == 2 and saved["params"] == models.count_parameters(models.build_model())
    assert set(saved["versions"]) == {"python", "torch", "torchvision", "nnbook"}
    assert saved["device"] == "cpu" and saved["test_images"] == 10_000
    assert all(row["seconds"] > 0 for row in saved["epochs"])
    state = torch.load(out / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    resume = torch.load(out / "resume.pt", weights_only=True)
    assert set(resume) >= {"model", "optimizer", "scheduler", "history", "config"}
    # the one-cycle schedule has annealed to ~0 by the last step
    assert saved["epochs"][-1]["lr_end"] < CFG.lr * 1e-3


def test_same_seed_gives_identical_history(reference: tuple[Path, dict]) -> None:
    _, history = reference
    again = T.train(CFG, None, progress=False, echo=False)
    assert _metrics(again) == _metrics(history)
    other = T.train(T.TrainConfig(epochs=2, limit_train=512, seed=8), None, progress=False, echo=False)
    assert _metrics(other) != _metrics(history), "the seed must change the run"


KILL_AFTER_EPOCH_1 = """
    import os, signal, sys
    from nnbook.mnist import train as T
    def hook(row):
        if row["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # a real kill, between two epochs
    T.train(T.TrainConfig(epochs=2, limit_train=512, seed=7), sys.argv[1], resume=True,
            progress=False, echo=False, on_epoch_end=hook)
"""

KILL_WHILE_SAVING_EPOCH_2 = """
    import io, os, signal, sys, torch
    from nnbook.mnist import train as T
    real_save, calls = torch.save, []
    def save(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) == 3:  # epoch 2's resume.pt: write half of it, then die
            buf = io.BytesIO()
            real_save(obj, buf)
            with open(f, "wb") as fh:
                fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
                fh.flush()
                os.fsync(fh.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        return real_save(obj, f, *args, **kwargs)
    torch.save = save
    T.train(T.TrainConfig(epochs=2, limit_train=512, seed=7), sys.argv[1], progress=False, echo=False)
"""


@pytest.mark.slow
@pytest.mark.parametrize("script", [KILL_AFTER_EPOCH_1, KILL_WHILE_SAVING_EPOCH_2], ids=["between-epochs", "mid-checkpoint"])
def test_killed_run_resumes_to_the_same_history(script: str, reference: tuple[Path, dict], tmp_path: Path) -> None:
    out = tmp_path / "run"
    killed = _subprocess(script, str(out))
    assert killed.returncode == -9, killed.stderr
    # the last complete epoch is on disk, intact and loadable
    assert len(json.loads((out / "history.json").read_text())["epochs"]) == 1
    torch.load(out / "resume.pt", weights_only=True)
    torch.load(out / "model.pt", weights_only=True)
    resumed = T.train(CFG, out, resume=True, progress=False, echo=False)
    assert _metrics(resumed) == _metrics(reference[1])
    assert not list(out.glob(".*.tmp")), "the killed write's temporary file is cleaned up"
    assert len(resumed["resumed_by"]) == 1


def test_resume_of_a_finished_run_changes_nothing(reference: tuple[Path, dict], tmp_path: Path) -> None:
    out, history = reference
    again = T.train(CFG, out, resume=True, progress=False, echo=False)
    assert _metrics(again) == _metrics(history)


def test_resume_with_other_settings_is_refused(reference: tuple[Path, dict]) -> None:
    out, _ = reference
    with pytest.raises(T.RunFolderError, match="seed: run has 7, command gives 8"):
        T.train(T.TrainConfig(epochs=2, limit_train=512, seed=8), out, resume=True, progress=False)


def test_diverging_run_stops_and_keeps_last_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, poisoned = tmp_path / "run", []
    real = T.F.cross_entropy

    def cross_entropy(*args, **kwargs):  # from epoch 2 on the loss is NaN, as after a blow-up
        loss = real(*args, **kwargs)
        return loss * float("nan") if poisoned else loss

    monkeypatch.setattr(T.F, "cross_entropy", cross_entropy)
    with pytest.raises(T.TrainingDiverged) as info:
        T.train(T.TrainConfig(epochs=2, limit_train=256), out, progress=False, echo=False,
                on_epoch_end=lambda row: poisoned.append(True))
    msg = str(info.value)
    assert "epoch 2, step 1/2" in msg and "learning rate" in msg and "epoch 1" in msg
    monkeypatch.undo()
    assert len(json.loads((out / "history.json").read_text())["epochs"]) == 1
    model, _ = ev.load_model(out / "model.pt")
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_huge_learning_rate_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", "train", "--epochs", "1", "--lr", "1e6",
                           "--limit-train", "2048", "--no-progress", "--out", str(out)],
                          capture_output=True, text=True, cwd=project_root(), timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "training diverged" in proc.stderr and "epoch 1, step" in proc.stderr
    assert "learning rate" in proc.stderr and "Traceback" not in proc.stderr


def test_checkpoint_of_another_architecture_names_the_layers(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pt"
    torch.save(models.build_model("tiny").state_dict(), path)
    assert ev.load_model(path)[1] == "tiny"  # found by its layers
    with pytest.raises(ev.CheckpointError, match=r"does not fit model 'main'.*: 2\.0\.weight: checkpoint \[12, 8, 3, 3\] vs model \[16, 8, 3, 3\]"):
        ev.load_model(path, "main")


def test_unreadable_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ev.CheckpointError, match="not a readable PyTorch checkpoint"):
        ev.load_model(path)
    with pytest.raises(ev.CheckpointError, match="no such checkpoint"):
        ev.load_model(tmp_path / "absent.pt")


def test_export_matches_the_eager_model(reference: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = reference
    model, _ = ev.load_model(out / "model.pt")
    for exported in (out / "model.torchscript.pt", ev.export_torchscript(model, tmp_path / "m.pt")):
        loaded = torch.jit.load(str(exported))
        x = torch.rand(16, 1, 28, 28)
        with torch.inference_mode():
            assert torch.allclose(loaded(x), model(x), atol=1e-5)
            assert loaded(x).shape == (16, 10)


def test_cli_evaluate_and_export(reference: tuple[Path, dict], tmp_path: Path) -> None:
    out, history = reference
    proc = subprocess.run(
        [sys.executable, "-m", "nnbook.mnist", "evaluate", str(out / "model.pt")],
        capture_output=True, text=True, cwd=project_root(), timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["accuracy"] == history["epochs"][-1]["test_acc"]
    assert result["correct"] == history["epochs"][-1]["test_correct"] and result["total"] == 10_000
    assert result["params"] == history["params"]

    from nnbook.mnist.__main__ import main

    assert main(["export", str(out / "model.pt"), str(tmp_path / "x.pt")]) == 0
    assert torch.jit.load(str(tmp_path / "x.pt"))(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_cli_evaluate_wrong_architecture_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nnbook.mnist.__main__ import main

    path = tmp_path / "tiny.pt"
    torch.save(models.build_model("tiny").state_dict(), path)
    assert main(["evaluate", str(path), "--model", "main"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not fit model 'main'" in err and "Traceback" not in err


BAD_ARGS = {
    "epochs-zero": ["--epochs", "0"],
    "epochs-negative": ["--epochs", "-3"],
    "lr-nan": ["--lr", "nan"],
    "lr-inf": ["--lr", "inf"],
    "lr-zero": ["--lr", "0"],
    "lr-negative": ["--lr", "-0.1"],
    "batch-size-zero": ["--batch-size", "0"],
    "model-unknown": ["--model", "resnet"],
    "resume-and-overwrite": ["--resume", "--overwrite"],
}


@pytest.mark.parametrize("extra", BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_cli_rejects_bad_values(extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nnbook.mnist.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["train", "--out", str(tmp_path / "new"), *extra])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()


def test_cli_refuses_existing_out_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nnbook.mnist.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["train", "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "already exists; add --resume" in capsys.readouterr().err


def test_cli_usage_error_in_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", "train", "--epochs", "0", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, cwd=project_root(), timeout=120)
    assert proc.returncode == 2 and "usage:" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_data_error_is_one_line(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(project_root() / "data" / "mnist", tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", "train", "--epochs", "1", "--data-root", str(tmp_path),
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, cwd=project_root(), timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "t10k-labels-idx1-ubyte.gz is missing. Re-copy it from" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_training_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert T.training_setting("full") == {"name": "full", "epochs": 20, "limit_train": None}
    assert T.training_setting("quick") == {"name": "quick", "epochs": 2, "limit_train": 8000}
    monkeypatch.delenv("NNBOOK_TRAINING", raising=False)
    expected = "quick" if not (torch.cuda.is_available() or torch.backends.mps.is_available()) else "full"
    assert T.training_setting()["name"] == expected
    with pytest.raises(ValueError, match="NNBOOK_TRAINING"):
        T.training_setting("fast")


def test_text_progress_prints_each_epochs_bar_once_in_its_final_state(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the static book shows: one finished bar per epoch, not hundreds of redraws."""
    monkeypatch.setenv("NNBOOK_PROGRESS", "text")
    T.train(T.TrainConfig(epochs=2, limit_train=512, batch_size=128), progress=True, echo=False)
    bars = [line for line in capsys.readouterr().err.splitlines() if line.startswith("epoch ")]
    assert len(bars) == 2
    for epoch, line in enumerate(bars, start=1):
        assert line.startswith(f"epoch {epoch}/2: 100%|") and "4/4" in line and "acc=" in line
