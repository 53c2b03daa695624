"""The tutorial runs: every code block of docs/tutorial.md, in order, in one namespace, prints what the
page shows under it; docs/zh/tutorial.md has the very same code; the READMEs' Python quick start runs.

A page's ``python`` blocks are executed one after the other. A ``text`` block right after a
``python`` block is that block's output: the printed text must match it, ``[...]`` standing for any
text (a speed, a path); a ``python`` block without one must print nothing. A tutorial has no other
kind of block, so every block on it runs.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import logistic_sgd

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
TUTORIAL_ZH = ROOT / "docs" / "zh" / "tutorial.md"
ELIDED = "[...]"


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int


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


def examples(text: str) -> list[tuple[Block, Block | None]]:
    """Each ``python`` block with the ``text`` block showing its output, if one follows it directly."""
    blocks = code_blocks(text)
    lines = text.splitlines()
    pairs: list[tuple[Block, Block | None]] = []
    for i, block in enumerate(blocks):
        if block.lang == "python":
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            between = lines[block.line + block.code.count("\n") + 1 : after.line - 1] if after else []
            shown = after if after and after.lang == "text" and not any(s.strip() for s in between) else None
            pairs.append((block, shown))
        elif block.lang != "text" or not pairs or pairs[-1][1] is not block:
            raise AssertionError(f"line {block.line}: a {block.lang or 'plain'} block that is not Python nor the "
                                 "output of the Python block just above it (every block of a tutorial runs)")
    return pairs


def shows(expected: str, printed: str) -> bool:
    """Whether ``printed`` is ``expected``, with ``[...]`` in ``expected`` standing for any text."""
    def tidy(s: str) -> str:
        return "\n".join(line.rstrip() for line in s.strip("\n").splitlines())

    pattern = ".*?".join(re.escape(part) for part in tidy(expected).split(ELIDED))
    return re.fullmatch(pattern, tidy(printed), re.S) is not None


def run_page(text: str, name: str) -> None:
    """Run the page's Python blocks in order in one namespace, checking each one's output."""
    namespace: dict[str, object] = {"__name__": "__tutorial__"}
    for block, shown in examples(text):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block.code, f"{name}:{block.line}", "exec"), namespace)
        printed = out.getvalue()
        expected = shown.code if shown else ""
        assert shows(expected, printed), (
            f"{name}, the block at line {block.line} printed:\n{printed}\nbut the page shows:\n{expected}"
        )


def test_the_tutorial_runs_and_prints_what_it_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing it writes lands in the repository
    run_page(TUTORIAL.read_text(encoding="utf-8"), "docs/tutorial.md")


def test_the_chinese_tutorial_has_the_same_code_and_output() -> None:
    """Run once (above) for both: the Chinese page's blocks are the English page's, in the same order."""
    english = [(b.lang, b.code) for b in code_blocks(TUTORIAL.read_text(encoding="utf-8"))]
    chinese = [(b.lang, b.code) for b in code_blocks(TUTORIAL_ZH.read_text(encoding="utf-8"))]
    assert len(english) > 10
    assert chinese == english


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
