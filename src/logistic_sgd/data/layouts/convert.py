"""``logistic-sgd convert``: a dataset written in the memory-mappable layout that fits its rows."""

from __future__ import annotations

import os
from pathlib import Path

from ..checks import Datasets
from ..rows import CSR
from .csr_layout import convert_sparse
from .memmap import convert


def convert_dataset(datasets: Datasets, out: str | os.PathLike[str]) -> Path:
    """Write the three splits at ``out``: the CSR layout (:mod:`.csr_layout`) for sparse rows, the
    dense one (:mod:`.memmap`) for any other."""
    if isinstance(datasets[0][0], CSR):
        return convert_sparse(datasets, out)  # type: ignore[arg-type]
    return convert(datasets, Path(out))
