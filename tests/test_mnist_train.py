"""Training, resuming, diverging, checkpoints and export: each failure provoked for real.

Runs use 512 training images and 2 epochs so the whole file stays fast on 2 CPU cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from nnbook.mnist import checkpoint as ev
from nnbook.mnist import models
from nnbook.mnist import train as T
from nnbook.mnist.config import TrainConfig
from nnbook.paths import project_root

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

CFG = TrainConfig(epochs=2, limit_train=512, seed=7)
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
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(T.RUN_FILES)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".nnbook.lock"]
    saved = json.loads((out / "history.json").read_text())
    assert saved == json.loads(json.dumps(history))
    assert len(saved["epochs"]) == 2 and saved["params"] == models.count_parameters(models.build_model())
    assert set(saved["versions"]) == {"python", "torch", "nnbook"}
    assert saved["optimizer"]["momentum"] == CFG.momentum and saved["optimizer"]["momentum_schedule"] == "constant"
    assert saved["precision"] == "fp32" and saved["step_mode"] == "eager" and saved["device_name"].startswith("CPU")
    assert saved["device"] == "cpu" and saved["test_images"] == 10_000
    assert all(row["seconds"] > 0 for row in saved["epochs"])
    state = torch.load(out / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    resume = torch.load(out / "resume.pt", weights_only=True)
    # no scheduler state: the rate is a function of the step, which the history gives
    assert set(resume) >= {"model", "optimizer", "scaler", "history", "config"}
    # the one-cycle schedule has annealed to ~0 by the last step
    assert saved["epochs"][-1]["lr_end"] < CFG.lr * 1e-3


def test_same_seed_gives_identical_history(reference: tuple[Path, dict]) -> None:
    _, history = reference
    again = T.train(CFG, None, progress=False, echo=False)
    assert _metrics(again) == _metrics(history)
    other = T.train(TrainConfig(epochs=2, limit_train=512, seed=8), None, progress=False, echo=False)
    assert _metrics(other) != _metrics(history), "the seed must change the run"


KILL_AFTER_EPOCH_1 = """
    import os, signal, sys
    from nnbook.mnist import train as T
    from nnbook.mnist.config import TrainConfig
    def hook(row):
        if row["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # a real kill, between two epochs
    T.train(TrainConfig(epochs=2, limit_train=512, seed=7), sys.argv[1], resume=True,
            progress=False, echo=False, on_epoch_end=hook)
"""

KILL_WHILE_SAVING_EPOCH_2 = """
    import os, signal, stat, sys
    from nnbook.mnist import train as T
    from nnbook.mnist.config import TrainConfig
    real_fsync, files = os.fsync, []
    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            files.append(fd)
            if len(files) == 4:  # epoch 2's resume.pt (after epoch 1's three files): keep half, then die
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                real_fsync(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return real_fsync(fd)
    os.fsync = fsync
    T.train(TrainConfig(epochs=2, limit_train=512, seed=7), sys.argv[1], progress=False, echo=False)
"""


@pytest.mark.slow
@pytest.mark.parametrize("script", [KILL_AFTER_EPOCH_1, KILL_WHILE_SAVING_EPOCH_2],
                         ids=["between-epochs", "mid-checkpoint"])
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
    # what ran: the first part's precision and step mode at the top, the resumption's in its entry
    assert resumed["resumed_by"][0]["precision"] == "fp32" and resumed["resumed_by"][0]["step_mode"] == "eager"
    assert (resumed["precision"], resumed["step_mode"]) == (reference[1]["precision"], reference[1]["step_mode"])


def test_resume_of_a_finished_run_changes_nothing(reference: tuple[Path, dict], tmp_path: Path) -> None:
    out, history = reference
    again = T.train(CFG, out, resume=True, progress=False, echo=False)
    assert _metrics(again) == _metrics(history)


def test_resume_with_other_settings_is_refused(reference: tuple[Path, dict]) -> None:
    out, _ = reference
    with pytest.raises(T.RunFolderError, match="seed: run has 7, command gives 8"):
        T.train(TrainConfig(epochs=2, limit_train=512, seed=8), out, resume=True, progress=False)
    # the held-out split changes the steps per epoch, so the saved step count would not fit
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(T.RunFolderError, match="evaluated on the test split, this run asks for the validation"):
        T.train(CFG, out, resume=True, validation=True, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_run_saved_before_a_setting_existed_resumes_with_its_default(reference: tuple[Path, dict],
                                                                      tmp_path: Path) -> None:
    """Label smoothing came after the first runs: their resume files lack it, and 0 is what they
    ran. Such a run, stopped after epoch 1, resumes to the uninterrupted run's history."""
    out = tmp_path / "old"

    def stop(row: dict) -> None:
        raise KeyboardInterrupt  # as a reader's Ctrl-C, after epoch 1 was saved

    with pytest.raises(KeyboardInterrupt):
        T.train(CFG, out, progress=False, echo=False, on_epoch_end=stop)
    state = torch.load(out / "resume.pt", weights_only=True)
    del state["config"]["label_smoothing"]
    torch.save(state, out / "resume.pt")
    smoothed = TrainConfig(epochs=2, limit_train=512, seed=7, label_smoothing=0.1)
    with pytest.raises(T.RunFolderError, match="label_smoothing: run has 0.0, command gives 0.1"):
        T.train(smoothed, out, resume=True, progress=False)
    resumed = T.train(CFG, out, resume=True, progress=False, echo=False)
    assert len(resumed["resumed_by"]) == 1 and _metrics(resumed) == _metrics(reference[1])
    # a resume file missing any other setting is not made whole with a guess
    del state["config"]["lr"]
    torch.save(state, out / "resume.pt")
    with pytest.raises(T.RunFolderError, match="lr: run has None"):
        T.train(CFG, out, resume=True, progress=False)


def test_training_minimises_the_smoothed_cross_entropy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loss the steps minimise is the cross-entropy against targets of 1 - eps + eps/10 for the
    label and eps/10 for every other class, written out here with numpy."""
    import numpy as np

    used = []
    real_stepper = T.Stepper

    def recording(*args, **kwargs):
        used.append(kwargs["loss_fn"])
        return real_stepper(*args, **kwargs)

    monkeypatch.setattr(T, "Stepper", recording)
    scores = torch.randn(6, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    labels = torch.tensor([0, 3, 9, 3, 5, 1])
    z = scores.numpy()
    log_p = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    for eps in (0.0, 0.1):
        T.train(TrainConfig(epochs=1, limit_train=256, batch_size=256, label_smoothing=eps), None,
                progress=False, echo=False)
        targets = np.full((6, 10), eps / 10)
        targets[np.arange(6), labels.numpy()] += 1 - eps
        expected = -(targets * log_p).sum(1).mean()
        assert float(used[-1](scores, labels)) == pytest.approx(expected, rel=1e-12)
    assert float(used[0](scores, labels)) != pytest.approx(float(used[1](scores, labels)))


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
    first_mismatch = r"2\.0\.weight: checkpoint \[12, 8, 3, 3\] vs model \[16, 8, 3, 3\]"
    with pytest.raises(ev.CheckpointError, match=r"does not fit model 'main'.*: " + first_mismatch):
        ev.load_model(path, "main")


def test_a_main_checkpoint_with_one_extra_key_is_named_as_main(tmp_path: Path) -> None:
    """The nearest architecture is named, with the one key that is wrong (not 'does not fit tiny')."""
    state = models.build_model("main").state_dict()
    state["extra.weight"] = torch.zeros(3)
    path = tmp_path / "main-plus-one.pt"
    torch.save(state, path)
    with pytest.raises(ev.CheckpointError, match=r"does not fit model 'main'.*extra\.weight") as info:
        ev.load_model(path)
    assert "'tiny'" not in str(info.value)


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


def test_export_leaves_the_model_alone_and_never_overwrites(reference: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = reference
    model, _ = ev.load_model(out / "model.pt")
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ev.export_torchscript(model, tmp_path / "m.pt")
    assert model.training, "export must not switch the caller's model to eval mode"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ev.CheckpointError, match="already exists; add --force"):
        ev.export_torchscript(model, tmp_path / "m.pt")
    with pytest.raises(ev.CheckpointError, match="being exported"):
        ev.export_torchscript(model, out / "model.pt", overwrite=True, source=out / "model.pt")
    assert torch.load(out / "model.pt", weights_only=True), "the checkpoint survives"


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
    "label-smoothing-one": ["--label-smoothing", "1"],
    "label-smoothing-nan": ["--label-smoothing", "nan"],
    "label-smoothing-negative": ["--label-smoothing", "-0.1"],
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
    proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", "train", "--epochs", "0",
                           "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, cwd=project_root(), timeout=120)
    assert proc.returncode == 2 and "usage:" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_data_error_is_one_line(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(project_root() / "data" / "mnist", tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", "train", "--epochs", "1", "--data-root", str(tmp_path),
                           "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, cwd=project_root(), timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "t10k-labels-idx1-ubyte.gz is missing. Re-copy it from" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_training_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from nnbook.mnist.chapter import training_setting

    assert training_setting("full").config == TrainConfig()  # the book's recipe, unchanged
    assert training_setting("fast").must_reach == training_setting("full").must_reach == 0.994
    quick = training_setting("quick").config
    assert quick.epochs < 5 and quick.limit_train is not None and quick.limit_train < 60_000
    monkeypatch.delenv("NNBOOK_TRAINING", raising=False)
    expected = "fast" if not (torch.cuda.is_available() or torch.backends.mps.is_available()) else "full"
    assert training_setting().name == expected
    monkeypatch.setenv("NNBOOK_TRAINING", "quick")
    assert training_setting().name == "quick"
    with pytest.raises(ValueError, match="NNBOOK_TRAINING"):
        training_setting("slow")


def test_static_text_output_keeps_the_epoch_lines_and_no_progress_bar(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the built book shows (NNBOOK_PROGRESS=text): one line per epoch, no progress-bar residue.
    The same run with bars on, in a terminal, draws them: the pattern finds what it must."""
    bar = re.compile(r"\d%\||\|█|[\d?](?:it/s|s/it)[\],]")
    monkeypatch.delenv("NNBOOK_PROGRESS", raising=False)
    T.train(TrainConfig(epochs=1, limit_train=256, batch_size=128), progress=True, echo=False)
    assert bar.search(capsys.readouterr().err)
    monkeypatch.setenv("NNBOOK_PROGRESS", "text")
    T.train(TrainConfig(epochs=2, limit_train=512, batch_size=128), progress=True, echo=True)
    out, err = capsys.readouterr()
    assert not bar.search(out + err), out + err
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("epoch")] == ["epoch  1", "epoch  2"]


def test_resume_refuses_a_finished_run_without_resume_file(reference: tuple[Path, dict], tmp_path: Path) -> None:
    """A shipped run keeps weights and history only; --resume must not silently start afresh."""
    import shutil

    out = tmp_path / "shipped"
    shutil.copytree(reference[0], out)
    (out / "resume.pt").unlink()
    before = (out / "history.json").read_bytes()
    with pytest.raises(T.RunFolderError, match="without resume.pt"):
        T.train(CFG, out, resume=True, progress=False, echo=False)
    assert (out / "history.json").read_bytes() == before


def test_second_process_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    from nnbook.mnist.runfolder import RunFolder

    out = tmp_path / "run"
    holder = RunFolder(out, CFG, overwrite=True)
    holder.claim()  # this process now owns the folder, as a running training would
    try:
        proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", "train", "--epochs", "1", "--limit-train", "256",
                               "--no-progress", "--overwrite", "--out", str(out)],
                              capture_output=True, text=True, cwd=project_root(), timeout=300)
    finally:
        holder.release()
    assert proc.returncode == 2 and f"is in use by process {os.getpid()}" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_only_this_programs_temporary_files_are_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    mine = out / ".model.pt.k3x_9q2a.tmp"  # the name tempfile.mkstemp gives an atomic write's file
    theirs = [out / ".notes.tmp", out / ".model.pt.bak.tmp", out / ".model.pt.abc123.tmp"]
    mine.write_bytes(b"half a checkpoint")
    for path in theirs:
        path.write_text("the user's own file")
    T.train(TrainConfig(epochs=1, limit_train=256), out, resume=True, progress=False, echo=False)
    assert not mine.exists() and all(path.read_text() == "the user's own file" for path in theirs)


