"""One self-contained HTML page about a model: the run's metadata, its errors, and the pictures
(PNG embedded as data URIs, so the file can be mailed or archived on its own)."""

from __future__ import annotations

import base64
import html
import json
import os
from typing import Any

import numpy as np

from ..core.metrics import ClassScores, confusion_matrix
from ..data import LoadedData
from ..util.atomic import atomic_write
from .classifier import Classifier
from .coefficients import feature_names_of, largest, scale_words
from .plots import figures

CAPTIONS = {
    "learning_curve": "Validation error at each validation, test error of each new best model.",
    "weights": "Each class's weights as an image: red pixels raise the class's score, blue ones lower it.",
    "confusion": "Confusion matrix on the complete test set.",
    "wrong": "The test images the model got wrong with the highest confidence.",
}


def build_report(classifier: Classifier, meta: dict[str, Any], data: LoadedData, model_name: str) -> str:
    """The report page as a string: ``data``'s labels must be ``classifier``'s classes
    (:func:`logistic_sgd.data.align_classes`)."""
    model, names = classifier.model, classifier.class_names
    rows, predicted = [], []
    for name, (x, y) in zip(("train", "validation", "test"), data.datasets, strict=True):
        pred = np.concatenate([classifier.predict(x[i : i + 8192]) for i in range(0, len(x), 8192)])
        wrong = int(np.sum(pred != y))
        predicted.append(pred)
        rows.append(f"<tr><td>{name}</td><td>{len(y)}</td><td>{wrong}</td><td>{100 * wrong / len(y):.3f} %</td></tr>")
    scores = ClassScores.of(confusion_matrix(data.datasets[2][1], predicted[2], len(names)), names)
    per_class = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{_pct(p)}</td><td>{_pct(r)}</td><td>{s}</td></tr>"
        for n, p, r, s in zip(scores.names, scores.precision, scores.recall, scores.support, strict=True)
    )
    coefficients = _coefficients(classifier, meta)
    test_x, test_y = data.datasets[2]
    pictures = figures(model, (classifier.inputs(test_x), test_y), meta.get("history") or (), class_names=names,
                       image_shape=classifier.image_shape)
    images = "\n".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(CAPTIONS[name])}</figcaption></figure>"
        for name, png in pictures.items()
    )
    shown = {k: v for k, v in meta.items() if k != "history"}
    esc = html.escape
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>logistic-sgd report: {esc(model_name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ccc; padding: .3em .8em; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }} pre {{ background: #f6f6f6; padding: 1em; overflow: auto; }}
</style></head>
<body>
<h1>Model {esc(model_name)}</h1>
<p>{model.n_in} inputs, {model.n_out} classes, {model.dtype.name}; evaluated on {esc(data.description)}.</p>
<h2>Errors on the complete splits</h2>
<table><tr><th>split</th><th>examples</th><th>wrong</th><th>error</th></tr>
{"".join(rows)}</table>
<h2>Test set, per class</h2>
<table><tr><th>class</th><th>precision</th><th>recall</th><th>examples</th></tr>
{per_class}</table>
{coefficients}
{_top_ngrams(classifier)}<h2>Pictures</h2>
{images}
<h2>Metadata</h2>
<pre>{esc(json.dumps(shown, indent=2, sort_keys=True))}</pre>
<script>
window.addEventListener("load", () => {{
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesDecoded = ok + "/" + imgs.length;
}});
</script>
</body></html>
"""


def _coefficients(classifier: Classifier, meta: dict[str, Any], k: int = 8) -> str:
    """Each class's largest weights by feature name, as an HTML section (empty without names)."""
    names = feature_names_of(classifier, meta)
    if names is None:
        return ""
    W = classifier.model.arrays.to_numpy(classifier.model.W)
    rows = "".join(
        f"<tr><td>{html.escape(cls)}</td><td>"
        + ", ".join(f"{c.weight:+.3f}&nbsp;{html.escape(c.feature)}" for c in row) + "</td></tr>"
        for cls, row in zip(classifier.class_names, largest(W, names, k), strict=True))
    return (f"<h2>Largest coefficients</h2>\n<p>Per class, the {k} weights of largest magnitude, on "
            f"{scale_words(classifier)}.</p>\n<table><tr><th>class</th><th>weights</th></tr>\n{rows}</table>")


def _top_ngrams(classifier: Classifier, k: int = 10) -> str:
    """For a model trained on text: a table of each class's n-grams of largest weight."""
    if classifier.vectorizer is None:
        return ""
    top = classifier.vectorizer.top_features(classifier.model.arrays.to_numpy(classifier.model.W), k=k)
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(', '.join(g for g, _ in grams))}</td></tr>"
                   for name, grams in zip(classifier.class_names, top, strict=True))
    return (f"<h2>N-grams of largest weight</h2>\n<p>{html.escape(classifier.vectorizer.describe())}</p>\n"
            f"<table><tr><th>class</th><th>n-grams</th></tr>{rows}</table>\n")


def _pct(value: float) -> str:
    return "-" if np.isnan(value) else f"{100 * value:.2f} %"


def write_report(path: str | os.PathLike[str], page: str) -> None:
    """Write the page atomically."""
    with atomic_write(path) as f:
        f.write(page.encode("utf-8"))
