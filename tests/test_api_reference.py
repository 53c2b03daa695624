"""The API page is complete: every object it shows has a numpydoc docstring that names each parameter,
says what it returns and what it raises, and a signature typed more precisely than ``Any``.

The objects are read as the page's ``:::`` entries make them (griffe, mkdocstrings' own reader): an
entry for a module shows its public functions and classes, a class its public methods. The listeners'
event methods (``on_validation``...) are described once, on :class:`Listener`, and left off the
page; so are the members a page entry's ``members`` option leaves out.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

griffe = pytest.importorskip("griffe")

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "api.md"
EVENTS = re.compile(r"^on_")  # the listeners' event methods: documented once, on Listener


def page_entries(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``(path, options)`` of each ``::: path`` entry of the page (its ``members`` option, if any)."""
    entries = []
    for match in re.finditer(r"^::: ([\w.]+)\n((?:    .*\n)*)", text, flags=re.M):
        members = re.search(r"members: \[([^\]]*)\]", match.group(2))
        options = {"members": [m.strip() for m in members.group(1).split(",") if m.strip()]} if members else {}
        entries.append((match.group(1), options))
    return entries


def load() -> Any:
    loader = griffe.GriffeLoader(search_paths=[str(ROOT / "src")], docstring_parser=griffe.Parser.numpy)
    package = loader.load("logistic_sgd")
    loader.resolve_aliases(implicit=False, external=False)
    return package


def public(members: dict[str, Any]) -> list[Any]:
    return [m for name, m in members.items() if not name.startswith("_") and not m.is_alias]


def shown_objects(package: Any) -> list[Any]:
    """Every function, class and method the API page shows."""
    found = []
    for path, options in page_entries(PAGE.read_text(encoding="utf-8")):
        obj = package[path.removeprefix("logistic_sgd.")]
        obj = obj.final_target if obj.is_alias else obj  # a name re-exported where the page shows it
        tops = [m for m in public(obj.members) if m.is_function or m.is_class] if obj.is_module else [obj]
        for top in tops:
            found.append(top)
            if top.is_class:
                names = options.get("members")
                for method in public(top.members):
                    event = EVENTS.match(method.name) and top.name != "Listener"
                    if method.is_function and not event and (names is None or method.name in names):
                        found.append(method)
    return found


def sections(obj: Any) -> dict[str, Any]:
    parsed = obj.docstring.parsed if obj.docstring else []
    return {s.kind.value: s for s in parsed}


def named_parameters(function: Any) -> list[str]:
    return [p.name for p in function.parameters if p.name not in ("self", "cls")]


def documented_names(section: Any) -> set[str]:
    return {re.sub(r"^\*+", "", p.name) for p in section.value} if section else set()


def raises_directly(obj: Any) -> bool:
    """Whether the function's own body has a ``raise`` with an exception (not a bare re-raise)."""
    source = textwrap.dedent("\n".join(obj.lines))
    tree = ast.parse(source)
    body = tree.body[0]
    nested = {id(n) for f in ast.walk(body) if f is not body and isinstance(f, ast.FunctionDef | ast.Lambda)
              for n in ast.walk(f)}
    return any(isinstance(n, ast.Raise) and n.exc is not None and id(n) not in nested for n in ast.walk(body))


def problems(obj: Any) -> list[str]:
    """What the object's docstring or signature lacks."""
    found = []
    kinds = sections(obj)
    if not obj.docstring:
        return ["no docstring"]
    if obj.is_attribute:  # a type alias: its docstring says what it stands for
        return []
    if obj.is_class:
        init = obj.members.get("__init__")
        fields = [a.name for a in obj.members.values() if a.is_attribute and "dataclass" in obj.labels
                  and not a.name.startswith("_") and "instance-attribute" in a.labels]
        given = documented_names(kinds.get("parameters")) | documented_names(kinds.get("attributes"))
        wanted = set(fields)
        if init is not None and not init.is_alias and "dataclass" not in obj.labels:
            wanted |= {n.lstrip("*") for n in named_parameters(init)}
        if wanted - given:
            found.append(f"parameters or fields not described: {sorted(wanted - given)}")
        return found
    parameters = named_parameters(obj)
    given = documented_names(kinds.get("parameters")) | documented_names(kinds.get("other parameters"))
    missing = [p for p in parameters if p.lstrip("*") not in given]
    if missing:
        found.append(f"parameters not described: {missing}")
    returns = obj.returns
    if returns is not None and str(returns) != "None" and "property" not in obj.labels and "returns" not in kinds \
            and "yields" not in kinds:
        found.append("no Returns section")
    loose = [p.name for p in obj.parameters if p.name not in ("self", "cls") and str(p.annotation) == "Any"
             and not p.name.startswith("**") and p.kind.value != "variadic keyword"]
    if loose:
        found.append(f"parameters typed Any: {loose}")
    if str(returns) == "Any":
        found.append("returns Any")
    if raises_directly(obj) and "raises" not in kinds:
        found.append("raises without a Raises section")
    return found


def test_every_object_on_the_api_page_is_documented_and_typed() -> None:
    package = load()
    objects = shown_objects(package)
    assert len(objects) > 100
    lacking = {obj.path: p for obj in objects if (p := problems(obj))}
    assert not lacking, "\n".join(f"{path}: {'; '.join(p)}" for path, p in sorted(lacking.items()))


def test_the_original_tutorials_names_come_first() -> None:
    text = PAGE.read_text(encoding="utf-8")
    first = text.split("\n## ")[1]
    for name in ("LogisticRegression", "load_data", "sgd_optimization_mnist", "TrainResult", "load_model"):
        assert re.search(rf"^::: logistic_sgd\.[\w.]*\b{name}$", first, flags=re.M), name


# The checker itself.

SOURCE = '''
def documented(x: int, y: str = "a") -> int:
    """Add.

    Parameters
    ----------
    x : int
        A number.
    y : str
        A word.

    Returns
    -------
    int
        The sum.

    Raises
    ------
    ValueError
        If x is negative.
    """
    if x < 0:
        raise ValueError("x")
    return x


def bare(x: Any, y: int) -> Any:
    """Add."""
    if x < 0:
        raise ValueError("x")
    return x
'''


def test_the_checker_sees_what_a_docstring_lacks(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text("from typing import Any\n" + SOURCE, encoding="utf-8")
    loader = griffe.GriffeLoader(search_paths=[str(tmp_path)], docstring_parser=griffe.Parser.numpy)
    module = loader.load("example")
    assert problems(module["documented"]) == []
    assert problems(module["bare"]) == [
        "parameters not described: ['x', 'y']", "no Returns section", "parameters typed Any: ['x']",
        "returns Any", "raises without a Raises section",
    ]
