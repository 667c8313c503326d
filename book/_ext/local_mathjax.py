"""Serve MathJax 3 from the built site instead of a CDN.

Sphinx points at a CDN copy of MathJax by default, which never loads on a machine without
internet: the reader then sees raw TeX. This extension copies the parts of MathJax 3 that
``tex-chtml.js`` needs (the component, its fonts, the TeX extensions it autoloads and the
menu/accessibility components it loads on demand) from the ``django-static-mathjax`` package
into ``_static/mathjax/`` and points ``mathjax_path`` there.
"""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

ENTRY = "tex-chtml.js"
PARTS = (ENTRY, "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui", "a11y")


def mathjax_source() -> Path:
    """Folder of the MathJax 3 ``es5`` build shipped by ``django-static-mathjax``."""
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError("local_mathjax: install django-static-mathjax (see requirements.txt)")
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (es5 / ENTRY).is_file():
        raise ExtensionError(f"local_mathjax: {es5 / ENTRY} is missing; reinstall django-static-mathjax")
    return es5


def _copy_mathjax(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


def setup(app: Sphinx) -> dict[str, object]:
    # A path relative to _static/ makes Sphinx load it from the built site.
    app.config.mathjax_path = f"mathjax/{ENTRY}"
    app.connect("builder-inited", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
