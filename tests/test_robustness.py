"""The command line against a hostile but ordinary user: full and read-only disks made for real
(a tiny tmpfs, a read-only mount), the same disk errors faked through ``os.fsync`` where mounting
is not allowed, hand-edited resume files, signals, odd paths and numbers.

Every case calls ``python -m nnbook.mnist``'s ``main`` in this process (no second torch import)
and checks what a user sees: the exit status, one ``error:`` line naming the path, no traceback,
and what is left on disk. Runs use 256 training images and 2 epochs.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nnbook.mnist import checkpoint as ev
from nnbook.mnist import data
from nnbook.mnist import train as T
from nnbook.mnist.__main__ import main
from nnbook.mnist.config import TrainConfig
from nnbook.mnist.runfolder import ROW_KEYS
from nnbook.paths import project_root

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")

CFG = TrainConfig(epochs=2, limit_train=256, seed=3)
ARGS = ["train", "--epochs", "2", "--limit-train", "256", "--seed", "3", "--no-progress"]  # the same run


def _rows(history: dict) -> list[dict]:
    return [{k: row[k] for k in ROW_KEYS if k != "seconds"} for row in history["epochs"]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ref") / "run"
    return out, T.train(CFG, out, progress=False, echo=False)


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """``main(argv)``: (exit status, stdout, stderr); a usage error's SystemExit gives its code."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*.tmp")] if folder.exists() else []


# --- real full and read-only filesystems --------------------------------------------------------

def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"mounting is not permitted here ({proc.stderr.strip() or 'mount failed'}); "
                    "the faked-ENOSPC tests below still check the messages")


