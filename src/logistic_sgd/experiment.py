"""The seed's experiment end to end: load data, train with the seed's log lines, keep the best model."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from .backends import Backend, get_backend
from .data import fingerprint, open_dataset
from .errors import UsageError
from .persist import load_checkpoint
from .report import BestModelWriter, CheckpointWriter, JsonLog, PlotWriter, Progress, SeedLog
from .train import Listener, StopRequest, TrainConfig, TrainResult, fit

# Images stored as bytes stay bytes (a quarter of the memory) in the splits the backend reads as
# bytes. The compiled kernels read every split as bytes, scaling each block as they load it: the
# epochs take the same time as from float32 and the same bits (README, Backends). The other
# backends get the held-out splits as bytes (scored in chunks) and the training split as float32
# (made once: kept as bytes, it would be held twice).
KEEP_BYTES = {True: ("train", "valid", "test"), False: ("valid", "test")}  # by "has kernels"

if TYPE_CHECKING:
    from .distributed import Communicator


def run_experiment(
    dataset: str | os.PathLike[str],
    config: TrainConfig,
    *,
    quiet: bool = False,
    model_out: str | os.PathLike[str] | None = None,
    log_json: str | os.PathLike[str] | None = None,
    stream: TextIO | None = None,
    backend: Backend | str = "auto",
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    stop: StopRequest | None = None,
    plots: str | os.PathLike[str] | None = None,
    comm: Communicator | None = None,
) -> TrainResult:
    """Load ``dataset``, train with ``config`` printing the seed's lines, and save the best model.

    ``model_out``, ``log_json`` and ``checkpoint`` are checked for writability before any data is
    loaded. With ``checkpoint``, the full state is written there at every validation and when
    ``stop`` is requested; ``resume`` continues from it (same data and hyperparameters only).
    ``backend`` is a :class:`Backend` or a name for :func:`get_backend` (default ``auto``).
    """
    config.validate()
    if isinstance(backend, str):
        backend = get_backend(backend)
    if comm is not None and comm.rank != 0:  # rank 0 alone prints and writes files
        stream, model_out, log_json, plots, quiet = io.StringIO(), None, None, None, True
        if checkpoint is not None and not resume:
            checkpoint = None
    if comm is not None and config.optimizer != "sgd":
        raise UsageError(f"--distributed works with --optimizer sgd only, not {config.optimizer}")
    if resume and checkpoint is None:
        raise UsageError("--resume needs --checkpoint PATH (the checkpoint to continue from)")
    if resume and not Path(checkpoint).is_file():  # type: ignore[arg-type]
        raise UsageError(f"--resume: no checkpoint at {checkpoint} to resume from")
    if checkpoint is not None and config.optimizer != "sgd":
        raise UsageError(f"--checkpoint works with --optimizer sgd only, not {config.optimizer}")
    if plots is not None:
        try:
            Path(plots).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--plots {plots}: cannot create the folder ({exc.strerror})") from None
    for flag, path in (("--model-out", model_out), ("--log-json", log_json), ("--checkpoint", checkpoint),
                       ("--plots", None if plots is None else Path(plots) / "learning_curve.png")):
        if path is not None:
            check_writable(flag, Path(path))
    out = stream or sys.stdout
    print("... loading data", file=out, flush=True)
    loaded = open_dataset(dataset, keep_bytes=KEEP_BYTES[backend.kernel_module is not None])
    print(f"... data: {loaded.description}", file=out, flush=True)
    backend = backend.loaded()
    if comm is not None and backend.kernel_module is not None:  # the processes on a machine share its cores
        backend.kernels.share_cores(int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    where = "" if backend.is_numpy else f" ({backend.name} on {backend.device})"
    print(f"... building the model{where}", file=out, flush=True)
    progress = Progress() if stream is None and not quiet and Progress.wanted() else None
    listeners: list[Listener] = [SeedLog(out, quiet=quiet, progress=progress)]
    state = None
    if checkpoint is not None:
        digest = fingerprint(loaded.datasets)
        if resume:
            state = load_checkpoint(checkpoint, config, digest, backend)
            print(f"... resuming from {checkpoint}: epoch {state.epoch}, minibatch {state.minibatch}",
                  file=out, flush=True)
        if comm is None or comm.rank == 0:
            listeners.append(CheckpointWriter(checkpoint, config, digest))
    if log_json is not None:
        listeners.append(JsonLog(log_json, append=resume))
    if plots is not None:
        listeners.append(PlotWriter(plots, loaded.datasets[0], loaded.datasets[2]))
    writer = None
    if model_out is not None:
        metadata: dict[str, Any] = {"data": loaded.description, "hyperparameters": config.as_dict()}
        writer = BestModelWriter(model_out, metadata, state=state)
        listeners.append(writer)
    if progress is not None:
        listeners.append(progress)  # last: it redraws after the seed lines of the same event
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported by fit itself
            return fit(loaded.datasets, config, listeners, backend=backend, resume=state, stop=stop, comm=comm)
    except BaseException:
        if writer is not None:
            writer.flush()  # a run that fails (diverges, say) or is stopped leaves its best model on disk
        raise


def sgd_optimization_mnist(
    learning_rate: float = 0.13,
    n_epochs: int = 1000,
    dataset: str | os.PathLike[str] = "mnist.pkl.gz",
    batch_size: int = 600,
    **options: Any,
) -> TrainResult:
    """The seed's entry point, same arguments: train on ``dataset`` printing the seed's lines.

    Extra keyword arguments are :class:`TrainConfig` fields (``patience``, ``floatx``, ``shuffle``...)
    or :func:`run_experiment` options (``quiet``, ``model_out``, ``log_json``). Returns the
    :class:`TrainResult` instead of only printing it.
    """
    run_keys = ("quiet", "model_out", "log_json", "stream", "backend", "checkpoint", "resume", "stop", "plots", "comm")
    run_options = {k: options.pop(k) for k in run_keys if k in options}
    config = TrainConfig(learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size, **options)
    return run_experiment(dataset, config, **run_options)


def check_writable(flag: str, path: Path) -> None:
    """Raise :class:`UsageError` unless a file can be created at ``path`` (checked before a long run)."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder, expected a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {parent} does not exist")
    try:  # try it for real: permission bits say nothing for root, nor about read-only mounts
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write in {parent} ({exc.strerror})") from None
