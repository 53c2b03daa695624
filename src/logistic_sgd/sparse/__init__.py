"""Sparse inputs: CSR matrices and the model's math on them (see :mod:`logistic_sgd.sparse.csr`)."""

from .csr import CSR

__all__ = ["CSR"]
