"""Command line: ``logistic-sgd train | evaluate | predict | export | report | convert | download``, over the package.

Errors caused by input end as one line on stderr and exit status 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ._version import __version__
from .backends import BACKENDS
from .data.scaling import SCALES
from .data.splits import DEFAULT_FRACTIONS
from .errors import LogisticSGDError, UsageError
from .training.config import CHOICES, DEFAULTS, TrainConfig
from .util.atomic import check_writable

PROG = "logistic-sgd"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else 0
    args.given = _given(parser, sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args) or 0)
    except LogisticSGDError as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {_in_flags(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _in_flags(exc: LogisticSGDError) -> str:
    """The error's message with each Python parameter it names written as the flag that sets it
    (``learning_rate`` as ``--learning-rate``; not inside a path or another word)."""
    message = str(exc)
    for param in exc.params:
        message = re.sub(rf"(?<![\w./-]){re.escape(param)}(?![\w./-])", _flag(param), message)
    return message


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line (``logistic-sgd: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Multinomial logistic regression trained by minibatch SGD with early stopping. The "
        "original tutorial is the Deep Learning Tutorials' chapter 'Classifying MNIST digits using Logistic "
        "Regression' (https://deeplearning.net/tutorial/logreg.html) and its program logistic_sgd.py.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")

    train = sub.add_parser("train", parents=[common], help="train (the original tutorial's experiment by default)",
                           description="Train by minibatch SGD with the original tutorial's patience early stopping; "
                           "prints the original tutorial's log lines.")
    _add_data_args(train, scale=True)
    columns = train.add_argument_group("a table's columns (default: detected, see the log)")
    columns.add_argument("--categorical", type=_names, metavar="COL,...",
                         help="read these columns as categories (one-hot), whatever their cells")
    columns.add_argument("--ignore-columns", type=_names, metavar="COL,...", help="leave these columns out")
    columns.add_argument("--features", type=_names, metavar="COL,...", help="use only these columns")
    columns.add_argument("--missing", default="impute", choices=("impute", "error"),
                         help="a missing cell: impute (numbers: the training mean and an indicator; categories: a "
                              "level of its own; rows without a label left out), or error (refused) (default impute)")
    hp = train.add_argument_group("hyperparameters (defaults: the original tutorial's)")
    _option(hp, "learning_rate", float, "SGD step size")
    _option(hp, "batch_size", int, "minibatch size")
    _option(hp, "n_epochs", int, "at most this many epochs (lbfgs, cg: 100 iterations unless given)")
    _option(hp, "patience", int, "look at this many minibatches at least")
    _option(hp, "patience_increase", float, "grow patience to iteration x this on a significant improvement")
    _option(hp, "improvement_threshold", float, "a relative improvement below this is significant")
    _option(hp, "floatx", str, "floating-point type of the model and data")
    hp.add_argument("--shuffle", action="store_true", help="visit minibatches in a new random order each epoch")
    opt = train.add_argument_group("optimiser (defaults: the original tutorial's plain SGD)")
    _option(opt, "optimizer", str, "minibatch sgd, or full-batch lbfgs / cg through SciPy (an epoch = one iteration)")
    _option(opt, "momentum", float, "heavy-ball momentum in [0, 1)")
    opt.add_argument("--nesterov", action="store_true", help="Nesterov momentum (with --momentum)")
    _option(opt, "l2", float, "L2 weight decay: loss + l2/2 ||W||^2")
    _option(opt, "l1", float, "L1 penalty: loss + l1 ||W||_1 (sgd only)")
    _option(opt, "lr_schedule", str, "learning rate over epochs")
    _option(opt, "lr_decay", float, "step: factor every --lr-step-epochs; inverse-time: lr / (1 + decay * epoch)")
    _option(opt, "lr_step_epochs", float, "step schedule period")
    _option(opt, "tol", float, "lbfgs/cg: stop when the projected gradient falls below this")
    _option(opt, "class_weight", str, "balanced: weigh each example by n / (classes x its class's count)")
    hp.add_argument("--backend", default="auto", choices=BACKENDS,
                    help="numba (compiled CPU kernels; the [numba] extra), numpy, torch (GPU; the [torch] extra), "
                         "or auto (default: numba if installed, else numpy)")
    hp.add_argument("--device", help="with --backend torch: cpu, cuda[:N] or mps (default: cuda if available)")
    hp.add_argument("--distributed", action="store_true",
                    help="data-parallel over torch.distributed (launch with torchrun; gloo on cpu, nccl on cuda)")
    _option(hp, "seed", int, "random seed for --shuffle")
    out = train.add_argument_group("output")
    out.add_argument("-q", "--quiet", action="store_true", help="drop the per-validation lines")
    out.add_argument("--model-out", type=Path, default=Path("best_model.npz"),
                     help="where the best model is written (default best_model.npz)")
    out.add_argument("--log-json", type=Path, help="write one JSON object per validation to this file")
    out.add_argument("--checkpoint", type=Path, metavar="PATH",
                     help="write the full training state here at every validation and on SIGINT/SIGTERM")
    out.add_argument("--resume", action="store_true", help="continue from --checkpoint (same data and flags)")
    out.add_argument("--auto-resume", action="store_true",
                     help="resume when the --checkpoint file exists, else start afresh (for torchrun --max-restarts)")
    out.add_argument("--plots", type=Path, metavar="DIR",
                     help="at the end, write PNGs of the learning curve, weights, confusion matrix, worst errors")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", parents=[common], help="error of a saved model on each split")
    evaluate.add_argument("--model", type=Path, required=True, help="model file written by train")
    _add_data_args(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", parents=[common],
                             help="classify images, CSV/TSV rows, .npy arrays or IDX files")
    predict.add_argument("--model", type=Path, required=True, help="model file written by train")
    predict.add_argument("--top", type=int, default=1, metavar="K", help="show the K most likely classes")
    predict.add_argument("--label-column", type=_column, metavar="NAME|INDEX",
                         help="a CSV/TSV input's label column, left out (default: one named label, class, ...)")
    predict.add_argument("--zero-based", default="model", choices=("model", "auto", "yes", "no"),
                         help="svmlight inputs: whether feature index 0 is the first column (default model: as the "
                              "training files counted)")
    predict.add_argument("--out", type=Path, metavar="FILE.csv",
                         help="write one row per example (input, label, each class's probability) instead")
    predict.add_argument("--text", action="append", metavar="TEXT",
                         help="a document to classify, for a model trained on text (repeat for several)")
    predict.add_argument("inputs", nargs="*", type=Path, metavar="INPUT",
                         help="PNG/PGM/JPEG... image (needs Pillow), CSV/TSV file, .npy array, or IDX image file; for "
                              "a model trained on text: a .txt file (one document a line) or a table")
    predict.set_defaults(func=cmd_predict)

    export = sub.add_parser("export", parents=[common], help="export a model to ONNX")
    export.add_argument("--model", type=Path, required=True, help="model file written by train")
    export.add_argument("--onnx", type=Path, required=True, metavar="OUT.onnx", help="where to write the graph")
    export.add_argument("--opset", type=int, help="ONNX opset (default: the installed onnx's current one)")
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", parents=[common], help="one self-contained HTML page about a model")
    report.add_argument("--model", type=Path, required=True, help="model file written by train")
    _add_data_args(report)
    report.add_argument("--out", type=Path, default=Path("report.html"), help="where to write the page")
    report.set_defaults(func=cmd_report)

    conv = sub.add_parser("convert", parents=[common], help="write a dataset in the memory-mappable layout")
    _add_data_args(conv)
    conv.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the layout into")
    conv.set_defaults(func=cmd_convert)

    download = sub.add_parser("download", parents=[common], help="fetch a named dataset into the cache")
    download.add_argument("--dataset", default="mnist", choices=_dataset_names())
    download.set_defaults(func=cmd_download)
    return parser


def _option(group: Any, field: str, kind: type, help: str) -> None:
    """A flag for the :class:`TrainConfig` field ``field``: its default and choices read from the config."""
    default = getattr(DEFAULTS, field)
    group.add_argument(_flag(field), type=kind, default=default, choices=CHOICES.get(field),
                       help=f"{help} (default {default})")


def _flag(param: str) -> str:
    return "--" + param.replace("_", "-")


def _dataset_names() -> list[str]:
    from .data.datasets import DATASETS

    return sorted(DATASETS)


def _add_data_args(parser: argparse.ArgumentParser, scale: bool = False) -> None:
    group = parser.add_argument_group("data")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="dataset file or folder: IDX folder, mnist.pkl.gz, .npz (also "
                        "Keras'), CSV/TSV, Hugging Face parquet, an ImageFolder tree, or a converted folder")
    source.add_argument("--dataset", default="mnist", choices=_dataset_names(),
                        help="named dataset, from the cache or downloaded (default mnist)")
    group.add_argument("--label-column", type=_column, metavar="NAME|INDEX",
                       help="CSV/TSV: the label column, by header name or number (negative from the end; default: "
                            "the column named label, labels, class, target or y)")
    group.add_argument("--text-column", action="append", metavar="NAME",
                       help="a table's column of free text, vectorised into the model (repeat for several; default: "
                            "when a column averages five words a cell, every column but the labels that holds "
                            "more than numbers)")
    group.add_argument("--valid-data", type=Path, metavar="PATH", help="the validation examples, from this file")
    group.add_argument("--test-data", type=Path, metavar="PATH", help="the test examples, from this file")
    group.add_argument("--split", type=_fractions, default=DEFAULT_FRACTIONS, metavar="TRAIN,VALID,TEST",
                       help="fractions for the splits a source lacks, cut stratified (default 0.8,0.1,0.1)")
    group.add_argument("--split-seed", type=int, default=0, help="seed of that split (default 0)")
    group.add_argument("--zero-based", default="auto", choices=("auto", "yes", "no"),
                       help="svmlight files: whether feature index 0 is the first column (default auto: yes when "
                            "any file read holds an index 0)")
    if scale:
        group.add_argument("--scale", default="auto", choices=SCALES,
                           help="feature scaling fitted on the training split: standard, none, or auto (default: "
                                "standard for all but images, which are x / 255)")


def _names(text: str) -> tuple[str, ...]:
    """Column names separated by commas."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return names


