"""Raw text end to end: train on each text layout, then predict and evaluate from the model file alone,
and the estimator's text mode."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from logistic_sgd.cli import main
from logistic_sgd.outputs.persist import load_classifier

TOPICS = {
    "sport": ["goal", "match", "team", "league", "coach", "stadium"],
    "tech": ["cpu", "software", "kernel", "laptop", "compiler", "network"],
    "food": ["recipe", "flour", "oven", "spice", "soup", "bread"],
    "中文": ["机器学习", "数据库", "计算机", "人工智能", "编程", "网络"],
}
TRAIN = ["-q", "--learning-rate", "5", "--batch-size", "8", "--n-epochs", "30"]


def _documents(n: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    filler = ["the", "a", "of", "and", "with", "news", "today"]
    out = []
    for i in range(n):
        label = list(TOPICS)[i % len(TOPICS)]
        words = [*rng.choice(TOPICS[label], 3), *rng.choice(filler, 4)]
        rng.shuffle(words)
        out.append((label, " ".join(words)))
    return out


def _fasttext(path: Path, docs: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"__label__{label} {text}\n" for label, text in docs), encoding="utf-8")
    return path


def _accuracy(out: str) -> float:
    line = next(line for line in out.splitlines() if line.startswith("test "))
    return 100 - float(line.split()[2])


def test_fasttext_train_predict_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, test = _fasttext(tmp_path / "train.txt", _documents(160, 0)), _fasttext(tmp_path / "test.txt",
                                                                                   _documents(40, 1))
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(train), "--test-data", str(test), *TRAIN, "--model-out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "... text: text of column text: word 1- to 2-grams hashed to 2^20 features" in out
    classifier = load_classifier(model)
    assert classifier.vectorizer is not None and classifier.model.n_in == 2**20
    assert main(["predict", "--model", str(model), "--text", "the coach of the team", "--text", "人工智能 编程",
                 str(test)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[1] == "sport" and lines[1].split("\t")[1] == "中文" and len(lines) == 42
    assert main(["evaluate", "--model", str(model), "--data", str(train), "--test-data", str(test)]) == 0
    out = capsys.readouterr().out
    assert _accuracy(out) == 100.0
    top = out.split("n-grams of largest weight, per class:\n")[1].splitlines()
    food = next(line for line in top if line.split()[0] == "food")
    assert {"recipe", "flour", "oven"} & set(food.split(None, 1)[1].split(", "))
    chinese = next(line for line in top if line.split()[0] == "中文")
    assert any(gram in chinese for gram in ("机器", "数据", "计算", "人工", "编程", "网络"))
    assert main(["report", "--model", str(model), "--data", str(test), "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "N-grams of largest weight" in page and food.split(None, 1)[1].split(", ")[0] in page


def test_table_and_folder_train_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = _documents(160, 2)
    table = tmp_path / "train.csv"
    with table.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["section", "description", "length"])
        writer.writerows((label, text.replace(" ", "\n", 1), len(text) if i % 10 else "")
                         for i, (label, text) in enumerate(docs))
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(table), "--label-column", "section", *TRAIN, "--model-out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "text of description; 1 number columns" in out
    assert "missing numbers, read as the column's training mean: 16 in 'length'" in out
    assert load_classifier(model).vectorizer.number_columns_ == ("length",)
    assert main(["predict", "--model", str(model), str(table)]) == 0
    predicted = [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()]
    assert np.mean(np.array(predicted) == np.array([label for label, _ in docs])) > 0.95
    # one string fills the one text column; the number column is read as missing: its training mean
    label, text = docs[0]
    assert main(["predict", "--model", str(model), "--text", text]) == 0
    captured = capsys.readouterr()
    assert "--text: the number columns length are read as missing, as empty cells are" in captured.err
    with_mean = tmp_path / "one.csv"
    with_mean.write_text(f"description,length\n\"{text}\",\n", encoding="utf-8")  # an empty cell
    assert main(["predict", "--model", str(model), str(with_mean)]) == 0
    assert captured.out.split("\t")[1:] == capsys.readouterr().out.split("\t")[1:]
    with_mean.write_text(f"description,length\n\"{text}\",long\n", encoding="utf-8")
    assert main(["predict", "--model", str(model), str(with_mean)]) == 2
    assert capsys.readouterr().err == (f"logistic-sgd: error: {with_mean}: the model reads the number column(s) "
                                       "'length', which this table lacks or holds words in (an empty cell is read "
                                       "as missing)\n")

    root = tmp_path / "news"
    for i, (label, text) in enumerate(docs):
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{i}.txt").write_text(text, encoding="utf-8")
    assert main(["train", "--data", str(root), *TRAIN, "--model-out", str(model)]) == 0
    assert f"text files in {root} (160 documents in 4 class folders)" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(model), "--data", str(root)]) == 0
    assert _accuracy(capsys.readouterr().out) > 90


def test_estimator_text_mode_saves_a_model_the_cli_reads(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from logistic_sgd.data.vectorize import TextVectorizer
    from logistic_sgd.sklearn_estimator import LogisticSGDClassifier

    docs = _documents(200, 3)
    texts, labels = [t for _, t in docs], np.array([label for label, _ in docs])
    model = LogisticSGDClassifier(learning_rate=5, batch_size=8, max_epochs=30, random_state=0,
                                  vectorizer=TextVectorizer(n_features=2**16))
    model.fit(texts, labels)
    assert model.vectorizer_.n_features == 2**16 and model.vectorizer.idf_ is None  # a fitted copy
    assert model.score(texts, labels) > 0.95
    assert model.predict(np.array(["recipe for bread soup"]))[0] == "food"
    model.save(tmp_path / "m.npz")
    classifier = load_classifier(tmp_path / "m.npz")
    np.testing.assert_array_equal(np.array(classifier.class_names)[classifier.predict(texts)], model.predict(texts))


def test_a_table_of_text_and_categories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A column of free text makes the table text (its short-word column hashed with it); a model
    reading several columns takes tables to classify, not one ``--text``."""
    words = {"a": ["apple", "banana", "cherry", "grape", "lemon"],
             "b": ["engine", "wheel", "brake", "clutch", "piston"]}
    rng = np.random.default_rng(0)
    rows = "".join(f"{c},{' '.join(rng.choice(words[c], 8))},{'red' if k % 3 else 'blue'},{k % 5}\n"
                   for k, c in enumerate("ab" * 60))
    data = tmp_path / "notes.csv"
    data.write_text("label,body,colour,size\n" + rows)
    model = tmp_path / "m.npz"
    assert main(["train", "-q", "--data", str(data), "--model-out", str(model)]) == 0
    assert load_classifier(model).vectorizer.columns_ == ("body", "colour")
    assert main(["predict", "--model", str(model), "--text", "apple grape lemon"]) == 2
    assert "reads the text columns body, colour; give them in a table" in capsys.readouterr().err
    assert main(["predict", "--model", str(model), str(data)]) == 0
