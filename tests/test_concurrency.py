"""Two writers on the same model file never leave a corrupt file: every read sees a whole model."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import numpy as np

from logistic_sgd import LogisticRegression, load_model, save_model


def _writer(path: str, value: float, n: int) -> None:
    model = LogisticRegression(784, 10)
    model.W[...] = value
    model.b[...] = value
    for _ in range(n):
        save_model(path, model, {"writer": value})


def test_concurrent_writers_and_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "best_model.npz"
    save_model(path, LogisticRegression(784, 10), {"writer": 0.0})
    ctx = mp.get_context("spawn")
    writers = [ctx.Process(target=_writer, args=(str(path), v, 60)) for v in (1.0, 2.0)]
    for w in writers:
        w.start()
    seen = set()
    while any(w.is_alive() for w in writers):
        model = load_model(path)  # raises on any torn or partial file
        value = float(model.metadata["writer"])
        assert np.all(value == model.W) and np.all(model.b == value)
        seen.add(value)
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert float(load_model(path).metadata["writer"]) in (1.0, 2.0)
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"
    assert seen, "the reader saw at least one model"
