"""A package that installs honestly: the declared ranges hold at their oldest versions, and a plain
``pip install`` run outside a clone fails only with one clear line.

The environments are built for real by ``tools/test_envs.py`` (``.envs/``): Part 1 on Python 3.10
with the oldest numpy, pandas, matplotlib, openpyxl and jinja2 the ranges admit; everything,
PyTorch 2.3 and sympy 1.12 included, at its floor on Python 3.11.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import test_envs
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.runtimes]
#: Part 1's tests that need no PyTorch (run on Python 3.10 with the oldest dependencies)
PART1_TESTS = ["tests/test_io.py", "tests/test_sheet.py", "tests/test_diagram.py", "tests/test_network.py",
               "tests/test_plots.py"]
#: tests of code that runs everywhere a reader runs it (no GPU, no browser, no LibreOffice, no build)
READER_MARKS = "not spreadsheet and not browser and not built and not slow"


def _python(name: str) -> Path:
    try:
        return test_envs.environment(name)
    except test_envs.Unavailable as exc:
        pytest.skip(str(exc))


def _outside_a_clone(python: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m nnbook.mnist ARGS`` from a folder with no clone above it and a fresh home."""
    unset = {"XDG_CACHE_HOME", "NNBOOK_ROOT", "NNBOOK_DATA", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["HOME"] = str(tmp_path)
    return subprocess.run([python, "-m", "nnbook.mnist", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


def _pytest(python: Path, *args: str) -> None:
    result = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", READER_MARKS, *args],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]


def test_installed_copy_is_what_runs(tmp_path: Path) -> None:
    """The environments run the installed package, not this checkout's src/ (a plain install)."""
    python = _python("oldest")
    where = subprocess.run([python, "-c", "import nnbook; print(nnbook.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert "site-packages" in where and str(ROOT / "src") not in where


def test_part1_on_python_310_with_the_oldest_dependencies() -> None:
    python = _python("oldest-py310")
    names = ("numpy", "pandas", "matplotlib", "openpyxl")
    versions = subprocess.run([python, "-c", f"import sys, {', '.join(names)}; assert sys.version_info[:2] == (3, 10); "
                               f"print({', '.join(n + '.__version__' for n in names)})"],
                              capture_output=True, text=True, check=True).stdout
    lowest = test_envs.oldest_admitted()
    assert [Version(v) for v in versions.split()] == [Version(lowest[n]) for n in names]
    _pytest(python, *PART1_TESTS)


def test_without_pytorch_the_command_line_names_the_extra(tmp_path: Path) -> None:
    result = _outside_a_clone(_python("oldest-py310"), tmp_path, "--help")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "pip install 'nnbook[mnist]'" in result.stderr


def test_part1_and_part2_tests_at_the_oldest_versions() -> None:
    python = _python("oldest")
    probe = ("import torch, sympy, onnx, onnxruntime; "
             "print(torch.__version__.split('+')[0], sympy.__version__, onnx.__version__, onnxruntime.__version__)")
    versions = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    lowest = test_envs.oldest_admitted(test_envs.OLDEST_EXTRAS)
    assert [Version(v) for v in versions] == [Version(lowest[n]) for n in ("torch", "sympy", "onnx", "onnxruntime")]
    _pytest(python, *PART1_TESTS, "tests/test_checks.py", "tests/test_mnist_config.py", "tests/test_mnist_models.py",
            "tests/test_bridge.py", "tests/test_mnist_onnx.py")


def test_outside_a_clone_data_goes_to_a_per_user_folder(tmp_path: Path) -> None:
    python = _python("oldest")
    checkpoint = ROOT / "results" / "book" / "cpu-seed1" / "model.pt"
    missing = _outside_a_clone(python, tmp_path, "evaluate", str(checkpoint))
    assert missing.returncode == 1 and missing.stderr.startswith("error: no MNIST data in ")
    assert str(tmp_path / ".cache" / "nnbook" / "data") in missing.stderr and "Traceback" not in missing.stderr
    result = _outside_a_clone(python, tmp_path, "evaluate", str(checkpoint), "--data-root", str(ROOT / "data"))
    assert result.returncode == 0, result.stderr
    history = json.loads((checkpoint.parent / "history.json").read_text())
    assert json.loads(result.stdout)["accuracy"] == history["epochs"][-1]["test_acc"]
    run = _outside_a_clone(python, tmp_path, "train", "--recipe", "tiny", "--epochs", "1", "--limit-train", "512",
                           "--data-root", str(ROOT / "data"), "--out", "run", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["epochs"] == 1 and (tmp_path / "run" / "model.pt").is_file()
