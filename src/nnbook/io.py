"""Atomic file writing: a reader or a crash never sees a half-written file."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_text_atomic", "write_bytes_atomic"]


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success fsync it and rename it over ``target``.

    The temporary file lives in the same folder so the final ``os.replace`` is atomic. On any
    exception the temporary file is removed and ``target`` is left as it was. A disk error
    (full, read-only, ...) names ``target``, not the temporary file: a write to an open file
    would otherwise raise an ``OSError`` that names no file at all.
    """
    target = Path(target)
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as exc:  # a file stands where a folder must be: say that, not "exists"
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory (a file is in the way)", exc.filename) from None
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _naming(exc, target) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp creates 0600 files; give the result the permissions an ordinary open() would
        os.chmod(tmp, 0o666 & ~_umask())
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())  # a full disk may show only here (delayed allocation, NFS)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _naming(exc, target) from None
        raise


def _naming(exc: OSError, target: Path) -> OSError:
    """``exc`` naming ``target`` where it named no file or our temporary file; else unchanged
    (a missing or read-only folder on the way, a file the caller read, keep their own names)."""
    name = exc.filename
    ours = name is None or (Path(name).parent == target.parent and Path(name).name.startswith(f".{target.name}."))
    if not ours:
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), str(target))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the target path."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(target)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically and return the target path."""
    return write_bytes_atomic(target, text.encode("utf-8"))
