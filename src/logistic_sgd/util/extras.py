"""Optional dependencies, imported where they are used, with one line naming the extra when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import MissingExtraError


def require(module: str, extra: str, purpose: str, package: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError`: ``PURPOSE needs PACKAGE: pip install
    'logistic-sgd[EXTRA]'`` (``package`` defaults to the module's top-level name).

    Examples
    --------
    >>> np = require("numpy", "core", "arrays")
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = package or module.split(".")[0]
        raise MissingExtraError(f"{purpose} needs {package}: pip install 'logistic-sgd[{extra}]'") from None
