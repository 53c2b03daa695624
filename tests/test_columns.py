"""Column kinds, the fitted column pipeline, its storage and its ONNX form, and the defaults for small tables."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.data.columns import Frame, describe_kinds, detect_kinds, read_frame
from logistic_sgd.data.preprocess import MIN_COUNT, Preprocessor
from logistic_sgd.errors import DataError
from logistic_sgd.training.config import TrainConfig
from logistic_sgd.training.defaults import DataSummary, choose_defaults

TABLES = Path(__file__).parent / "data" / "tables"


def kinds(frame: Frame, **options: object) -> dict[str, str]:
    return {c.name: c.kind for c in detect_kinds(frame, **options)}  # type: ignore[arg-type]


def test_kinds_of_a_table_as_people_have_it():
    n = 30
    frame = Frame.from_columns({
        "rownames": list(range(1, n + 1)),
        "name": [f"Passenger {i}" for i in range(n)],
        "age": [None if i % 7 == 0 else 20.0 + i for i in range(n)],
        "smoker": ["yes" if i % 2 else "no" for i in range(n)],
        "grade": [str(i % 3) if i % 5 else "A" for i in range(n)],
        "code": [i % 4 for i in range(n)],
        "notes": ["a long note of more than five words here"] * n,
        "nothing": [None] * n,
        "customer_id": [i % 10 for i in range(n)],
    })
    assert kinds(frame) == {"rownames": "identifier", "name": "identifier", "age": "number", "smoker": "category",
                            "grade": "category", "code": "number", "notes": "text", "nothing": "empty",
                            "customer_id": "identifier"}
    why = {c.name: c.why for c in detect_kinds(frame)}
    assert why["grade"] == "mixed numbers and words" and why["smoker"] == "boolean"
    chosen = kinds(frame, categorical=["code"], ignore=["notes"], features=None)
    assert chosen["code"] == "category" and chosen["notes"] == "ignored"
    only = kinds(frame, features=["age", "customer_id"])
    assert only["customer_id"] == "number" and only["smoker"] == "ignored"


def test_unnamed_first_column_of_row_numbers_is_an_identifier_but_a_later_one_is_not():
    frame = Frame.from_columns({"": [0, 1, 2, 3], "x": [5, 1, 2, 3], "count": [1, 2, 3, 4]})
    assert kinds(frame) == {"": "identifier", "x": "number", "count": "number"}


def test_unknown_override_column_is_named():
    frame = Frame.from_columns({"a": [1, 2], "b": ["x", "y"]}, source="t.csv")
    with pytest.raises(DataError, match=r"t.csv: no column named 'c' \(columns: a, b\)"):
        detect_kinds(frame, categorical=["c"])


def test_pipeline_features_imputation_and_unseen_levels():
    colour = ["red"] * 6 + ["blue"] * 6 + ["green"] * 2 + [None] * 2  # green is rare: (other)
    size = [1.0, 2.0, None, 3.0] * 4
    train = Frame.from_columns({"colour": colour, "size": size, "id": list(range(16))}, source="train")
    pre = Preprocessor.fit(train)
    assert pre.feature_names == ("size", "size=(missing)", "colour=blue", "colour=red", "colour=(other)",
                                 "colour=(missing)")
    x = pre.transform(train)
    observed = np.array([1.0, 2.0, 3.0] * 4)
    imputed = np.where(np.isnan(np.array(size, dtype=float)), observed.mean(), np.array(size, dtype=float))
    np.testing.assert_allclose(x[:, 0], (imputed - observed.mean()) / imputed.std())
    np.testing.assert_array_equal(x[:, 1], np.isnan(np.array(size, dtype=float)))
    np.testing.assert_array_equal(x[:, 2:].sum(axis=1), 1)  # every training row in exactly one level
    assert x[12, 4] == 1 and x[14, 5] == 1  # green is (other); a missing cell is (missing)
    later = Frame.from_columns({"size": [None, 10.0], "extra": [1, 2], "colour": ["purple", "red"]}, source="later")
    y = pre.transform(later)  # columns by name, any order, others ignored
    np.testing.assert_array_equal(y[0, 2:], 0)  # a level never seen: zeros
    assert y[1, 3] == 1 and y[0, 1] == 1
    with pytest.raises(DataError, match="later: no column named 'colour'"):
        pre.transform(later.without(["colour"]))


def test_rare_levels_fold_below_the_count_and_many_levels_are_capped():
    levels = [f"l{i}" for i in range(3)] * MIN_COUNT + ["rare1", "rare2"]
    pre = Preprocessor.fit(Frame.from_columns({"c": levels}))
    assert pre.feature_names == ("c=l0", "c=l1", "c=l2", "c=(other)")
    assert "2 level(s) seen fewer than 5 times folded into c=(other)" in "\n".join(pre.describe())
    many = [f"v{i % 3000}" for i in range(6000)] + [f"w{i % 150}" for i in range(150 * MIN_COUNT)]
    capped = Preprocessor.fit(Frame.from_columns({"c": many}))
    assert len(capped.feature_names) == 101 and capped.feature_names[-1] == "c=(other)"
    assert "3150 levels, capped" in "\n".join(capped.describe())
    seen_rare, unseen = capped.transform(Frame.from_columns({"c": ["v1", "zzz"]}))
    assert seen_rare[-1] == 1 and unseen[-1] == 1  # a capped column's (other) takes every level not kept


def test_pipeline_survives_the_model_file_arrays_bit_for_bit():
    frame = read_frame(TABLES / "penguins.csv.gz", "species").frame
    pre = Preprocessor.fit(frame)
    again = Preprocessor.from_arrays(pre.to_arrays(), pre.n_features)
    assert again == pre
    np.testing.assert_array_equal(again.transform(frame), pre.transform(frame))
    with pytest.raises(ValueError, match="give 15 features, the model takes 3"):
        Preprocessor.from_arrays(pre.to_arrays(), 3)
    broken = {"prep_columns": np.frombuffer(b'{"format": "logistic-sgd-columns"}', dtype=np.uint8)}
    with pytest.raises(ValueError, match="malformed"):
        Preprocessor.from_arrays(broken)


def test_every_feature_column_an_identifier_is_refused():
    frame = Frame.from_columns({"id": list(range(30)), "name": [f"n{i}" for i in range(30)]}, source="ids.csv")
    with pytest.raises(DataError, match=r"ids.csv: every feature column is an identifier or empty \(id, name\); "
                                        "name the columns to use with --features"):
        Preprocessor.fit(frame)


def test_free_text_is_refused_naming_the_column():
    frame = Frame.from_columns({"section": ["a", "b"] * 10, "description": ["one two three four five six"] * 20},
                               source="notes.csv")
    with pytest.raises(DataError, match=r"notes.csv: column 'description' holds free text .*--text-column "
                                        r"description.*--ignore-columns description"):
        Preprocessor.fit(frame)


def test_read_frame_skips_and_counts_missing_labels(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,colour,y\n1,red,x\n2,,\nNA,blue,z\n")
    read = read_frame(path, "y")
    assert read.unlabelled == 1 and read.labels.tolist() == ["x", "z"]
    assert read.frame.cells["colour"].tolist() == ["red", "blue"] and np.isnan(read.frame.numbers("a")[1])
    with pytest.raises(DataError, match=r"t.csv: line 3, column 2 \('colour'\): missing value \(--missing error\)"):
        read_frame(path, "y", missing="error")


def test_real_tables_read_with_their_kinds():
    read = read_frame(TABLES / "titanic_survival.csv.gz", "survived")
    assert kinds(read.frame) == {"rownames": "identifier", "sex": "category", "age": "number",
                                 "passengerClass": "category"}
    with gzip.open(TABLES / "chile.csv.gz", "rt") as f:
        unlabelled = sum(line.rstrip("\n").endswith(",NA") for line in f)
    assert read_frame(TABLES / "chile.csv.gz", "vote").unlabelled == unlabelled == 168


def test_defaults_leave_images_and_given_settings_alone():
    config = TrainConfig()
    assert choose_defaults(DataSummary(50_000, 10_000, 10_000, 784, images=True), config, ()) == ({}, [])
    small = DataSummary(275, 34, 35, 15)
    changes, reasons = choose_defaults(small, config, ())
    assert changes == {"optimizer": "lbfgs", "l2": 1 / 275, "n_epochs": 100, "batch_size": 34}
    assert len(reasons) == 3 and "at most 100 iterations of lbfgs" in reasons[1]
    assert "larger than the validation set (34 examples)" in reasons[2]
    assert choose_defaults(small, config, {"n_epochs"})[0] == {"optimizer": "lbfgs", "l2": 1 / 275, "batch_size": 34}
    # images keep every number of the original experiment, but a full-batch solver asked for is capped
    images = DataSummary(50_000, 10_000, 10_000, 784, images=True)
    assert choose_defaults(images, replace(config, optimizer="cg"), {"optimizer"})[0] == {"n_epochs": 100}
    assert choose_defaults(images, replace(config, optimizer="cg"), {"optimizer", "n_epochs"}) == ({}, [])
    assert choose_defaults(small, config, {"learning_rate"})[0] == {"batch_size": 34}
    assert choose_defaults(small, config, {"batch_size", "optimizer"}) == ({}, [])
    # a checkpointed run takes minibatch steps: adagrad's, not L-BFGS's full batch
    assert choose_defaults(small, config, {"checkpoint"})[0] == {"optimizer": "adagrad", "learning_rate": 0.1,
                                                                 "batch_size": 34}
    changes, reasons = choose_defaults(DataSummary(400, 53, 60, 5), config, {"optimizer"})
    assert changes == {"batch_size": 53} and "whole validation set (53)" in reasons[0]
    changes, reasons = choose_defaults(DataSummary(400, 97, 60, 5), config, {"optimizer"})
    assert changes == {"batch_size": 60} and "60 of the validation examples (97)" in reasons[0]


def test_an_unnamed_column_is_named_so_in_the_log():
    frame = Frame.from_columns({"": list(range(30)), "size": [k % 7 for k in range(30)]}, source="t.csv")
    lines = describe_kinds(detect_kinds(frame))
    assert "columns, identifiers, dropped: '' (unnamed) (named like an identifier)" in lines
