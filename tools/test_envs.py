"""The readers' runtimes the tests install for real, beside the build's own ``.venv``.

- ``binder``: ``binder/requirements.txt`` (CPU-only PyTorch, no book-building tools), as Binder
  installs it, with torch taken from the CPU build on this machine's disk (PyTorch's CPU index is
  not reachable offline);
- ``oldest``: Python 3.11 with every dependency at the oldest version ``pyproject.toml``'s ranges
  admit, torch included (from the package registry), the package installed as a reader would
  (``pip install <clone>[checks,mnist]``, not editable);
- ``oldest-py310``: Python 3.10, the oldest versions of Part 1's dependencies, no PyTorch (none
  for Python 3.10 is reachable offline).

Each environment lives in ``.envs/<name>/``: rebuilt when what it installs changes, and the
package alone reinstalled when its source changes.
``python tools/test_envs.py`` builds them all (``make test`` runs it beside the book build); the
tests call :func:`environment`, which builds one only if it is missing or stale.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENVS = ROOT / ".envs"
WHEELS = Path("/opt/wheels")  # where this machine keeps the CPU build of torch
#: the extras the ``oldest`` environment installs at their floors (all that Part 2 and its checks use)
OLDEST_EXTRAS = ("checks", "mnist", "onnx")
TOOLS = ["pytest", "hypothesis", "setuptools>=77", "wheel"]  # the newest that support the Python at hand


class Unavailable(RuntimeError):
    """This machine cannot build the environment (no such Python, no CPU torch on disk)."""


def local_cpu_torch(python_tag: str = "cp311") -> Path:
    wheels = sorted(WHEELS.glob(f"torch-*+cpu-{python_tag}-*.whl"))
    if not wheels:
        raise Unavailable(f"no CPU build of torch for {python_tag} in {WHEELS}, and PyTorch's CPU index is offline")
    return wheels[-1]


def oldest_admitted(extras: tuple[str, ...] = ()) -> dict[str, str]:
    """name -> the lowest version ``pyproject.toml`` admits, for the dependencies and ``extras``
    (where two name the same package, the higher floor: both must hold)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in extras:
        specs += [s for s in project["optional-dependencies"][extra] if not s.startswith("nnbook")]
    lowest = {}
    for spec in specs:
        name, bound = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", spec.replace(" ", "")).groups()
        key = name.lower()
        if key not in lowest or _release(bound) > _release(lowest[key]):
            lowest[key] = bound
    return lowest


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def recipes() -> dict[str, dict]:
    """What each environment installs: its Python and pip's arguments."""
    binder = [line for line in (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith(("#", "--extra-index-url"))]
    # torch at its floor too, from the package registry: PyPI's Linux build, CUDA libraries and all
    # (about 5 GB installed; the tests run it on the CPU)
    oldest = oldest_admitted(OLDEST_EXTRAS)
    part1 = oldest_admitted()
    return {
        "binder": {"python": "python3.11", "torch": True, "pip": [*binder, "nbclient"]},
        "oldest": {"python": "python3.11", "torch": False,
                   "pip": [f"{n}=={v}" for n, v in oldest.items()] + TOOLS + [f"{ROOT}[{','.join(OLDEST_EXTRAS)}]"]},
        "oldest-py310": {"python": "python3.10", "torch": False,
                         "pip": [f"{n}=={v}" for n, v in part1.items()] + TOOLS + [str(ROOT)]},
    }


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _source_digest() -> str:
    """The package as a plain install copies it: a change reinstalls it (not its dependencies)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")) + [ROOT / "pyproject.toml"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _interpreter(name: str) -> str:
    """A working ``python3.X``: on the PATH, else one pyenv installed but did not activate.

    The path returned is the interpreter's own ``sys.executable``, not what the PATH found (a
    pyenv shim from one process, the real binary from another, depending on how each was
    started), so every process computes the same digest for the same environment.
    """
    version = name.removeprefix("python")
    candidates = [shutil.which(name)] + sorted(str(p) for p in (Path.home() / ".pyenv" / "versions").glob(
        f"{version}.*/bin/{name}"))
    for candidate in filter(None, candidates):
        found = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    raise Unavailable(f"{name} is not installed")


def plan(name: str) -> tuple[str, list[str]]:
    """What environment ``name`` is built from: its interpreter and pip's arguments."""
    recipe = recipes()[name]
    python = _interpreter(recipe["python"])
    pip = list(recipe["pip"])
    if recipe["torch"]:
        torch = str(local_cpu_torch())
        pip = [torch if p.startswith("torch==") else p for p in pip]
        if torch not in pip:
            pip.insert(0, torch)
    return python, [part for p in pip for part in (p.split(maxsplit=1) if p.startswith("-e ") else [p])]


def environment(name: str) -> Path:
    """The Python executable of environment ``name``, built first if missing or stale."""
    python, args = plan(name)
    home = ENVS / name
    package = [a for a in args if a.startswith(str(ROOT))]  # the plain (not editable) install of the clone
    # no bytecode compiled at install: the tests import a small part of what is installed, and
    # Python compiles (and, unless told not to, caches) a module when it is first imported
    pip_install = [home / "bin" / "python", "-m", "pip", "install", "-qq", "--no-compile"]
    deps, source = home / ".dependencies", home / ".package"
    wanted, digest = _digest(python, args), _source_digest()
    if not (deps.is_file() and deps.read_text() == wanted):
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run([python, "-m", "venv", home], check=True)
        subprocess.run([*pip_install, *args], cwd=ROOT, check=True, timeout=1800)
        deps.write_text(wanted)
    elif package and not (source.is_file() and source.read_text() == digest):
        subprocess.run([*pip_install, "--no-deps", "--force-reinstall", *package], cwd=ROOT, check=True, timeout=600)
    source.write_text(digest)
    return home / "bin" / "python"


def main() -> int:
    for name in recipes():
        try:
            print(f"{name}: {environment(name)}", flush=True)
        except Unavailable as exc:
            print(f"{name}: not built here ({exc})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