def test_non_finite_checkpoint_is_refused(tmp_path: Path) -> None:
    state = models.build_model("main").state_dict()
    state["1.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    with pytest.raises(ev.CheckpointError, match="NaN or infinite.*1.0.weight"):
        ev.load_model(tmp_path / "nan.pt")


@pytest.mark.parametrize("args,code,message", [
    (["--device", "tpu"], 1, "unknown device"),
    (["--device", "xla"], 1, "not supported"),
    (["--device", "garbage"], 1, "unknown device"),
    (["--out-is-a-file"], 2, "is a file, not a run folder"),
], ids=["device-tpu", "device-xla", "device-garbage", "out-is-a-file"])
def test_cli_environment_mistakes_are_one_line(args: list[str], code: int, message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    from nnbook.mnist.__main__ import main

    target = tmp_path / "run"
    if args == ["--out-is-a-file"]:
        target.write_text("not a folder")
        args = ["--overwrite"]
    try:
        status = main(["train", "--epochs", "1", "--out", str(target), *args])
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == code and message in err and "Traceback" not in err


def test_failure_before_the_first_epoch_leaves_no_folder(tmp_path: Path) -> None:
    """A too-large learning rate (or Ctrl-C, or out of memory) in epoch 1: the retry must not be refused."""
    def stop(row: dict) -> None:
        raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(T.TrainingDiverged):
        T.train(TrainConfig(epochs=1, limit_train=512, lr=1e6), out, progress=False, echo=False)
    assert not out.exists()
    nested = tmp_path / "new" / "deeper" / "run"  # the empty folders made for it go too
    with pytest.raises(T.TrainingDiverged):
        T.train(TrainConfig(epochs=1, limit_train=512, lr=1e6), nested, progress=False, echo=False)
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("the user's")
    with pytest.raises(T.TrainingDiverged):
        T.train(TrainConfig(epochs=1, limit_train=512, lr=1e6), kept, resume=True, progress=False, echo=False)
    assert (kept / "notes.txt").read_text() == "the user's", "a folder the run did not create stays"
    T.train(TrainConfig(epochs=1, limit_train=256), out, progress=False, echo=False)  # the retry works
    assert (out / "history.json").is_file()


def test_every_error_has_one_base_and_one_kind() -> None:
    from nnbook.errors import EnvironmentProblem, NnbookError, UsageError
    from nnbook.mnist import checkpoint, config, data, device, runfolder

    usage = (config.ConfigError, runfolder.RunFolderError)
    environment = (data.MnistDataError, checkpoint.CheckpointError, device.DeviceError, T.TrainingDiverged)
    assert all(issubclass(e, UsageError) and not issubclass(e, EnvironmentProblem) for e in usage)
    assert all(issubclass(e, EnvironmentProblem) and not issubclass(e, UsageError) for e in environment)
    assert all(issubclass(e, NnbookError) for e in usage + environment)


def test_a_disk_error_is_one_line(tmp_path: Path) -> None:
    """--out under a plain file: the operating system refuses the folder; no traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = subprocess.run([sys.executable, "-m", "nnbook.mnist", "train", "--epochs", "1", "--limit-train", "256",
                           "--no-progress", "--out", str(blocker / "run")],
                          capture_output=True, text=True, cwd=project_root(), timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: ") and "a-file/run" in proc.stderr and "Not a directory" in proc.stderr


def test_a_notebook_bar_leaves_its_final_state_as_text(capsys) -> None:
    """A saved notebook keeps text, not widgets: the bar's last state must survive as a text line."""
    pytest.importorskip("ipywidgets")  # without it tqdm has no notebook bar, and this class is never used
    from tqdm.notebook import tqdm as widget_tqdm

    from nnbook.mnist.progress import _widget_then_text_bar_class

    bar = _widget_then_text_bar_class(widget_tqdm)(total=63, desc="epoch 1")
    for _ in range(63):
        bar.update(1)
    bar.close()
    bar.close()  # closing twice (tqdm does on garbage collection) prints it once
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "63/63" in err[0] and err[0].startswith("epoch 1: 100%")
    assert bar.leave is False  # the widget itself is hidden when done


def test_resume_keeps_this_devices_optimizer_implementation(reference: tuple[Path, dict]) -> None:
    """Loading an optimizer state replaces every group setting by the saved one; the rate tensor and
    the fused or per-tensor implementation must stay those of the device that resumes."""
    from nnbook.mnist.schedule import make_optimizer

    out, _ = reference
    state = torch.load(out / "resume.pt", weights_only=True)
    for group in state["optimizer"]["param_groups"]:  # as written where fused SGD is not available
        group.update(fused=None, foreach=False, lr=0.123)
    dev = torch.device("cpu")
    model = models.build_model().to(memory_format=torch.channels_last)
    optimizer, lr = make_optimizer(model, CFG, dev)
    own = [(group["fused"], group["foreach"]) for group in optimizer.param_groups]
    T._load_state(model, optimizer, lr, state, out)
    assert [(group["fused"], group["foreach"]) for group in optimizer.param_groups] == own
    assert all(group["lr"] is lr for group in optimizer.param_groups)
    # and the saved momentum is the one that was loaded
    saved = state["optimizer"]["state"]
    assert all(torch.equal(optimizer.state[p]["momentum_buffer"], saved[i]["momentum_buffer"])
               for i, p in enumerate(optimizer.param_groups[0]["params"]))


def test_every_step_trains_at_the_one_cycle_rate_and_the_history_records_what_ran(monkeypatch) -> None:
    """The rate each step really used, read from the optimizer after the step, is PyTorch's own
    OneCycleLR stepped one by one; the optimizer settings the history records are those the saved
    optimizer state holds."""
    from test_mnist_config import _stepped_scheduler

    used: list[float] = []
    real_step = T.Stepper.step

    def step(self, x, y) -> None:
        real_step(self, x, y)
        used.append(float(self.optimizer.param_groups[0]["lr"]))

    monkeypatch.setattr(T.Stepper, "step", step)
    cfg = TrainConfig(epochs=2, limit_train=640, batch_size=64, seed=3)
    history = T.train(cfg, None, device="cpu", progress=False, echo=False)
    assert used == pytest.approx(_stepped_scheduler(cfg, 20), rel=1e-6)  # float32 on the device
    assert [row["lr_end"] for row in history["epochs"]] == pytest.approx([used[9], used[19]], rel=1e-6)


def test_the_history_names_the_optimizer_settings_the_run_saved(reference: tuple[Path, dict]) -> None:
    out, history = reference
    (group,) = torch.load(out / "resume.pt", weights_only=True)["optimizer"]["param_groups"]
    recorded = history["optimizer"]
    assert recorded["name"] == "SGD" and recorded["nesterov"] is group["nesterov"] is True
    assert recorded["momentum"] == group["momentum"] and recorded["weight_decay"] == group["weight_decay"]
    assert group["dampening"] == 0 and recorded["momentum_schedule"] == "constant"


def test_the_epochs_sums_are_those_of_its_batches() -> None:
    """train_loss and train_acc against each batch's loss and predictions, recorded by the loss
    function the step calls (on the CPU the step runs eagerly, so it is called at every step)."""
    import torch.nn.functional as F

    seen: list[tuple[float, int, int]] = []

    def loss_fn(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(scores, labels)
        seen.append((float(loss), int((scores.argmax(1) == labels).sum()), len(labels)))
        return loss

    cfg = TrainConfig(epochs=1, limit_train=512, batch_size=128, seed=4)
    (row,) = T.train(cfg, None, device="cpu", progress=False, echo=False, loss_fn=loss_fn)["epochs"]
    images = sum(n for _, _, n in seen)
    assert len(seen) == 4 and images == 512
    assert row["train_loss"] == pytest.approx(sum(loss * n for loss, _, n in seen) / images, rel=1e-9)
    assert row["train_acc"] == sum(right for _, right, _ in seen) / images


def test_overwrite_deletes_a_runs_files_never_the_users_own(reference: tuple[Path, dict], tmp_path: Path,
                                                             capsys) -> None:
    """--overwrite removes files by their names (model.pt, history.json, ...): only where they are a
    run's, shown by its history or resume state; a folder of the user's own files is left byte for byte."""
    from nnbook.mnist.__main__ import main

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model.pt").write_bytes(b"my own model")
    (mine / "history.json").write_text('{"notes": "my own history"}')
    (mine / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    argv = ["train", "--epochs", "1", "--limit-train", "256", "--no-progress", "--out", str(mine), "--overwrite"]
    with pytest.raises(SystemExit) as refused:
        main(argv)
    err = capsys.readouterr().err
    assert refused.value.code == 2
    assert "holds model.pt, history.json, but not a run of this program" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before
    # a run's own folder is replaced, and a file of the user's beside it stays
    run = tmp_path / "run"
    shutil.copytree(reference[0], run)
    (run / "notes.txt").write_text("mine")
    assert main(["train", "--epochs", "1", "--limit-train", "256", "--no-progress", "--out", str(run),
                 "--overwrite"]) == 0
    assert len(json.loads((run / "history.json").read_text())["epochs"]) == 1
    assert (run / "notes.txt").read_text() == "mine"
