"""Listeners on the training loop's events: the original tutorial's log lines, JSON lines, the best model on disk."""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from ..backends.base import NUMPY
from ..data.preprocess import Preprocessor
from ..data.rows import in_dtype
from ..data.scaling import Standardizer
from ..errors import OutputError
from ..training.config import TrainConfig
from ..training.events import BaseListener, TrainResult, TrainState, ValidationEvent
from . import plots
from .persist import save_checkpoint, save_model

if TYPE_CHECKING:
    from tqdm import tqdm


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An :class:`OutputError` naming ``path`` for an ``OSError`` while writing it during a run: the
    paths were tried before the data were loaded, but a disk can fill up or a folder go meanwhile."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from exc


class OriginalLog(BaseListener):
    """Prints the original program's lines, format for format, to ``stream``.

    Parameters
    ----------
    stream : text file, optional
        Where the lines go (stdout by default).
    quiet : bool, default False
        Drop the per-validation lines and keep the summary.
    progress : Progress, optional
        A progress bar to erase before each line.
    """

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, progress: Progress | None = None) -> None:
        self.stream = stream
        self.quiet = quiet
        self.progress = progress

    def _print(self, line: str) -> None:
        if self.progress is not None:
            self.progress.clear()  # a line of the original tutorial's never shares a terminal line with the bar
        print(line, file=self.stream or sys.stdout, flush=True)

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self._print("... training the model")

    def on_validation(self, event: ValidationEvent) -> None:
        if self.quiet:
            return
        self._print(
            "epoch %i, minibatch %i/%i, validation error %f %%"
            % (event.epoch, event.minibatch, event.n_train_batches, event.validation_error * 100.0)
        )
        if event.improved:
            self._print(
                "     epoch %i, minibatch %i/%i, test error of best model %f %%"
                % (event.epoch, event.minibatch, event.n_train_batches, event.test_error * 100.0)
            )

    def on_train_end(self, result: TrainResult) -> None:
        self._print(
            "Optimization complete with best validation score of %f %%,with test performance %f %%"
            % (result.best_validation_error * 100.0, result.test_error * 100.0)
        )
        self._print("The code run for %d epochs, with %f epochs/sec" % (result.epochs, result.epochs_per_sec))
        if result.full_validation is None or result.full_test is None:
            self._print("No validation was run, so there is no best model.")
            return
        (v_wrong, v_n), (t_wrong, t_n) = result.full_validation, result.full_test
        self._print(
            "Best model on the complete sets: validation error %f %% (%d/%d), test error %f %% (%d/%d)"
            % (100.0 * v_wrong / v_n, v_wrong, v_n, 100.0 * t_wrong / t_n, t_wrong, t_n)
        )


