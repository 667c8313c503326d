"""The chapters as notebooks: which they are, and their paired .ipynb for Colab.

Each chapter is a MyST Markdown notebook under ``book/``; beside it sits ``NAME.ipynb``, the same
notebook without outputs, generated from the ``.md`` (Colab opens only ``.ipynb``; the book build
uses the ``.md``). A pair reads like the HTML page: the numbers the build glued into the prose are
in its text, MyST roles and boxes become plain Markdown, and the cells the HTML hides are folded.
``python tools/notebooks.py --write`` regenerates the pairs from the last ``make book``;
``--check`` exits with status 1 and names the pairs that are out of date.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]


def build_folder(root: Path = ROOT) -> Path:
    """Where ``make book`` built the book: ``_build/`` of the clone."""
    return root / "_build"


def toc_files(root: Path = ROOT) -> list[str]:
    """Every document of ``_toc.yml`` (root first), as paths without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def is_notebook(md: Path) -> bool:
    """A page is a notebook chapter when its front matter declares a kernel."""
    return "kernelspec" in jupytext.read(md).metadata


def chapters(root: Path = ROOT) -> list[Path]:
    """The ``.md`` notebook chapters listed in the table of contents, in reading order."""
    pages = [root / f"{name}.md" for name in toc_files(root)]
    return [page for page in pages if page.is_file() and is_notebook(page)]


#: The MyST a plain notebook (Colab, JupyterLab) cannot render, turned into what it can.
#: glue, inline (``{glue:text}`key:fmt```) or as a block (a ``{glue:math}`` directive on its own lines)
GLUE_ROLE = re.compile(r"\{glue(?::(text|md|math))?\}`([^`]+)`")
GLUE_BLOCK = re.compile(r"^[ \t]*```\{glue:(math|md)\}[ \t]+(\S+)[ \t]*\n(?:[ \t]*:[\w-]+:[^\n]*\n)*[ \t]*```[ \t]*$",
                        re.M)
DOC_ROLE = re.compile(r"\{doc\}`([^`<]+?)\s*(?:<([^>`]+)>)?`")
DOWNLOAD_ROLE = re.compile(r"\{download\}`([^`<]+?)\s*<([^>`]+)>`")
ADMONITION = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})\{admonition\}[ \t]*(?P<title>[^\n]*)\n"
                        r"(?P<options>(?:(?P=indent):[\w-]+:[^\n]*\n)*)\n?(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
                        re.M | re.S)
RAW_HTML = re.compile(r"^```\{raw\}[ \t]+html[ \t]*\n.*?^```[ \t]*$", re.M | re.S)
LITERALINCLUDE = re.compile(r"^```\{literalinclude\}[ \t]+(?P<path>\S+)[ \t]*\n"
                            r"(?P<options>(?::[\w-]+:[^\n]*\n)*)```[ \t]*$", re.M)
#: What must not survive into a launched notebook: any role or directive left over.
RAW_MYST = re.compile(r"\{[a-z][\w:-]*\}`|^[ \t]*(`{3,}|:{3,})\s*\{[a-z][\w-]*\}|^\([\w-]+\)=\s*$", re.M)
#: Cells the HTML hides: folded away in a notebook (JupyterLab's and Colab's own flags), still run.
HIDDEN_TAGS = {"remove-cell", "remove-input", "hide-input"}
NOTE = ("> *This notebook is a chapter of the book* Backpropagation by hand, then a CNN on MNIST. "
        "*The numbers quoted in its text are those of the book's own build; run the cells to compute yours. "
        "Folded cells are the book's own checks and bookkeeping: they run with the others.*")


