"""Binder's environment: ``binder/requirements.txt``, CPU-only and without the book-building tools.

Binder (repo2docker) installs ``binder/requirements.txt`` from the repository root. These tests
keep its pins equal to the build's ``requirements.txt`` and simulate a launch: a fresh virtual
environment with only that file installed runs chapters' paired notebooks from the repository
root, as Binder's Jupyter would. PyTorch's CPU wheel index is not reachable offline, so the
simulation installs the CPU build of torch found on this machine's disk in its place (the
pinned ``+cpu`` build itself is installed only by Binder).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import test_envs

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder" / "requirements.txt"
BUILD_ONLY = {"jupyter-book", "myst-nb", "sphinx-book-theme", "django-static-mathjax"}
#: a chapter of each part; Part 2's model chapter runs the network without training it
CHAPTERS = ["book/part1/network.ipynb", "book/part2/model.ipynb"]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s+]+)(\+cpu)?\s*$")

RUN_NOTEBOOK = """
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                        resources={"metadata": {"path": "."}}).execute()
code = [c for c in nb.cells if c.cell_type == "code"]
errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
print(f"executed {len(code)} code cells, {len(errors)} errors")
sys.exit(1 if errors or not code else 0)
"""


def _pins(path: Path) -> dict[str, tuple[str, bool]]:
    """name -> (version, is the +cpu build) for every ``name==version`` line."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match.group(1).lower()] = (match.group(2), bool(match.group(3)))
    return pins


def test_binder_pins_the_builds_versions_with_cpu_only_torch() -> None:
    binder, build = _pins(BINDER), _pins(ROOT / "requirements.txt")
    assert set(binder) <= set(build), f"not in requirements.txt: {set(binder) - set(build)}"
    assert {name: version for name, (version, _) in binder.items()} == {n: build[n][0] for n in binder}
    assert binder["torch"][1], "Binder has no GPU: torch must be the +cpu build"
    assert "https://download.pytorch.org/whl/cpu" in BINDER.read_text(encoding="utf-8")
    assert not BUILD_ONLY & set(binder), "the book-building tools are not a reader's runtime"
    # Everything a chapter imports at run time is there (torchvision: only the pipeline benchmark).
    runtime = {"numpy", "pandas", "matplotlib", "openpyxl", "sympy", "torch", "torchinfo", "tqdm", "ipywidgets",
               "onnx", "onnxruntime"}
    assert runtime <= set(binder)
    assert "-e ." in BINDER.read_text(encoding="utf-8").splitlines()
    assert (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.11"


@pytest.mark.slow
@pytest.mark.runtimes
def test_fresh_binder_environment_runs_chapters() -> None:
    try:
        python = test_envs.environment("binder")
    except test_envs.Unavailable as exc:
        pytest.skip(str(exc))
    env = python.parents[1]
    probe = subprocess.run([python, "-c", "import sys, torch; print(sys.prefix); print(torch.version.cuda)"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    prefix, cuda = probe.stdout.split()
    assert Path(prefix) == env and Path(sys.prefix) != env  # it really ran in the fresh environment
    assert cuda == "None", "a CUDA build of torch got into the Binder environment"
    missing = subprocess.run([python, "-c", "import importlib.util as u; print([m for m in "
                              "('myst_nb', 'sphinx', 'jupyter_book', 'torchvision') if u.find_spec(m)])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert missing == "[]", f"book-building tools in a reader's runtime: {missing}"
    size = sum(f.stat().st_size for f in env.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"Binder environment: {size / 2**30:.2f} GiB")
    assert size < 2 * 2**30, f"the Binder environment takes {size / 2**30:.1f} GiB"
    for chapter in CHAPTERS:
        assert (ROOT / chapter).is_file(), f"{chapter} missing: run `make notebooks`"
        result = subprocess.run([python, "-c", RUN_NOTEBOOK, chapter], cwd=ROOT,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 errors" in result.stdout
