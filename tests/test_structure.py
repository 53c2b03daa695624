"""The package's shape: no import cycles at any depth, and the model and the loop free of backends.

Every ``import`` statement counts, those inside functions too; only those under ``if TYPE_CHECKING:``
do not (they never run). ``from . import name`` counts as importing the package itself unless
``name`` is a submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "logistic_sgd"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def imports_of(name: str) -> set[str]:
    """The package's modules that module ``name`` imports when it runs."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name in MODULES}
            continue
        if node.level == 0:
            base = node.module or ""
        else:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
        if base not in MODULES:
            continue
        subs = {f"{base}.{alias.name}" for alias in node.names}
        out |= {s for s in subs if s in MODULES} or {base}
        if not subs <= set(MODULES):
            out.add(base)
    return out - {name}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in graph[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_import_cycles() -> None:
    graph = {name: imports_of(name) for name in MODULES}
    cycles = [c for name in sorted(graph) if (c := _cycle_from(name, graph))]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", ["logistic_sgd.model", "logistic_sgd.train", "logistic_sgd.optim",
                                    "logistic_sgd.stopping", "logistic_sgd.validation", "logistic_sgd.scoring"])
def test_core_knows_no_backend(module: str) -> None:
    """The math and the loop name no backend, kernel, device library or storage class."""
    source = MODULES[module].read_text()
    words = ("torch", "numba", "kernels", "memmap", "ScaledArray", "scratch", "runner", "cuda", '.name == "')
    found = [w for w in words if w in source]
    assert not found, f"{module} mentions {found}"


def test_only_backends_import_backend_libraries() -> None:
    """Numba compiles the backends' kernels, and the svmlight reader's line scanner (a reader's own
    compiled parser, imported when Numba is installed)."""
    for name, path in MODULES.items():
        if name.startswith("logistic_sgd.backends") or name == "logistic_sgd.data.svmlight_scan":
            continue
        for node in _runtime_imports(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] == "numba" for n in names), f"{name} imports numba"
