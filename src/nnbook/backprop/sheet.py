"""The spreadsheet exports: the training table as CSV, and as an .xlsx of live formulas.

The workbook holds no computed numbers at all, only formulas: the inputs, targets, starting
weights, biases and eta sit in named cells (``i_1``, ``i_2``, ``t_1``, ``t_2``, ``eta``, ``b_1``,
``b_2``, ``w1_0`` ... ``w8_0``; plain ``i1`` or ``w1`` would be cell addresses), the first table
row reads them, and each later row updates the previous row's weights with w - eta * dE/dw.
Excel or LibreOffice computes every number on opening; change eta and the whole table follows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
import pandas as pd

from nnbook.backprop.network import TABLE_COLUMNS
from nnbook.backprop.problem import CLASSIC, CLASSIC_ETA, WEIGHT_NAMES, Problem, check_problem
from nnbook.backprop.tables import CELL_PADDING
from nnbook.backprop.validate import check_eta, check_steps
from nnbook.errors import UsageError
from nnbook.io import atomic_path

__all__ = ["write_csv", "write_xlsx", "table_html", "SHEET_NAME", "HEADER_ROW",
           "PARAMETER_NAMES", "column_letter"]

SHEET_NAME = "backprop"
#: the table's header row; iteration k sits in row HEADER_ROW + 1 + k
HEADER_ROW = 22
#: defined name -> (description) of each parameter cell, in the order they appear
PARAMETER_NAMES: dict[str, str] = {
    "i_1": "input i1",
    "i_2": "input i2",
    "t_1": "target t1",
    "t_2": "target t2",
    "eta": "learning rate eta (change me!)",
    "b_1": "bias b1 into h1 and h2 (0 in the book)",
    "b_2": "bias b2 into o1 and o2 (0 in the book)",
    **{f"{w}_0": f"starting weight {w}" for w in WEIGHT_NAMES},
}
_FIRST_PARAMETER_ROW = 4


def column_letter(name: str) -> str:
    """The workbook column (A, B, ...) of a table column such as ``"E_total"`` or ``"dE/dw5"``."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(TABLE_COLUMNS.index(name) + 1)


def write_csv(path: str | os.PathLike[str], table: pd.DataFrame) -> Path:
    """Write the training table (from :func:`nnbook.backprop.network.train`) to ``path`` as CSV, atomically.

    Floats are written with full float64 precision (shortest round-trip repr).
    """
    if not isinstance(table, pd.DataFrame):
        raise UsageError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def _row_formulas(r: int) -> dict[str, str]:
    """The formulas of table row ``r`` (a worksheet row number), by table column."""
    c = {name: f"{column_letter(name)}{r}" for name in TABLE_COLUMNS}
    p = {name: f"{column_letter(name)}{r - 1}" for name in TABLE_COLUMNS}
    first = r == HEADER_ROW + 1
    f: dict[str, str] = {"iteration": "=0" if first else f"={p['iteration']}+1"}
    for w in WEIGHT_NAMES:
        # the update rule, reading the previous row: w <- w - eta * dE/dw
        f[w] = f"={w}_0" if first else f"={p[w]}-eta*{p['dE/d' + w]}"
    # the sigmoid as network.sigmoid computes it: EXP only ever of a number <= 0, so a net input
    # below about -709 (a huge eta) gives a tiny activation instead of #NUM!
    sig = "=EXP(MIN({0},0))/(1+EXP(-ABS({0})))".format
    f["h1"] = f"={c['w1']}*i_1+{c['w2']}*i_2+b_1"
    f["a_h1"] = sig(c["h1"])
    f["h2"] = f"={c['w3']}*i_1+{c['w4']}*i_2+b_1"
    f["a_h2"] = sig(c["h2"])
    f["o1"] = f"={c['w5']}*{c['a_h1']}+{c['w6']}*{c['a_h2']}+b_2"
    f["a_o1"] = sig(c["o1"])
    f["o2"] = f"={c['w7']}*{c['a_h1']}+{c['w8']}*{c['a_h2']}+b_2"
    f["a_o2"] = sig(c["o2"])
    f["E1"] = f"=0.5*(t_1-{c['a_o1']})^2"
    f["E2"] = f"=0.5*(t_2-{c['a_o2']})^2"
    f["E_total"] = f"={c['E1']}+{c['E2']}"
    # the chain-rule formulas, spelled out: delta_o = (a_o - t) a_o (1 - a_o)
    d_o1 = f"({c['a_o1']}-t_1)*{c['a_o1']}*(1-{c['a_o1']})"
    d_o2 = f"({c['a_o2']}-t_2)*{c['a_o2']}*(1-{c['a_o2']})"
    d_h1 = f"({d_o1}*{c['w5']}+{d_o2}*{c['w7']})*{c['a_h1']}*(1-{c['a_h1']})"
    d_h2 = f"({d_o1}*{c['w6']}+{d_o2}*{c['w8']})*{c['a_h2']}*(1-{c['a_h2']})"
    f["dE/dw1"] = f"={d_h1}*i_1"
    f["dE/dw2"] = f"={d_h1}*i_2"
    f["dE/dw3"] = f"={d_h2}*i_1"
    f["dE/dw4"] = f"={d_h2}*i_2"
    f["dE/dw5"] = f"={d_o1}*{c['a_h1']}"
    f["dE/dw6"] = f"={d_o1}*{c['a_h2']}"
    f["dE/dw7"] = f"={d_o2}*{c['a_h1']}"
    f["dE/dw8"] = f"={d_o2}*{c['a_h2']}"
    return f


