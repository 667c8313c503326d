"""A simulated Binder launch: a fresh virtual environment that installs only requirements.txt,
then runs a chapter's paired notebook from the repository root, as Binder's Jupyter would."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "book/part1/network.ipynb"

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


@pytest.mark.slow
def test_fresh_environment_from_requirements_runs_a_chapter(tmp_path: Path) -> None:
    env = tmp_path / "binder-env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    # Binder installs requirements.txt from the repository root (`-e .` is relative to it).
    subprocess.run([python, "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
                   cwd=ROOT, check=True, timeout=900)
    assert (ROOT / CHAPTER).is_file(), f"{CHAPTER} missing: run `make notebooks`"
    result = subprocess.run([python, "-c", RUN_NOTEBOOK, CHAPTER], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout
    # It really ran in the fresh environment, not in the test runner's.
    probe = subprocess.run([python, "-c", "import nnbook, sys; print(sys.prefix)"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    assert Path(probe.stdout.strip()) == env and Path(sys.prefix) != env
