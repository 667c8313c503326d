"""The chapters as notebooks: which they are, and their paired .ipynb for Colab.

Each chapter is a MyST Markdown notebook under ``book/``; beside it sits ``NAME.ipynb``, the same
notebook without outputs, generated from the ``.md`` (Colab opens only ``.ipynb``; the book build
uses the ``.md``). ``python tools/notebooks.py --write`` regenerates the pairs; ``--check`` exits
with status 1 and names the pairs that are out of date.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]


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


def render(md: Path) -> str:
    """The paired notebook's exact text: the chapter converted by jupytext, without outputs."""
    notebook = jupytext.read(md)
    for index, cell in enumerate(notebook.cells):
        # nbformat draws random cell ids; derive them from the cell so the text is reproducible
        cell.id = hashlib.sha1(f"{index}:{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # jupytext records its own version; leave it out so a pair stays in sync across versions.
    notebook.metadata.pop("jupytext", None)
    return nbformat.writes(notebook) + "\n"


def pair_of(md: Path) -> Path:
    return md.with_suffix(".ipynb")


def stale_pairs(root: Path = ROOT) -> list[Path]:
    """Chapters whose paired ``.ipynb`` is missing or differs from :func:`render`."""
    return [
        md for md in chapters(root)
        if not pair_of(md).is_file() or pair_of(md).read_text(encoding="utf-8") != render(md)
    ]


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
            write_text_atomic(pair_of(md), render(md))
            print(f"wrote {pair_of(md).relative_to(ROOT)}")
        return 0
    stale = stale_pairs()
    for md in stale:
        print(f"out of date: {pair_of(md).relative_to(ROOT)} (run `make notebooks`)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
