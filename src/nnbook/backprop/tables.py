"""How the Part 1 chapters show a table of numbers: fixed decimals, columns kept apart.

pandas' default HTML packs cells so tightly that two negative numbers side by side read as one
("-0.042455250-0.042455250"); :func:`number_table` pads the cells and gives every number of a
quantity the same decimals.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from nnbook.errors import UsageError
from nnbook.notation import scientific

__all__ = ["CELL_PADDING", "number_table"]

#: the CSS padding of every cell: enough that neighbouring numbers never touch
CELL_PADDING = "0.15em 0.9em"


def number_table(frame: pd.DataFrame | pd.Series, decimals: int = 9, tiny: Sequence[str] = ()) -> Styler:
    """``frame`` styled for a chapter: ``decimals`` fixed decimals, columns ``tiny`` as 1.2 × 10⁻¹⁷,
    an integer index with thousands separated (10,000).

    ``tiny`` names columns of errors and residuals, where only the order of magnitude matters.
    A Series becomes a one-column table. Cells are padded by :data:`CELL_PADDING`.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"number_table() takes a pandas DataFrame or Series, got {type(frame).__name__}")
    missing = [c for c in tiny if c not in frame.columns]
    if missing:
        raise UsageError(f"tiny names columns the table does not have: {missing}")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 17:
        raise UsageError(f"decimals must be an integer from 0 to 17, got {decimals!r}")
    styler = frame.style.format(f"{{:.{decimals}f}}")
    if pd.api.types.is_integer_dtype(frame.index):  # row numbers such as iterations: 10,000, as the prose writes them
        styler = styler.format_index("{:,}".format)
    if tiny:
        styler = styler.format(scientific, subset=list(tiny))
    return styler.set_table_styles([{"selector": "td, th", "props": f"padding: {CELL_PADDING}"}])
