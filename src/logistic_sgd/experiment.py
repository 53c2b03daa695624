"""The original tutorial's experiment end to end: load data, train printing its log lines, keep the best model."""

from __future__ import annotations

import dataclasses
import io
import os
import sys
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from .backends import Backend, get_backend
from .data import LoadedData, n_classes, open_dataset
from .data.scaling import Standardizer, fit_scaling
from .data.splits import DEFAULT_FRACTIONS
from .errors import UsageError
from .outputs.listeners import BestModelWriter, CheckpointWriter, JsonLog, OriginalLog, PlotWriter, Progress
from .outputs.persist import fingerprint, load_checkpoint
from .training.config import TrainConfig
from .training.defaults import choose_defaults, summary_of
from .training.events import Listener, StopRequest, TrainResult, TrainState
from .training.loop import fit
from .util.atomic import check_writable

if TYPE_CHECKING:
    from .training.distributed import Communicator

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class DataOptions:
    """How the data are read and prepared (see :func:`logistic_sgd.data.open_dataset`).

    Parameters
    ----------
    label_column : str, int or None
        A CSV/TSV file's label column (header name or number); by default one named ``label``,
        ``labels``, ``class``, ``target`` or ``y``.
    valid, test : path, optional
        Files holding the validation or test examples, instead of a split cut from the data.
    split : three floats
        Fractions (train, validation, test) of the examples, for the splits a source lacks.
    split_seed : int
        Seed of that stratified split.
    scale : {"auto", "standard", "none"}
        Feature scaling fitted on the training split: ``standard`` standardises every feature,
        ``none`` leaves them as read, ``auto`` standardises all but images (which are ``x / 255``)
        and sparse features (whose zeros stay zeros).
    zero_based : bool or "auto"
        svmlight files: whether feature index 0 is the first column ("auto": yes when one holds a 0).
    """

    label_column: str | int | None = None
    valid: PathLike | None = None
    test: PathLike | None = None
    split: tuple[float, float, float] = DEFAULT_FRACTIONS
    split_seed: int = 0
    scale: str = "auto"
    zero_based: bool | str = "auto"

    def open(self, dataset: PathLike, keep_bytes: tuple[str, ...]) -> LoadedData:
        return open_dataset(dataset, keep_bytes, label_column=self.label_column, valid=self.valid, test=self.test,
                            split=self.split, split_seed=self.split_seed, zero_based=self.zero_based)


@dataclass(frozen=True)
class Outputs:
    """What a run writes and prints.

    Parameters
    ----------
    model_out : path, optional
        The best model's file (see :class:`~logistic_sgd.outputs.listeners.BestModelWriter`).
    log_json : path, optional
        One JSON object per validation.
    checkpoint : path, optional
        The whole training state, written at every validation and when a stop is requested.
    plots : folder, optional
        PNG pictures of the run and the best model, written at the end.
    quiet : bool
        Leave out the original tutorial's per-validation lines.
    stream : text stream, optional
        Where the original tutorial's lines go (stdout by default; a progress bar is drawn only on a terminal stdout).
    """

    model_out: PathLike | None = None
    log_json: PathLike | None = None
    checkpoint: PathLike | None = None
    plots: PathLike | None = None
    quiet: bool = False
    stream: TextIO | None = None

    def for_rank(self, rank: int, resume: bool) -> Outputs:
        """What rank ``rank`` of a data-parallel run writes: rank 0 everything, the others nothing
        (but the checkpoint they resume from)."""
        if rank == 0:
            return self
        return Outputs(checkpoint=self.checkpoint if resume else None, quiet=True, stream=io.StringIO())


