"""The run folder: what may be done with it, one process at a time, and its atomic checkpoints.

A run folder holds ``resume.pt`` (everything needed to continue), ``model.pt`` (the weights
alone), ``history.json`` and ``model.torchscript.pt``. Every write is atomic (temporary file,
``fsync``, rename), so a run killed at any moment leaves its last complete epoch intact.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from nnbook.errors import EnvironmentProblem, UsageError
from nnbook.io import write_bytes_atomic, write_text_atomic
from nnbook.mnist.config import TrainConfig, complete_saved

__all__ = ["RunFolderError", "RunFolderWriteError", "RUN_FILES", "RunFolder", "cpu_weights"]

#: The files a run folder holds; ``--overwrite`` removes exactly these.
RUN_FILES = ("resume.pt", "model.pt", "history.json", "model.torchscript.pt")
_LOCK = ".nnbook.lock"
#: the temporary file of an atomic write of a run file (``tempfile.mkstemp``'s eight characters)
_TMP = re.compile(r"\.(?:%s)\.[a-z0-9_]{8}\.tmp" % "|".join(map(re.escape, RUN_FILES)))
_MAX_HISTORY_BYTES = 50_000_000  # far beyond any run's history.json


def _holds_a_run(folder: Path) -> bool:
    """Whether the run files in ``folder`` were written by this program: its ``history.json`` is
    a run's history, or its ``resume.pt`` a run's state. A user's own ``model.pt`` is neither."""
    history = folder / "history.json"
    try:
        if history.is_file() and history.stat().st_size <= _MAX_HISTORY_BYTES:
            saved = json.loads(history.read_text(encoding="utf-8"))
            if isinstance(saved, dict) and isinstance(saved.get("config"), dict) and isinstance(
                    saved.get("epochs"), list):
                return True
    except (OSError, ValueError):
        pass
    resume = folder / "resume.pt"
    if resume.is_file():
        try:
            state = torch.load(resume, map_location="cpu", weights_only=True)
        except Exception:  # not a resume file of ours, whatever it is
            return False
        return isinstance(state, dict) and all(isinstance(state.get(k), dict) for k in ("config", "history"))
    return False


class RunFolderError(UsageError):
    """The run folder cannot be used as asked (exists, in use, or made with other settings)."""


class RunFolderWriteError(EnvironmentProblem):
    """The disk refused a write into the run folder (full, read-only); says what was kept and what to do."""


def cpu_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state_dict as contiguous CPU tensors: loadable anywhere, whatever the device or layout."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