def built_glue(md: Path, root: Path = ROOT) -> dict[str, str]:
    """Every glue role of ``md``, rendered as the book's HTML renders it from the last ``make book``.

    Keys are the roles' exact source text (``{glue:text}`h1:.4f```), values the text that replaces
    them. Raises ``FileNotFoundError`` when the build is missing or older than the chapter.
    """
    from myst_nb.core.variables import format_plain_text  # the build's own formatting, digit for digit

    built = build_folder(root) / "jupyter_execute" / md.relative_to(root).with_suffix(".glue.json")
    if not built.is_file() or built.stat().st_mtime < md.stat().st_mtime:
        raise FileNotFoundError(f"{built.relative_to(root)} is missing or older than {md.name}: run `make book` first")
    outputs = json.loads(built.read_text(encoding="utf-8"))
    text, values = md.read_text(encoding="utf-8"), {}
    sites = [(m.group(0), m.group(1) or "text", m.group(2), True) for m in GLUE_ROLE.finditer(text)]
    sites += [(m.group(0), m.group(1), m.group(2), False) for m in GLUE_BLOCK.finditer(text)]
    for source, kind, spec, inline in sites:
        key, _, fmt = spec.partition(":") if kind == "text" else (spec, "", "")
        if key not in outputs:
            raise KeyError(f"{md.name}: glue key {key!r} is not in the build: run `make book` first")
        data = outputs[key]["data"]
        if kind == "text":
            values[source] = format_plain_text(data["text/plain"], fmt or "s")
        elif kind == "md":
            values[source] = data["text/markdown"]
        else:  # LaTeX as myst-nb shows it, "$...$": inline as it is, a block as display maths
            latex = data["text/latex"].strip().strip("$").strip()
            indent = source[: len(source) - len(source.lstrip())]
            values[source] = f"${latex}$" if inline else f"{indent}$$\n{indent}{latex}\n{indent}$$"
    return values


def _title(md: Path) -> str:
    heading = next(line for line in md.read_text(encoding="utf-8").splitlines() if line.startswith("# "))
    return heading[2:].strip()


def _admonition(m: re.Match) -> str:
    """A box: a quoted block with its title in bold; a dropdown (a solution): HTML's <details>."""
    indent = m.group("indent")
    body = [line.removeprefix(indent) for line in m.group("body").rstrip().splitlines()]
    title = m.group("title").strip()
    if "dropdown" in m.group("options"):
        lines = [f"<details><summary>{title}</summary>", "", *body, "", "</details>"]
    else:
        lines = [f"**{title}**", "", *body]
        lines = [f"> {line}".rstrip() for line in lines]
    return "\n".join(f"{indent}{line}".rstrip() for line in lines)


def _literalinclude(m: re.Match, md: Path) -> str:
    """The included lines as a fenced code block (the options Sphinx reads: start-at, end-before, dedent)."""
    options = dict(re.findall(r"^:([\w-]+):[ \t]*(.*)$", m.group("options"), re.M))
    lines = (md.parent / m.group("path")).read_text(encoding="utf-8").splitlines()
    unquote = lambda v: v.strip().strip('"')  # noqa: E731
    if "start-at" in options:
        lines = lines[next(i for i, line in enumerate(lines) if unquote(options["start-at"]) in line):]
    if "end-before" in options:
        lines = lines[:next(i for i, line in enumerate(lines) if unquote(options["end-before"]) in line)]
    cut = int(options.get("dedent", 0))
    lines = [line[cut:] if line[:cut].strip() == "" else line for line in lines]
    return "\n".join([f"```{options.get('language', '')}", *lines, "```"])


