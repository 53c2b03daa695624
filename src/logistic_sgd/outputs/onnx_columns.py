"""The ONNX graph of a table's column pipeline (:class:`~logistic_sgd.data.preprocess.Preprocessor`).

One graph input per column the model takes, named as the column, of shape [N, 1]: ``float`` for a
number column (NaN for a missing cell), ``string`` for a category column (a missing cell as an
empty string or one of the missing markers ``NA``, ``NaN``, ``?``...; levels written as in the
table, whole numbers without a decimal point). Each column becomes its block of features, as
:meth:`Preprocessor.transform` computes them:

- number: ``Imputer`` (ONNX-ML; NaN becomes the training mean), then ``Scaler`` (ONNX-ML;
  ``(x - mean) * (1 / scale)``); its missing indicator is ``Cast(IsNaN(x))``;
- category: ``LabelEncoder`` (ONNX-ML; each level to its feature's index, a rare level to
  ``(other)``'s, a missing marker to ``(missing)``'s, anything else to an index past the end),
  then ``OneHot`` (an index past the end gives all zeros), reshaped to [N, k].

The blocks are joined by ``Concat`` in the pipeline's order, the model's input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.columns import MISSING_CELLS
from ..data.preprocess import CategoryColumn, NumberColumn, Preprocessor

ML_OPSET = 3  # LabelEncoder with string keys and int64 values (ai.onnx.ml 2), Imputer and Scaler (1)


def column_graph(pre: Preprocessor, output: str = "features") -> tuple[list[Any], list[Any], list[Any]]:
    """The graph's ``inputs`` (value infos), ``nodes`` and ``initializers`` computing ``output``,
    float [N, n_features], from one input per column. Needs the ``onnx`` package."""
    from onnx import TensorProto, helper, numpy_helper

    inputs, nodes, initializers, blocks = [], [], [], []
    for i, t in enumerate(pre.transforms):
        stem = f"column{i}"
        if isinstance(t, NumberColumn):
            inputs.append(helper.make_tensor_value_info(t.name, TensorProto.FLOAT, ["N", 1]))
            nodes += [
                helper.make_node("Imputer", [t.name], [f"{stem}_imputed"], domain="ai.onnx.ml", name=f"{stem}_impute",
                                 imputed_value_floats=[t.mean], replaced_value_float=float("nan")),
                helper.make_node("Scaler", [f"{stem}_imputed"], [f"{stem}_scaled"], domain="ai.onnx.ml",
                                 name=f"{stem}_standardise", offset=[t.mean], scale=[1.0 / t.scale]),
            ]
            blocks.append(f"{stem}_scaled")
            if t.indicator:
                nodes += [helper.make_node("IsNaN", [t.name], [f"{stem}_isnan"], name=f"{stem}_is_missing"),
                          helper.make_node("Cast", [f"{stem}_isnan"], [f"{stem}_missing"], name=f"{stem}_indicator",
                                           to=TensorProto.FLOAT)]
                blocks.append(f"{stem}_missing")
        elif isinstance(t, CategoryColumn):
            inputs.append(helper.make_tensor_value_info(t.name, TensorProto.STRING, ["N", 1]))
            k = len(t.features)
            codes = t.codes()
            absent = len(t.levels) if t.open_other else k
            for marker in sorted(MISSING_CELLS):
                codes[marker] = k - 1 if t.missing else k
            keys = sorted(codes)
            nodes += [
                helper.make_node("LabelEncoder", [t.name], [f"{stem}_index"], domain="ai.onnx.ml",
                                 name=f"{stem}_levels", keys_strings=keys, values_int64s=[codes[key] for key in keys],
                                 default_int64=absent),
                helper.make_node("OneHot", [f"{stem}_index", f"{stem}_depth", "onehot_values"], [f"{stem}_onehot"],
                                 name=f"{stem}_one_hot", axis=-1),
                helper.make_node("Reshape", [f"{stem}_onehot", f"{stem}_shape"], [f"{stem}_features"],
                                 name=f"{stem}_flat"),
            ]
            initializers += [numpy_helper.from_array(np.array([k], dtype=np.int64), f"{stem}_depth"),
                             numpy_helper.from_array(np.array([-1, k], dtype=np.int64), f"{stem}_shape")]
            blocks.append(f"{stem}_features")
        else:
            raise TypeError(f"column {t.name!r} of kind {t.kind!r} has no ONNX form")
    if any(isinstance(t, CategoryColumn) for t in pre.transforms):
        initializers.append(numpy_helper.from_array(np.array([0.0, 1.0], dtype=np.float32), "onehot_values"))
    nodes.append(helper.make_node("Concat", blocks, [output], name="features_joined", axis=1))
    return inputs, nodes, initializers
