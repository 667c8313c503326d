"""The spreadsheet exports: CSV round trip, atomic writing, and the .xlsx recomputed by LibreOffice.

The LibreOffice tests never skip: a missing ``soffice`` is a failure that says how to install it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnbook.backprop import checks, network, sheet
from nnbook.backprop.network import TABLE_COLUMNS
from nnbook.backprop.problem import CLASSIC, CLASSIC_WITH_BIASES, WEIGHT_NAMES, Problem
from nnbook.errors import UsageError
from reference import PUBLISHED_AFTER_ONE_STEP, PUBLISHED_FORWARD

# LibreOffice's "recalculate on load" setting for OOXML and ODF files: 0 = always. Set in a
# throw-away profile so the result never depends on the machine's defaults.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def libreoffice_recalculate(src: Path, workdir: Path) -> Path:
    """Open ``src`` in headless LibreOffice, let it compute, save as .xlsx; return the new file."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is not installed: run `make system-deps`")
    profile = workdir / "lo-profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS)
    outdir = workdir / "recalculated"
    proc = subprocess.run(
        [soffice, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "xlsx", "--outdir", str(outdir), str(src)],
        capture_output=True, text=True, timeout=300)
    out = outdir / src.name
    assert proc.returncode == 0 and out.is_file(), (
        f"LibreOffice failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return out


def read_table(path: Path, n_rows: int) -> pd.DataFrame:
    """The table's cached values (what the spreadsheet computed), failing on any missing value."""
    from openpyxl import load_workbook

    ws = load_workbook(path, data_only=True)[sheet.SHEET_NAME]
    header = [c.value for c in ws[sheet.HEADER_ROW]]
    assert header == list(TABLE_COLUMNS)
    rows = list(ws.iter_rows(min_row=sheet.HEADER_ROW + 1,
                             max_row=sheet.HEADER_ROW + n_rows, values_only=True))
    missing = [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row)
               if not isinstance(v, (int, float))]
    assert not missing, f"{len(missing)} cells have no computed value, e.g. {missing[:5]}"
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def assert_tables_close(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert got.shape == want.shape
    for col in TABLE_COLUMNS:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   rtol=0, atol=checks.AGREEMENT, err_msg=col)


# ------------------------------------------------------------------ the file itself

def _named_cell(wb, name: str):
    (sheet_name, ref), = list(wb.defined_names[name].destinations)
    return wb[sheet_name][ref.replace("$", "")]


def test_xlsx_holds_formulas_names_and_no_cached_values(tmp_path):
    from openpyxl import load_workbook

    problem = Problem(inputs=(0.3, -0.2), targets=(0.7, 0.1), weights=[0.01 * k for k in range(1, 9)],
                      biases=(0.125, -0.5))
    path = sheet.write_xlsx(tmp_path / "t.xlsx", problem, 0.37, 3)
    wb = load_workbook(path)
    ws = wb[sheet.SHEET_NAME]
    # each named cell holds the value it names, so the formulas compute with the problem asked for
    given = {"i_1": problem.inputs[0], "i_2": problem.inputs[1], "t_1": problem.targets[0],
             "t_2": problem.targets[1], "eta": 0.37, "b_1": problem.biases[0], "b_2": problem.biases[1],
             **{f"{w}_0": v for w, v in zip(WEIGHT_NAMES, problem.weights)}}
    assert set(given) == set(sheet.PARAMETER_NAMES)
    for name, value in given.items():
        assert _named_cell(wb, name).value == value, name
    first, second = sheet.HEADER_ROW + 1, sheet.HEADER_ROW + 2
    col = sheet.column_letter
    assert ws[f"{col('w5')}{first}"].value == "=w5_0"
    assert ws[f"{col('w5')}{second}"].value == f"={col('w5')}{first}-eta*{col('dE/dw5')}{first}"
    h1 = f"{col('h1')}{first}"
    assert ws[f"{col('a_h1')}{first}"].value == f"=EXP(MIN({h1},0))/(1+EXP(-ABS({h1})))"
    # every table cell is a formula: nothing computed in Python sneaks in
    for row in ws.iter_rows(min_row=first, max_row=first + 3):
        assert all(isinstance(c.value, str) and c.value.startswith("=") for c in row)
    # and no value is cached, so what a spreadsheet shows is its own computation
    data = load_workbook(path, data_only=True)[sheet.SHEET_NAME]
    assert data[f"{col('E_total')}{first}"].value is None


@pytest.mark.spreadsheet
def test_libreoffice_recomputes_the_python_table(tmp_path):
    n = 100
    path = sheet.write_xlsx(tmp_path / "backprop.xlsx", CLASSIC, 0.5, n)
    got = read_table(libreoffice_recalculate(path, tmp_path), n + 1)
    assert_tables_close(got, network.train(CLASSIC, 0.5, n))


@pytest.mark.spreadsheet
def test_libreoffice_follows_a_new_eta_in_the_named_cell(tmp_path):
    """Change eta in the named cell (as a reader would), recompute, compare with Python's table."""
    from openpyxl import load_workbook

    n, new_eta = 100, 2.0
    path = sheet.write_xlsx(tmp_path / "backprop.xlsx", CLASSIC, 0.5, n)
    wb = load_workbook(path)
    _named_cell(wb, "eta").value = new_eta
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    got = read_table(libreoffice_recalculate(edited, tmp_path), n + 1)
    assert_tables_close(got, network.train(CLASSIC, new_eta, n))
    with pytest.raises(AssertionError):  # and it really differs from the eta = 0.5 table
        assert_tables_close(got, network.train(CLASSIC, 0.5, n))