def _text_input(vectorizer: Any, text: str) -> Any:
    """One ``--text`` as the rows of a vectoriser with one text column; its number columns, if it has
    any, read as missing, as an empty cell of a table is."""
    if not vectorizer.number_columns_:
        return [text]
    from .data.documents import Documents

    return Documents.from_columns({vectorizer.columns_[0]: [text]},
                                  {name: [math.nan] for name in vectorizer.number_columns_})


def _given(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The settings a command line gives: each ``--flag`` (or an abbreviation argparse took for it)
    as its parameter name (``learning_rate``)."""
    flags: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags |= {s: a.dest for a in sub._actions for s in a.option_strings if s.startswith("--")}
    given = set()
    for arg in argv:
        name = arg.split("=")[0]
        if name.startswith("--"):
            found = [dest for flag, dest in flags.items() if flag == name] or \
                [dest for flag, dest in flags.items() if flag.startswith(name)]
            given |= set(found[:1]) if len(set(found)) == 1 else set()
    return given


def _column(text: str) -> str | int:
    """A label column: a number (a column index) or a header name."""
    try:
        return int(text)
    except ValueError:
        return text


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three fractions like 0.8,0.1,0.1, got {text!r}") from None
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected three fractions like 0.8,0.1,0.1, got {text!r}")
    return parts  # type: ignore[return-value]


def _data_source(args: argparse.Namespace) -> str | Path:
    return args.data if args.data is not None else args.dataset


def _zero_based(flag: str | None, default: bool | str | None = "auto") -> bool | str | None:
    """``--zero-based yes|no|auto`` as the library takes it (True, False, "auto"); ``default`` when not given."""
    return {"yes": True, "no": False, "auto": "auto"}.get(flag or "", default)


def _data_options(args: argparse.Namespace) -> Any:
    from .experiment import DataOptions

    return DataOptions(label_column=args.label_column, valid=args.valid_data, test=args.test_data, split=args.split,
                       split_seed=args.split_seed, scale=getattr(args, "scale", "auto"),
                       zero_based=_zero_based(args.zero_based),
                       categorical=getattr(args, "categorical", None) or (),
                       ignore_columns=getattr(args, "ignore_columns", None) or (),
                       features=getattr(args, "features", None), missing=getattr(args, "missing", "impute"),
                       text_columns=tuple(getattr(args, "text_column", None) or ()))


def cmd_train(args: argparse.Namespace) -> int:
    from .backends import get_backend
    from .experiment import Outputs, run_experiment
    from .training.events import StopRequest, TrainingInterrupted

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    if args.auto_resume and args.checkpoint is None:
        raise UsageError("--auto-resume needs --checkpoint PATH")
    stop = StopRequest()
    if args.checkpoint is not None:  # finish the current step, write the checkpoint, then exit
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop.request)
    backend = get_backend(args.backend, args.device)
    comm = None
    if args.distributed:
        from .training.distributed import Communicator

        comm = Communicator(backend)
    outputs = Outputs(model_out=args.model_out, log_json=args.log_json, checkpoint=args.checkpoint, plots=args.plots,
                      quiet=args.quiet)
    resume = args.resume or bool(args.auto_resume and args.checkpoint and args.checkpoint.is_file())
    try:
        given = args.given | ({"resume"} if resume else set())
        run_experiment(_data_source(args), config, data=_data_options(args), backend=backend, outputs=outputs,
                       resume=resume, stop=stop, comm=comm, given=given)
    except TrainingInterrupted as exc:
        st = exc.state
        print(f"{PROG}: interrupted by {signal.Signals(exc.signal).name} in epoch {st.epoch} after minibatch "
              f"{st.minibatch}; checkpoint written to {args.checkpoint}; to continue, run the same command "
              "with --resume", file=sys.stderr)
        return 128 + exc.signal
    finally:
        if comm is not None:
            if comm.rank == 0 and comm.reduce_calls:
                print(f"... all-reduce: {comm.reduce_calls} calls, {1e6 * comm.reduce_seconds / comm.reduce_calls:.1f} "
                      f"us each on average, over {comm.world} ranks", file=sys.stderr)
            comm.close()
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .core.metrics import ClassScores, confusion_matrix

    classifier, meta, loaded = _model_and_data(args)
    print(f"model: {args.model} (trained on {meta.get('data', 'unknown data')})")
    print(f"data: {loaded.description}")
    test_pred = None
    for name, (x, y) in zip(("train", "validation", "test"), loaded.datasets, strict=True):
        pred = _classes(classifier, x)
        wrong = int(np.sum(pred != y))
        print(f"{name:<10} error {100.0 * wrong / len(y):9.6f} %  ({wrong}/{len(y)})")
        test_pred = pred
    names = classifier.class_names
    print("test, per class:")
    print("\n".join(ClassScores.of(confusion_matrix(loaded.datasets[2][1], test_pred, len(names)), names).lines()))
    from .outputs.coefficients import coefficient_lines, feature_names_of, scale_words

    features = feature_names_of(classifier, meta)
    if features is not None:
        print(f"largest coefficients ({scale_words(classifier)}), per class:")
        print("\n".join(coefficient_lines(classifier.model.arrays.to_numpy(classifier.model.W), features, names)))
    if classifier.vectorizer is not None:
        print("n-grams of largest weight, per class:")
        top = classifier.vectorizer.top_features(classifier.model.arrays.to_numpy(classifier.model.W), k=8)
        width = max(map(len, names))
        for name, grams in zip(names, top, strict=True):
            print(f"  {name:<{width}}  " + ", ".join(gram for gram, _ in grams))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .data.inputs import read_examples
    from .outputs.persist import load_classifier

    classifier = load_classifier(args.model)
    model, names = classifier.model, classifier.class_names
    if not 1 <= args.top <= model.n_out:
        raise UsageError(f"--top must be between 1 and {model.n_out}, got {args.top}")
    if args.out is not None:
        check_writable("out", args.out)
    zero_based = _zero_based(args.zero_based, classifier.zero_based)
    texts = args.text or []
    if not args.inputs and not texts:
        raise UsageError("give inputs to classify (files, or --text for a model trained on text)")
    if texts and classifier.vectorizer is None:
        raise UsageError(f"--text: {args.model} was not trained on text")
    if texts and classifier.vectorizer.columns_[1:]:
        taken = ", ".join(classifier.vectorizer.columns_)
        raise UsageError(f"--text: {args.model} reads the text columns {taken}; give them in a table (a CSV file)")
    if classifier.vectorizer is not None:  # all checked before anything is printed or written
        from .data.formats.text import read_documents

        if texts and classifier.vectorizer.number_columns_:
            print(f"--text: the number columns {', '.join(classifier.vectorizer.number_columns_)} are read as "
                  "missing, as empty cells are; give a table to set them", file=sys.stderr)
        batches = [(Path(f"text[{i}]"), _text_input(classifier.vectorizer, text)) for i, text in enumerate(texts)]
        batches += [(path, read_documents(path, classifier.vectorizer, args.label_column)) for path in args.inputs]
    else:
        batches = [(path, read_examples(path, model.n_in, classifier.image_shape, args.label_column,
                                        "auto" if zero_based is None else zero_based, classifier.columns))
                   for path in args.inputs]
    rows = []
    for path, x in batches:
        proba = classifier.predict_proba(x)
        for i, p in enumerate(proba):
            rows.append((str(path) if len(x) == 1 else f"{path}[{i}]", p))
    if args.out is not None:
        _write_predictions(args.out, rows, names)
        print(f"wrote {args.out}: {len(rows)} rows")
        return 0
    for name, p in rows:
        order = np.argsort(-p, kind="stable")[: args.top]
        print("\t".join([name, *(f"{names[k]}\t{p[k]:.6f}" for k in order)]))
    return 0


def _write_predictions(path: Path, rows: list[tuple[str, Any]], names: tuple[str, ...]) -> None:
    """One CSV row per example: the input, the predicted class, each class's probability."""
    import csv
    import io

    from .util.atomic import atomic_write

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["input", "label", *(f"p({name})" for name in names)])
    for name, p in rows:
        writer.writerow([name, names[int(np.argmax(p))], *(f"{v:.6f}" for v in p)])
    with atomic_write(path) as f:
        f.write(text.getvalue().encode("utf-8"))


