"""What one step's collective costs in data-parallel training on the text corpus: the all-reduce of the
dense gradient against two sparse alternatives, over torch.distributed (gloo) between processes.

- dense: the flat gradient of W (2^20 x n_out float32) and b, all-reduced (what ``distributed.py`` does);
- rows: the rows of W the minibatch touches, with their indices, all-gathered (each rank sends its
  slice's rows; the median number of distinct features of a minibatch of the corpus);
- residuals: ``D = (softmax - onehot) / n`` of the minibatch (batch x n_out), all-gathered: every rank
  that can read the minibatch's rows rebuilds ``X^T D`` itself.

Prints, per collective, the bytes each rank contributes and the median time of ``--repeats`` calls.
On one machine gloo copies through loopback sockets, so the times are memory and kernel costs, a lower
bound for a network: divide the bytes by the link's rate for that part.

Usage: python benchmarks/bench_allreduce.py TRAIN_SVM [--world 2] [--batch-size 64] [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from logistic_sgd.data.formats.svmlight import read_svmlight


def touched_rows(path: str, batch: int) -> tuple[int, int]:
    """Median distinct features per minibatch of ``batch`` rows of the file, and its width."""
    x, _ = read_svmlight(path)
    counts = [len(np.unique(x.rows(lo, lo + batch).indices)) for lo in range(0, len(x) - batch + 1, batch)]
    return int(statistics.median(counts)), x.n_features


def worker(rank: int, world: int, port: int, sizes: dict[str, tuple[int, str]], repeats: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    for name, (n, kind) in sizes.items():
        mine = torch.ones(n // world if kind == "gather" else n, dtype=torch.float32)
        out = [torch.empty_like(mine) for _ in range(world)] if kind == "gather" else None
        times = []
        for _ in range(repeats + 1):
            dist.barrier()
            start = time.perf_counter()
            if kind == "gather":
                dist.all_gather(out, mine)
            else:
                dist.all_reduce(mine)
            times.append(time.perf_counter() - start)
        if rank == 0:
            ms = 1e3 * statistics.median(times[1:])
            print(f"{name:<10} {kind:<10} {mine.numel() * 4 / 1e6:10.3f} MB per rank {ms:10.3f} ms")
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train")
    parser.add_argument("--world", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--classes", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    rows, width = touched_rows(args.train, args.batch_size)
    j = args.classes
    print(f"width {width}, {j} classes, minibatch {args.batch_size}: median {rows} distinct features touched; "
          f"{args.world} gloo processes on this machine")
    sizes = {
        "dense": (width * j + j, "allreduce"),
        "rows": (rows * (j + 1), "gather"),  # each row: its n_out values and its index (4 bytes each)
        "residuals": (args.batch_size * j, "gather"),
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(args.world, port, sizes, args.repeats), nprocs=args.world)


if __name__ == "__main__":
    main()
