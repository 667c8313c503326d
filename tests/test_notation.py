"""Readable numbers in the prose: nnbook.notation.scientific, and no e-notation anywhere in the chapters' text."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from nnbook.errors import UsageError
from nnbook.notation import joined, number_word, plain, scientific

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


@pytest.mark.parametrize("x", [1.2345e-5, -3.0e-17, 6.02214076e23, 9.96e-6, 1.0, 0.5, 123456.0, 2.0 ** -52])
@pytest.mark.parametrize("digits", [0, 1, 3])
def test_scientific_reads_back_as_the_rounded_number(x, digits):
    text = scientific(x, digits)
    mantissa, power = text.replace("−", "-").split(" × 10")
    assert "e" not in text
    assert 1 <= abs(float(mantissa)) < 10
    assert len(mantissa.lstrip("-").partition(".")[2]) == digits
    # the number it shows is x to the stated precision (half a unit in the last mantissa digit)
    shown = float(mantissa) * 10.0 ** int(power.translate(SUPER))
    assert abs(shown - x) <= 0.5 * 10.0 ** (int(power.translate(SUPER)) - digits) * (1 + 1e-9)


def test_scientific_writes_an_exact_power_of_ten_without_decimals():
    assert [scientific(x, None) for x in (1e-5, 1e-4, 1e3, -1e-2, 0.1 / 1e4)] == \
        ["1 × 10⁻⁵", "1 × 10⁻⁴", "1 × 10³", "−1 × 10⁻²", "1 × 10⁻⁵"]
    assert [scientific(x, None) for x in (2e-5, 1.5e-4, 1.0000001e-5)] == ["2.0 × 10⁻⁵", "1.5 × 10⁻⁴", "1.0 × 10⁻⁵"]


def test_scientific_zero_and_bad_input():
    assert scientific(0.0) == "0"
    for bad in (float("nan"), float("inf"), "1e-5", None, True):
        with pytest.raises(UsageError):
            scientific(bad)
    with pytest.raises(UsageError, match="digits"):
        scientific(1.0, digits=-1)


@pytest.mark.parametrize("x", [0.9, 12.5, -0.000123456789, 4e-6, 1.5e-5, -2.75e-9, 123456.0, 1234567.0, 6.02214076e23])
@pytest.mark.parametrize("significant", [1, 3, 6, 17])
def test_plain_is_the_g_format_without_e_notation(x, significant):
    g = f"{x:.{significant}g}"  # Python's own formatting, the reference
    text = plain(x, significant)
    assert "e" not in text and "-" not in text  # the minus sign is the typographic one
    if "e" not in g:
        assert text == g.replace("-", "−")
    else:  # the same digits, written "m × 10ᵏ": it reads back to exactly the number :g shows
        mantissa, power = text.replace("−", "-").split(" × 10")
        assert float(mantissa) * 10.0 ** int(power.translate(SUPER)) == pytest.approx(float(g), rel=1e-12)
        assert mantissa.lstrip("-") == g.split("e")[0].lstrip("-")


def test_plain_writes_zero_without_a_sign_and_small_numbers_to_17_digits():
    assert plain(-0.0) == "0" and plain(0.0) == "0" and plain(-0.5) == "−0.5"
    assert plain(1e-5, 17) == "1.0000000000000001 × 10⁻⁵"  # the float nearest 1e-5, all its digits


def test_plain_bad_input():
    for bad in (float("nan"), float("inf"), "0.5", None):
        with pytest.raises(UsageError):
            plain(bad)
    for bad in (0, 18, 2.0, True):
        with pytest.raises(UsageError, match="significant"):
            plain(1.0, bad)


# --- the chapters' prose -------------------------------------------------------------------------

FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
#: fenced blocks whose body is prose (admonitions, notes, figures' captions); any other fence is code or output
PROSE_FENCES = re.compile(r"\{(admonition|note|warning|tip|important|caution|hint|seealso|figure|glue:figure|"
                          r"margin|sidebar|dropdown|topic|epigraph|div)\}")
GLUE = re.compile(r"\{glue(?::[a-z]+)?\}`([^`]*)`")
#: format types of Python's mini-language that write e-notation for some values (g switches to it below 1e-4)
E_SPEC = re.compile(r":[^:`]*[eEgGn]$")
LITERAL = re.compile(r"(?<![\w.])[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+(?!\w)")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the prose of a MyST notebook: no front matter, code cells or code blocks."""
    lines = text.splitlines()
    out, stack, start = [], [], 0
    if lines and lines[0] == "---":
        start = lines.index("---", 1) + 1
    for number, line in enumerate(lines[start:], start + 1):
        fence = FENCE.match(line.strip())
        if fence and stack and fence.group(1)[0] * len(stack[-1][0]) == fence.group(1) and not fence.group(2):
            stack.pop()
            continue
        if fence and fence.group(2):
            stack.append((fence.group(1), bool(PROSE_FENCES.match(fence.group(2).strip()))))
            continue
        if all(prose for _, prose in stack) and not line.startswith(":"):  # ":tags:" and options are not prose
            out.append((number, line))
    return out


def e_notation(line: str) -> list[str]:
    """What in one line of prose can show e-notation: glue format specs and typed literals."""
    found = [f"{{glue}}`{g}`" for g in GLUE.findall(line) if E_SPEC.search(g)]
    text = re.sub(r"`[^`]*`", "", GLUE.sub("", line))  # inline code is code
    return found + LITERAL.findall(text)