def _plain_markdown(text: str, md: Path, glue: dict[str, str]) -> str:
    """One markdown cell with its MyST replaced by what a plain notebook renders."""
    text = GLUE_BLOCK.sub(lambda m: glue[m.group(0)], text)
    text = GLUE_ROLE.sub(lambda m: glue[m.group(0)], text)

    def doc(m: re.Match) -> str:  # {doc}`target` or {doc}`label <target>`: a link to the paired notebook
        target = (md.parent / (m.group(2) or m.group(1)).strip()).with_suffix(".md")
        label = m.group(1).strip() if m.group(2) else _title(target)
        return f"[{label}]({os.path.relpath(pair_of(target), md.parent)})"

    text = DOC_ROLE.sub(doc, text)
    text = DOWNLOAD_ROLE.sub(lambda m: f"[{m.group(1).strip()}]({m.group(2).strip()})", text)
    text = ADMONITION.sub(_admonition, text)
    text = RAW_HTML.sub("", text)  # the pages' own scripts: they run in the HTML book only
    text = LITERALINCLUDE.sub(lambda m: _literalinclude(m, md), text)
    leftover = RAW_MYST.search(text)
    if leftover:
        raise ValueError(f"{md.name}: no plain-notebook form for {leftover.group(0)!r}; teach tools/notebooks.py")
    return text


def render(md: Path, glue: dict[str, str]) -> str:
    """The paired notebook's exact text: the chapter as a plain notebook, without outputs.

    Markdown reads like the HTML page (glued numbers in the text, links and boxes that Jupyter and
    Colab render); the code cells are the chapter's own, unchanged, so the build's execution of the
    chapter checks every one of them; cells the HTML hides are folded. ``glue`` comes from
    :func:`built_glue` (or, to check a committed pair, from the pair's own metadata).
    """
    notebook = jupytext.read(md)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = _plain_markdown(cell.source, md, glue)
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            setup = cell.source.startswith("# Set-up:")  # visible: the reader should see what it installs
            if HIDDEN_TAGS & set(cell.metadata.get("tags", [])) and not setup:
                cell.metadata["jupyter"] = {"source_hidden": True}
                cell.metadata["cellView"] = "form"
        if not cells and cell.cell_type == "markdown":  # the title, then the note, then the rest
            title, _, rest = cell.source.partition("\n")
            cell.source = title
            cells += [cell, nbformat.v4.new_markdown_cell(NOTE)]
            if rest.strip():
                cells.append(nbformat.v4.new_markdown_cell(rest.strip("\n")))
            continue
        cells.append(cell)
    for index, cell in enumerate(cells):
        # nbformat draws random cell ids; derive them from the cell so the text is reproducible
        cell.id = hashlib.sha1(f"{index}:{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
    notebook.cells = cells
    # jupytext records its own version; leave it out so a pair stays in sync across versions.
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["nnbook"] = {"glue": dict(sorted(glue.items()))}
    return nbformat.writes(notebook) + "\n"


def pair_of(md: Path) -> Path:
    return md.with_suffix(".ipynb")


def recorded_glue(pair: Path) -> dict[str, str]:
    """The glued text a committed pair was rendered with (kept in its metadata)."""
    return nbformat.read(pair, as_version=4).metadata.get("nnbook", {}).get("glue", {})


def stale_pairs(root: Path = ROOT) -> list[Path]:
    """Chapters whose paired ``.ipynb`` is missing or differs from :func:`render` of the ``.md``.

    The glued numbers are taken from the pair itself (timings differ from build to build); a
    chapter that gained a glue role the pair has no number for is stale.
    """
    stale = []
    for md in chapters(root):
        pair = pair_of(md)
        try:
            fresh = pair.is_file() and pair.read_text(encoding="utf-8") == render(md, recorded_glue(pair))
        except (KeyError, ValueError):
            fresh = False
        if not fresh:
            stale.append(md)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate every paired .ipynb")
    mode.add_argument("--check", action="store_true", help="fail when a pair is out of date")
    args = parser.parse_args(argv)
    if args.write:
        sys.path.insert(0, str(ROOT / "src"))
        from nnbook.io import write_text_atomic

        for md in chapters():
            write_text_atomic(pair_of(md), render(md, built_glue(md)))
            print(f"wrote {pair_of(md).relative_to(ROOT)}")
        return 0
    stale = stale_pairs()
    for md in stale:
        print(f"out of date: {pair_of(md).relative_to(ROOT)} (run `make notebooks`)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
