"""Glue a computed value into the book's prose: myst-nb's ``glue`` in the book build, quiet elsewhere.

The chapters' hidden cells record each number the text quotes with :func:`glue`. Only the book
build (myst-nb) turns those records into text; in Colab, Binder or a local Jupyter the paired
notebook already carries the build's numbers in its prose, so there a record is simply not
needed, and a reader's runtime need not install myst-nb and Sphinx for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]

try:
    from myst_nb import glue as _myst_glue
except ImportError:  # Colab, Binder, a plain `pip install`: no book build here
    _myst_glue = None


def glue(name: str, value: Any, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the prose; shown as well when ``display`` is true."""
    if _myst_glue is not None:
        _myst_glue(name, value, display=display)
    elif display:
        from IPython.display import display as show

        show(value)
