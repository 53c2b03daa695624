"""A practitioner's table end to end: string labels and unscaled features train, the model file keeps
the classes and the scaling, and predict, evaluate, report and ONNX apply them; class weights."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main
from logistic_sgd.outputs.persist import load_classifier

NAMES = np.array(["barbera", "barolo", "grignolino"])


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """scikit-learn's wine table as a CSV with named classes (features from 0.1 to 1,680), and the
    same rows without their labels, to classify."""
    from sklearn.datasets import load_wine

    data = load_wine()
    folder = tmp_path_factory.mktemp("wine")
    rows = [[*map(repr, x.tolist()), NAMES[t]] for x, t in zip(data.data, data.target, strict=True)]
    train = folder / "wine.csv"
    with train.open("w", newline="") as f:
        csv.writer(f).writerows([[*data.feature_names, "class"], *rows])
    unlabelled = folder / "new.csv"
    with unlabelled.open("w", newline="") as f:
        csv.writer(f).writerows([data.feature_names, *(r[:-1] for r in rows[::20])])
    return train, unlabelled


def test_a_table_with_named_classes_trains_and_predicts_names(wine: tuple[Path, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    train, unlabelled = wine
    model = tmp_path / "wine.npz"
    assert main(["train", "--data", str(train), "--batch-size", "9", "--n-epochs", "100", "--learning-rate", "0.05",
                 "--model-out", str(model), "-q"]) == 0
    out = capsys.readouterr().out
    assert "features standardised" in out
    test_error = float(out.split("test error ")[-1].split(" %")[0])
    assert test_error <= 15.0, out  # the same run on the raw features stays near a third wrong
    classifier = load_classifier(model)
    assert classifier.class_names == tuple(NAMES) and classifier.scaler is not None
    assert abs(classifier.scaler.mean[12] - 746.9) < 30  # proline, in its own units

    assert main(["predict", "--model", str(model), str(unlabelled)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9 and all(line.split("\t")[1] in NAMES for line in lines)
    from sklearn.datasets import load_wine

    truth = NAMES[load_wine().target[::20]]
    assert sum(line.split("\t")[1] == name for line, name in zip(lines, truth, strict=True)) >= 8

    out_csv = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(model), "--out", str(out_csv), str(unlabelled)]) == 0
    table = list(csv.reader(out_csv.open()))
    assert table[0] == ["input", "label", *(f"p({n})" for n in NAMES)] and len(table) == 10
    assert [row[1] for row in table[1:]] == [line.split("\t")[1] for line in lines]
    assert all(abs(sum(map(float, row[2:])) - 1) < 1e-5 for row in table[1:])

    assert main(["evaluate", "--model", str(model), "--data", str(train)]) == 0
    report = capsys.readouterr().out
    assert "test, per class:" in report and all(name in report for name in NAMES)


def test_raw_features_without_scaling_do_worse(wine: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """What the default standardisation is for (the control of the test above)."""
    train, _ = wine
    assert main(["train", "--data", str(train), "--batch-size", "9", "--n-epochs", "100", "--learning-rate", "0.05",
                 "--scale", "none", "--model-out", str(tmp_path / "raw.npz"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "features standardised" not in out
    assert float(out.split("test error ")[-1].split(" %")[0]) > 20.0
    assert load_classifier(tmp_path / "raw.npz").scaler is None


def test_onnx_standardises_as_the_model_file_does(wine: tuple[Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    train, _ = wine
    model = tmp_path / "wine.npz"
    assert main(["train", "--data", str(train), "--batch-size", "9", "--n-epochs", "20", "--model-out", str(model),
                 "-q"]) == 0
    assert main(["export", "--model", str(model), "--onnx", str(tmp_path / "wine.onnx")]) == 0
    classifier = load_classifier(model)
    from sklearn.datasets import load_wine

    raw = load_wine().data.astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "wine.onnx"))
    labels, proba = session.run(None, {"input": raw})
    np.testing.assert_allclose(proba, classifier.predict_proba(raw), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(labels, classifier.predict(raw))
    names = json.loads({p.key: p.value for p in __import__("onnx").load(tmp_path / "wine.onnx").metadata_props}
                       ["class_names"])
    assert names == list(NAMES)


def _imbalanced(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 95/5 problem from real data: digits of scikit-learn, '8' (the minority) against the rest,
    which a linear model separates only in part."""
    from sklearn.datasets import load_digits

    x, digit = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    minority = np.flatnonzero(digit == 8)
    majority = np.flatnonzero(digit != 8)
    keep = np.concatenate([rng.choice(minority, 80, replace=False), majority[:1520]])
    rng.shuffle(keep)
    y = np.where(digit[keep] == 8, "eight", "other")
    path = tmp_path / "eights.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([[*(f"p{i}" for i in range(64)), "label"],
                                 *([*map(str, row), label] for row, label in zip(x[keep], y, strict=True))])
    return path, x[keep], y


def test_balanced_weights_find_the_minority_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _, _ = _imbalanced(tmp_path)
    recalls = {}
    for weights in ("none", "balanced"):
        model = tmp_path / f"{weights}.npz"
        assert main(["train", "--data", str(path), "--class-weight", weights, "--batch-size", "50", "--n-epochs", "40",
                     "--learning-rate", "0.02", "--split-seed", "1", "--model-out", str(model), "-q"]) == 0
        capsys.readouterr()
        assert main(["evaluate", "--model", str(model), "--data", str(path), "--split-seed", "1"]) == 0
        table = capsys.readouterr().out.split("test, per class:")[1]
        row = next(line for line in table.splitlines() if line.startswith("eight"))
        recalls[weights] = float(row.split()[3])
    assert recalls["balanced"] >= recalls["none"] + 20, recalls
    assert recalls["balanced"] >= 60, recalls


def test_the_estimator_weighs_classes_and_saves_a_model_file(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    from logistic_sgd import LogisticSGDClassifier

    _, x, y = _imbalanced(tmp_path)
    minority = y == "eight"
    recall = {}
    for weight in (None, "balanced"):
        clf = LogisticSGDClassifier(class_weight=weight, scale="standard", batch_size=50, learning_rate=0.02,
                                    max_epochs=40, random_state=0).fit(x[:1200], y[:1200])
        recall[weight] = float(np.mean(clf.predict(x[1200:])[minority[1200:]] == "eight"))
    assert recall["balanced"] >= recall[None] + 0.2, recall
    clf.save(tmp_path / "est.npz")
    rows = tmp_path / "rows.npy"
    np.save(rows, x[1200:1210])
    assert main(["predict", "--model", str(tmp_path / "est.npz"), str(rows)]) == 0
    said = [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()]
    assert said == clf.predict(x[1200:1210]).tolist()
    weights = np.where(minority[:1200], 5.0, 1.0)
    weighted = LogisticSGDClassifier(scale="standard", batch_size=50, learning_rate=0.02, max_epochs=40,
                                     random_state=0).fit(x[:1200], y[:1200], sample_weight=weights)
    assert np.mean(weighted.predict(x[1200:])[minority[1200:]] == "eight") >= recall[None]