def write_xlsx(path: str | os.PathLike[str], problem: Problem = CLASSIC, eta: float = CLASSIC_ETA,
               steps: int = 100) -> Path:
    """Write the training spreadsheet as an .xlsx of live formulas, atomically; return the path.

    Rows for iterations 0..``steps`` (the same rows as :func:`nnbook.backprop.network.train`). The
    file stores formulas only, no cached results, and asks the application to recalculate on load.
    """
    from openpyxl import Workbook

    p, eta, steps = check_problem(problem), check_eta(eta), check_steps(steps)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    _write_parameters(wb, ws, (*p.inputs, *p.targets, eta, *p.biases, *p.weights))
    _write_table(ws, steps)
    _write_chart(ws, steps)
    # no cached values are stored, so ask Excel to compute everything when the file opens
    wb.calculation.fullCalcOnLoad = True
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)


def _write_parameters(wb: Any, ws: Any, values: tuple[float, ...]) -> None:
    """The title and the named, yellow parameter cells (``values`` in the order of PARAMETER_NAMES)."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.workbook.defined_name import DefinedName

    ws["A1"] = "Backpropagation by hand: the 2-2-2 network, trained by gradient descent"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = ("Every number below is a formula. Change eta (or any yellow cell) and the "
                "whole table recomputes.")
    yellow = PatternFill("solid", fgColor="FFF2CC")
    for k, (name, label) in enumerate(PARAMETER_NAMES.items()):
        r = _FIRST_PARAMETER_ROW + k
        ws.cell(r, 1, name).font = Font(bold=True)
        ws.cell(r, 2, values[k]).fill = yellow
        ws.cell(r, 3, label)
        wb.defined_names[name] = DefinedName(name, attr_text=f"'{SHEET_NAME}'!$B${r}")
    assert _FIRST_PARAMETER_ROW + len(PARAMETER_NAMES) < HEADER_ROW
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["C"].width = 14


def _write_table(ws: Any, steps: int) -> None:
    """The header row and one row of formulas per iteration 0..steps."""
    from openpyxl.styles import Font

    for j, name in enumerate(TABLE_COLUMNS, start=1):
        ws.cell(HEADER_ROW, j, name).font = Font(bold=True)
    for k in range(steps + 1):
        r = HEADER_ROW + 1 + k
        for name, formula in _row_formulas(r).items():
            cell = ws[f"{column_letter(name)}{r}"]
            cell.value = formula
            cell.number_format = "0" if name == "iteration" else "0.000000000"
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 2)
    for name in TABLE_COLUMNS[1:]:
        ws.column_dimensions[column_letter(name)].width = 13


def _write_chart(ws: Any, steps: int) -> None:
    """A line chart of the E_total column beside the parameters: it redraws when eta changes."""
    from openpyxl.chart import LineChart, Reference

    col = TABLE_COLUMNS.index("E_total") + 1
    chart = LineChart()
    chart.title = "E_total by iteration"
    chart.x_axis.title = "iteration"
    chart.y_axis.title = "E_total"
    chart.legend = None
    chart.height, chart.width = 8.5, 16.0  # cm: fits beside the parameter cells, above the table
    data = Reference(ws, min_col=col, min_row=HEADER_ROW, max_row=HEADER_ROW + 1 + steps)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + 1 + steps))
    ws.add_chart(chart, "E3")


def table_html(table: pd.DataFrame, max_height: str = "28em", digits: int = 6,
               first: tuple[str, ...] = ("iteration", "E_total")) -> str:
    """The table as HTML in a scrollable box (for showing 100+ rows of 28 columns in a page).

    Every number has ``digits`` fixed decimals, so a column's numbers line up; the columns named
    in ``first`` come first (by default the error, which is the point of the table), the others
    follow in their order.
    """
    missing = [c for c in first if c not in table.columns]
    if missing:
        raise UsageError(f"first names columns the table does not have: {missing}")
    table = table[[*first, *(c for c in table.columns if c not in first)]]
    body = table.to_html(index=False, float_format=lambda x: f"{x:.{digits}f}", border=0,
                         classes="nnbook-sheet")
    # padded cells: two negative numbers side by side must not read as one
    style = f"<style>.nnbook-sheet td, .nnbook-sheet th {{ padding: {CELL_PADDING}; }}</style>"
    return (f'{style}<div style="max-height: {max_height}; overflow: auto; font-size: 0.8em;">'
            f"{body}</div>")
