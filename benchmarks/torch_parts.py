"""Where an epoch of the seed's experiment goes with the torch backend (on a GPU: CUDA graphs), in one process.

1. The whole run (``train.fit``, the seed's hyperparameters, float32), its calls timed with the
   device synchronised before and after each: the runs of steps, scoring the validation set,
   scoring the test set (after each improvement), and the rest. Medians of ``--repeats`` runs, in
   ms per epoch (the first run also pays for cuBLAS's setup and the graph's capture).
2. After the last run: each captured run of steps replayed alone, the same steps launched from
   Python one by one, and one validation score alone; on CUDA, the kernels of one step and of one
   validation score (PyTorch's profiler).

Usage: python benchmarks/torch_parts.py [--data DIR] [--device cuda] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch

from logistic_sgd import TrainConfig, train, validation
from logistic_sgd.backends import get_backend
from logistic_sgd.backends.torch import TorchTrainer
from logistic_sgd.data import open_dataset

EPOCH_STEPS = 83  # minibatches of 600 in the 50,000 training rows


def whole_run(data: str, device: str, repeats: int, sync: Callable[[], None]) -> dict[str, Any]:
    datasets = open_dataset(data).datasets
    backend = get_backend("torch", device).ready()
    real_run, real_error = TorchTrainer.run, validation.minibatch_error
    times: dict[str, float] = {}
    seen: dict[str, Any] = {}

    def run(self: TorchTrainer, start: int, rates: Any, decay: float = 0.0) -> None:
        sync()
        began = time.perf_counter()
        real_run(self, start, rates, decay)
        sync()
        times["steps"] += time.perf_counter() - began
        seen.update(runner=self.runner, last="steps")

    def error(backend: Any, model: Any, x: Any, *args: Any) -> float:
        sync()
        began = time.perf_counter()
        value = real_error(backend, model, x, *args)
        sync()
        kind = "valid" if seen.get("last") == "steps" else "test"  # the first score after the steps validates
        times[kind] += time.perf_counter() - began
        seen["last"] = kind
        if kind == "valid":
            seen["score"] = (backend, model, x, *args)
        return value

    spent: dict[str, list[float]] = defaultdict(list)
    TorchTrainer.run, validation.minibatch_error = run, error  # type: ignore[method-assign]
    try:
        for _ in range(repeats):
            times.update(steps=0.0, valid=0.0, test=0.0)
            result = train.fit(datasets, TrainConfig(), backend=backend)
            per_epoch = {k: v / result.epochs for k, v in times.items()}
            per_epoch["rest"] = result.elapsed / result.epochs - sum(per_epoch.values())
            per_epoch["epoch"] = result.elapsed / result.epochs
            for k, v in per_epoch.items():
                spent[k].append(v * 1000)
    finally:
        TorchTrainer.run, validation.minibatch_error = real_run, real_error  # type: ignore[method-assign]
    print(f"whole run on {device} ({result.epochs} epochs, synchronised around each call), ms per epoch, "
          f"medians of {repeats}:")
    for k in ("epoch", "steps", "valid", "test", "rest"):
        print(f"  {k:<6} {statistics.median(spent[k]):7.2f}   (runs: {', '.join(f'{v:.2f}' for v in spent[k])})")
    return seen


def _ms(fn: Callable[[], object], sync: Callable[[], None], reps: int) -> float:
    fn()
    sync()
    began = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - began) / reps * 1000


def parts(seen: dict[str, Any], sync: Callable[[], None], cuda: bool) -> None:
    runner, score = seen["runner"], seen["score"]
    print("alone, after the runs (means of 50):")
    for (start, n), graph in runner.captured.items():
        ms = _ms(graph.replay, sync, 50)
        print(f"  replay of the run of {n} steps from minibatch {start // runner.batch}: {ms:.2f} ms "
              f"({ms / n * 1000:.0f} us a step)")
    ms = _ms(lambda: runner._steps(0, EPOCH_STEPS), sync, 20)
    print(f"  {EPOCH_STEPS} steps launched from Python one by one: {ms:.2f} ms")
    print(f"  one validation score: {_ms(lambda: validation.minibatch_error(*score), sync, 50):.2f} ms")
    if not cuda:
        return
    from torch.profiler import ProfilerActivity, profile

    for name, fn in (("one step", lambda: runner._steps(0, 1)),
                     ("one validation score", lambda: validation.minibatch_error(*score))):
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            sync()
        kernels = [e.name for e in prof.events() if e.device_type.name == "CUDA"]
        print(f"  kernels in {name}: {len(kernels)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        print(f"gpu      {torch.cuda.get_device_name(args.device)}, torch {torch.__version__}")
    parts(whole_run(args.data, args.device, args.repeats, sync), sync, cuda)


if __name__ == "__main__":
    main()
