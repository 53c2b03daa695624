"""Real tables as people have them, end to end: each trains with its file and label column alone,
its test error is within 2 points (or 2 rows) of scikit-learn's ColumnTransformer + LogisticRegression
on the same train and test files, and the fitted columns travel with the model to predict, evaluate,
report, ONNX and the estimator."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main
from logistic_sgd.data.tables import rows_to_classify
from logistic_sgd.outputs.persist import load_classifier

TABLES = Path(__file__).parent / "data" / "tables"

# what a practitioner writes by hand for scikit-learn: the label, the number and the category columns
# (identifier columns left out)
SPECS = {
    "penguins": ("species", ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"],
                 ["island", "sex"]),
    "titanic_survival": ("survived", ["age"], ["sex", "passengerClass"]),
    "biopsy": ("class", [f"V{i}" for i in range(1, 10)], []),
    "chile": ("vote", ["population", "age", "income", "statusquo"], ["region", "sex", "education"]),
    "pima": ("type", ["npreg", "glu", "bp", "skin", "bmi", "ped", "age"], []),
}
MISSING = {"", "NA"}


def table_rows(name: str) -> tuple[list[str], list[list[str]]]:
    with gzip.open(TABLES / f"{name}.csv.gz", "rt", newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])
    return path


def train_test_files(name: str, folder: Path, seed: int = 1) -> tuple[Path, Path]:
    """The table cut in two by a seeded shuffle: three quarters to train on, a quarter to test."""
    header, rows = table_rows(name)
    order = np.random.default_rng(seed).permutation(len(rows))
    cut = len(rows) * 3 // 4
    return (write(folder / f"{name}_train.csv", header, [rows[i] for i in order[:cut]]),
            write(folder / f"{name}_test.csv", header, [rows[i] for i in order[cut:]]))


def scikit_learn_error(name: str, train: Path, test: Path) -> tuple[float, int]:
    """The test error of the pipeline a practitioner writes today, and the number of test rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    label, numbers, categories = SPECS[name]

    def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
        with path.open(newline="") as f:
            records = [r for r in csv.DictReader(f) if r[label] not in MISSING]
        x = np.array([[float("nan") if r[c] in MISSING else float(r[c]) for c in numbers]
                      + [np.nan if r[c] in MISSING else r[c] for c in categories] for r in records], dtype=object)
        return x, np.array([r[label] for r in records])

    (x, y), (tx, ty) = read(train), read(test)
    n = len(numbers)
    parts = [("numbers", make_pipeline(SimpleImputer(), StandardScaler()), list(range(n)))]
    if categories:
        parts.append(("categories", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                                  OneHotEncoder(handle_unknown="ignore")),
                      list(range(n, n + len(categories)))))
    pipeline = make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=1000)).fit(x, y)
    return float(np.mean(pipeline.predict(tx) != ty)), len(ty)


def our_error(model: Path, test: Path, label: str) -> float:
    classifier = load_classifier(model)
    rows = rows_to_classify(test, classifier.columns, label) if classifier.columns else None
    with test.open(newline="") as f:
        truth = np.array([r[label] for r in csv.DictReader(f)])
    kept = ~np.isin(truth, list(MISSING))
    if rows is None:  # an all-numeric table: read as numbers
        from logistic_sgd.data.tabular import read_table

        table = read_table(test, label)
        predicted = np.array(classifier.class_names)[classifier.predict(table.x)]
        return float(np.mean(predicted != np.array(table.labels, dtype=str)))
    predicted = np.array(classifier.class_names)[classifier.predict(rows)]
    return float(np.mean(predicted != truth[kept]))  # rows without a label are not read


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_real_table_trains_with_its_file_and_label_alone(name: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    label = SPECS[name][0]
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(TABLES / f"{name}.csv.gz"), "--label-column", label, "--model-out",
                 str(model), "-q"]) == 0
    out = capsys.readouterr().out
    assert "... defaults: optimizer lbfgs" in out
    test_error = float(out.split("test error ")[-1].split(" %")[0])
    assert test_error < 40.0, out


@pytest.mark.parametrize("name", sorted(SPECS))
def test_test_error_is_within_two_points_of_scikit_learns_pipeline(name: str, tmp_path: Path) -> None:
    label = SPECS[name][0]
    train, test = train_test_files(name, tmp_path)
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(train), "--label-column", label, "--model-out", str(model), "-q"]) == 0
    theirs, n_test = scikit_learn_error(name, train, test)
    ours = our_error(model, test, label)
    assert abs(ours - theirs) <= max(0.02, 2 / n_test), (name, ours, theirs)


