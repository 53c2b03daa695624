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


CORE_AND_LOOP = ["logistic_sgd.core.model", "logistic_sgd.core.optim", "logistic_sgd.core.stopping",
                 "logistic_sgd.training.loop", "logistic_sgd.training.evaluation", "logistic_sgd.training.scoring"]


@pytest.mark.parametrize("module", CORE_AND_LOOP)
def test_core_knows_no_backend(module: str) -> None:
    """The math and the loop name no backend, kernel, device library or storage class."""
    source = MODULES[module].read_text()
    words = ("torch", "numba", "kernels", "memmap", "ScaledArray", "scratch", "runner", "cuda", '.name == "')
    found = [w for w in words if w in source]
    assert not found, f"{module} mentions {found}"


def test_only_backends_import_backend_libraries() -> None:
    """Numba compiles the backends' kernels, the svmlight reader's line scanner and the text
    vectoriser's tokeniser (the data layer's own compiled parsers, imported when Numba is installed)."""
    compiled_readers = ("logistic_sgd.data.formats.svmlight_scan", "logistic_sgd.data.vectorize_kernels")
    for name, path in MODULES.items():
        if name.startswith("logistic_sgd.backends") or name in compiled_readers:
            continue
        for node in _runtime_imports(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] == "numba" for n in names), f"{name} imports numba"


def test_the_top_folder_holds_few_modules() -> None:
    """The package's top folder holds the faces (CLI, estimator, experiment) and the error hierarchy;
    everything else lives in the folder of its layer."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, f"{len(top)} modules in src/logistic_sgd/: {top}"


def _reexport_only(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return True  # the docstring
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)
    # a module __getattr__ that imports a name on first use (an optional dependency's face) and nothing else
    return isinstance(node, ast.FunctionDef) and node.name == "__getattr__" and all(
        isinstance(n, ast.Import | ast.ImportFrom | ast.Return | ast.Raise | ast.If | ast.Expr)
        for n in ast.walk(ast.Module(body=node.body, type_ignores=[])) if isinstance(n, ast.stmt))


def test_package_inits_only_reexport() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        tree = ast.parse(init.read_text())
        logic = [f"line {n.lineno}" for n in tree.body if not _reexport_only(n)]
        assert not logic, f"{init.relative_to(PACKAGE.parent)} holds more than re-exports: {logic}"


ROW_KINDS = {"CSR", "ScaledArray", "memmap"}


def _asks_row_kind(tree: ast.AST) -> list[int]:
    """Lines with ``isinstance(x, K)`` for a row kind ``K`` (alone or in a tuple)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance":
            kinds = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            names = {k.attr if isinstance(k, ast.Attribute) else getattr(k, "id", "") for k in kinds}
            if names & ROW_KINDS:
                found.append(node.lineno)
    return found


def test_only_backends_and_data_ask_which_kind_of_rows() -> None:
    """Dense floats, bytes seen as floats and sparse rows are one interface to the rest of the package:
    the backends compute on each kind their own way, and the data layer makes them."""
    asking = {name: lines for name, path in MODULES.items()
              if not name.startswith(("logistic_sgd.backends", "logistic_sgd.data"))
              and (lines := _asks_row_kind(ast.parse(path.read_text())))}
    assert not asking, f"modules that ask which kind of rows they hold: {asking}"


def test_the_row_kind_check_finds_isinstance() -> None:
    source = "isinstance(x, CSR)\nisinstance(x, (int, np.memmap))\nisinstance(x, int)"
    assert _asks_row_kind(ast.parse(source)) == [1, 2]
