"""Export a model to ONNX: float32 features [N, n_in] in (images as ``x / 255``, table columns as
read); ``label`` [N] (int64) and ``probabilities`` [N, n_out] out, computed as
``ArgMax(Softmax(Gemm(input, W, b)))``, after ``(input - mean) / scale`` when the model standardises
its features. A model trained on a table's named columns takes one input per column instead, each
[N, 1] (numbers float, categories string), made its features by the column pipeline's nodes
(:mod:`.onnx_columns`). The class names are in the model's metadata (``class_names``, JSON). Needs
the ``onnx`` extra."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .._version import __version__
from ..core.model import LogisticRegression
from ..errors import UsageError
from ..util.atomic import atomic_write
from ..util.extras import require
from .classifier import Classifier

MIN_OPSET = 13  # Softmax over one axis (axis=1) as used here exists from opset 13 on


def to_onnx(model: LogisticRegression | Classifier, opset: int | None = None) -> Any:
    """The model (with its scaling and class names, given a :class:`Classifier`) as an
    ``onnx.ModelProto``, checked with ``onnx.checker``.

    ``opset`` defaults to the installed onnx package's current opset; pass a lower one (>= 13) for
    an older runtime.
    """
    classifier = model if isinstance(model, Classifier) else Classifier(model, tuple(map(str, range(model.n_out))))
    model = classifier.model
    onnx = require("onnx", "onnx", "exporting to ONNX")
    from onnx import TensorProto, helper, numpy_helper
    opset = onnx.defs.onnx_opset_version() if opset is None else opset
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        newest = onnx.defs.onnx_opset_version()
        raise UsageError(f"opset must be between {MIN_OPSET} and {newest}, got {opset}", "opset")
    be = model.arrays
    W = np.asarray(be.to_numpy(model.W), dtype=np.float32)
    b = np.asarray(be.to_numpy(model.b), dtype=np.float32)
    nodes, initializers, features = [], [], "input"
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", model.n_in])]
    opsets = [helper.make_opsetid("", opset)]
    if classifier.columns is not None:
        from .onnx_columns import ML_OPSET, column_graph

        inputs, nodes, initializers = column_graph(classifier.columns, "columns")
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
        features = "columns"
    if classifier.scaler is not None:
        nodes += [helper.make_node("Sub", [features, "scale_mean"], ["centred"], name="minus_mean"),
                  helper.make_node("Div", ["centred", "scale_std"], ["features"], name="over_scale")]
        initializers += [numpy_helper.from_array(classifier.scaler.mean.astype(np.float32), "scale_mean"),
                         numpy_helper.from_array(classifier.scaler.scale.astype(np.float32), "scale_std")]
        features = "features"
    graph = helper.make_graph(
        nodes=[
            *nodes,
            helper.make_node("Gemm", [features, "W", "b"], ["logits"], name="xW_plus_b"),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1, name="softmax"),
            helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0, name="argmax"),
        ],
        name="logistic_regression",
        inputs=inputs,
        outputs=[
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", model.n_out]),
        ],
        initializer=[*initializers, numpy_helper.from_array(W, "W"), numpy_helper.from_array(b, "b")],
    )
    proto = helper.make_model(graph, opset_imports=opsets,
                              producer_name="logistic-sgd", producer_version=__version__)
    proto.doc_string = "softmax(x W + b): multinomial logistic regression trained by logistic-sgd"
    helper.set_model_props(proto, {"class_names": json.dumps(list(classifier.class_names))})
    onnx.checker.check_model(proto)
    return proto


def export_onnx(model: LogisticRegression | Classifier, path: str | os.PathLike[str], opset: int | None = None) -> None:
    """Write :func:`to_onnx` of ``model`` to ``path`` atomically."""
    data = to_onnx(model, opset).SerializeToString()
    with atomic_write(path) as f:
        f.write(data)
