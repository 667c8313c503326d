"""Shared test set-up: the repository root and the book tooling on the import path."""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]  # benchmarks/ (a folder of the repository) and tools/


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def _device_params() -> list:
    """CPU always; CUDA and MPS where present, and reported as skipped (not silently absent) elsewhere."""
    try:
        import torch
    except ModuleNotFoundError:  # Part 1's tests also run where only Part 1's dependencies are installed
        return [pytest.param("cpu", id="cpu")]

    no_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
    no_mps = pytest.mark.skipif(not torch.backends.mps.is_available(), reason="no Apple MPS here")
    return [pytest.param("cpu", id="cpu"), pytest.param("cuda", id="cuda", marks=no_cuda),
            pytest.param("mps", id="mps", marks=no_mps)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that takes ``device`` as ``devices``: the set ``make gpu-check`` runs on a GPU."""
    for item in items:
        if "device" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.devices)


@pytest.fixture(params=_device_params())
def device(request: pytest.FixtureRequest) -> str:
    """Each test that takes ``device`` runs once per available device (``make gpu-check`` on a GPU)."""
    import torch

    if request.param == "cuda":  # exact comparisons below need cuDNN's deterministic kernels
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    return request.param


@pytest.fixture
def meta_default_device():
    """Make ``meta`` the default device: a tensor created without an explicit device lands there,
    and the first operation mixing it with a real tensor fails loudly (the crash class that once
    broke every GPU run: ``torch.arange(256)`` beside a CUDA histogram)."""
    import torch

    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(None)


@pytest.fixture
def enospc_on_file(monkeypatch: pytest.MonkeyPatch):
    """``fail(n)``: the n-th ``os.fsync`` of a regular file raises ENOSPC, as a full disk does on
    file systems that allocate late (ext4, XFS, NFS). Every atomic write fsyncs before its rename."""
    real = os.fsync

    def fail(n: int) -> None:
        count = [0]

        def fsync(fd: int) -> None:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                count[0] += 1
                if count[0] == n:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real(fd)

        monkeypatch.setattr(os, "fsync", fsync)  # undone by monkeypatch when the test ends

    return fail
