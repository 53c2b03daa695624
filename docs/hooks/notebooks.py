"""MkDocs hook: the tutorials are also Jupyter notebooks, run when the site is built, and the figures
their code draws appear on the pages.

A tutorial page is the one source: its ``python`` blocks are the notebook's code cells, a ``text``
block right after a ``python`` block is what that code prints, and the prose between them becomes
markdown cells. When the site is built this hook runs the page's code in order in one namespace
(as ``tests/test_tutorial.py`` does), fails the build if a block prints anything but what the page
shows under it (``[...]`` stands for any text, such as a speed), puts each figure the code draws
under its block, and writes the notebook with those outputs next to the page (``tutorial.ipynb``).

The English and Chinese pages have the same code (their comments aside), so one run serves both.
A run is kept in ``~/.cache/logistic-sgd/docs/`` under a key made of the code, the package's
source and the versions of NumPy and matplotlib: building the site again after changing only prose
does not train again. The test suite's build (``tests/test_docs.py``) always runs the code: it is
the tutorials' test.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"tutorial.md": "en", "zh/tutorial.md": "zh"}  # the pages that are notebooks: their language
ELIDED = "[...]"
FIGURE = {"en": "Figure", "zh": "图"}


# The page as cells ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, its code, and the line (from 1) of its opening fence."""

    lang: str
    code: str
    line: int


@dataclass
class Cell:
    """A code cell (a ``python`` block and the ``text`` block showing its output) or a markdown cell.

    ``end`` is the index of the page's line just after the cell: where its figures go.
    """

    kind: str
    source: str
    end: int
    shown: str | None = None
    line: int = 0


@dataclass
class Output:
    """What a code cell printed and the figures it drew (PNG bytes, with their titles)."""

    printed: str
    figures: list[tuple[str, bytes]] = field(default_factory=list)


def code_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown page (fences of three backticks at the start of a line)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = re.match(r"```\s*([\w+-]*)", lines[i])
        if opening is None:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            i += 1
        if i == len(lines):
            raise AssertionError(f"line {start + 1}: code block never closed")
        blocks.append(Block(opening.group(1), "\n".join(lines[start + 1 : i]) + "\n", start + 1))
        i += 1
    return blocks


def cells(text: str) -> list[Cell]:
    """The page as notebook cells: each ``python`` block with the ``text`` block showing its output
    (if one follows it with nothing but blank lines between), and the prose between them.

    A tutorial has no other kind of block, since every block of it runs: any other raises."""
    lines = text.splitlines()
    blocks = code_blocks(text)
    found: list[Cell] = []
    prose_from, i = 0, 0
    while i < len(blocks):
        block = blocks[i]
        if block.lang != "python":
            raise AssertionError(f"line {block.line}: a {block.lang or 'plain'} block that is not Python nor the "
                                 "output of the Python block just above it (every block of a tutorial runs)")
        end = block.line + block.code.count("\n") + 1  # the index of the line after the closing fence
        shown = None
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if after and after.lang == "text" and not any(s.strip() for s in lines[end : after.line - 1]):
            shown, end, i = after.code, after.line + after.code.count("\n") + 1, i + 1
        prose = "\n".join(lines[prose_from : block.line - 1]).strip("\n")
        if prose:
            found.append(Cell("markdown", prose, block.line - 1))
        found.append(Cell("code", block.code.rstrip("\n"), end, shown, block.line))
        prose_from, i = end, i + 1
    rest = "\n".join(lines[prose_from:]).strip("\n")
    if rest:
        found.append(Cell("markdown", rest, len(lines)))
    return found


def shows(expected: str, printed: str) -> bool:
    """Whether ``printed`` is ``expected``, with ``[...]`` in ``expected`` standing for any text."""
    def tidy(s: str) -> str:
        return "\n".join(line.rstrip() for line in s.strip("\n").splitlines())

    pattern = ".*?".join(re.escape(part) for part in tidy(expected).split(ELIDED))
    return re.fullmatch(pattern, tidy(printed), re.S) is not None


