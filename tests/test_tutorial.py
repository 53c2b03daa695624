"""The tutorials: docs/tutorial.md and docs/zh/tutorial.md have the very same code (comments aside) and make
valid Jupyter notebooks, their figures go under the blocks that drew them, the checker of printed
output rejects what it must; the READMEs' Python quick start runs.

The page is the one source of the notebook (``docs/hooks/notebooks.py``): its ``python`` blocks are
the code cells, a ``text`` block right after a ``python`` block is that cell's output (``[...]``
standing for any text, a speed, a path), a ``python`` block without one must print nothing. A
tutorial has no other kind of block, so every block on it runs. The notebook itself runs when the
site is built: ``tests/test_docs.py`` builds it with a fresh run, which fails if a cell prints
anything but what the page shows, and checks the figures on the pages and in the notebooks.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import sys
from pathlib import Path

import pytest

import logistic_sgd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "hooks"))

import notebooks  # noqa: E402
from notebooks import Cell, Output, cells, code_blocks, notebook, shows  # noqa: E402

TUTORIAL = ROOT / "docs" / "tutorial.md"
TUTORIAL_ZH = ROOT / "docs" / "zh" / "tutorial.md"
ELIDED = notebooks.ELIDED


def code_cells(text: str) -> list[Cell]:
    return [c for c in cells(text) if c.kind == "code"]


def run_page(text: str, name: str) -> tuple[list[Cell], list[Output]]:
    """Run the page's Python blocks in order in one namespace, checking each one's output."""
    code = code_cells(text)
    outputs = notebooks.run(code, name)
    wrong = notebooks.mismatches(code, outputs, name)
    assert not wrong, "\n".join(wrong)
    return code, outputs


def test_the_chinese_tutorial_has_the_same_code_and_output() -> None:
    """Run once (above) for both: the Chinese page's blocks are the English page's, in the same order,
    their comments aside (the Chinese page's comments are Chinese)."""
    def blocks(path: Path) -> list[tuple[str, str]]:
        found = code_blocks(path.read_text(encoding="utf-8"))
        return [(b.lang, notebooks.without_comments(b.code) if b.lang == "python" else b.code) for b in found]

    english, chinese = blocks(TUTORIAL), blocks(TUTORIAL_ZH)
    assert len(english) > 10
    assert chinese == english
    assert notebooks.cache_key(code_cells(TUTORIAL.read_text(encoding="utf-8"))) == notebooks.cache_key(
        code_cells(TUTORIAL_ZH.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", [TUTORIAL, TUTORIAL_ZH])
def test_the_notebook_is_a_valid_jupyter_notebook_of_the_page(page: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    text = page.read_text(encoding="utf-8")
    png = base64.b64decode(base64.b64encode(b"\x89PNG\r\n\x1a\n"))
    outputs = [Output("printed\n", [("a figure", png)]) for _ in code_cells(text)]
    for given in (None, outputs):
        nb = nbformat.reads(json.dumps(notebook(cells(text), given)), as_version=4)
        nbformat.validate(nb)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        assert code == [b.code.rstrip("\n") for b in code_blocks(text) if b.lang == "python"]
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "```text" not in prose  # the outputs are outputs, not prose
        assert text.splitlines()[0] in prose
    assert nb.cells[1].outputs[0].text == "printed\n"
    assert nb.cells[1].outputs[1].data["image/png"] == base64.b64encode(png).decode()


def test_the_figures_go_under_the_blocks_that_drew_them() -> None:
    text = "Prose.\n\n```python\nx = 1\n```\n\nMore.\n\n```python\nprint(x)\n```\n\n```text\n1\n```\n\nEnd.\n"
    page = cells(text)
    outputs = [Output(""), Output("1\n", [("One", b"png")])]
    shown = notebooks.with_figures(text, page, outputs, "../", "tutorial", "en")
    assert shown.split("```text\n1\n```\n")[1].startswith("\n![One](../figures/tutorial-1.png){ .figure }\n")
    assert shown.endswith("End.\n") and shown.count("![") == 1


def test_the_readme_python_quick_start_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python block, with the experiment cut to 3 epochs (the tutorial runs it whole)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logistic_sgd, "sgd_optimization_mnist",
                        functools.partial(logistic_sgd.sgd_optimization_mnist, n_epochs=3))
    blocks = [b for b in code_blocks((ROOT / "README.md").read_text(encoding="utf-8")) if b.lang == "python"]
    assert blocks
    namespace: dict[str, object] = {"__name__": "__readme__"}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        for block in blocks:
            exec(compile(block.code, f"README.md:{block.line}", "exec"), namespace)
    assert "The code run for 3 epochs" in out.getvalue()
    assert (tmp_path / "best_model.npz").is_file()


# The checker itself: it must fail on pages that do not show what they print.

PAGE = """Some prose.

```python
print("a", 1)
x = 2
```

```text
a 1
```

```python
print(f"x is {x}, speed {x / 3:.4f}")
```

```text
x is 2, speed [...]
```
"""


def test_the_checker_accepts_a_page_that_shows_its_output() -> None:
    run_page(PAGE, "page")


@pytest.mark.parametrize(
    ("change", "old", "new"),
    [
        ("a wrong output", "a 1\n", "a 2\n"),
        ("an output not shown", "```text\na 1\n```\n", ""),
        ("an output shown that is not printed", 'print("a", 1)\n', ""),
        ("an extra line", "a 1\n", "a 1\nb\n"),
        ("a block that does not run", "x = 2", "x = 2 +"),
        ("a shell block", "Some prose.", "```sh\nls\n```"),
        ("output separated by prose", "```\n\n```text\na 1", "```\nSo:\n```text\na 1"),
    ],
)
def test_the_checker_rejects(change: str, old: str, new: str) -> None:
    page = PAGE.replace(old, new, 1)
    assert page != PAGE
    with pytest.raises((AssertionError, SyntaxError)):
        run_page(page, "page")


def test_elision_matches_any_text_but_nothing_else() -> None:
    assert shows("speed [...] epochs/sec", "speed 24.5 epochs/sec")
    assert shows("a\n[...]\nz", "a\nb\nc\nz")
    assert not shows("speed [...] epochs/sec", "speed 24.5 epochs/s")
    assert not shows("a 1", "a 1\na 2")
