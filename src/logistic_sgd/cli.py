"""Command line: ``logistic-sgd train | evaluate | predict | export | report | download``, over the package.

Errors caused by input end as one line on stderr and exit status 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ._version import __version__
from .backends import BACKENDS
from .config import CHOICES, DEFAULTS, TrainConfig
from .errors import LogisticSGDError, UsageError

PROG = "logistic-sgd"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else 0
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
        description="Multinomial logistic regression trained by minibatch SGD with early stopping "
        "(the Deep Learning Tutorials' logistic_sgd.py).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")

    train = sub.add_parser("train", parents=[common], help="train (the seed's experiment by default)",
                           description="Train by minibatch SGD with the seed's patience early stopping; "
                           "prints the seed's log lines.")
    _add_data_args(train)
    hp = train.add_argument_group("hyperparameters (defaults: the seed's)")
    _option(hp, "learning_rate", float, "SGD step size")
    _option(hp, "batch_size", int, "minibatch size")
    _option(hp, "n_epochs", int, "at most this many epochs")
    _option(hp, "patience", int, "look at this many minibatches at least")
    _option(hp, "patience_increase", float, "grow patience to iteration x this on a significant improvement")
    _option(hp, "improvement_threshold", float, "a relative improvement below this is significant")
    _option(hp, "floatx", str, "floating-point type of the model and data")
    hp.add_argument("--shuffle", action="store_true", help="visit minibatches in a new random order each epoch")
    opt = train.add_argument_group("optimiser (defaults: the seed's plain SGD)")
    _option(opt, "optimizer", str, "minibatch sgd, or full-batch lbfgs / cg through SciPy (an epoch = one iteration)")
    _option(opt, "momentum", float, "heavy-ball momentum in [0, 1)")
    opt.add_argument("--nesterov", action="store_true", help="Nesterov momentum (with --momentum)")
    _option(opt, "l2", float, "L2 weight decay: loss + l2/2 ||W||^2")
    _option(opt, "l1", float, "L1 penalty: loss + l1 ||W||_1 (sgd only)")
    _option(opt, "lr_schedule", str, "learning rate over epochs")
    _option(opt, "lr_decay", float, "step: factor every --lr-step-epochs; inverse-time: lr / (1 + decay * epoch)")
    _option(opt, "lr_step_epochs", float, "step schedule period")
    _option(opt, "tol", float, "lbfgs/cg: stop when the projected gradient falls below this")
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

    predict = sub.add_parser("predict", parents=[common], help="classify images, .npy arrays or IDX files")
    predict.add_argument("--model", type=Path, required=True, help="model file written by train")
    predict.add_argument("--top", type=int, default=1, metavar="K", help="show the K most likely classes")
    predict.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                         help="PNG/PGM/... image (needs Pillow), .npy array, or IDX image file")
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


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data").add_mutually_exclusive_group()
    group.add_argument("--data", type=Path, help="dataset file or folder: mnist.pkl.gz, IDX folder, or .npz")
    group.add_argument("--dataset", default="mnist", choices=_dataset_names(),
                       help="named dataset, from the cache or downloaded (default mnist)")


def _data_source(args: argparse.Namespace) -> str | Path:
    return args.data if args.data is not None else args.dataset


def cmd_train(args: argparse.Namespace) -> int:
    from .backends import get_backend
    from .events import StopRequest, TrainingInterrupted
    from .experiment import Outputs, run_experiment

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
        from .distributed import Communicator

        comm = Communicator(backend)
    outputs = Outputs(model_out=args.model_out, log_json=args.log_json, checkpoint=args.checkpoint, plots=args.plots,
                      quiet=args.quiet)
    resume = args.resume or bool(args.auto_resume and args.checkpoint and args.checkpoint.is_file())
    try:
        run_experiment(_data_source(args), config, backend=backend, outputs=outputs, resume=resume, stop=stop,
                       comm=comm)
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
    from .backends import NUMPY
    from .data import open_dataset
    from .persist import read_model
    from .scoring import count_errors

    model, meta = read_model(args.model)
    loaded = open_dataset(_data_source(args))
    print(f"model: {args.model} (trained on {meta.get('data', 'unknown data')})")
    print(f"data: {loaded.description}")
    _check_compatible(args.model, model, loaded.datasets)
    for name, (x, y) in zip(("train", "validation", "test"), loaded.datasets, strict=True):
        wrong = count_errors(NUMPY, model, x.astype(model.dtype, copy=False), y)
        print(f"{name:<10} error {100.0 * wrong / len(y):9.6f} %  ({wrong}/{len(y)})")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .inputs import read_examples
    from .persist import load_model

    model = load_model(args.model)
    if not 1 <= args.top <= model.n_out:
        raise UsageError(f"--top must be between 1 and {model.n_out}, got {args.top}")
    batches = [(path, read_examples(path, model.n_in)) for path in args.inputs]  # all checked before printing
    for path, rows in batches:
        proba = model.p_y_given_x(rows)
        best = np.argsort(-proba, axis=1, kind="stable")[:, : args.top]
        for i, (p, order) in enumerate(zip(proba, best, strict=True)):
            name = str(path) if len(rows) == 1 else f"{path}[{i}]"
            print("\t".join([name, *(f"{k}\t{p[k]:.6f}" for k in order)]))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .experiment import check_writable
    from .onnx_export import export_onnx
    from .persist import load_model

    model = load_model(args.model)
    check_writable("onnx", args.onnx)
    export_onnx(model, args.onnx, args.opset)
    print(f"wrote {args.onnx}: input float32 [N, {model.n_in}] -> label int64 [N], probabilities [N, {model.n_out}]")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .data import open_dataset
    from .experiment import check_writable
    from .html_report import build_report, write_report
    from .persist import read_model

    model, meta = read_model(args.model)
    check_writable("out", args.out)
    loaded = open_dataset(_data_source(args))
    _check_compatible(args.model, model, loaded.datasets)
    write_report(args.out, build_report(model, meta, loaded, args.model.name))
    print(f"wrote {args.out}")
    return 0


def _check_compatible(path: Path, model: Any, datasets: Any) -> None:
    for name, (x, y) in zip(("train", "validation", "test"), datasets, strict=True):
        if x.shape[1] != model.n_in:
            raise UsageError(f"{path}: model takes {model.n_in} features, the data have {x.shape[1]}")
        if y.max() >= model.n_out:
            raise UsageError(f"{path}: model knows {model.n_out} classes, the {name} labels reach {y.max()}")


def cmd_convert(args: argparse.Namespace) -> int:
    from .data import open_dataset
    from .data.memmap import convert

    loaded = open_dataset(_data_source(args))
    convert(loaded.datasets, args.out)
    print(f"wrote {args.out}: {loaded.description}, memory-mappable (train with --data {args.out})")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .data.datasets import resolve

    path, title = resolve(args.dataset)
    print(f"{title}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