def test_the_log_says_which_columns_went_where_and_what_was_left_out(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", str(TABLES / "chile.csv.gz"), "--label-column", "vote", "--model-out",
                 str(tmp_path / "m.npz"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "... columns, numbers (imputed with the training mean where missing, standardised): population, age, " \
           "income, statusquo\n" in out
    assert "... columns, categories (one-hot): region, sex, education\n" in out
    assert "... columns, identifiers, dropped: rownames (named like an identifier)\n" in out
    assert "168 rows without a label (column 'vote') left out" in out


def test_overrides_choose_the_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(TABLES / "biopsy.csv.gz")
    assert main(["train", "--data", data, "--label-column", "class", "--categorical", "V1", "--ignore-columns",
                 "V2,V3", "--model-out", str(tmp_path / "m.npz"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "... columns, categories (one-hot): V1 (--categorical)\n" in out
    assert "... columns, ignored: V2 (--ignore-columns), V3 (--ignore-columns)\n" in out
    names = load_classifier(tmp_path / "m.npz").columns.feature_names
    assert "V1=10" in names and "V2" not in names
    assert main(["train", "--data", data, "--label-column", "class", "--features", "V1,V6", "--model-out",
                 str(tmp_path / "f.npz"), "-q"]) == 0
    assert load_classifier(tmp_path / "f.npz").columns.feature_names == ("V1", "V6", "V6=(missing)")
    assert main(["train", "--data", data, "--label-column", "class", "--missing", "error", "--model-out",
                 str(tmp_path / "e.npz")]) == 2
    assert "column 8 ('V6'): missing value (--missing error)" in capsys.readouterr().err


def test_predict_takes_columns_by_name_in_any_order_with_or_without_the_label(tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture[str]):
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(TABLES / "penguins.csv.gz"), "--label-column", "species", "--model-out",
                 str(model), "-q"]) == 0
    header, rows = table_rows("penguins")
    picked = [rows[0], rows[3], rows[200], rows[300]]  # rows[3] has its numbers and sex missing
    picked[2] = [*picked[2][:1], "Atlantis", *picked[2][2:]]  # an island never seen
    with_label = write(tmp_path / "with.csv", header, picked)
    order = [6, 4, 1, 3, 2, 5, 7]  # no species, columns shuffled
    without = write(tmp_path / "without.csv", [header[i] for i in order], [[r[i] for i in order] for r in picked])
    outputs = []
    for path in (with_label, without):
        assert main(["predict", "--model", str(model), "--out", str(tmp_path / "p.csv"), str(path)]) == 0
        outputs.append((tmp_path / "p.csv").read_text().splitlines()[1:])
        capsys.readouterr()
    strip = [[line.split(",", 1)[1] for line in lines] for lines in outputs]
    assert strip[0] == strip[1] and len(strip[0]) == 4
    assert [line.split(",")[0] for line in strip[0]][:2] == ["Adelie", "Adelie"]
    del header[1]
    assert main(["predict", "--model", str(model), str(write(tmp_path / "lacks.csv", header,
                                                              [r[:1] + r[2:] for r in picked]))]) == 2
    assert "no column named 'island'; the model takes the columns" in capsys.readouterr().err


def test_onnx_graph_takes_columns_and_matches_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ort = pytest.importorskip("onnxruntime")
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(TABLES / "penguins.csv.gz"), "--label-column", "species", "--model-out",
                 str(model), "-q"]) == 0
    assert main(["export", "--model", str(model), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "inputs: 7 columns" in capsys.readouterr().out
    classifier = load_classifier(model)
    header, rows = table_rows("penguins")
    rows = [rows[0], rows[3], rows[150], rows[271], rows[340]]
    rows[2][1] = "Atlantis"  # an unseen level
    rows[4][6] = "NA"  # a missing category
    rows[0][2] = ""  # a missing number
    path = write(tmp_path / "rows.csv", header, rows)
    frame = rows_to_classify(path, classifier.columns, "species")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    feeds = {}
    for t in classifier.columns.transforms:
        if t.kind == "number":
            feeds[t.name] = frame.numbers(t.name).astype(np.float32).reshape(-1, 1)
        else:
            feeds[t.name] = np.array(["" if c is None else c for c in frame.cells[t.name]], dtype=object).reshape(-1, 1)
    label, proba = session.run(["label", "probabilities"], feeds)
    np.testing.assert_array_equal(label, classifier.predict(frame))
    np.testing.assert_allclose(proba, classifier.predict_proba(frame), atol=1e-5)


def test_evaluate_and_report_show_the_largest_coefficients_by_name(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.npz"
    data = str(TABLES / "titanic_survival.csv.gz")
    assert main(["train", "--data", data, "--label-column", "survived", "--model-out", str(model), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--data", data]) == 0  # the label column from the model
    out = capsys.readouterr().out
    section = out.split("largest coefficients")[1]
    lines = section.splitlines()[1:3]
    assert [line.split(":")[0].strip() for line in lines] == ["no", "yes"]
    assert "sex=male" in lines[1] and "sex=female" in lines[1]
    yes = dict(item.split(" ")[::-1] for item in lines[1].split(": ", 1)[1].split(", "))
    assert float(yes["sex=female"]) > 0 > float(yes["sex=male"])  # women were saved first
    page = tmp_path / "r.html"
    assert main(["report", "--model", str(model), "--data", data, "--out", str(page)]) == 0
    assert "Largest coefficients" in page.read_text() and "passengerClass=3rd" in page.read_text()


def test_a_text_header_is_a_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("section,description\n" + "".join(
        f"{s},the {w} part of a longer description of something\n" for s, w in
        zip(["a", "b", "c"] * 10, ["first", "second", "third"] * 10, strict=True)))
    assert main(["train", "--data", str(path), "--label-column", "section", "--model-out",
                 str(tmp_path / "m.npz")]) == 0
    out, err = capsys.readouterr()
    assert "text of description" in out, out
    assert "has no header row" not in out + err


def test_the_estimator_takes_a_pyarrow_table_with_string_columns(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    pa = pytest.importorskip("pyarrow")
    from pyarrow import csv as pacsv

    from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

    table = pacsv.read_csv(TABLES / "penguins.csv.gz", convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    y = table.column("species").to_numpy(zero_copy_only=False)
    X = table.drop_columns(["species"])
    assert X.schema.field("island").type == pa.string() and X.column("sex").null_count == 11
    est = LogisticSGDClassifier(optimizer="lbfgs", l2=1e-3, random_state=0).fit(X, y)
    assert list(est.feature_names_in_) == X.column_names
    assert "island=Dream" in est.get_feature_names_out() and "sex=(missing)" in est.get_feature_names_out()
    assert est.score(X, y) > 0.95
    reordered = X.select(["sex", *[c for c in X.column_names if c != "sex"]])
    np.testing.assert_array_equal(est.predict(reordered), est.predict(X))
    with pytest.raises(ValueError, match="fitted on a table"):
        est.predict(np.zeros((2, 7)))
    est.save(tmp_path / "est.npz")
    header, rows = table_rows("penguins")
    path = write(tmp_path / "rows.csv", header, rows[::40])
    assert main(["predict", "--model", str(tmp_path / "est.npz"), "--out", str(tmp_path / "p.csv"), str(path)]) == 0
    predicted = [line.split(",")[1] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    assert predicted == est.predict(X.take(list(range(0, len(rows), 40)))).tolist()


def test_the_estimator_takes_a_pandas_frame_with_categorical_columns() -> None:
    pd = pytest.importorskip("pandas")
    from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

    with gzip.open(TABLES / "penguins.csv.gz", "rt") as f:
        frame = pd.read_csv(io.StringIO(f.read()))
    frame["island"] = frame["island"].astype("category")
    y = frame.pop("species")
    est = LogisticSGDClassifier(optimizer="lbfgs", l2=1e-3).fit(frame, y)
    assert "island=Biscoe" in est.get_feature_names_out() and est.score(frame, y) > 0.95


def test_the_defaults_keep_what_the_user_gave_and_leave_images_alone(tmp_path: Path, idx_folder: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = str(TABLES / "pima.csv.gz")
    assert main(["train", "--data", data, "--label-column", "type", "--learn", "0.05", "--n-epochs", "20",
                 "--model-out", str(tmp_path / "m.npz"), "-q"]) == 0  # an abbreviated flag is a flag given
    out = capsys.readouterr().out
    assert "optimizer lbfgs" not in out and "... defaults: batch size 20: the default 600 is larger" in out
    assert load_classifier(tmp_path / "m.npz").model.metadata["hyperparameters"]["optimizer"] == "sgd"
    # images keep the original experiment's numbers: the default batch is refused as before
    assert main(["train", "--data", str(idx_folder), "--n-epochs", "1", "--model-out", str(tmp_path / "i.npz")]) == 2
    captured = capsys.readouterr()
    assert "... defaults" not in captured.out and "--batch-size 600 is larger than the" in captured.err


def test_choosing_columns_keeps_a_table_with_free_text_a_table(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A free-text column makes a table text, unless the user chooses the columns: then it is a table,
    and the text column is refused (naming --text-column) unless left out."""
    path = tmp_path / "notes.csv"
    path.write_text("label,size,note\n" + "".join(f"{k % 2},{k % 7 + k % 2},the note of row {k} says little\n"
                                                   for k in range(60)))
    assert main(["train", "-q", "--data", str(path), "--ignore-columns", "note"]) == 0
    out = capsys.readouterr().out
    assert "columns, ignored: note" in out and "text of" not in out
    assert main(["train", "-q", "--data", str(path), "--categorical", "size"]) == 2
    assert "--text-column note" in capsys.readouterr().err
    assert main(["train", "-q", "--data", str(path)]) == 0
    assert "text of note; 1 number columns" in capsys.readouterr().out
