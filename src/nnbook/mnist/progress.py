"""Progress bars: tqdm's widget under Jupyter, text in a terminal, none in the built book.

A widget lives only while its kernel does: a notebook saved afterwards (Colab's "save", Binder's
download) would show each bar frozen at its first state, "0/63". So under Jupyter each bar's
widget is removed when it finishes and a text line with its final state is printed in its place.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["progress_bar_class"]


def progress_bar_class() -> type | None:
    """tqdm's notebook widget under Jupyter, text bars elsewhere; ``None`` (no bars) when
    ``NNBOOK_PROGRESS=text`` says the output is kept as static text. The book build sets it: a
    widget saved into static HTML shows its first state (0 %) and needs JavaScript from a CDN, a
    text bar's redraws would each become a line of the saved output, and even a bar's final state
    only repeats, as progress-bar residue, the line per epoch that training prints anyway."""
    if os.environ.get("NNBOOK_PROGRESS", "").strip().lower() == "text":
        return None
    from tqdm.auto import tqdm

    # tqdm.auto loads tqdm.notebook only under Jupyter; importing it here would pull in ipywidgets
    # for every command-line run
    notebook = sys.modules.get("tqdm.notebook")
    return _widget_then_text_bar_class(tqdm) if notebook and issubclass(tqdm, notebook.tqdm) else tqdm


def _widget_then_text_bar_class(widget_tqdm: type) -> type:
    from tqdm.std import tqdm as text_tqdm

    class WidgetThenTextBar(widget_tqdm):
        """A live widget while it runs; when closed, the widget goes and its final state stays as text."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["leave"] = False  # tqdm hides a bar that is not left: the text line replaces it
            super().__init__(*args, **kwargs)

        def close(self) -> None:
            final = None if self.disable or getattr(self, "_final_printed", False) else \
                text_tqdm.format_meter(**{**self.format_dict, "ncols": None})
            super().close()
            if final is not None:
                self._final_printed = True
                print(final, file=sys.stderr, flush=True)

    return WidgetThenTextBar
