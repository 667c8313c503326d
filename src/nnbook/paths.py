"""Where the book's files live, wherever a chapter happens to run from."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_data_root", "project_root"]

_MARKER = "_toc.yml"


def project_root() -> Path:
    """Return the repository root (the folder holding ``_toc.yml``).

    Chapters run with different working directories (the Jupyter Book build, nbval, Binder,
    Colab), so nothing may rely on the current directory. ``NNBOOK_ROOT`` wins when set; then the
    current directory and its parents are searched, then the clone this source file lies in
    (an editable install).
    """
    env = os.environ.get("NNBOOK_ROOT")
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / _MARKER).is_file():
            raise FileNotFoundError(f"NNBOOK_ROOT={env!r} does not contain {_MARKER}")
        return root
    cwd = Path.cwd().resolve()
    # the clone this file is part of (src/nnbook/paths.py in an editable install); a copy installed
    # into some site-packages belongs to no clone, even when that site-packages lies inside one
    for folder in (cwd, *cwd.parents, Path(__file__).resolve().parents[2]):
        if (folder / _MARKER).is_file():
            return folder
    raise FileNotFoundError(
        f"cannot find the book's repository (no {_MARKER} above {Path.cwd()}); "
        "run from inside a clone or set NNBOOK_ROOT"
    )


def default_data_root() -> Path:
    """Where MNIST lives by default: ``data/`` of the clone; elsewhere a per-user folder.

    Inside a clone (the book, Colab, Binder) that is the repository's verified copy. A plain
    ``pip install`` has no clone around it, so ``NNBOOK_DATA``, else
    ``$XDG_CACHE_HOME/nnbook/data`` (``~/.cache/nnbook/data``), where ``--download`` puts it.
    """
    env = os.environ.get("NNBOOK_DATA")
    if env:
        return Path(env).expanduser()
    try:
        return project_root() / "data"
    except FileNotFoundError:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(cache) / "nnbook" / "data"
