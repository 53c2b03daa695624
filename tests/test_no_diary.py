"""The repository describes the software as it is, never its own making: no development diary in the
READMEs, the docs, the code's docstrings and comments, the tests, the benchmarks or the scripts.

What was tried, when, and by whom belongs in commit messages; measured figures, with their dates,
on the benchmarks page (docs/performance.md), the one place where a date may appear.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_PAGE = ROOT / "docs" / "performance.md"

# The words below are split across adjacent string literals, so this file does not hold them whole.
DIARY = [
    r"\b(this|that|yest" r"erday|tomorrow) (mor" r"ning|afte" r"rnoon|eve" r"ning|night)\b",
    r"\bin the (mor" r"ning|afte" r"rnoon|eve" r"ning)\b",
    r"\bthis (ses" r"sion|week)\b",
    r"\b(earlier|later) (the same|that|this) day\b",
    r"\b(mor" r"ning|afte" r"rnoon|eve" r"ning) ses" r"sion\b",
    r"\b(the|this|that|last|previous|next|earlier|later)( (one|two|three|few|last|previous|next|same|"
    r"mor" r"ning|afte" r"rnoon|eve" r"ning))? ses" r"sions?\b",
    r"\bses" r"sions? (that|which|who) (built|wrote|measured|ran|made|lent)\b",
    r"\byest" r"erday\b",
    r"\blast night\b",
    r"\btried and not kept\b",
    r"\bnot kept:",
    r"\bnot yet (been )?(run|measured|tested|tried)\b",
    r"\bno GPU has run\b",
    r"\b(was|were) (not )?lent\b",
    r"\bon paper, not run\b",
    r"\bestimates? nobody ran\b",
    r"\bwhat the last \w+ \w+ changed\b",
]
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
DATE = rf"\b20\d\d-[01]\d-[0-3]\d\b|\b({MONTHS}) 20\d\d\b"


def diary_lines(text: str, dates_allowed: bool = False) -> list[str]:
    """The lines of ``text`` that narrate the making of the software (or give a date)."""
    pattern = _ANY[dates_allowed]
    return [line.strip() for line in text.splitlines() if pattern.search(line)]


_ANY = {allowed: re.compile("|".join(f"(?:{p})" for p in (DIARY if allowed else [*DIARY, DATE])), re.I)
        for allowed in (False, True)}


def scanned_files() -> list[Path]:
    files = [*ROOT.glob("README*.md"), ROOT / "mkdocs.yml", ROOT / "pyproject.toml", *(ROOT / "docs").rglob("*.md"),
             *(ROOT / "docs").rglob("*.py"), *(ROOT / "docs").rglob("*.css"), *(ROOT / "scripts").iterdir(),
             *(ROOT / ".ci").iterdir()]
    for folder in ("src", "tests", "benchmarks"):
        files += (ROOT / folder).rglob("*.py")
    return sorted(p for p in files if p.is_file() and p != Path(__file__).resolve())


def test_no_diary_in_the_repository() -> None:
    found = []
    for path in scanned_files():
        for line in diary_lines(path.read_text(encoding="utf-8"), dates_allowed=path == BENCHMARKS_PAGE):
            found.append(f"{path.relative_to(ROOT)}: {line}")
    assert not found, "the repository narrates its own making (say it in a commit message):\n" + "\n".join(found)


def test_the_scan_covers_the_places_a_diary_hides() -> None:
    names = {str(p.relative_to(ROOT)) for p in scanned_files()}
    assert {"README.md", "README.zh-CN.md", "docs/tutorial.md", "src/logistic_sgd/core/model.py",
            "tests/test_parity.py", "benchmarks/bench.py", "scripts/test"} <= names


@pytest.mark.parametrize("line", [
    "Measured this eve" r"ning: 24.5 epochs/s.",
    "What the last two ses" r"sions changed: the runs of steps.",
    "Earlier the same day, the numba column read 0.75 s.",
    "Also tried and not kept: padding the classes to 12 columns.",
    "The real capture has tests that have not yet been run on a GPU.",
    "No GPU has run them yet (none was lent to the ses" r"sion that wrote it).",
    "That ses" r"sion measured two threads gaining only 1.6x.",
    "On a cluster (on paper, not run).",
    "The suite took 8 min 26 s in a clean-clone run on 2026-11-25.",
    "# measured in November 2026",
])
def test_diary_lines_are_found(line: str) -> None:
    assert diary_lines(line) == [line]


@pytest.mark.parametrize("line", [
    "ses" r"sion = onnxruntime.InferenceSes" r"sion(path, providers=['CPUExecutionProvider'])",
    "A request ses" r"sion (requests.Ses" r"sion) streams each mirror.",
    "the best model not yet written when training ends is written at the end",
    "a mirror that fails is reported and the next mirror is tried",
    "The CUDA path has not been run on a real GPU.",
    "epoch 60, minibatch 83/83, validation error 14.812500 %",
    "按顺序、在同一个 Python 会话中运行",
    "np.datetime64('2026-11-25')",
])
def test_plain_descriptions_pass(line: str) -> None:
    assert diary_lines(line, dates_allowed="datetime64" in line) == []
