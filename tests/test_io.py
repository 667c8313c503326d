"""Atomic writes: the target is either the old file or the complete new one, never a fragment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nnbook.io import atomic_path, write_text_atomic


def test_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]  # no temporary left


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "out.txt", "x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_a_file_in_the_way_of_the_folder_is_named(tmp_path: Path) -> None:
    """``out/x.pt`` where ``out`` is a file: the error names it and says what is wrong ("File exists" did not)."""
    (tmp_path / "out").write_text("a file")
    with pytest.raises(NotADirectoryError, match="a file is in the way") as info:
        write_text_atomic(tmp_path / "out" / "x.pt", "x")
    assert info.value.filename == str(tmp_path / "out")