@pytest.fixture
def tmpfs(tmp_path: Path):
    """``make(size_bytes)`` mounts a tmpfs of that size and returns it; ``readonly(path)`` remounts it
    read-only. Everything is unmounted at teardown, whatever the test did."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("a tmpfs needs root and the mount command (CI containers may have neither)")
    mounted: list[Path] = []

    def make(size: int) -> Path:
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target))
        mounted.append(target)
        return target

    def resize(target: Path, size: int) -> None:
        _mount("-o", f"remount,size={size}", str(target))

    def readonly(target: Path) -> None:
        _mount("-o", "remount,ro", str(target))

    make.resize, make.readonly = resize, readonly  # type: ignore[attr-defined]
    try:
        yield make
    finally:
        for target in reversed(mounted):
            if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _pages(*paths: Path) -> int:
    """Bytes a tmpfs needs for these files (it allocates whole 4 KiB pages)."""
    return sum(-(-p.stat().st_size // 4096) * 4096 for p in paths)


def test_full_disk_while_writing_a_checkpoint_then_resume(tmpfs, reference, capsys) -> None:
    """A disk with room for epoch 1's files but not for epoch 2's resume.pt beside them."""
    ref, history = reference
    size = _pages(ref / "resume.pt", ref / "model.pt", ref / "history.json", ref / ".nnbook.lock")
    disk = tmpfs(size + _pages(ref / "resume.pt") // 2)
    out = disk / "run"
    status, _, err = _run(capsys, *ARGS, "--out", out)
    line = _one_error_line(err)
    assert status == 1 and f"{out}/resume.pt: No space left on device" in line and "--resume" in line
    assert not _temporaries(out), "no half-written file is left"
    assert len(json.loads((out / "history.json").read_text())["epochs"]) == 1  # epoch 1, intact
    tmpfs.resize(disk, 4 * size)
    status, stdout, err = _run(capsys, *ARGS, "--out", out, "--resume")
    assert status == 0, err
    assert _rows(json.loads((out / "history.json").read_text())) == _rows(history)
    assert json.loads(stdout)["test_acc"] == history["epochs"][-1]["test_acc"]


def test_full_disk_while_writing_the_data_cache(tmpfs, reference, capsys) -> None:
    """Room for the shipped files but not for the decompressed test images: the data, verified in
    memory, is used anyway (a warning names the file); ``prepare``, whose job is the cache, fails."""
    shipped = project_root() / "data" / "mnist"
    disk = tmpfs(_pages(*shipped.iterdir()) + 2_000_000)  # the test images decompress to 7.8 MB
    shutil.copytree(shipped, disk / "mnist")
    status, stdout, err = _run(capsys, "evaluate", reference[0] / "model.pt", "--data-root", disk)
    assert status == 0 and "Traceback" not in err
    assert "warning: " in err and "t10k-images-idx3-ubyte: No space left on device" in err
    assert json.loads(stdout)["accuracy"] == reference[1]["epochs"][-1]["test_acc"]
    assert not _temporaries(disk)
    with pytest.raises(OSError, match="No space left") as info:
        data.prepare(disk, splits=("test",))
    assert info.value.filename == str(disk / "cache" / "MNIST" / "raw" / "t10k-images-idx3-ubyte")


def test_read_only_out_folder(tmpfs, reference, capsys) -> None:
    disk = tmpfs(4_000_000)
    shutil.copytree(reference[0], disk / "run")
    before = {p.name: p.read_bytes() for p in (disk / "run").iterdir()}
    tmpfs.readonly(disk)
    status, _, err = _run(capsys, *ARGS, "--out", disk / "new")
    assert status == 1 and f"{disk / 'new'}: Read-only file system" in _one_error_line(err)
    for mode in ("--resume", "--overwrite"):
        status, _, err = _run(capsys, *ARGS, "--out", disk / "run", mode)
        assert status == 1 and "Read-only file system" in _one_error_line(err) and str(disk / "run") in err
    assert {p.name: p.read_bytes() for p in (disk / "run").iterdir()} == before


def test_read_only_data_root(tmpfs, reference, capsys) -> None:
    disk = tmpfs(16_000_000)
    shutil.copytree(project_root() / "data" / "mnist", disk / "mnist")
    tmpfs.readonly(disk)
    status, stdout, err = _run(capsys, "evaluate", reference[0] / "model.pt", "--data-root", disk)
    assert status == 0 and f"warning: {disk / 'cache'}: Read-only file system" in err
    assert json.loads(stdout)["correct"] == reference[1]["epochs"][-1]["test_correct"]
    with pytest.raises(OSError, match="Read-only"):
        data.prepare(disk, splits=("test",))


def test_export_into_a_read_only_folder_onto_a_folder_or_a_fifo(tmpfs, reference, capsys, tmp_path) -> None:
    model = reference[0] / "model.pt"
    disk = tmpfs(1_000_000)
    tmpfs.readonly(disk)
    status, _, err = _run(capsys, "export", model, disk / "m.pt")
    assert status == 1 and f"{disk / 'm.pt'}: Read-only file system" in _one_error_line(err)
    status, _, err = _run(capsys, "export", model, tmp_path, "--force")
    assert status == 1 and "is a folder" in _one_error_line(err)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # what /dev/null is to a careless --force: never to be replaced by a file
    status, _, err = _run(capsys, "export", model, fifo, "--force")
    assert status == 1 and "not a regular file" in _one_error_line(err) and stat.S_ISFIFO(fifo.stat().st_mode)


# --- the same disk errors, faked where the operating system reports them -----------------------

def test_faked_full_disk_while_writing_a_checkpoint_then_resume(enospc_on_file, reference, capsys,
                                                                tmp_path) -> None:
    out = tmp_path / "run"
    enospc_on_file(4)  # epoch 1: resume.pt, model.pt, history.json; then epoch 2's resume.pt
    status, _, err = _run(capsys, *ARGS, "--out", out)
    line = _one_error_line(err)
    assert status == 1 and f"{out}/resume.pt: No space left on device" in line
    assert "continue with --resume" in line and not _temporaries(out)
    enospc_on_file(10**9)
    status, _, err = _run(capsys, *ARGS, "--out", out, "--resume")
    assert status == 0, err
    assert _rows(json.loads((out / "history.json").read_text())) == _rows(reference[1])


def test_faked_full_disk_at_the_first_checkpoint_leaves_no_folder(enospc_on_file, capsys, tmp_path) -> None:
    out = tmp_path / "run"
    enospc_on_file(1)
    status, _, err = _run(capsys, *ARGS, "--out", out)
    assert status == 1 and "run the same command again" in _one_error_line(err)
    assert not out.exists(), "the folder this run created holds nothing: removed, so a retry is not refused"


def test_faked_full_disk_while_writing_the_data_cache(enospc_on_file, reference, capsys, tmp_path) -> None:
    shutil.copytree(project_root() / "data" / "mnist", tmp_path / "mnist")
    enospc_on_file(1)
    status, stdout, err = _run(capsys, "evaluate", reference[0] / "model.pt", "--data-root", tmp_path)
    assert status == 0 and "t10k-images-idx3-ubyte: No space left on device" in err
    assert json.loads(stdout)["total"] == 10_000 and not _temporaries(tmp_path)


# --- hand-edited or foreign resume files ---------------------------------------------------------

def _edit_config(s: dict) -> None:
    s["config"] = "epochs=2"


def _drop_epochs(s: dict) -> None:
    del s["history"]["epochs"]


def _garble_row(s: dict) -> None:
    s["history"]["epochs"][0] = {"epoch": 1}


def _more_epochs(s: dict) -> None:
    s["history"]["epochs"] *= 3


def _tiny_weights(s: dict) -> None:
    from nnbook.mnist.models import build_model

    s["model"] = build_model("tiny").state_dict()


def _nan_weight(s: dict) -> None:
    s["model"]["1.0.weight"].view(-1)[0] = float("nan")


def _no_param_groups(s: dict) -> None:
    s["optimizer"]["param_groups"] = []


EDITS = {
    "config-not-a-dict": (_edit_config, "it lacks config"),
    "history-without-epochs": (_drop_epochs, "its history lacks epochs"),
    "a-garbled-row": (_garble_row, "not a list of rows"),
    "more-epochs-than-the-run": (_more_epochs, "not 1..N with N <= 2"),
    "weights-of-the-other-model": (_tiny_weights, "do not fit model 'main'"),
    "a-nan-weight": (_nan_weight, "NaN or infinite"),
    "an-optimizer-that-does-not-load": (_no_param_groups, "its optimizer state does not load"),
}


@pytest.mark.parametrize("edit,message", EDITS.values(), ids=EDITS.keys())
def test_a_hand_edited_resume_file_is_refused_and_left_alone(edit, message, reference, capsys, tmp_path) -> None:
    out = tmp_path / "run"
    shutil.copytree(reference[0], out)
    state = torch.load(out / "resume.pt", weights_only=True)
    state["history"]["epochs"] = state["history"]["epochs"][:1]  # one epoch done, one to go
    edit(state)
    torch.save(state, out / "resume.pt")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    status, _, err = _run(capsys, *ARGS, "--out", out, "--resume")
    assert status == 2 and "cannot resume from" in err and message in err and "Traceback" not in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_folder_named_resume_pt_is_refused_before_training(capsys, tmp_path) -> None:
    out = tmp_path / "run"
    (out / "resume.pt").mkdir(parents=True)
    status, _, err = _run(capsys, *ARGS, "--out", out, "--resume")
    assert status == 2 and "not a readable resume file (IsADirectoryError" in err
    status, _, err = _run(capsys, *ARGS, "--out", out, "--overwrite")  # --overwrite removes only files it wrote
    assert status == 2 and "holds resume.pt, but not a run of this program" in err and "Traceback" not in err
    assert (out / "resume.pt").is_dir() and not (out / "history.json").exists(), "refused before a single epoch"


def test_a_resume_file_that_never_ends_is_refused(capsys, tmp_path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    os.mkfifo(out / "resume.pt")  # torch.load would wait forever for a writer
    status, _, err = _run(capsys, *ARGS, "--out", out, "--resume")
    assert status == 2 and "resume.pt: not a regular file" in err


# --- signals ----------------------------------------------------------------------------------------

class _Watched(io.StringIO):
    """An output a user watches, pressing a key (sending ``signum`` to this process) as soon as
    ``cue`` appears in it: the signal arrives where the program is at that moment, as a real one does."""

    def __init__(self, cue: str | None = None, signum: int = signal.SIGINT) -> None:
        super().__init__()
        self.cue, self.signum = cue, signum

    def write(self, text: str) -> int:
        n = super().write(text)
        if self.cue is not None and self.cue in self.getvalue():
            self.cue = None
            os.kill(os.getpid(), self.signum)  # delivered now: the handler runs before the next bytecode
        return n


def _run_watched(monkeypatch: pytest.MonkeyPatch, argv: list, stdout: _Watched, stderr: _Watched) -> int:
    """``main(argv)`` with its output going to the watched streams; the exit status. Ctrl-C raises
    KeyboardInterrupt as in a terminal, even where this process was started with SIGINT ignored
    (a shell's background job)."""
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.delenv("NNBOOK_PROGRESS", raising=False)  # the progress bar is a cue: it must be drawn
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return main([str(a) for a in argv])
    finally:
        signal.signal(signal.SIGINT, previous)
        monkeypatch.undo()


WITH_PROGRESS = [a for a in ARGS if a != "--no-progress"]  # the progress bar and the epoch lines are the cues


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_the_first_epoch_leaves_nothing(signum, monkeypatch, tmp_path) -> None:
    out = tmp_path / "run"
    err = _Watched("epoch 1/2", signum)  # the first epoch's progress bar has appeared: its steps are running
    status = _run_watched(monkeypatch, [*WITH_PROGRESS, "--out", out], _Watched(), err)
    assert err.cue is None, "the signal was sent"
    assert status == 130 and "nothing to resume, run the command again" in err.getvalue() and not out.exists()


def test_sigterm_after_an_epoch_keeps_it_for_resume(reference, monkeypatch, capsys, tmp_path) -> None:
    out = tmp_path / "run"
    stdout, err = _Watched("epoch  1:", signal.SIGTERM), _Watched()  # the first epoch's line: it is saved
    status = _run_watched(monkeypatch, [*WITH_PROGRESS, "--out", out], stdout, err)
    assert stdout.cue is None and "epoch  2:" not in stdout.getvalue(), "stopped after the first epoch"
    assert status == 130 and "continue with --resume" in err.getvalue()
    assert _run(capsys, *ARGS, "--out", out, "--resume")[0] == 0
    assert _rows(json.loads((out / "history.json").read_text())) == _rows(reference[1])
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "main() restores the handler it replaced"


# --- odd paths, odd numbers, odd files --------------------------------------------------------------

def test_odd_out_paths(capsys, tmp_path) -> None:
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "nowhere")
    status, _, err = _run(capsys, *ARGS, "--out", dangling)
    assert status == 2 and "is a symbolic link to" in err and "which does not exist" in err
    status, _, err = _run(capsys, *ARGS, "--out", "")  # Path("") would be the current folder
    assert status == 2 and "--out: must not be empty" in err
    unicode = tmp_path / "ünïcödé 数字 folder" / "run"
    status, stdout, err = _run(capsys, "train", "--epochs", "1", "--limit-train", "256", "--no-progress",
                               "--out", unicode)
    assert status == 0 and json.loads(stdout)["out"] == str(unicode), err
    assert _run(capsys, "evaluate", unicode / "model.pt")[0] == 0