def cmd_export(args: argparse.Namespace) -> int:
    from .outputs.onnx_export import export_onnx
    from .outputs.persist import load_classifier

    classifier = load_classifier(args.model)
    model = classifier.model
    check_writable("onnx", args.onnx)
    export_onnx(classifier, args.onnx, args.opset)
    inputs = f"input float32 [N, {model.n_in}]" if classifier.columns is None else \
        f"inputs: {len(classifier.columns.columns)} columns, each [N, 1] (numbers float32, categories string)"
    print(f"wrote {args.onnx}: {inputs} -> label int64 [N], probabilities [N, {model.n_out}]")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .outputs.html_report import build_report, write_report

    check_writable("out", args.out)
    classifier, meta, loaded = _model_and_data(args)
    write_report(args.out, build_report(classifier, meta, loaded, args.model.name))
    print(f"wrote {args.out}")
    return 0


def _model_and_data(args: argparse.Namespace) -> tuple[Any, dict[str, Any], Any]:
    """The model file of ``--model``, its metadata, and the data with labels as the model's classes."""
    from .data import align_classes
    from .data.sources import holds_text, vectorize_splits
    from .outputs.persist import load_classifier

    classifier = load_classifier(args.model)
    loaded = _data_options(args).open(_data_source(args), (), classifier.columns)
    text = holds_text(loaded.datasets[0][0])
    if text != (classifier.vectorizer is not None):
        raise UsageError(f"{args.model}: the model was trained on {'text' if classifier.vectorizer else 'features'}, "
                         f"the data hold {'text' if text else 'features'}")
    loaded = vectorize_splits(align_classes(loaded, classifier.class_names), classifier.vectorizer, fit=False)
    n_features = loaded.datasets[0][0].shape[1]
    if n_features != classifier.model.n_in:
        raise UsageError(f"{args.model}: the model takes {classifier.model.n_in} features, the data have {n_features}")
    return classifier, classifier.model.metadata, loaded


def _classes(classifier: Any, x: Any, chunk: int = 8192) -> Any:
    """The classifier's class index for each row of ``x``, in chunks (bounded memory)."""
    return np.concatenate([classifier.predict(x[i : i + chunk]) for i in range(0, len(x), chunk)])


def cmd_convert(args: argparse.Namespace) -> int:
    from .data.layouts.convert import convert_dataset
    from .data.sources import holds_text

    loaded = _data_options(args).open(_data_source(args), ())
    if holds_text(loaded.datasets[0][0]):
        raise UsageError(f"{loaded.path}: holds raw text, which train vectorises into the model; convert takes "
                         "features (train on the text instead)")
    convert_dataset(loaded.datasets, args.out)
    print(f"wrote {args.out}: {loaded.description}, memory-mappable (train with --data {args.out})")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .data.datasets import resolve

    path, title = resolve(args.dataset)
    print(f"{title}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
