"""Drop repeated inline scripts from every page.

Jupyter Book 1 runs sphinx-thebe's set-up twice, so each page declared ``const THEBE_JS_URL``
twice and the browser reported ``SyntaxError: Identifier 'THEBE_JS_URL' has already been
declared`` on every page. Keeping the first of identical ``<script>`` entries fixes that.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _unique(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in context.get("script_files", []):
        # the copies differ only in filename None vs "", so compare what the page would contain
        key = (str(script.filename or ""), tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, object]:
    # late, after the theme and sphinx.ext.mathjax have added theirs
    app.connect("html-page-context", _unique, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
