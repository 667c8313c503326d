"""The chapters are real notebooks: jupytext sees their code, the build runs all of it, Colab opens them.

jupytext treats a ``.md`` as a MyST notebook only with the full header; with less it silently
turns every ``{code-cell}`` into markdown, and the build then executes nothing and still passes.
These tests make that failure loud, prove from the build's executed notebooks that every code
cell of every chapter ran once without error (its hidden cells assert the chapter's numbers, so
a wrong number fails the build), and keep the paired ``.ipynb`` (what Colab opens) in sync.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

import notebooks

BUILD = notebooks.build_folder()
ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = notebooks.chapters(ROOT)
SETUP_CELL = (ROOT / "book" / "_setup_cell.py").read_text(encoding="utf-8").strip()
ids = [str(md.relative_to(ROOT / "book")) for md in CHAPTERS]


def test_every_toc_entry_exists_and_chapters_are_notebooks() -> None:
    pages = notebooks.toc_files(ROOT)
    missing = [p for p in pages if not (ROOT / f"{p}.md").is_file()]
    assert not missing, f"_toc.yml names pages that do not exist: {missing}"
    # Every page but the introduction is an executable chapter.
    assert [ROOT / f"{p}.md" for p in pages[1:]] == CHAPTERS
    assert len(CHAPTERS) >= 8


@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_front_matter_is_the_full_jupytext_header(md: Path) -> None:
    text = md.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header = yaml.safe_load(text.split("---\n")[1])
    rep = header["jupytext"]["text_representation"]
    assert (rep["extension"], rep["format_name"], str(rep["format_version"])) == (".md", "myst", "0.13")
    assert header["kernelspec"] == {"display_name": "Python 3", "language": "python", "name": "python3"}


@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_converted_chapter_has_code_cells(md: Path) -> None:
    nb = jupytext.read(md)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 3, f"{md.name}: jupytext found {len(code)} code cells; is the header complete?"
    leaked = [c for c in nb.cells if c.cell_type == "markdown" and "{code-cell}" in c.source]
    assert not leaked, f"{md.name}: code cells converted to markdown"


@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_first_code_cell_is_the_shared_setup_cell(md: Path) -> None:
    first = next(c for c in jupytext.read(md).cells if c.cell_type == "code")
    assert first.source.strip() == SETUP_CELL, f"{md.name}: first code cell differs from book/_setup_cell.py"
    assert "remove-cell" in first.metadata.get("tags", [])


def test_setup_cell_clones_the_configured_repository() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert f'repo = "{config["repository"]["url"]}"' in SETUP_CELL


@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_paired_notebook_is_in_sync_and_has_no_outputs(md: Path) -> None:
    pair = notebooks.pair_of(md)
    assert pair.is_file(), f"{pair.name} missing: run `make book && make notebooks`"
    expected = notebooks.render(md, notebooks.recorded_glue(pair))
    assert pair.read_text(encoding="utf-8") == expected, f"{pair.name} out of date: run `make book && make notebooks`"
    nb = nbformat.read(pair, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_launched_notebook_reads_like_the_page(md: Path) -> None:
    """What Colab and Binder show: numbers in the prose, no raw MyST, the chapter's own code cells."""
    nb = nbformat.read(notebooks.pair_of(md), as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    raw = notebooks.RAW_MYST.findall(text) + re.findall(r"^:[\w-]+:", text, re.M)
    assert not raw, f"{md.name}: a plain notebook shows raw MyST {raw[:3]}"
    text = md.read_text(encoding="utf-8")
    roles = {m.group(0) for pattern in (notebooks.GLUE_ROLE, notebooks.GLUE_BLOCK) for m in pattern.finditer(text)}
    glued = notebooks.recorded_glue(notebooks.pair_of(md))
    assert set(glued) == roles, f"{md.name}: the pair has no number for {sorted(roles - set(glued))[:3]}"
    assert all(value.strip() for value in glued.values()), f"{md.name}: an empty number in the prose"
    # The code is the chapter's, cell for cell: the build's execution of the chapter checks every one.
    chapter_code = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    assert [c.source for c in nb.cells if c.cell_type == "code"] == chapter_code
    code = [c for c in nb.cells if c.cell_type == "code"]
    hidden = [c for c in code if c.metadata.get("jupyter", {}).get("source_hidden")]
    # every cell the page hides is folded (the set-up cell alone stays open), and no other is
    book_only = [c for c in code if set(c.metadata.get("tags", [])) & notebooks.HIDDEN_TAGS
                 and not c.source.startswith("# Set-up:")]
    assert hidden == book_only and all(c.metadata.get("cellView") == "form" for c in hidden)
    assert not code[0].metadata.get("jupyter", {}).get("source_hidden"), "the set-up cell must stay visible"
    assert not any("glue(" in c.source for c in nb.cells if c.cell_type == "code" and c not in hidden), \
        "the book's glue plumbing is visible in the notebook"


@pytest.mark.built
@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_paired_notebook_quotes_the_numbers_of_the_current_build(md: Path) -> None:
    """Every pair must quote this build's numbers, except the glued names that start with ``timed_``
    (a time measured while the page was built, or a number computed from one) or ``live_`` (what
    the training chapter's own run reached, which depends on where it ran), which only have to be there."""
    recorded, built = notebooks.recorded_glue(notebooks.pair_of(md)), notebooks.built_glue(md)
    assert recorded.keys() == built.keys()
    timed = {role for role in built if re.search(r"`(timed|live)_", role)}
    assert {r: v for r, v in recorded.items() if r not in timed} == {r: v for r, v in built.items() if r not in timed}
    # a time, written alike: a number (its digits and thousands separators may differ) in the same words
    shape = {r: re.sub(r"\d[\d,]*", "0", v) for r, v in recorded.items() if r in timed}
    assert shape == {r: re.sub(r"\d[\d,]*", "0", v) for r, v in built.items() if r in timed}


@pytest.mark.built
@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_the_build_executed_every_code_cell_of_the_chapter(md: Path) -> None:
    """`make book` executes each chapter once (a failing cell fails the build); this reads what it ran."""
    executed = BUILD / "jupyter_execute" / md.relative_to(ROOT).with_suffix(".ipynb")
    assert executed.is_file(), f"{executed} missing: run `make book` first"
    assert executed.stat().st_mtime >= md.stat().st_mtime, f"{executed.name} is older than its chapter"
    source = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    ran = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
    assert [c.source for c in ran] == source, "the build ran other code than the chapter's"
    assert all(isinstance(c.get("execution_count"), int) for c in ran), "a code cell was not executed"
    errors = [o for c in ran for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0].get("ename") if errors else None


def test_no_stray_notebooks() -> None:
    """Every .ipynb under book/ must be the pair of a chapter in the toc (Colab lists them all)."""
    pairs = {notebooks.pair_of(md) for md in CHAPTERS}
    assert set((ROOT / "book").rglob("*.ipynb")) - pairs == set()


class _FakeSubprocess:
    """Stands in for ``subprocess`` inside the set-up cell: records commands, 'clones' a folder."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def run(self, cmd: list[str], check: bool = False) -> None:
        self.calls.append([str(c) for c in cmd])
        if cmd[:2] == ["git", "clone"]:
            Path(cmd[-1], "src").mkdir(parents=True)


def _run_setup_cell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, colab: bool,
                    installed: bool) -> _FakeSubprocess:
    import importlib.util
    import os
    import sys
    import types

    fake = _FakeSubprocess()
    monkeypatch.setitem(sys.modules, "subprocess", fake)  # the cell's own `import subprocess` gets it
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: real_find_spec(name, *a) if installed or name != "nnbook" else None)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(SETUP_CELL, "setup-cell", "exec"), {})
    finally:
        os.chdir(tmp_path)
    return fake


def test_setup_cell_is_a_no_op_where_the_package_is_installed(monkeypatch, tmp_path) -> None:
    for colab in (False, True):  # Binder, a local Jupyter, Colab after the first run
        assert _run_setup_cell(monkeypatch, tmp_path, colab=colab, installed=True).calls == []
    assert list(tmp_path.iterdir()) == []


def test_setup_cell_outside_colab_installs_nothing_and_says_how(monkeypatch, tmp_path) -> None:
    """A notebook downloaded into the reader's own Jupyter: no silent clone into their environment."""
    with pytest.raises(ModuleNotFoundError, match="pip install -e 'nnbook\\[colab\\]'"):
        _run_setup_cell(monkeypatch, tmp_path, colab=False, installed=False)
    assert list(tmp_path.iterdir()) == []


def test_setup_cell_on_colab_clones_once_and_survives_a_rerun(monkeypatch, tmp_path) -> None:
    first = _run_setup_cell(monkeypatch, tmp_path, colab=True, installed=False)
    assert [c[:2] for c in first.calls] == [["git", "clone"], [first.calls[1][0], "-m"]]
    assert "nnbook[colab]" in first.calls[1]
    # a re-run after a failed install: the clone is there, only the install is tried again
    again = _run_setup_cell(monkeypatch, tmp_path, colab=True, installed=False)
    assert len(again.calls) == 1 and "pip" in again.calls[0]


@pytest.mark.built
@pytest.mark.parametrize("md", CHAPTERS, ids=ids)
def test_every_figure_is_drawn_not_named(md: Path) -> None:
    """A matplotlib Figure shown without the inline backend becomes its name, "<Figure size
    1100x340 with 1 Axes>", instead of an image: every figure a chapter shows must be a picture."""
    executed = BUILD / "jupyter_execute" / md.relative_to(ROOT).with_suffix(".ipynb")
    outputs = [o for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"
               for o in c.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result")]
    named = [o["data"]["text/plain"] for o in outputs
             if re.match(r"<Figure size", o.get("data", {}).get("text/plain", "")) and "image/png" not in o["data"]]
    assert not named, f"{md.name} shows figures by name, not as images (add %matplotlib inline): {named}"