def test_odd_numbers(capsys, tmp_path) -> None:
    status, stdout, err = _run(capsys, "train", "--epochs", "1", "--limit-train", "256", "--no-progress",
                               "--seed", str(2**63 - 1), "--out", tmp_path / "seed")
    assert status == 0 and json.loads(stdout)["epochs"] == 1, err  # the largest seed the command accepts
    status, _, err = _run(capsys, "train", "--epochs", str(10**15), "--limit-train", "256", "--out", tmp_path / "e")
    assert status == 2 and "steps a run may take" in err and not (tmp_path / "e").exists()


def test_odd_checkpoint_files(reference, tmp_path) -> None:
    run = reference[0]
    cases = {
        run: "is a folder; give a checkpoint file, such as",
        run / "model.torchscript.pt": "a TorchScript export (what `export` writes), not a checkpoint",
        run / "history.json": "not a readable PyTorch checkpoint (neither a state_dict nor a resume file)",
    }
    empty = tmp_path / "empty.pt"
    empty.touch()
    fifo = tmp_path / "fifo.pt"
    os.mkfifo(fifo)  # torch.load would wait forever for a writer
    cases.update({empty: "is empty", fifo: "not a regular file"})
    for path, message in cases.items():
        with pytest.raises(ev.CheckpointError, match=message.replace("(", r"\(").replace(")", r"\)")):
            ev.load_model(path)


