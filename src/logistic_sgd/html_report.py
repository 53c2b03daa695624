"""One self-contained HTML page about a model: the run's metadata, its errors, and the pictures
(PNG embedded as data URIs, so the file can be mailed or archived on its own)."""

from __future__ import annotations

import base64
import html
import json
import os
from typing import Any

import numpy as np

from .atomic import atomic_write
from .backends import NUMPY
from .data import LoadedData
from .model import LogisticRegression
from .plots import figures
from .scoring import count_errors

CAPTIONS = {
    "learning_curve": "Validation error at each validation, test error of each new best model.",
    "weights": "Each class's weights as an image: red pixels raise the class's score, blue ones lower it.",
    "confusion": "Confusion matrix on the complete test set.",
    "wrong": "The test images the model got wrong with the highest confidence.",
}


def build_report(model: LogisticRegression, meta: dict[str, Any], data: LoadedData, model_name: str) -> str:
    """The report page as a string."""
    rows = []
    for name, (x, y) in zip(("train", "validation", "test"), data.datasets, strict=True):
        wrong = count_errors(NUMPY, model, np.asarray(x, dtype=model.dtype), y)
        rows.append(f"<tr><td>{name}</td><td>{len(y)}</td><td>{wrong}</td><td>{100 * wrong / len(y):.3f} %</td></tr>")
    test_x, test_y = data.datasets[2]
    pictures = figures(model, (np.asarray(test_x, dtype=model.dtype), test_y), meta.get("history") or ())
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
<h2>Pictures</h2>
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


def write_report(path: str | os.PathLike[str], page: str) -> None:
    """Write the page atomically."""
    with atomic_write(path) as f:
        f.write(page.encode("utf-8"))
