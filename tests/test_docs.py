"""The documentation agrees with the software: the READMEs, the command-line page, the failure
catalogue, the design page's layers, the API page, and the site builds with ``mkdocs build --strict``."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import logistic_sgd
from logistic_sgd.cli import build_parser
from test_bad_input import CASES
from test_structure import MODULES, imports_of
from test_tutorial import code_blocks

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# The READMEs -------------------------------------------------------------------------------------


def test_the_readme_is_read_in_two_minutes() -> None:
    assert len((ROOT / "README.md").read_bytes()) <= 12_000


def commands(text: str) -> dict[str, set[str]]:
    """The lines of each kind of code block (sh, python) with comments and blank lines dropped."""
    found: dict[str, set[str]] = {"sh": set(), "python": set()}
    for block in code_blocks(text):
        if block.lang in found:
            for line in block.code.splitlines():
                line = re.sub(r"(^|\s+)#\s.*$|^#.*$", "", line).rstrip()
                if line.strip():
                    found[block.lang].add(line)
    return found


def test_the_two_readmes_give_the_same_commands() -> None:
    english, chinese = commands(read(ROOT / "README.md")), commands(read(ROOT / "README.zh-CN.md"))
    assert english["sh"] and english["python"]
    for lang in english:
        assert english[lang] - chinese[lang] == set(), f"{lang} lines of README.md missing from README.zh-CN.md"
        assert chinese[lang] - english[lang] == set(), f"{lang} lines of README.zh-CN.md missing from README.md"


def test_commands_strips_comments_only() -> None:
    text = "```sh\nls -l   # list\n# a comment\n\necho '#x'\n```\n```python\nprint(1)  # one\n```\n"
    assert commands(text) == {"sh": {"ls -l", "echo '#x'"}, "python": {"print(1)"}}


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_readme_command_lines_parse(readme: str) -> None:
    """Every ``logistic-sgd`` line of a README is accepted by the program's parser."""
    lines = [line for line in commands(read(ROOT / readme))["sh"] if line.startswith("logistic-sgd ")]
    assert len(lines) >= 5
    parser = build_parser()
    for line in lines:
        argv = shlex.split(line)[1:]
        if "--help" in argv:
            continue
        parser.parse_args(argv)  # a usage error exits (SystemExit) and fails the test