def without_comments(code: str) -> str:
    """The code with its comments removed and trailing spaces stripped (the pages' code compared)."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type != tokenize.COMMENT]
    return "\n".join(line.rstrip() for line in tokenize.untokenize(tokens).splitlines()).strip("\n")


# Running the code ----------------------------------------------------------------------------------


def run(code_cells: list[Cell], name: str) -> list[Output]:
    """Run the code cells in order in one namespace, in an empty temporary folder; what each printed
    and the figures it left open (drawn on matplotlib's Agg backend, then closed)."""
    outputs = []
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
        os.chdir(folder)
        try:
            plt = _pyplot()
            for cell in code_cells:
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    exec(compile(cell.source + "\n", f"{name}:{cell.line}", "exec"), namespace)
                outputs.append(Output(out.getvalue(), [_png(plt.figure(n)) for n in plt.get_fignums()]))
                plt.close("all")
        finally:
            os.chdir(here)
    return outputs


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    return plt


def _png(fig: Any) -> tuple[str, bytes]:
    titles = [fig._suptitle.get_text()] if fig._suptitle else []
    titles += [t for ax in fig.axes if (t := ax.get_title())]
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return (titles[0] if titles else ""), buffer.getvalue()


def mismatches(code_cells: list[Cell], outputs: list[Output], name: str) -> list[str]:
    """A message for each code cell that printed something other than what the page shows under it."""
    return [
        f"{name}, the block at line {cell.line} printed:\n{out.printed}\nbut the page shows:\n{cell.shown or ''}"
        for cell, out in zip(code_cells, outputs, strict=True)
        if not shows(cell.shown or "", out.printed)
    ]


def cache_key(code_cells: list[Cell]) -> str:
    """The code (comments left out), every file of the package's source, NumPy's and matplotlib's versions."""
    import matplotlib
    import numpy

    digest = hashlib.sha256()
    for cell in code_cells:
        digest.update(without_comments(cell.source).encode() + b"\0")
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"{numpy.__version__} {matplotlib.__version__}".encode())
    return digest.hexdigest()[:32]


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "logistic-sgd" / "docs"


def store(code_cells: list[Cell], outputs: list[Output]) -> None:
    """Keep a run's outputs under its key (written whole: a temporary file renamed)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    data = [{"printed": o.printed, "figures": [[t, base64.b64encode(p).decode()] for t, p in o.figures]}
            for o in outputs]
    part = folder / f".{cache_key(code_cells)}.{os.getpid()}"
    part.write_text(json.dumps(data), encoding="utf-8")
    part.replace(folder / f"{cache_key(code_cells)}.json")


def stored(code_cells: list[Cell]) -> list[Output] | None:
    path = cache_dir() / f"{cache_key(code_cells)}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if len(data) != len(code_cells):
        return None
    return [Output(d["printed"], [(t, base64.b64decode(p)) for t, p in d["figures"]]) for d in data]


def outputs_of(code_cells: list[Cell], name: str) -> list[Output]:
    """The cells' outputs: kept ones if the code and the package are unchanged, else a new run (kept).

    With ``LOGISTIC_SGD_DOCS_RUN=fresh`` in the environment the code always runs (the test suite's
    build of the site: the tutorials' check)."""
    fresh = os.environ.get("LOGISTIC_SGD_DOCS_RUN") == "fresh"
    found = None if fresh else stored(code_cells)
    if found is None:
        found = run(code_cells, name)
        store(code_cells, found)
    return found


# The notebook --------------------------------------------------------------------------------------


def notebook(page_cells: list[Cell], outputs: list[Output] | None) -> dict[str, Any]:
    """The cells as an nbformat 4 notebook, with the outputs (printed text, PNG figures) if given."""
    runs = iter(outputs or [])
    cells_json = []
    count = 0
    for cell in page_cells:
        source = _lines(cell.source)
        if cell.kind == "markdown":
            cells_json.append({"cell_type": "markdown", "id": f"cell-{len(cells_json)}", "metadata": {},
                               "source": source})
            continue
        out, shown = next(runs, None), []
        count += 1
        if out is not None:
            if out.printed:
                shown.append({"output_type": "stream", "name": "stdout", "text": _lines(out.printed)})
            for title, png in out.figures:
                shown.append({"output_type": "display_data", "metadata": {},
                              "data": {"image/png": base64.b64encode(png).decode(), "text/plain": [title]}})
        cells_json.append({"cell_type": "code", "id": f"cell-{len(cells_json)}", "metadata": {},
                           "execution_count": count if out is not None else None, "outputs": shown,
                           "source": source})
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": cells_json,
    }


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def with_figures(text: str, page_cells: list[Cell], outputs: list[Output], prefix: str, stem: str,
                 lang: str) -> str:
    """The page with an image under each block that drew figures (``prefix`` leads to ``figures/``)."""
    lines = text.splitlines()
    code_cells = [c for c in page_cells if c.kind == "code"]
    inserts = []
    number = 0
    for cell, out in zip(code_cells, outputs, strict=True):
        shown = []
        for title, _ in out.figures:
            number += 1
            alt = title or f"{FIGURE[lang]} {number}"
            shown.append(f"![{alt}]({prefix}figures/{stem}-{number}.png){{ .figure }}")
        if shown:
            inserts.append((cell.end, ["", *shown, ""]))
    for end, new in reversed(inserts):
        lines[end:end] = new
    return "\n".join(lines) + "\n"


