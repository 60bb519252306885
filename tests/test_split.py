"""The validation split: stratified by class for classifiers (the CLI's --val-split and the
estimators' early_stopping cut the same way), plain random for regression."""

from __future__ import annotations

import numpy as np
import pytest

from neuronlab import NeuronClassifier, NeuronRegressor
from neuronlab.core.split import stratified_split
from neuronlab.io.tables import split_rows

from cli_helpers import run_cli


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2024])
@pytest.mark.parametrize("n_a, n_b, share", [(50, 50, 0.2), (90, 10, 0.2), (117, 284, 0.2),
                                             (5, 3, 0.25), (30, 7, 0.3), (200, 13, 0.1)])
def test_each_class_sends_its_share_to_validation(seed, n_a, n_b, share):
    y = np.random.default_rng(seed + 100).permutation(np.array(["a"] * n_a + ["b"] * n_b))
    train, val = split_rows(len(y), share, seed, stratify=y)
    n = len(y)
    assert np.array_equal(train, np.sort(train)) and np.array_equal(val, np.sort(val))
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    assert len(val) == round(share * n)  # the total is the requested one
    for label, count in (("a", n_a), ("b", n_b)):
        in_val = int(np.sum(y[val] == label))
        assert abs(in_val - share * count) <= 1, (label, in_val, share * count)
        assert 1 <= in_val <= count - 1  # every class on both sides


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    y = np.array([0.0] * 30 + [1.0] * 12)
    first = split_rows(len(y), 0.2, 3, stratify=y)
    again = split_rows(len(y), 0.2, 3, stratify=y)
    other = split_rows(len(y), 0.2, 4, stratify=y)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("n, share, seed", [(10, 0.3, 7), (401, 0.2, 0), (24, 0.25, 5), (9, 0.0, 1)])
def test_regression_keeps_the_plain_random_split(n, share, seed):
    order = np.random.default_rng(seed).permutation(n)
    n_val = round(share * n)
    train, val = split_rows(n, share, seed)
    assert np.array_equal(train, np.sort(order[n_val:])) and np.array_equal(val, np.sort(order[:n_val]))


def test_a_class_too_small_for_both_sides_is_named():
    y = np.array(["Not Obese"] * 7 + ["Obese"])
    with pytest.raises(ValueError, match=r"class 'Obese' has 1 row: it cannot be on both sides of the "
                                         r"validation split; give more rows of it or val_split=0"):
        split_rows(len(y), 0.2, 0, stratify=y)
    # no validation rows, no split to make
    train, val = split_rows(len(y), 0.0, 0, stratify=y)
    assert len(val) == 0 and np.array_equal(train, np.arange(8))


def test_eight_rows_with_three_of_one_class_train_on_both_classes(tmp_path, capsys):
    y = np.array(["no"] * 5 + ["yes"] * 3)
    for seed in range(50):
        train, val = split_rows(8, 0.2, seed, stratify=y)
        assert set(y[train]) == {"no", "yes"} and set(y[val]) == {"no", "yes"}
    path = tmp_path / "eight.csv"
    path.write_text("x,label\n" + "".join(f"{k},{c}\n" for k, c in enumerate(y)))
    for seed in range(10):
        code, _, err = run_cli(capsys, "train", path, "--target", "label", "--seed", seed, "--steps", 5,
                               "--out", tmp_path / "m.json", "--quiet")
        assert code == 0, err
    path.write_text("x,label\n" + "".join(f"{k},{c}\n" for k, c in enumerate(["no"] * 7 + ["yes"])))
    code, _, err = run_cli(capsys, "train", path, "--target", "label", "--out", tmp_path / "m.json", "--quiet")
    assert code == 2 and "class 'yes' has 1 row" in err and "--val-split 0" in err


@pytest.mark.filterwarnings("ignore:.*stopped at max_steps")
def test_early_stopping_holds_out_each_class_in_proportion(monkeypatch):
    import neuronlab.estimators.neuron as estimators

    cuts = []

    def spy(y, n_validation, random_state, fix):
        cut = stratified_split(y, n_validation, random_state, fix)
        cuts.append((np.asarray(y), cut))
        return cut

    monkeypatch.setattr(estimators, "stratified_split", spy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = np.where(np.arange(100) < 85, "common", "rare")
    X[y == "rare"] += 2.0
    NeuronClassifier(early_stopping=True, validation_fraction=0.2, max_steps=20, random_state=1).fit(X, y)
    (labels, (train, val)), = cuts
    assert np.array_equal(labels, y) and len(val) == 20
    assert int(np.sum(y[val] == "rare")) == 3 and int(np.sum(y[val] == "common")) == 17
    # the regressor keeps the plain random hold-out
    cuts.clear()
    NeuronRegressor(early_stopping=True, max_steps=5, random_state=1).fit(X, X[:, 0])
    assert cuts == []


def test_early_stopping_names_a_class_too_small_to_hold_out():
    X = np.arange(12.0).reshape(-1, 1)
    y = np.array([0] * 11 + [1])
    with pytest.raises(ValueError, match=r"class '1' has 1 row: .*set early_stopping=False"):
        NeuronClassifier(early_stopping=True, max_steps=5, random_state=0).fit(X, y)
