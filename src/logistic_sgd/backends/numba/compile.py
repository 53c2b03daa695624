"""Compiling the kernels with Numba, cached on disk by the content of their source.

Numba's own cache sits beside the source file and trusts the file's modification time, so every new
checkout or install of the package compiles its kernels again (minutes of CPU for every variant the
test suite uses; seconds for one run). The kernels' cache is kept instead in ``$NUMBA_CACHE_DIR``,
else ``$XDG_CACHE_HOME/logistic-sgd/numba`` (by default ``~/.cache/logistic-sgd/numba``), in a
folder named after a hash of this package's compiled modules' source: unchanged kernels are compiled
once per machine, and a change to any of these files gets a folder of its own. Numba keys each entry
further by its version, the Python version, the argument types and the CPU, so a cache shared
between machines or CPUs stays correct. Where no such folder can be written, Numba's own locations
are used, and where none can, the kernels compile in every process.

A parallel loop is compiled in three layers of its own (its body, the body's wrapper, the
scheduler's wrapper), each linked into the next and into the kernel, and Numba optimises each one
and makes its machine code, though only the kernel's is run: with the whole step in every layer,
that was nearly half of a kernel's compile. While a kernel of this package compiles, its loops'
layers are only linked into it, and optimised once, with it (:func:`_parallel_kernel`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import njit, types
from numba.core import caching
from numba.core.caching import _CacheLocator
from numba.core.codegen import CPUCodeLibrary, JITCodeLibrary, JITCPUCodegen
from numba.core.compiler_lock import global_compiler_lock

_CacheImpl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # named so before Numba 0.61

PACKAGE = Path(__file__).resolve().parent


def compiled(**options: Any) -> Callable[[Any], Any]:
    """``njit(cache=True, **options)``, cached as the module docstring says; without the cache where
    no folder at all can be written. Called from another compiled function, it is compiled for the
    arguments' types without their literal values (:func:`_typed_without_literals`)."""
    _install()

    def wrap(fn: Any) -> Any:
        try:
            d = njit(cache=True, **options)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available": compile per process
            d = njit(**options)(fn)
        d = _typed_without_literals(d)
        return _parallel_kernel(d) if options.get("parallel") else d

    return wrap


def _typed_without_literals(dispatcher: Any) -> Any:
    """``dispatcher``, compiled for ``int64`` where a compiled caller passes a literal such as ``0``.

    Numba compiles a called function for the types its caller's type inference holds at each
    round, literal values included: a caller's loop counter that starts at ``0`` is first
    ``Literal[int](0)``, then ``int64``, and the callee was compiled for both (the kernels' larger
    helpers, each called from several places, were compiled two to four times over). The helpers
    take no literal argument on purpose (LLVM folds the constants once it has inlined them), so
    each is compiled once per set of plain types."""
    resolve = dispatcher.get_call_template

    def get_call_template(args: tuple[Any, ...], kws: dict[str, Any]) -> Any:
        return resolve(tuple(map(types.unliteral, args)), {k: types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher


# the libraries Numba makes for a parallel loop: the body, its wrapper, the scheduler's wrapper
_LOOP_LAYERS = ("__numba_parfor_gufunc_", "<numba.np.ufunc.wrappers._GufuncWrapper object", "parallelgufuncwrapper")
_kernels_compiling = [0]


def _parallel_kernel(dispatcher: Any) -> Any:
    """``dispatcher``, whose parallel loops' layers are neither optimised nor given machine code of
    their own while it compiles.

    Numba finalises every library it makes: optimised (inlining what it calls), linked, and turned
    into machine code. The layers of a parallel loop are only ever linked into the kernel (the
    kernel calls the scheduler by name, not through a pointer), so their own machine code is never
    run, and the kernel's optimisation, run on the whole, optimises them again. Here they are
    linked into the kernel as Numba lowered them, never added to the execution engine, and their
    environment is left unset (as that of every layer is in a kernel read from the cache). The
    kernels' arithmetic is held bit for bit by the tests either way, and their speed was the same
    (the performance page). Only the libraries made while one of this package's kernels compiles
    are concerned: a user's ``guvectorize(target="parallel")`` asks for the pointer of its wrapper,
    and keeps Numba's way. A Numba whose libraries are named otherwise simply compiles as before."""
    compile_types = dispatcher.compile

    def compile(sig: Any) -> Any:
        with global_compiler_lock:
            _kernels_compiling[0] += 1
            try:
                return compile_types(sig)
            finally:
                _kernels_compiling[0] -= 1

    dispatcher.compile = compile
    return dispatcher


def _finalize_final_module(self: Any) -> None:
    if _kernels_compiling[0] and self.name.startswith(_LOOP_LAYERS):
        self._finalize_dynamic_globals()
        self._verify_declare_only_symbols()
        self._finalized = True  # ready to link; never added to the execution engine
        return
    _numbas_finalize_final_module(self)


def _optimize_final_module(self: Any) -> None:
    if _kernels_compiling[0] and self.name.startswith(_LOOP_LAYERS):
        return
    _numbas_optimize_final_module(self)


def _set_env(self: Any, env_name: str, env: Any) -> None:
    """Numba's ``set_env``, except for a loop layer, never added to the execution engine."""
    if _kernels_compiling[0] and not self._engine.is_symbol_defined(env_name):
        return
    _numbas_set_env(self, env_name, env)


_numbas_finalize_final_module = JITCodeLibrary._finalize_final_module
_numbas_set_env = JITCPUCodegen.set_env
_numbas_optimize_final_module = CPUCodeLibrary._optimize_final_module


class PackageLocator(_CacheLocator):
    """Numba's cache locator for the functions of this package, keyed by the package's source."""

    def __init__(self, py_func: Any, key: str) -> None:
        self._lineno = py_func.__code__.co_firstlineno
        self._key = key
        self._path = str(cache_root() / key)

    def get_cache_path(self) -> str:
        return self._path

    def get_source_stamp(self) -> str:
        return self._key

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> PackageLocator | None:
        if Path(py_file).resolve().parent != PACKAGE:
            return None  # another library's function: Numba's own locators
        self = cls(py_func, source_key())
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


def cache_root() -> Path:
    """Where the kernels' cache folders are made."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "logistic-sgd"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "logistic-sgd" / "numba"


_key: list[str] = []


def source_key() -> str:
    """A hash of every module of compiled code in this package (kernels inline each other's
    functions): all but ``__init__.py`` and ``backend.py``, the backend object, which compile nothing."""
    if not _key:
        digest = hashlib.sha256()
        for path in sorted(p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "backend.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        _key.append(digest.hexdigest()[:16])
    return _key[0]


def _install() -> None:
    """Put :class:`PackageLocator` first among Numba's locators (once), unless the user chose the
    locators with ``NUMBA_CACHE_LOCATOR_CLASSES``."""
    if PackageLocator not in _CacheImpl._locator_classes:
        _CacheImpl._locator_classes.insert(0, PackageLocator)
    JITCodeLibrary._finalize_final_module = _finalize_final_module
    JITCPUCodegen.set_env = _set_env
    CPUCodeLibrary._optimize_final_module = _optimize_final_module
