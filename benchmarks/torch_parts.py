"""Where an epoch of the original experiment goes with the torch backend (on a GPU: CUDA graphs), in one process.

1. The whole run (``train.fit``, the original tutorial's hyperparameters, float32), its calls timed with the
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
import time
from collections.abc import Callable
from typing import Any

import torch

from epoch_timing import print_medians, timed_runs
from logistic_sgd.backends import get_backend
from logistic_sgd.backends.torch import TorchTrainer
from logistic_sgd.data import open_dataset
from logistic_sgd.training import evaluation as validation

EPOCH_STEPS = 83  # minibatches of 600 in the 50,000 training rows


def whole_run(data: str, device: str, repeats: int, sync: Callable[[], None]) -> dict[str, Any]:
    datasets = open_dataset(data).datasets
    spent, result, seen = timed_runs(datasets, get_backend("torch", device).ready(), TorchTrainer, repeats, sync)
    print_medians(f"whole run on {device} ({result.epochs} epochs, synchronised around each call)", spent)
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
    runner, score = seen["trainer"].runner, seen["score"]
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
