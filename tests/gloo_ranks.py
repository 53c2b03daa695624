"""The ranks of ``test_distributed.py``'s gloo runs: several trainings in one torchrun launch, so that
each rank imports torch once, not once per training.

The first training sets up the process group and closes it, as ``torchrun -m logistic_sgd train
--distributed`` does. The others train in a group this program sets up itself (under a fresh prefix
in torchrun's store), which each training must leave open.

Usage: torchrun --nproc-per-node N tests/gloo_ranks.py RUNS.json
RUNS.json: a list of [arguments of ``logistic-sgd``, file stem]; each rank writes what a training
printed to ``STEM.RANK.out`` and ``STEM.RANK.err``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import torch.distributed as dist

from logistic_sgd.cli import main


def run_all(runs: list[tuple[list[str], str]]) -> int:
    rank = os.environ["RANK"]
    for i, (argv, stem) in enumerate(runs):
        if i == 1:
            store, r, world = next(dist.rendezvous("env://"))
            dist.init_process_group("gloo", store=dist.PrefixStore("later-runs/", store), rank=r, world_size=world)
        with open(f"{stem}.{rank}.out", "w") as out, open(f"{stem}.{rank}.err", "w") as err, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
        if status != 0:
            return status
        if dist.is_initialized() != (i > 0):
            print(f"after training {i + 1}, the process group is {'open' if i == 0 else 'closed'}", file=sys.stderr)
            return 1
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(run_all(json.loads(Path(sys.argv[1]).read_text())))
