"""number_table: every number shown with the decimals asked, cells padded apart, errors as powers of ten."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from nnbook.backprop import tables
from nnbook.errors import UsageError


def _cells(html: str) -> list[str]:
    return [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def test_numbers_keep_their_decimals_and_negative_neighbours_stay_apart():
    frame = pd.DataFrame({"a": [-0.0424552500926, 0.5], "b": [-0.0427692482800, 1.0], "err": [1.4e-17, 0.0]})
    html = tables.number_table(frame, decimals=6, tiny=["err"]).to_html()
    assert _cells(html) == ["-0.042455", "-0.042769", "1.4 × 10⁻¹⁷", "0.500000", "1.000000", "0"]
    assert f"padding: {tables.CELL_PADDING}" in html
    # the values themselves are untouched
    assert tables.number_table(frame).data.equals(frame)


def test_an_integer_index_has_its_thousands_separated():
    frame = pd.DataFrame({"E": [0.5, 0.25, 0.125]}, index=[0, 1_000, 10_000])
    html = tables.number_table(frame, decimals=3).to_html()
    rows = [r.strip() for r in re.findall(r'<th[^>]*class="row_heading[^"]*"[^>]*>(.*?)</th>', html, re.S)]
    assert rows == ["0", "1,000", "10,000"]
    named = pd.DataFrame({"E": [0.5]}, index=["w1000"])  # a name is left as it is
    assert "w1000" in tables.number_table(named).to_html()


def test_a_series_becomes_one_column():
    html = tables.number_table(pd.Series([0.25, -1.5], name="value"), decimals=2).to_html()
    assert _cells(html) == ["0.25", "-1.50"]


@pytest.mark.parametrize("kwargs", [dict(tiny=["nope"]), dict(decimals=-1), dict(decimals=2.5), dict(decimals=True)])
def test_bad_arguments_are_named(kwargs):
    with pytest.raises(UsageError):
        tables.number_table(pd.DataFrame({"a": [1.0]}), **kwargs)
    with pytest.raises(UsageError, match="DataFrame"):
        tables.number_table([1.0, 2.0])
