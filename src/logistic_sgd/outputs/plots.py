"""Pictures of a run and a model (needs matplotlib): the learning curve, each class's weights as an
image, the confusion matrix, and the most confidently wrong test images."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..backends.base import NUMPY
from ..core.metrics import confusion_matrix
from ..core.model import LogisticRegression
from ..errors import UsageError
from ..util.atomic import atomic_write
from ..util.extras import require


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, or a :class:`UsageError` naming the extra."""
    matplotlib = require("matplotlib", "plots", "plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curve(history: Sequence[dict[str, Any]], costs: Sequence[float] | None = None) -> Any:
    """Validation error at each validation, test error of each new best model, and (if given) training cost."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    x = [h["iteration"] + 1 for h in history]
    ax.plot(x, [100 * h["validation_error"] for h in history], label="validation error")
    best = [(h["iteration"] + 1, 100 * h["test_error"]) for h in history if h.get("test_error") is not None]
    if best:
        ax.plot(*zip(*best, strict=True), "o", markersize=3, label="test error of best model")
    ax.set_xlabel("minibatch iterations")
    ax.set_ylabel("error (%)")
    if costs is not None and len(costs) == len(x):
        ax2 = ax.twinx()
        ax2.plot(x, costs, color="tab:gray", linestyle="--", label="training cost (NLL)")
        ax2.set_ylabel("training cost (mean NLL)")
        ax2.legend(loc="center right")
    ax.legend(loc="upper right")
    ax.set_title("Learning curve")
    fig.tight_layout()
    return fig


def weights(model: LogisticRegression, class_names: Sequence[str] | None = None) -> Any:
    """Each class's weight vector ``W[:, k]`` drawn as a square image (red positive, blue negative)."""
    plt = pyplot()
    W = np.asarray(model.arrays.to_numpy(model.W), dtype=np.float64)
    side = math.isqrt(model.n_in)
    if side * side != model.n_in:
        raise UsageError(f"weights of {model.n_in} inputs cannot be drawn as a square image")
    cols = min(5, model.n_out)
    rows = math.ceil(model.n_out / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.2 * rows), squeeze=False)
    limit = float(np.abs(W).max()) or 1.0
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < model.n_out:
            ax.imshow(W[:, k].reshape(side, side), cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(class_names[k] if class_names else f"class {k}", fontsize=9)
    fig.suptitle("What each class's weights respond to")
    fig.tight_layout()
    return fig


def confusion(model: LogisticRegression, x: NDArray[Any], y: NDArray[Any],
              class_names: Sequence[str] | None = None) -> Any:
    """The confusion matrix on ``(x, y)``: rows true class, columns predicted, counts in the cells."""
    plt = pyplot()
    pred = probabilities(model, x).argmax(axis=1)
    k = model.n_out
    matrix = confusion_matrix(y, pred, k)
    fig, ax = plt.subplots(figsize=(6 + 0.2 * k, 5 + 0.2 * k))
    ax.imshow(matrix, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(k), labels=class_names or None, rotation=90 if class_names else 0, fontsize=7)
    ax.set_yticks(range(k), labels=class_names or None, fontsize=7)
    ax.set_title(f"Confusion matrix ({int(np.trace(matrix))}/{len(y)} right)")
    fig.tight_layout()
    return fig


def confidently_wrong(model: LogisticRegression, x: NDArray[Any], y: NDArray[Any], n: int = 16,
                      class_names: Sequence[str] | None = None, image_shape: tuple[int, int] | None = None) -> Any:
    """The ``n`` misclassified examples the model was surest of, with true and predicted labels (and
    the images, when ``x`` are images of ``image_shape``)."""
    plt = pyplot()
    proba = probabilities(model, x)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y))
    worst = wrong[np.argsort(-proba[wrong, pred[wrong]], kind="stable")][:n]
    cols = 8
    rows = max(1, math.ceil(len(worst) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 2.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, worst, strict=False):
        if image_shape is not None:
            ax.imshow(np.asarray(x[i]).reshape(image_shape), cmap="gray_r")
        true, said = (class_names[y[i]], class_names[pred[i]]) if class_names else (y[i], pred[i])
        ax.set_title(f"true {true}, said {said}\np={proba[i, pred[i]]:.3f}", fontsize=7)
    fig.suptitle("Most confidently wrong test images")
    fig.tight_layout()
    return fig


def probabilities(model: LogisticRegression, x: Any) -> NDArray[np.floating]:
    """``P(Y = k | x)`` as a NumPy array, for rows of any kind."""
    return NUMPY.predict_proba(model, x)


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes (and closes it)."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def figures(
    model: LogisticRegression, test: tuple[NDArray[Any], NDArray[Any]], history: Sequence[dict[str, Any]] = (),
    costs: Sequence[float] | None = None, class_names: Sequence[str] = (), image_shape: tuple[int, int] | None = None,
) -> dict[str, bytes]:
    """All pictures as ``{name: png bytes}``: learning_curve (when there is a history), weights (when
    the examples are images of ``image_shape``), confusion, wrong."""
    out: dict[str, bytes] = {}
    if history:
        out["learning_curve"] = png_bytes(learning_curve(history, costs))
    if image_shape is not None and math.prod(image_shape) == model.n_in:
        out["weights"] = png_bytes(weights(model, class_names))
    out["confusion"] = png_bytes(confusion(model, *test, class_names=class_names))
    out["wrong"] = png_bytes(confidently_wrong(model, *test, class_names=class_names, image_shape=image_shape))
    return out


def write_pngs(folder: Path, pictures: dict[str, bytes]) -> list[Path]:
    """Write each picture to ``folder/NAME.png`` atomically; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in pictures.items():
        path = folder / f"{name}.png"
        with atomic_write(path) as f:
            f.write(data)
        paths.append(path)
    return paths
