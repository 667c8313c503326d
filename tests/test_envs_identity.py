"""The readers' runtimes (.envs/) are named by what they install and with which interpreter, the
same from every process: a shim found first on one process's PATH must not rebuild them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import test_envs


def test_a_shim_on_the_path_names_the_interpreter_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        real = test_envs._interpreter("python3.11")
    except test_envs.Unavailable as exc:
        pytest.skip(str(exc))
    shim = tmp_path / "python3.11"  # what pyenv puts first on a PATH: a script that runs the real one
    shim.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    def plannable(name: str) -> bool:
        try:
            return bool(test_envs.plan(name))
        except test_envs.Unavailable:  # e.g. no CPU build of torch on this machine's disk
            return False

    names = [name for name in test_envs.recipes() if plannable(name)]
    before = {name: test_envs.plan(name) for name in names}
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert test_envs._interpreter("python3.11") == real
    if not names:
        pytest.skip("no readers' runtime can be planned on this machine, so no build plan to compare")
    assert {name: test_envs.plan(name) for name in names} == before, "the same build plan, so no rebuild"