# The command-line page ---------------------------------------------------------------------------


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def page_sections(text: str) -> dict[str, str]:
    """The text under each ``## `logistic-sgd NAME` `` heading of the CLI page."""
    parts = re.split(r"^## `logistic-sgd (\w+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def page_flags(section: str) -> dict[str, str]:
    """``{flag or positional: default}`` from the rows of a section's flag table."""
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not line.startswith("| `"):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            rows[name.split()[0]] = cells[1]
    return rows


def parser_flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    flags = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.dest == "debug":
            continue  # on every command: described once at the top of the page
        for name in action.option_strings or [f"{action.metavar}..." if action.nargs == "+" else action.metavar]:
            flags[name] = action
    return flags


def shown_default(action: argparse.Action) -> str:
    if action.default is None or action.required:
        return ""
    if action.default is False:
        return "off"
    return str(action.default)


def test_the_cli_page_has_every_command_and_flag_of_the_program() -> None:
    sections = page_sections(read(DOCS / "cli.md"))
    programs = subcommands()
    assert sorted(sections) == sorted(programs)
    for name, parser in programs.items():
        documented, actual = page_flags(sections[name]), parser_flags(parser)
        assert set(actual) - set(documented) == set(), f"logistic-sgd {name}: flags missing from docs/cli.md"
        assert set(documented) - set(actual) == set(), f"logistic-sgd {name}: docs/cli.md names flags it lacks"
        for flag, action in actual.items():
            assert documented[flag] == shown_default(action), f"logistic-sgd {name} {flag}: default"


def test_the_cli_page_check_sees_a_missing_flag_and_a_wrong_default() -> None:
    section = page_sections(read(DOCS / "cli.md"))["train"]
    flags = page_flags(section)
    assert flags["--learning-rate"] == "0.13" and flags["-q"] == "off" and "--quiet" in flags
    assert "--batch-size" not in page_flags(section.replace("| `--batch-size` |", "| batch size |"))
    assert page_flags(section.replace("| `--patience` | 5000 |", "| `--patience` | 500 |"))["--patience"] == "500"


# The failure catalogue ---------------------------------------------------------------------------


def test_the_failure_page_shows_every_message_the_catalogue_tests() -> None:
    page = read(DOCS / "failures.md")
    missing = [(name, expected) for name, _, expected in CASES if expected not in page]
    assert not missing, f"docs/failures.md lacks these messages of tests/test_bad_input.py: {missing}"


# The design page's layers ------------------------------------------------------------------------


def layers(text: str) -> dict[str, int]:
    """``{module or package/: layer}`` from the design page's layer table (rows ``| N | `a`, `b/` | ...``)."""
    table: dict[str, int] = {}
    for number, cell in re.findall(r"^\| (\d+) \| ([^|]+) \|", text, flags=re.M):
        for name in re.findall(r"`([\w./]+)`", cell):
            table[name] = int(number)
    return table


def layer_of(module: str, table: dict[str, int]) -> int | None:
    short = module.removeprefix("logistic_sgd").lstrip(".") or "logistic_sgd"
    if short in table:
        return table[short]
    packages = [p for p in table if p.endswith("/") and (short + ".").startswith(p[:-1].replace("/", ".") + ".")]
    return table[max(packages, key=len)] if packages else None


def test_the_design_page_places_every_module_and_the_imports_go_down() -> None:
    table = layers(read(DOCS / "design.md"))
    assert len(set(table.values())) >= 5
    unplaced = sorted(m for m in MODULES if layer_of(m, table) is None)
    assert not unplaced, f"modules missing from the layer table of docs/design.md: {unplaced}"
    stale = sorted(n for n in table if n != "logistic_sgd" and not any(
        layer_of(m, {n: 0}) == 0 for m in MODULES))
    assert not stale, f"docs/design.md names modules that do not exist: {stale}"
    upward = [
        f"{m} (layer {layer_of(m, table)}) imports {i} (layer {layer_of(i, table)})"
        for m in sorted(MODULES) for i in sorted(imports_of(m))
        if layer_of(i, table) > layer_of(m, table)  # type: ignore[operator]
    ]
    assert not upward, "imports that go up the layers of docs/design.md:\n" + "\n".join(upward)


def test_layer_of_takes_the_longest_matching_package() -> None:
    table = {"data/": 3, "backends/": 5, "backends/numba/": 6, "core/": 2, "logistic_sgd": 9}
    assert layer_of("logistic_sgd.data", table) == 3
    assert layer_of("logistic_sgd.data.formats.idx", table) == 3
    assert layer_of("logistic_sgd.backends.numba.kernels", table) == 6
    assert layer_of("logistic_sgd.backends.base", table) == 5
    assert layer_of("logistic_sgd.core.model", table) == 2
    assert layer_of("logistic_sgd", table) == 9
    assert layer_of("logistic_sgd.modelx", table) is None


# The API page and the site -----------------------------------------------------------------------


def test_the_api_page_documents_every_public_name() -> None:
    page = read(DOCS / "api.md")
    documented = set(re.findall(r"^::: logistic_sgd\.([\w.]+)$", page, flags=re.M))
    shown = {d.rpartition(".")[2] for d in documented} | {d.partition(".")[0] for d in documented}
    missing = sorted(n for n in logistic_sgd.__all__ if n != "__version__" and n not in shown)
    assert not missing, f"public names without an entry in docs/api.md: {missing}"


def test_the_site_builds_with_no_warning(tmp_path: Path) -> None:
    """``mkdocs build --strict``: a broken link, anchor or API reference fails the build, and so does a
    tutorial whose notebook, run afresh, prints anything but what the page shows."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "LOGISTIC_SGD_DOCS_RUN": "fresh"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    tutorial = read(tmp_path / "site" / "tutorial" / "index.html")
    assert "<math" in tutorial and "arithmatex" not in tutorial, "formulas are MathML when the site is built"
    assert (tmp_path / "site" / "zh" / "tutorial" / "index.html").is_file()
    api = read(tmp_path / "site" / "api" / "index.html")
    assert 'id="logistic_sgd.core.model.LogisticRegression.negative_log_likelihood"' in api
    assert ":class:<code>" not in api and ":meth:<code>" not in api
    check_the_tutorials(tmp_path / "site")
    check_the_chinese_pages(tmp_path / "site")


def check_the_tutorials(site: Path) -> None:
    """Each tutorial shows the figures its code drew, and links its notebook, which has their outputs."""
    for page, back in [("tutorial", ""), ("zh/tutorial", "../")]:
        html = read(site / page / "index.html")
        figures = re.findall(r'<img[^>]* src="([^"]+)"', html)
        assert len(figures) >= 5, f"{page}: {figures}"
        for src in figures:
            assert src.startswith(f"../{back}figures/tutorial-"), src
            png = (site / page / src).resolve()
            assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5_000, png
        assert 'href="../tutorial.ipynb"' in html or 'href="tutorial.ipynb"' in html, page
        notebook = json.loads(read(site / f"{page}.ipynb"))
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        drawn = [o for c in code for o in c["outputs"] if "image/png" in o.get("data", {})]
        assert len(drawn) == len(figures)
        assert any("validation error 22.447917 %" in "".join(o.get("text", "")) for c in code for o in c["outputs"])


def search_words(site: Path, page: str, separator: str) -> set[str]:
    """The words the site's search finds on a page: its index entries cut by the search separator."""
    index = json.loads(read(site / "search" / "search_index.json"))
    texts = [e["title"] + " " + e["text"] for e in index["docs"] if e["location"].startswith(page)]
    assert texts, f"no search entries for {page}"
    return {w for text in texts for w in re.split(separator, re.sub(r"<[^>]+>", " ", text)) if w}


def check_the_chinese_pages(site: Path) -> None:
    """The Chinese pages are Chinese (lang, Material's furniture), and search finds Chinese words."""
    zh, en = read(site / "zh" / "tutorial" / "index.html"), read(site / "tutorial" / "index.html")
    assert '<html lang="zh"' in zh and '<html lang="en"' in en
    assert "目录" in zh and "Table of contents" not in zh and "Table of contents" in en
    separator = json.loads(read(site / "search" / "search_index.json"))["config"]["separator"]
    words = search_words(site, "zh/tutorial/", separator)
    assert {"随机梯度下降", "早停", "交叉熵", "过拟合", "学习率"} <= words, sorted(w for w in words if len(w) > 1)[:80]
    assert "learning" in search_words(site, "tutorial/", separator)