@dataclass
class RunFolder:
    """A run folder checked against what the command asks, before anything is created.

    ``state`` is the saved resume state when ``resume`` finds one (checked against ``cfg``);
    :meth:`claim` then creates the folder, takes its lock and removes what ``overwrite`` or a
    killed write left behind: only files this program writes, never anything else.
    """

    path: Path | None
    cfg: TrainConfig
    resume: bool = False
    overwrite: bool = False
    state: dict[str, Any] | None = None
    _lock_fd: int | None = field(default=None, repr=False)
    _created: list[Path] = field(default_factory=list, repr=False)  #: folders claim() made, innermost first

    def __post_init__(self) -> None:
        if self.path is None:
            return
        self.path = Path(self.path)
        if self.path.is_symlink() and not self.path.exists():
            raise RunFolderError(f"{self.path} is a symbolic link to {os.readlink(self.path)}, which does not exist; "
                                 "create that folder, or choose another --out")
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path} is a file, not a run folder; choose another --out")
        if self.path.exists() and not (self.resume or self.overwrite):
            raise RunFolderError(f"{self.path} already exists; add --resume to continue it "
                                 "or --overwrite to replace it")
        if self.overwrite and self.path.is_dir():
            self._check_replaceable()
        if self.resume and self.path.exists():
            self.state = self._load_resume()

    def _check_replaceable(self) -> None:
        """``overwrite`` deletes the run files by name, so only where they are a run's: a user's own
        ``model.pt`` or ``history.json`` is never deleted (other files of the folder are never touched)."""
        assert self.path is not None
        present = [name for name in RUN_FILES if (self.path / name).exists() or (self.path / name).is_symlink()]
        if present and not _holds_a_run(self.path):
            them = "it" if len(present) == 1 else "them"
            raise RunFolderError(f"{self.path} holds {', '.join(present)}, but not a run of this program (no run "
                                 f"history or resume state), so --overwrite will not delete {them}; move {them}, "
                                 "or choose another --out")

    def _load_resume(self) -> dict[str, Any] | None:
        assert self.path is not None
        path = self.path / "resume.pt"
        if not path.exists():
            if any((self.path / name).exists() for name in RUN_FILES):
                raise RunFolderError(f"cannot resume {self.path}: it holds a run without resume.pt (a finished run "
                                     "shipped without it?); use another --out, or --overwrite to start again")
            return None  # an empty folder: a fresh start is what resuming it means
        # --overwrite replaces only a run's files: suggest it only where there is one
        fix = ("use --overwrite to start again" if _holds_a_run(self.path)
               else "move resume.pt (this program did not write it), or choose another --out")
        if path.exists() and not path.is_file() and not path.is_dir():  # /dev/zero, a FIFO: never ends
            raise RunFolderError(f"cannot resume from {path}: not a regular file; {fix}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # written atomically, so only a foreign or damaged file gets here
            from nnbook.mnist.checkpoint import why_unreadable  # in words, never torch's advice to load unsafely

            why = why_unreadable(exc, "resume file", "not one this program wrote")
            raise RunFolderError(f"cannot resume from {path}: {why}; {fix}") from None
        missing = [k for k in ("config", "model", "optimizer", "history")
                   if not isinstance(state, dict) or not isinstance(state.get(k), dict)]
        if missing:
            raise RunFolderError(f"cannot resume from {path}: it lacks {', '.join(missing)} (a hand-edited or "
                                 f"foreign file?); {fix}")
        saved = complete_saved(state["config"])  # a setting added after the run was saved: how it trained
        diff = [f"{k}: run has {saved.get(k)!r}, command gives {v!r}"
                for k, v in self.cfg.as_dict().items() if saved.get(k) != v]
        if diff:
            raise RunFolderError(f"cannot resume {self.path}: it was started with other settings ({'; '.join(diff)}); "
                                 "use the same command, or --overwrite to start again")
        problem = _resume_problem(state, self.cfg)
        if problem:
            raise RunFolderError(f"cannot resume from {path}: {problem} (a hand-edited or foreign file?); {fix}")
        return state

    def claim(self) -> None:
        """Create the folder, lock it for this process, clear this program's leftovers."""
        if self.path is None:
            return
        missing = [self.path, *self.path.parents]
        self._created = missing[:next(i for i, p in enumerate(missing) if p.exists())]
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        if self.overwrite:
            # the files that show the folder is a run's go last: an interruption leaves it replaceable
            for name in ("model.pt", "model.torchscript.pt", "resume.pt", "history.json"):
                (self.path / name).unlink(missing_ok=True)
        for stale in self.path.iterdir():  # temporary files of a process killed mid-write: ours by their name
            if _TMP.fullmatch(stale.name) and stale.is_file():
                stale.unlink()

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; one process per folder is then up to the user
            return
        assert self.path is not None
        fd = os.open(self.path / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunFolderError(f"{self.path} is in use by process {holder}; wait for it to finish, "
                                 "or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd  # released when the process exits, however it exits

    def abandon(self) -> None:
        """After a failure before any epoch was saved: remove the folder if this run created it
        and nothing but its lock is in it, so that the same command can simply be run again, and
        the empty parent folders it created for it."""
        if self.path is None or not self._created:
            return
        if any(p.name != _LOCK for p in self.path.iterdir()):
            return
        self.release()
        (self.path / _LOCK).unlink(missing_ok=True)
        for folder in self._created:  # innermost first; one that something else filled meanwhile stays
            try:
                folder.rmdir()
            except OSError:
                break

    def release(self) -> None:
        """Give up the lock (the file stays: removing it would race with a waiting process)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Turn a disk's refusal (full, read-only) into one error naming the file and what to do next."""
        try:
            yield
        except OSError as exc:
            assert self.path is not None
            kept = (self.path / "resume.pt").is_file()  # each write is atomic: it holds a complete epoch
            then = ("then continue with --resume from the last epoch saved in resume.pt" if kept
                    else "then run the same command again (no epoch was saved)")
            raise RunFolderWriteError(f"{exc.filename or self.path}: {exc.strerror or exc}; free some "
                                      f"space (or make {self.path} writable), {then}") from None

    def write_epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                    history: dict[str, Any]) -> None:
        """Three atomic writes; ``resume.pt`` first, so it is never behind the other two."""
        if self.path is None:
            return
        with self.writing():
            self._write_epoch(model, optimizer, scaler, history)

    def _write_epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                     history: dict[str, Any]) -> None:
        assert self.path is not None
        weights = cpu_weights(model)
        opt_state = optimizer.state_dict()
        for group in opt_state["param_groups"]:  # the rate is a device tensor the step sets; store a float
            if isinstance(group.get("lr"), torch.Tensor):
                group["lr"] = float(group["lr"])
        opt_state["state"] = {k: {n: (v.cpu() if isinstance(v, torch.Tensor) else v) for n, v in s.items()}
                              for k, s in opt_state["state"].items()}
        _save({"config": self.cfg.as_dict(), "model": weights, "optimizer": opt_state,
               "scaler": scaler.state_dict(), "history": history}, self.path / "resume.pt")
        _save(weights, self.path / "model.pt")
        write_text_atomic(self.path / "history.json", json.dumps(history, indent=1, allow_nan=False) + "\n")


def _save(obj: Any, path: Path) -> None:
    """``torch.save`` into memory, then one atomic write: a full disk is then an ``OSError`` naming
    ``path``, not torch's ``RuntimeError: [enforce fail at inline_container.cc]``."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getvalue())


#: What every row of a history holds (the command line and the chapters read these).
ROW_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "test_correct", "lr_end", "seconds")
_HISTORY_KEYS = ("epochs", "device_name", "precision", "step_mode", "setup_seconds", "total_seconds")


def _resume_problem(state: dict[str, Any], cfg: TrainConfig) -> str | None:
    """What makes a resume state unusable for ``cfg`` (None when it can be continued)."""
    from nnbook.mnist.checkpoint import mismatches, non_finite
    from nnbook.mnist.models import build_model

    history = state["history"]
    absent = [k for k in _HISTORY_KEYS if k not in history]
    if absent:
        return f"its history lacks {', '.join(absent)}"
    rows = history["epochs"]
    if not isinstance(rows, list) or not all(isinstance(r, dict) and all(k in r for k in ROW_KEYS) for r in rows):
        return f"its history's epochs are not a list of rows with {', '.join(ROW_KEYS)}"
    if [r["epoch"] for r in rows] != list(range(1, len(rows) + 1)) or len(rows) > cfg.epochs:
        return f"its history's epochs are not 1..N with N <= {cfg.epochs}"
    numbers = [v for r in rows for v in (r[k] for k in ROW_KEYS)]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in numbers):
        return "its history holds values that are not finite numbers"
    weights = state["model"]
    if not all(isinstance(v, torch.Tensor) for v in weights.values()):
        return "its model is not a dict of tensors"
    with torch.device("cpu"):
        differ = mismatches(build_model(cfg.model), weights)
    if differ:
        return f"its weights do not fit model {cfg.model!r} ({'; '.join(differ[:3])})"
    bad = non_finite(weights)
    if bad:
        return f"its weights are NaN or infinite ({', '.join(bad[:3])})"
    return None
