"""Arrays as LaTeX, so the chapters show matrices as mathematics rather than printed arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["matrix", "lines", "math"]


def _entry(x: float, fmt: str) -> str:
    text = fmt.format(x)
    if text.lstrip("-").strip("0.") == "":
        return "0"  # no "-0" or "0.000" clutter
    if "e" in text:  # "{:g}" writes 4e-06 for small numbers: show it as mathematics, 4 \times 10^{-6}
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def matrix(values: Any, fmt: str = "{:g}") -> str:
    """A pmatrix of ``values`` (a vector becomes a column), each entry formatted with ``fmt``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"values must be a vector or a matrix, got shape {arr.shape}")
    rows = (" & ".join(_entry(float(x), fmt) for x in row) for row in arr)
    return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"


def lines(*rows: str) -> str:
    """Several equations centred one below the other (a ``gathered`` block), for narrow pages."""
    return r"\begin{gathered} " + r" \\ ".join(rows) + r" \end{gathered}"


def math(tex: str) -> Any:
    """An ``IPython.display.Math`` object for a display equation (what ``glue:math`` shows)."""
    from IPython.display import Math

    return Math(tex)