class JsonLog(BaseListener):
    """Writes one JSON object per validation (and one at the end) to ``path``, line-buffered.

    Parameters
    ----------
    path : str or Path
        The JSON-lines file.
    append : bool, default False
        Append to it (a resumed run) instead of starting it anew.
    """

    def __init__(self, path: str | Path, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self._file: TextIO | None = None

    def on_train_begin(self, info: dict[str, Any]) -> None:
        with _writing(self.path):
            self._file = self.path.open("a" if self.append else "w", encoding="utf-8", buffering=1)
        self._write({"event": "begin", **info})

    def on_validation(self, event: ValidationEvent) -> None:
        self._write({"event": "validation", **event.as_record()})

    def on_train_end(self, result: TrainResult) -> None:
        self._write({
            "event": "end", "epochs": result.epochs, "iterations": result.iterations,
            "best_validation_error": result.best_validation_error, "test_error": result.test_error,
            "elapsed": result.elapsed, "epochs_per_sec": result.epochs_per_sec,
            "full_validation": result.full_validation, "full_test": result.full_test,
        })
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        with _writing(self.path):
            self._file.write(json.dumps(record) + "\n")


class BestModelWriter(BaseListener):
    """Saves the best model atomically: at the end of training, when it is interrupted
    (``on_interrupt``) and when it fails (:meth:`flush`, called by
    :func:`logistic_sgd.experiment.run_experiment`), and while it runs, once ``every`` seconds have
    passed since it began, at each improvement at most once per ``every`` seconds.

    The file is there so that a run stopped by force leaves its best model at most ``every`` seconds
    behind. Writing more often buys nothing else: a write (the archive, its JSON metadata, ``fsync``
    and the rename) costs milliseconds for an image model, which at every improvement of a fast run
    (50 in the original tutorial's 61 epochs) would be a noticeable share of the run, and for a wide
    model far more (a 2^20-feature text model is 100 MB: some tenths of a second a write), so the
    interval is also at least ten times the last write's duration. The file ends the same; a run
    shorter than ``every`` writes it once (``every=0`` writes at every improvement). Each write holds
    the model, epoch, errors and history of the moment it improved. A resumed run passes its
    ``state``: its best model is written at the end even if the run finds no better one (the process
    that found it may have been killed first).

    Parameters
    ----------
    path : str or Path
        The model file.
    metadata : dict
        What to keep with the model (class names, image shape, the data's description).
    every : float, default 10.0
        Seconds at least between the start of training and the first write, and between two writes
        (0: at every improvement).
    state : TrainState, optional
        The state a resumed run starts from.
    scaler : Standardizer, optional
        The inputs' scaling, kept in the file.
    columns : Preprocessor, optional
        A table's column pipeline, fitted on the training split, written into the file beside the model.
    vectorizer : TextVectorizer, optional
        The text vectoriser that made the inputs, kept in the file.
    """

    def __init__(self, path: str | Path, metadata: dict[str, Any], every: float = 10.0,
                 state: TrainState | None = None, scaler: Standardizer | None = None,
                 columns: Preprocessor | None = None, vectorizer: Any = None) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.scaler = scaler
        self.columns = columns
        self.vectorizer = vectorizer
        self.every = every
        self._state = state
        self._written: int | None = None  # the iteration of the best model this writer last wrote
        self._written_at = -math.inf
        self._took = 0.0  # how long the last write took

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self._written_at = time.monotonic()  # the first interval runs from here

    def on_validation(self, event: ValidationEvent) -> None:
        self._state = event.state
        wait = max(self.every, 10 * self._took) if self.every else 0.0
        if event.improved and time.monotonic() - self._written_at >= wait:
            self.flush()

    def flush(self) -> None:
        """Write the best model, unless this writer has already written it."""
        state = self._state
        if state is None or state.best_model is None or state.best_iteration == self._written:
            return
        history = [h for h in state.history if h["iteration"] <= state.best_iteration]
        found = history[-1]  # the validation that found it
        started = time.monotonic()
        with _writing(self.path):
            save_model(self.path, state.best_model, {
                **self.metadata,
                "epoch": found["epoch"], "iteration": found["iteration"],
                "validation_error": found["validation_error"], "test_error": found["test_error"],
                "history": history,
            }, scaler=self.scaler, columns=self.columns, vectorizer=self.vectorizer)
        now = time.monotonic()
        self._written, self._written_at, self._took = state.best_iteration, now, now - started

    def on_interrupt(self, state: TrainState) -> None:
        self._state = state
        self.flush()

    def on_train_end(self, result: TrainResult) -> None:
        self.flush()


class CheckpointWriter(BaseListener):
    """Writes the full training state atomically at every validation and when interrupted.

    Parameters
    ----------
    path : str or Path
        The checkpoint file.
    config : TrainConfig
        The run's hyperparameters, kept in it.
    fingerprint : str
        The data's fingerprint, kept in it.
    """

    def __init__(self, path: str | Path, config: TrainConfig, fingerprint: str) -> None:
        self.path = Path(path)
        self.config = config
        self.fingerprint = fingerprint

    def on_validation(self, event: ValidationEvent) -> None:
        assert event.state is not None
        with _writing(self.path):
            save_checkpoint(self.path, event.state, self.config, self.fingerprint)

    def on_interrupt(self, state: TrainState) -> None:
        with _writing(self.path):
            save_checkpoint(self.path, state, self.config, self.fingerprint)


class PlotWriter(BaseListener):
    """Records the training cost at each validation (mean NLL on a fixed sample of the training set)
    and, at the end, writes the pictures of :mod:`logistic_sgd.outputs.plots` for the best model as PNGs.

    Parameters
    ----------
    folder : str or Path
        Where the PNGs go.
    train : tuple of (x, y)
        The training split (its first ``sample`` rows give the training cost).
    test : tuple of (x, y)
        The test split, for the confusion matrix and the worst errors.
    class_names : tuple of str, optional
        The classes' names, for the labels.
    sample : int, default 5000
        Rows of the training split the cost is measured on.
    image_shape : tuple of (int, int), optional
        (height, width) of the images, to draw the weights and the worst errors as images.

    Raises
    ------
    MissingExtraError
        matplotlib is not installed (the ``plots`` extra): raised before training starts.
    """

    def __init__(self, folder: str | Path, train: tuple[Any, Any], test: tuple[Any, Any],
                 class_names: tuple[str, ...] = (), sample: int = 5000,
                 image_shape: tuple[int, int] | None = None) -> None:
        plots.pyplot()  # fail now, not after training, when matplotlib is missing
        self.folder = Path(folder)
        self.class_names = class_names
        self.image_shape = image_shape
        self.train = (train[0][:sample], train[1][:sample])
        self.test = test
        self.costs: list[float] = []
        self.written: list[Path] = []

    def on_validation(self, event: ValidationEvent) -> None:
        self.costs.append(NUMPY.negative_log_likelihood(event.model, *self.train))

    def on_train_end(self, result: TrainResult) -> None:
        if result.best_model is None:
            return
        test_x = in_dtype(self.test[0], result.best_model.dtype)
        pictures = plots.figures(result.best_model, (test_x, np.asarray(self.test[1])), result.history, self.costs,
                                 self.class_names, self.image_shape)
        self.written = plots.write_pngs(self.folder, pictures)


class Progress(BaseListener):
    """A one-line tqdm bar on stderr (epochs done, best validation error, epochs/s), redrawn in place.

    Only for a terminal: :func:`Progress.wanted` is false when stdout or stderr is piped. :meth:`clear`
    erases it (:class:`OriginalLog` does before each of its lines) and the next validation draws it again;
    it is gone when training ends.

    Parameters
    ----------
    stream : text file, optional
        Where the bar is drawn (stderr by default).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.n_epochs = 0
        self.bar: tqdm | None = None

    @staticmethod
    def wanted() -> bool:
        """Whether a bar is wanted: stdout and stderr are both a terminal.

        Returns
        -------
        bool
            False when either is piped or redirected.
        """
        return sys.stdout.isatty() and sys.stderr.isatty()

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self.n_epochs = int(info["config"]["n_epochs"])

    def on_validation(self, event: ValidationEvent) -> None:
        if self.bar is None:  # made at the first validation: an error raised before it gets a clean line
            from tqdm import tqdm

            # miniters=0, mininterval=0: every validation redraws, also after a clear within the same epoch
            self.bar = tqdm(total=self.n_epochs, initial=event.epoch, desc="training", unit="epoch", file=self.stream,
                            leave=False, dynamic_ncols=True, miniters=0, mininterval=0)
        self.bar.set_postfix_str(f"best validation {100 * event.best_validation_error:.3f} %", refresh=False)
        self.bar.update(event.epoch - self.bar.n)

    def clear(self) -> None:
        """Erase the bar from the terminal (the next validation draws it again)."""
        if self.bar is not None:
            self.bar.clear()

    def on_interrupt(self, state: TrainState) -> None:
        self._close()

    def on_train_end(self, result: TrainResult) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