def run_experiment(
    dataset: PathLike,
    config: TrainConfig,
    *,
    data: DataOptions | None = None,
    backend: Backend | str = "auto",
    outputs: Outputs | None = None,
    resume: bool = False,
    stop: StopRequest | None = None,
    comm: Communicator | None = None,
    given: Collection[str] | None = None,
) -> TrainResult:
    """Load ``dataset`` (read and scaled as ``data`` says), train with ``config`` printing the original tutorial's
    lines, and write ``outputs``.

    The output paths are checked for writability before any data is loaded. ``resume`` continues
    from ``outputs.checkpoint`` (same data and hyperparameters only). ``backend`` is a
    :class:`Backend` or a name for :func:`get_backend` (default ``auto``). ``given`` names the
    settings the user gave (:class:`TrainConfig` fields, and ``checkpoint``, ``resume``,
    ``distributed``): the others are chosen for the data (:mod:`logistic_sgd.training.defaults`,
    each choice a line of the log); None takes ``config`` as it is.
    """
    config.validate()
    backend = get_backend(backend) if isinstance(backend, str) else backend
    data = data or DataOptions()
    outputs = outputs or Outputs()
    if comm is not None:
        outputs = outputs.for_rank(comm.rank, resume)
    check_request(config, outputs, resume, comm)
    out = outputs.stream or sys.stdout
    print("... loading data", file=out, flush=True)
    loaded = data.open(dataset, backend.byte_splits)
    print(f"... data: {loaded.description}", file=out, flush=True)
    if given is not None:
        changes, reasons = choose_defaults(summary_of(loaded.datasets, loaded.images), config, given)
        config = replace(config, **changes)
        config.validate()
        for reason in reasons:
            print(f"... defaults: {reason}", file=out, flush=True)
    scaler = fit_scaling(data.scale, loaded.datasets[0][0], loaded.images)
    if scaler is not None:
        loaded = replace(loaded, datasets=tuple((scaler.transform(x, config.floatx), y) for x, y in loaded.datasets))
        print("... features standardised (mean and scale of the training split, stored with the model)",
              file=out, flush=True)
    backend = backend.ready()
    if comm is not None:  # the processes on a machine share its cores
        backend.share_cores(int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    where = backend.describe()
    print(f"... building the model{f' ({where})' if where else ''}", file=out, flush=True)
    digest = None if outputs.checkpoint is None else fingerprint(loaded.datasets)
    state = None
    if resume:
        state = load_checkpoint(outputs.checkpoint, config, digest, backend)  # type: ignore[arg-type]
        print(f"... resuming from {outputs.checkpoint}: epoch {state.epoch}, minibatch {state.minibatch}",
              file=out, flush=True)
    listeners, writer = _listeners(outputs, config, loaded, digest, state, comm, scaler)
    model = None if state is not None else backend.new_model(
        loaded.datasets[0][0].shape[1], max(2, len(loaded.class_names), n_classes(loaded.datasets)), config.floatx)
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported by fit itself
            return fit(loaded.datasets, config, listeners, model=model, backend=backend, resume=state, stop=stop,
                       comm=comm)
    except BaseException:
        if writer is not None:
            writer.flush()  # a run that fails (diverges, say) or is stopped leaves its best model on disk
        raise


def check_request(config: TrainConfig, outputs: Outputs, resume: bool, comm: Communicator | None) -> None:
    """Refuse, before any data is loaded, what cannot work: a resume without its checkpoint, outputs
    that cannot be written, options the full-batch solvers do not take.

    Raises
    ------
    UsageError
        Naming the parameter.
    """
    if comm is not None and config.optimizer != "sgd":
        raise UsageError(f"distributed training works with optimizer sgd only, not {config.optimizer}", "optimizer")
    if resume and outputs.checkpoint is None:
        raise UsageError("resume needs checkpoint, the file to continue from", ("resume", "checkpoint"))
    if resume and not Path(outputs.checkpoint).is_file():  # type: ignore[arg-type]
        raise UsageError(f"resume: no checkpoint at {outputs.checkpoint} to continue from", ("resume", "checkpoint"))
    if outputs.checkpoint is not None and config.optimizer not in ("sgd", "adagrad"):
        raise UsageError(f"checkpoint works with optimizer sgd or adagrad only, not {config.optimizer}", "checkpoint")
    if outputs.plots is not None:
        try:
            Path(outputs.plots).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"plots {outputs.plots}: cannot create the folder ({exc.strerror})", "plots") from None
    for param in ("model_out", "log_json", "checkpoint", "plots"):
        path = getattr(outputs, param)
        if path is not None:
            check_writable(param, Path(path) / "learning_curve.png" if param == "plots" else Path(path))


def _listeners(
    outputs: Outputs, config: TrainConfig, loaded: LoadedData, digest: str | None, state: TrainState | None,
    comm: Communicator | None, scaler: Standardizer | None,
) -> tuple[list[Listener], BestModelWriter | None]:
    """The listeners ``outputs`` asks for, the original tutorial's log first and the progress bar last (it redraws
    after the original tutorial's lines of the same event); and the best model's writer, if any."""
    progress = Progress() if outputs.stream is None and not outputs.quiet and Progress.wanted() else None
    listeners: list[Listener] = [OriginalLog(outputs.stream or sys.stdout, quiet=outputs.quiet, progress=progress)]
    if outputs.checkpoint is not None and digest is not None and (comm is None or comm.rank == 0):
        listeners.append(CheckpointWriter(outputs.checkpoint, config, digest))
    if outputs.log_json is not None:
        listeners.append(JsonLog(outputs.log_json, append=state is not None))
    if outputs.plots is not None:
        listeners.append(PlotWriter(outputs.plots, loaded.datasets[0], loaded.datasets[2], loaded.class_names,
                                    image_shape=loaded.image_shape))
    writer = None
    if outputs.model_out is not None:
        metadata: dict[str, Any] = {
            "data": loaded.description, "hyperparameters": config.as_dict(),
            "class_names": list(loaded.class_names) or None, "scaling": "none" if scaler is None else "standard",
            "image_shape": None if loaded.image_shape is None else list(loaded.image_shape),
            "zero_based": loaded.zero_based,
        }
        writer = BestModelWriter(outputs.model_out, metadata, state=state, scaler=scaler)
        listeners.append(writer)
    if progress is not None:
        listeners.append(progress)
    return listeners, writer


def sgd_optimization_mnist(
    learning_rate: float = 0.13,
    n_epochs: int = 1000,
    dataset: PathLike = "mnist.pkl.gz",
    batch_size: int = 600,
    **options: Any,
) -> TrainResult:
    """The original tutorial's entry point, same arguments: train on ``dataset`` printing the original tutorial's lines.

    Extra keyword arguments are :class:`TrainConfig` fields (``patience``, ``floatx``, ``shuffle``...),
    :class:`DataOptions` fields (``label_column``, ``scale``...), :class:`Outputs` fields (``quiet``,
    ``model_out``, ``log_json``...) or :func:`run_experiment`'s
    (``backend``, ``resume``, ``stop``). Returns the :class:`TrainResult` instead of only printing it.
    """
    output_keys = {f.name for f in dataclasses.fields(Outputs)}
    data_keys = {f.name for f in dataclasses.fields(DataOptions)}
    outputs = Outputs(**{k: options.pop(k) for k in list(options) if k in output_keys})
    data = DataOptions(**{k: options.pop(k) for k in list(options) if k in data_keys})
    run = {k: options.pop(k) for k in ("backend", "resume", "stop", "comm") if k in options}
    config = TrainConfig(learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size, **options)
    return run_experiment(dataset, config, data=data, outputs=outputs, **run)
