"""The original tutorial's experiment end to end: load data, train printing its log lines, keep the best model."""

from __future__ import annotations

import copy
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
from .data.preprocess import Preprocessor
from .data.scaling import Standardizer, fit_scaling
from .data.sources import holds_text, vectorize_splits
from .data.splits import DEFAULT_FRACTIONS
from .data.tables import TableOptions
from .data.vectorize import TextVectorizer
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
    categorical, ignore_columns, features, missing
        A table's columns to read as categories, to leave out, the only ones to use, and what a
        missing cell does (``impute`` or ``error``): see :class:`~logistic_sgd.data.tables.TableOptions`.
    text_columns : tuple of str
        A table's free-text columns (by default those holding more than numbers).
    vectorizer : TextVectorizer, optional
        How raw text becomes features, fitted on the training split (a copy of it is); by default
        ``TextVectorizer()``.
    """

    label_column: str | int | None = None
    valid: PathLike | None = None
    test: PathLike | None = None
    split: tuple[float, float, float] = DEFAULT_FRACTIONS
    split_seed: int = 0
    scale: str = "auto"
    zero_based: bool | str = "auto"
    categorical: tuple[str, ...] = ()
    ignore_columns: tuple[str, ...] = ()
    features: tuple[str, ...] | None = None
    missing: str = "impute"
    text_columns: tuple[str, ...] = ()
    vectorizer: TextVectorizer | None = None

    def open(self, dataset: PathLike, keep_bytes: tuple[str, ...], columns: Preprocessor | None = None) -> LoadedData:
        """Read ``dataset`` with these options (see :func:`~logistic_sgd.data.open_dataset`).

        Parameters
        ----------
        dataset : path or str
            A file, a folder or a dataset's name.
        keep_bytes : tuple of str
            The splits whose image bytes the backend can read as stored.
        columns : Preprocessor, optional
            A model's fitted column pipeline, applied to a table instead of fitting one.

        Returns
        -------
        LoadedData
            The three splits and what was learned reading them.
        """
        table = TableOptions(self.categorical, self.ignore_columns, self.features, self.missing, columns)
        label = self.label_column if self.label_column is not None or columns is None else columns.label
        return open_dataset(dataset, keep_bytes, label_column=label, valid=self.valid, test=self.test,
                            split=self.split, split_seed=self.split_seed, zero_based=self.zero_based, table=table,
                            text_columns=self.text_columns)


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
        (but the checkpoint they resume from).

        Parameters
        ----------
        rank : int
            The process's rank, from 0.
        resume : bool
            Whether the run resumes from ``checkpoint``.

        Returns
        -------
        Outputs
            These outputs for rank 0; for the others, quiet outputs that keep only the checkpoint to
            resume from.
        """
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
    """Load ``dataset`` (read and scaled as ``data`` says), train with ``config`` printing the original
    tutorial's lines, and write ``outputs``.

    The output paths are checked for writability before any data is loaded.

    Parameters
    ----------
    dataset : path or str
        A file or folder in one of the data formats, or a named dataset (``"mnist"``,
        ``"fashion-mnist"``).
    config : TrainConfig
        The hyperparameters.
    data : DataOptions, optional
        How to read the dataset (label column, splits, scaling).
    backend : Backend or str, default "auto"
        A backend, or its name for :func:`~logistic_sgd.backends.get_backend`.
    outputs : Outputs, optional
        What to write and print (by default: the original lines on stdout, nothing written).
    resume : bool, default False
        Continue from ``outputs.checkpoint`` (the same data and hyperparameters only).
    stop : StopRequest, optional
        Set by a signal handler to stop cleanly after the current step.
    comm : Communicator, optional
        The process group of a data-parallel run (torch.distributed).
    given : collection of str, optional
        The settings the user gave (:class:`TrainConfig` fields, and ``checkpoint``, ``resume``,
        ``distributed``): the others are chosen for the data (:mod:`logistic_sgd.training.defaults`,
        each choice a line of the log); None takes ``config`` as it is.

    Returns
    -------
    TrainResult
        The epochs run, the best validation error, the test error of the best model, the best
        model itself and the history of validations.

    Raises
    ------
    UsageError
        A hyperparameter or option out of range, or an output path that cannot be written (a
        ``ValueError``, naming the parameter; checked before any data is read).
    DataError
        The dataset cannot be read, or its splits do not fit together.
    DivergenceError
        Training diverged (a non-finite loss or weights).
    TrainingInterrupted
        ``stop`` was requested (a signal): the last checkpoint, if any, lets ``resume`` continue.
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
    for line in loaded.columns.describe() if loaded.columns is not None else ():
        print(f"... {line}", file=out, flush=True)
    vectorizer = None
    if holds_text(loaded.datasets[0][0]):
        vectorizer = copy.deepcopy(data.vectorizer) if data.vectorizer is not None else TextVectorizer()
        loaded = vectorize_splits(loaded, vectorizer, fit=True)
        print(f"... text: {vectorizer.describe()}", file=out, flush=True)
    if given is not None:
        changes, reasons = choose_defaults(summary_of(loaded.datasets, loaded.images), config, given)
        config = replace(config, **changes)
        config.validate()
        for reason in reasons:
            print(f"... defaults: {reason}", file=out, flush=True)
    standardised = loaded.columns is not None and data.scale == "auto"  # the columns' numbers already are
    scaler = None if standardised else fit_scaling(data.scale, loaded.datasets[0][0], loaded.images)
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
    listeners, writer = _listeners(outputs, config, loaded, digest, state, comm, scaler, vectorizer)
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
    comm: Communicator | None, scaler: Standardizer | None, vectorizer: TextVectorizer | None = None,
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
            "class_names": list(loaded.class_names) or None,
            "scaling": "columns" if loaded.columns is not None else "none" if scaler is None else "standard",
            "image_shape": None if loaded.image_shape is None else list(loaded.image_shape),
            "zero_based": loaded.zero_based,
            "feature_names": None if loaded.feature_names is None else list(loaded.feature_names),
        }
        if vectorizer is not None:
            metadata["text"] = vectorizer.describe()
        writer = BestModelWriter(outputs.model_out, metadata, state=state, scaler=scaler, columns=loaded.columns,
                                 vectorizer=vectorizer)
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
    """The original tutorial's entry point, with its arguments and defaults: train on ``dataset`` by
    minibatch SGD with early stopping, printing the original program's lines.

    Parameters
    ----------
    learning_rate : float, default 0.13
        The SGD step size.
    n_epochs : int, default 1000
        At most this many epochs.
    dataset : path or str, default "mnist.pkl.gz"
        The original ``mnist.pkl.gz`` (or a path to it), a named dataset (``"mnist"``,
        ``"fashion-mnist"``), or a file or folder in one of the data formats.
    batch_size : int, default 600
        Examples per minibatch.
    **options
        :class:`TrainConfig` fields (``patience``, ``improvement_threshold``, ``floatx``,
        ``shuffle``, ``optimizer``, ``l2``...), :class:`DataOptions` fields (``label_column``,
        ``scale``...), :class:`Outputs` fields (``quiet``, ``model_out``, ``log_json``...) and
        :func:`run_experiment`'s ``backend``, ``resume``, ``stop``.

    Returns
    -------
    TrainResult
        What the printed summary says, and more: ``epochs``, ``best_validation_error``,
        ``test_error`` (fractions), ``best_model``, ``history``.

    Raises
    ------
    UsageError
        A hyperparameter or option out of range, or an output path that cannot be written (a
        ``ValueError``, naming the parameter; checked before any data is read).
    DataError
        The dataset cannot be read, or its splits do not fit together.
    DivergenceError
        Training diverged (a non-finite loss or weights).
    TrainingInterrupted
        ``stop`` was requested (a signal): the last checkpoint, if any, lets ``resume`` continue.
    TypeError
        A keyword in ``options`` that is none of these fields.
    """
    output_keys = {f.name for f in dataclasses.fields(Outputs)}
    data_keys = {f.name for f in dataclasses.fields(DataOptions)}
    outputs = Outputs(**{k: options.pop(k) for k in list(options) if k in output_keys})
    data = DataOptions(**{k: options.pop(k) for k in list(options) if k in data_keys})
    run = {k: options.pop(k) for k in ("backend", "resume", "stop", "comm") if k in options}
    config = TrainConfig(learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size, **options)
    return run_experiment(dataset, config, data=data, outputs=outputs, **run)