def figures(outputs: list[Output]) -> list[bytes]:
    return [png for out in outputs for _, png in out.figures]


# The hook --------------------------------------------------------------------------------------------

_runs: dict[str, tuple[list[Cell], list[Output]]] = {}
_shared: dict[str, list[Output]] = {}


def notebook_code(nb: dict[str, Any], page: list[Cell]) -> list[Cell]:
    """The code cells of the notebook as a file holds them (what runs), with the page's lines for messages."""
    sources = ["".join(c["source"]) for c in json.loads(json.dumps(nb))["cells"] if c["cell_type"] == "code"]
    assert len(sources) == len(page)
    return [Cell("code", source, cell.end, cell.shown, cell.line) for source, cell in zip(sources, page, strict=True)]


def on_files(files: Any, config: Any, **kwargs: Any) -> Any:
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File

    _runs.clear()
    _shared.clear()
    for src_uri, lang in PAGES.items():
        page = files.get_file_from_path(src_uri)
        if page is None:
            continue
        text = Path(page.abs_src_path).read_text(encoding="utf-8")
        page_cells = cells(text)
        code_cells = [c for c in page_cells if c.kind == "code"]
        outputs = _shared.get(cache_key(code_cells))  # the other language's page: the same code
        if outputs is None:
            outputs = outputs_of(notebook_code(notebook(page_cells, None), code_cells), f"docs/{src_uri}")
            _shared[cache_key(code_cells)] = outputs
        wrong = mismatches(code_cells, outputs, f"docs/{src_uri}")
        if wrong:
            raise PluginError("the tutorial does not show what its code prints:\n" + "\n".join(wrong))
        _runs[src_uri] = (page_cells, outputs)
        stem = Path(src_uri).stem
        ipynb = json.dumps(notebook(page_cells, outputs), ensure_ascii=False, indent=1)
        files.append(File.generated(config, src_uri.removesuffix(".md") + ".ipynb", content=ipynb))
        if lang == "en":
            for number, png in enumerate(figures(outputs), start=1):
                files.append(File.generated(config, f"figures/{stem}-{number}.png", content=png))
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    src_uri = page.file.src_uri
    if src_uri not in _runs:
        return markdown
    outputs = _runs[src_uri][1]
    page_cells = cells(markdown)  # the text as MkDocs has it (front matter, if any, taken off)
    prefix = "../" * src_uri.count("/")
    return with_figures(markdown, page_cells, outputs, prefix, Path(src_uri).stem, PAGES[src_uri])
