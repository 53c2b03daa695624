"""Stratified splits, class names and encodings, and the feature scaling fitted on the training split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logistic_sgd.data.labels import Classes
from logistic_sgd.data.rows import ScaledArray
from logistic_sgd.data.scaling import Standardizer, fit_scaling
from logistic_sgd.data.splits import Examples, TooFewExamples, assemble, check_fractions, stratified_split
from logistic_sgd.errors import DataError, UsageError

SOURCE = Path("data.csv")


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(3, 60), min_size=1, max_size=6), seed=st.integers(0, 2**32 - 1),
       fractions=st.sampled_from([(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (0.34, 0.33, 0.33), (0.9, 0.05, 0.05)]))
def test_stratified_split_partitions_every_class(counts: list[int], seed: int, fractions: tuple) -> None:
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(1).shuffle(y)
    parts = stratified_split(y, fractions, seed)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(y)))  # disjoint, and nothing lost
    for k, n in enumerate(counts):
        sizes = [int((y[p] == k).sum()) for p in parts]
        assert min(sizes) >= 1  # every part holds every class
        ideal = [n * f for f in fractions]
        if min(ideal) >= 1:  # rounded to a neighbour of the exact share (else the share of 1 is taken from the largest)
            assert all(abs(s - i) < 1 for s, i in zip(sizes, ideal, strict=True)), (sizes, ideal)
    assert all(np.array_equal(a, b) for a, b in zip(parts, stratified_split(y, fractions, seed), strict=True))


def test_stratified_split_shuffles_and_depends_on_the_seed() -> None:
    y = np.repeat(np.arange(4), 50)  # sorted by class, as a file may be
    a, b = stratified_split(y, (0.8, 0.1, 0.1), 0), stratified_split(y, (0.8, 0.1, 0.1), 1)
    assert [len(p) for p in a] == [160, 20, 20]
    assert not np.array_equal(a[0], b[0])
    assert len(set(y[a[0][:10]].tolist())) > 1  # the training part does not come one class at a time


def test_too_few_examples_of_a_class() -> None:
    y = np.array([0, 0, 0, 1, 1, 0])
    with pytest.raises(TooFewExamples) as caught:
        stratified_split(y, (0.8, 0.1, 0.1))
    assert (caught.value.label, caught.value.count) == (1, 2)
    assert [len(p) for p in stratified_split(y, (0.5, 0.5))] == [3, 3]
    part = Examples(np.zeros((6, 2)), np.array(list("aaabba")), SOURCE)
    with pytest.raises(DataError, match=r"^data.csv: class 'b' has 2 example\(s\), too few to cut validation and "
                                        r"test splits holding every class; give validation and test files"):
        assemble({"train": part})


@pytest.mark.parametrize("fractions", [(0.8, 0.2), (0.8, 0.1, 0.2), (1.0, 0.0, 0.0), (0.5, -0.1, 0.6), ("a", 1, 1)])
def test_split_fractions_are_checked(fractions) -> None:
    with pytest.raises(UsageError, match="split fractions must be three numbers between 0 and 1"):
        check_fractions(fractions)


def test_assemble_encodes_every_split_by_the_training_classes() -> None:
    train = Examples(np.arange(40.0).reshape(20, 2), np.array(list("ba") * 10), SOURCE)
    test = Examples(np.zeros((3, 2)), np.array(["a", "a", "b"]), Path("test.csv"))
    made = assemble({"train": train, "test": test}, seed=3)
    assert made.class_names == ("a", "b")
    assert made.arrays["test_y"].tolist() == [0, 0, 1]
    np.testing.assert_array_equal(made.arrays["train_y"], (made.arrays["train_x"][:, 0] % 4 == 0).astype(int))
    assert len(made.arrays["valid_y"]) + len(made.arrays["train_y"]) == 20
    wide = Examples(np.zeros((3, 5)), np.array(["a", "a", "b"]), Path("wide.csv"))
    with pytest.raises(DataError, match=r"^wide\.csv: 5 features, but the training data have 2"):
        assemble({"train": train, "test": wide})
    pixels = Examples(np.zeros((3, 2), np.uint8), np.array(["a", "a", "b"]), Path("px.csv"))
    with pytest.raises(DataError, match=r"^px\.csv: holds image pixels, but the training data hold feature values"):
        assemble({"train": train, "valid": pixels, "test": test})


def test_classes_by_name_by_number_and_by_index() -> None:
    numbers = Classes.of(np.array([10, 2, 3, 2]), SOURCE)
    assert numbers.names == ("2", "3", "10")
    assert numbers.encode(np.array([3, 10, 2]), SOURCE).tolist() == [1, 2, 0]
    assert numbers.encode(np.array(["10", "2"]), SOURCE).tolist() == [2, 0]  # text matches the names
    with pytest.raises(DataError, match=r"^other\.csv: class '4' does not occur in the training data"):
        numbers.encode(np.array([2, 4]), Path("other.csv"))
    named = Classes(("T-shirt/top", "Trouser", "Pullover"))  # numbers are indices when names are not numbers
    assert named.encode(np.array([2, 0]), SOURCE).tolist() == [2, 0]
    assert named.encode(np.array(["Trouser"]), SOURCE).tolist() == [1]
    with pytest.raises(DataError, match="class 3 does not occur"):
        named.encode(np.array([3]), SOURCE)
    signed = Classes.of(np.array([1, -1, 1]), SOURCE)  # libsvm's binary labels are class values, not indices
    assert signed.names == ("-1", "1") and signed.encode(np.array([1, -1]), SOURCE).tolist() == [1, 0]
    with pytest.raises(DataError, match="labels must be whole numbers or names, got float64"):
        named.encode(np.array([0.5]), SOURCE)


def test_standardizer_matches_scikit_learn() -> None:
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal([1000, -3, 0.001, 5], [300, 1, 0.0001, 0], size=(500, 4))
    ours, theirs = Standardizer.fit(x), StandardScaler().fit(x)
    np.testing.assert_allclose(ours.mean, theirs.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.scale, theirs.scale_, rtol=1e-12)
    assert ours.scale[3] == 1.0  # a constant feature is only centred
    out = ours.transform(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, theirs.transform(x), atol=1e-5)
    np.testing.assert_array_equal(ours.transform(x, np.float64), (x - ours.mean) / ours.scale)


def test_standardizer_on_a_large_mean_and_on_bytes() -> None:
    x = 1e9 + np.array([[1.0], [2.0], [3.0], [4.0]])  # the one-pass E[x^2] - E[x]^2 is 0 here
    assert Standardizer.fit(x).scale[0] == pytest.approx(np.sqrt(1.25), rel=1e-9)
    stored = np.random.default_rng(1).integers(0, 256, size=(20000, 3), dtype=np.uint8)
    from_bytes = Standardizer.fit(ScaledArray(stored, 255))
    floats = np.divide(stored, np.float32(255), dtype=np.float32).astype(np.float64)
    np.testing.assert_allclose(from_bytes.mean, floats.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(from_bytes.scale, floats.std(axis=0), rtol=1e-12)


def test_fold_gives_the_same_logits_on_raw_features() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(50, 20, size=(30, 5))
    scaling = Standardizer.fit(x)
    W, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    W2, b2 = scaling.fold(W, b)
    np.testing.assert_allclose(x @ W2 + b2, scaling.transform(x, np.float64) @ W + b, rtol=1e-10, atol=1e-10)


def test_scaling_round_trips_through_plain_arrays() -> None:
    scaling = Standardizer.fit(np.random.default_rng(3).normal(size=(10, 4)))
    arrays = scaling.to_arrays()
    assert set(arrays) == {"scale_mean", "scale_std"}
    again = Standardizer.from_arrays(dict(arrays), n_features=4)
    np.testing.assert_array_equal(again.mean, scaling.mean)
    np.testing.assert_array_equal(again.scale, scaling.scale)
    for broken in ({**arrays, "scale_std": -arrays["scale_std"]}, {**arrays, "scale_mean": arrays["scale_mean"][:3]},
                   {**arrays, "scale_mean": np.full(4, np.nan)}):
        with pytest.raises(ValueError, match="scaling vectors"):
            Standardizer.from_arrays(broken)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        Standardizer.from_arrays(arrays, n_features=5)


def test_fit_scaling_auto_keeps_images_and_standardises_features() -> None:
    x = np.arange(12.0).reshape(6, 2)
    assert fit_scaling("auto", x, images=True) is None
    assert fit_scaling("none", x, images=False) is None
    assert isinstance(fit_scaling("auto", x, images=False), Standardizer)
    assert isinstance(fit_scaling("standard", x, images=True), Standardizer)
    with pytest.raises(UsageError, match="scale must be one of auto, standard, none, got 'minmax'"):
        fit_scaling("minmax", x, images=False)


def test_align_classes_to_a_models_names(tmp_path: Path) -> None:
    from logistic_sgd.data import align_classes, open_dataset
    from logistic_sgd.data.labels import FASHION_MNIST_CLASSES

    path = tmp_path / "eval.csv"
    path.write_text("f,label\n" + "".join(f"{i},{'cb'[i % 2]}\n" for i in range(40)))
    loaded = open_dataset(path)
    assert loaded.class_names == ("b", "c")
    aligned = align_classes(loaded, ("a", "b", "c"))
    for (x, y), (_, y_own) in zip(aligned.datasets, loaded.datasets, strict=True):
        np.testing.assert_array_equal(y, y_own + 1)
        np.testing.assert_array_equal(y, np.where(x[:, 0] % 2 == 0, 2, 1))
    assert aligned.class_names == ("a", "b", "c")
    with pytest.raises(DataError, match=rf"^{path}: class 'c' does not occur in the model's classes"):
        align_classes(loaded, ("a", "b"))
    numbered = Path(tmp_path / "n.csv")
    numbered.write_text("f,label\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    digits = open_dataset(numbered)
    same = align_classes(digits, FASHION_MNIST_CLASSES)  # numbered classes are indices into named ones
    np.testing.assert_array_equal(same.datasets[0][1], digits.datasets[0][1])
    shifted = align_classes(digits, ("7", "0", "1", "2"))  # numbered ones match numbered ones by number
    np.testing.assert_array_equal(shifted.datasets[0][1], digits.datasets[0][1] + 1)