@pytest.mark.spreadsheet
def test_libreoffice_follows_an_eta_that_drives_net_inputs_far_below_minus_709(tmp_path):
    """The training chapter's sweep reaches learning rates whose net inputs fall below -709, where
    1/(1+EXP(-x)) overflows to #NUM!; the workbook's sigmoid must still match Python's."""
    n, eta = 100, 25_118.86
    want = network.train(CLASSIC, eta, n)
    assert want[["h1", "h2", "o1", "o2"]].to_numpy().min() < -709  # the case is really reached
    path = sheet.write_xlsx(tmp_path / "backprop.xlsx", CLASSIC, eta, n)
    assert_tables_close(read_table(libreoffice_recalculate(path, tmp_path), n + 1), want)


@pytest.mark.spreadsheet
def test_libreoffice_reproduces_the_published_version_with_biases(tmp_path):
    p = CLASSIC_WITH_BIASES
    path = sheet.write_xlsx(tmp_path / "b.xlsx", p, 0.5, 5)
    got = read_table(libreoffice_recalculate(path, tmp_path), 6)
    assert got.loc[0, "E_total"] == pytest.approx(PUBLISHED_FORWARD["E_total"], abs=1e-9)
    assert got.loc[1, "w5"] == pytest.approx(PUBLISHED_AFTER_ONE_STEP["w5"], abs=1e-8)
    assert_tables_close(got, network.train(p, 0.5, 5))


# ------------------------------------------------------------------ CSV and atomic writing

def test_csv_round_trip_is_exact(tmp_path):
    table = network.train(CLASSIC_WITH_BIASES, 0.5, 20)
    # every float is written in full (shortest round-trip repr); pandas' default parser may be off
    # by one ulp on some versions (2.0), so read it back with the exact one
    back = pd.read_csv(sheet.write_csv(tmp_path / "sub" / "t.csv", table), float_precision="round_trip")
    assert list(back.columns) == list(TABLE_COLUMNS)
    pd.testing.assert_frame_equal(back, table, check_exact=True)


def _no_temporary_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_failed_csv_write_leaves_old_file_and_no_partial_file(tmp_path, enospc_on_file):
    target = tmp_path / "t.csv"
    target.write_text("old\n")
    enospc_on_file(1)  # the disk fills while the new table is written
    with pytest.raises(OSError, match="No space left on device"):
        sheet.write_csv(target, network.train(steps=1))
    assert target.read_text() == "old\n"
    assert _no_temporary_files(tmp_path)


def test_failed_xlsx_write_leaves_no_file(tmp_path, enospc_on_file):
    target = tmp_path / "t.xlsx"
    enospc_on_file(1)
    with pytest.raises(OSError, match="No space left on device"):
        sheet.write_xlsx(target, steps=2)
    assert not target.exists()
    assert _no_temporary_files(tmp_path)


@pytest.mark.parametrize("kwargs, argument", [
    ({"eta": -0.5}, "eta"),
    ({"eta": float("nan")}, "eta"),
    ({"steps": -1}, "steps"),
    ({"steps": 1.5}, "steps"),
    ({"problem": CLASSIC.weights}, "problem"),
])
def test_write_xlsx_rejects_bad_input(tmp_path, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        sheet.write_xlsx(tmp_path / "bad.xlsx", **kwargs)
    assert not (tmp_path / "bad.xlsx").exists()


def test_write_csv_rejects_non_table(tmp_path):
    with pytest.raises(ValueError, match="table"):
        sheet.write_csv(tmp_path / "x.csv", [1, 2, 3])  # type: ignore[arg-type]


def test_table_html_shows_the_error_first_with_fixed_decimals():
    table = network.train(CLASSIC, 0.5, 3)
    html = sheet.table_html(table, digits=6)
    header = re.findall(r"<th[^>]*>(.*?)</th>", html)
    assert header[:2] == ["iteration", "E_total"] and sorted(header) == sorted(table.columns)
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)  # the header row has attributes: not matched
    assert len(rows) == len(table)
    for row, (_, want) in zip(rows, table[header].iterrows()):
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert int(cells[0]) == want["iteration"]
        for cell, value in zip(cells[1:], want.iloc[1:]):
            assert re.fullmatch(r"-?\d+\.\d{6}", cell) and abs(float(cell) - value) <= 0.5e-6
    assert re.search(r"\.nnbook-sheet td, \.nnbook-sheet th \{ padding: [^;]+em; \}", html)  # cells kept apart
    assert 'class="dataframe nnbook-sheet"' in html  # pandas' own class, and ours
    with pytest.raises(UsageError, match="first"):
        sheet.table_html(table, first=("nope",))


def test_xlsx_charts_the_error_column(tmp_path):
    """The chart reads the E_total column of every iteration row, with the iterations along x."""
    from openpyxl import load_workbook

    steps = 7
    ws = load_workbook(sheet.write_xlsx(tmp_path / "c.xlsx", CLASSIC, 0.5, steps))[sheet.SHEET_NAME]
    (chart,) = ws._charts
    (series,) = chart.series
    col = sheet.column_letter("E_total")
    first, last = sheet.HEADER_ROW + 1, sheet.HEADER_ROW + 1 + steps
    assert series.val.numRef.f == f"'{sheet.SHEET_NAME}'!${col}${first}:${col}${last}"
    assert series.cat.numRef.f == f"'{sheet.SHEET_NAME}'!$A${first}:$A${last}"
    assert ws[f"A{sheet.HEADER_ROW}"].value == "iteration"
    assert series.tx.strRef.f == f"'{sheet.SHEET_NAME}'!{col}{sheet.HEADER_ROW}"  # the legend name: E_total