def test_the_scanner_sees_prose_and_skips_code():
    chapter = "\n".join(["---", "x: 1e-3", "---", "Text {glue:text}`err:.1e` and 2.5e-4.",
                         "```{code-cell} ipython3", "assert err < 1e-9", "```",
                         "```{admonition} Solutions", ":class: dropdown", "", "1. {glue:text}`v:g` and `1e-3`", "```",
                         "Fine: {glue:text}`x:.3f`, {glue:md}`y`, 10⁻⁵, $10^{-6}$, e-mail, 3e."])
    hits = [h for _, line in prose_lines(chapter) for h in e_notation(line)]
    assert hits == ["{glue}`err:.1e`", "2.5e-4", "{glue}`v:g`"]


@pytest.mark.parametrize("chapter", sorted(BOOK.rglob("*.md")), ids=lambda p: str(p.relative_to(BOOK)))
def test_no_e_notation_in_prose(chapter):
    hits = [f"line {n}: {h}" for n, line in prose_lines(chapter.read_text(encoding="utf-8")) for h in e_notation(line)]
    assert not hits, f"e-notation in the prose of {chapter.name} (use nnbook.notation.scientific): {hits}"


@pytest.mark.parametrize("chapter", sorted(BOOK.rglob("*.md")), ids=lambda p: str(p.relative_to(BOOK)))
def test_no_e_notation_in_the_numbers_a_chapter_shows(chapter):
    """What the glued numbers became, as the paired notebook records them from the build: a glue
    role with no format spec is written by str(), which turns small floats into e-notation."""
    import notebooks

    pair = notebooks.pair_of(chapter)
    if not pair.is_file():  # not a chapter of the book (the set-up cell's source, a README)
        assert chapter.name not in {md.name for md in notebooks.chapters(ROOT)}
        return
    shown = {role: text for role, text in notebooks.recorded_glue(pair).items() if LITERAL.search(text)}
    assert not shown, f"e-notation in the numbers {chapter.name} shows: {shown}"


#: Python's e-notation as repr and str write it: a digit, "e", a sign, the exponent (hex digests never have the sign)
PYTHON_E = re.compile(r"(?<![\w.])[0-9]+(?:\.[0-9]+)?e[+-][0-9]+(?!\w)")
#: outputs a reader does not see unless asked: folded (PyTorch's own printouts) or removed
FOLDED = {"hide-output", "remove-output", "remove-cell", "hide-cell"}


@functools.cache  # asked for every cell of every chapter; _config.yml is read once
def _html_mime_priority() -> list[str]:
    """The build's own render order: myst-nb's, with the book's overrides from ``_config.yml``."""
    import yaml
    from myst_nb.core.render import get_mime_priority  # not a copy of it

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    overrides = config["sphinx"]["config"].get("nb_mime_priority_overrides", [])
    return get_mime_priority("html", [tuple(o) for o in overrides])


def _visible_output_text(cell: dict) -> str:
    priority = _html_mime_priority()
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        data = out.get("data", {})
        # the one representation the HTML page shows: myst-nb's render priority
        mime = next((m for m in priority if m in data), None)
        if mime is not None and mime.startswith("text/"):
            text = "".join(data[mime]) if isinstance(data[mime], list) else data[mime]
            parts.append(re.sub(r"<style.*?</style>|<[^>]+>", " ", text, flags=re.S))
    return "\n".join(parts)


@pytest.mark.built
@pytest.mark.parametrize("chapter", sorted(BOOK.rglob("*.md")), ids=lambda p: str(p.relative_to(BOOK)))
def test_no_e_notation_in_the_outputs_a_reader_sees(chapter):
    """The code cells' visible outputs as the build executed them: sentences and tables, not
    Python's 1e-05 (PyTorch's own module listings are folded away and not checked)."""
    import nbformat

    import notebooks

    executed = notebooks.build_folder() / "jupyter_execute" / chapter.relative_to(ROOT).with_suffix(".ipynb")
    if not executed.is_file():
        assert chapter.name not in {md.name for md in notebooks.chapters(ROOT)}, f"{executed}: run `make book`"
        return
    cells = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"
             and not FOLDED & set(c.get("metadata", {}).get("tags", []))]
    shown = {i: PYTHON_E.findall(_visible_output_text(c)) for i, c in enumerate(cells)}
    assert not {i: h for i, h in shown.items() if h}, f"e-notation in what {chapter.name} shows: {shown}"


def test_agreement_words_follow_the_difference():
    from nnbook.notation import agreement

    assert agreement(0.0, "autograd", 1e-15) == "agrees exactly with autograd"
    assert agreement(2.0**-53, "autograd", 1e-15) == \
        "differs from autograd by at most 1.1 × 10⁻¹⁶, a rounding difference in the last bits"
    with pytest.raises(UsageError, match="not a rounding difference"):
        agreement(1e-3, "autograd", 1e-15)


@pytest.mark.parametrize("n", range(10))
def test_number_word_is_the_digits_unicode_name(n):
    import unicodedata

    # Unicode names each digit character: "DIGIT TWO" for "2"
    assert number_word(n) == unicodedata.name(str(n)).removeprefix("DIGIT ").lower()


@pytest.mark.parametrize("bad", [-1, 10, 2.0, True, "2"])
def test_number_word_rejects_what_it_cannot_spell(bad):
    with pytest.raises(UsageError, match="0 to 9"):
        number_word(bad)


@pytest.mark.parametrize("items", [["a"], ["a", "b"], ["seed 1", "seed 2", "seed 3"], list("abcdef")])
def test_joined_lists_every_item_once_in_order(items):
    text = joined(items)
    *head, last = text.split(" and ") if len(items) > 1 else (text,)
    # the last item after the only " and ", the others before it, separated by commas
    assert (", ".join(head).split(", ") if head else []) + [last] == items
    assert text.count(" and ") == (len(items) > 1)
    assert joined(iter(items)) == text


def test_joined_rejects_an_empty_list():
    with pytest.raises(UsageError, match="at least one"):
        joined([])