class _RunsCode:
    """A pickle that would run a shell command when loaded unsafely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_crafted_to_run_code_is_never_run(tmp_path) -> None:
    marker = tmp_path / "ran"
    torch.save({"w": torch.zeros(1), "x": _RunsCode(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ev.CheckpointError) as info:
        ev.load_model(tmp_path / "evil.pt")
    assert "could run code" in str(info.value) and "weights_only=False" not in str(info.value)
    assert not marker.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
@pytest.mark.parametrize("name,message", [("cuda", "no CUDA GPU is available"), ("tpu", "unknown device"),
                                          ("meta", "not supported")])
def test_evaluate_on_a_device_that_is_not_there(name, message, reference, capsys) -> None:
    status, _, err = _run(capsys, "evaluate", reference[0] / "model.pt", "--device", name)
    assert status == 1 and message in _one_error_line(err)


def test_finite_weights_whose_scores_overflow(reference, capsys, tmp_path) -> None:
    """Weights scaled by 1e30 are finite, but the scores are not: no NaN may reach the JSON line."""
    state = torch.load(reference[0] / "model.pt", weights_only=True)
    huge = {k: v * 1e30 if k.endswith("weight") else v for k, v in state.items()}
    torch.save(huge, tmp_path / "huge.pt")
    status, stdout, err = _run(capsys, "evaluate", tmp_path / "huge.pt")
    assert status == 1 and stdout == "" and "scores overflow" in _one_error_line(err)


def test_a_cut_off_checkpoint_is_named_whatever_torch_raises(capsys, tmp_path) -> None:
    """Cut at some lengths, torch's reader raises a bare OSError (EINVAL) naming no file; the
    message must still name the checkpoint, not blame the disk."""
    whole = (project_root() / "results" / "book" / "cpu-seed1" / "model.pt").read_bytes()
    for length in (100, 20_000, len(whole) // 2):
        cut = tmp_path / f"cut{length}.pt"
        cut.write_bytes(whole[:length])
        status, _, err = _run(capsys, "evaluate", cut)
        line = _one_error_line(err)
        assert status == 1 and f"{cut}: not a readable PyTorch checkpoint" in line, (length, line)


def test_a_foreign_resume_file_is_refused_in_words_and_kept(capsys, tmp_path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "resume.pt").write_text("my own notes, named resume.pt")
    status, _, err = _run(capsys, *ARGS, "--out", out, "--resume")
    assert status == 2 and "not a readable resume file (not one this program wrote)" in err
    assert "move resume.pt" in err and "use --overwrite" not in err  # --overwrite would refuse it too
    assert "weights_only" not in err and "PyTorch 2.6" not in err  # never torch's advice to load unsafely
    status, _, err = _run(capsys, *ARGS, "--out", out, "--overwrite")  # the advice followed: still refused
    assert status == 2 and "so --overwrite will not delete it" in err and "Traceback" not in err
    assert (out / "resume.pt").read_text() == "my own notes, named resume.pt"


def test_ctrl_c_while_the_command_line_starts_is_one_line(capsys, monkeypatch) -> None:
    from nnbook.mnist import __main__ as cli

    def interrupted():
        raise KeyboardInterrupt  # as if Ctrl-C arrived while torch was being imported

    monkeypatch.setattr(cli, "_parser", interrupted)
    assert cli.main(["train", "--out", "x"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted while starting; nothing was written"
