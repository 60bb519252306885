"""k > 2 classes: the neuron becomes a layer of k neurons with softmax (multinomial logistic
regression), checked against scikit-learn's LogisticRegression, and carried through the
model file and the command line (train, predict, evaluate, inspect)."""

import csv
import json

import numpy as np
import pytest
from cli_helpers import run_cli
from sklearn.datasets import load_iris, load_wine
from sklearn.linear_model import LogisticRegression

from neuronlab import NeuronClassifier
from neuronlab.io.model_file import load, save
from neuronlab.io.tables import split_rows


def standardised(X):
    return (X - X.mean(0)) / X.std(0)


def mean_log_loss(P, y):
    return -np.mean(np.log(P[np.arange(len(y)), y]))


@pytest.mark.parametrize("loader,C", [(load_iris, 10.0), (load_wine, 1.0)])
def test_fit_reaches_scikit_learns_multinomial_optimum(loader, C):
    X, y = loader(return_X_y=True)
    X = standardised(X)
    n = X.shape[0]
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=2000).fit(X, y)
    ours = NeuronClassifier(solver="lbfgs", alpha=1.0 / (C * n), tol=1e-10, max_steps=2000,
                            random_state=0).fit(X, y)
    assert ours.status_ == "converged"
    assert ours.coef_.shape == reference.coef_.shape and ours.intercept_.shape == reference.intercept_.shape

    def J(model):  # scikit-learn's objective, written out: mean log loss + ‖W‖²/(2Cn)
        return mean_log_loss(model.predict_proba(X), y) + (model.coef_ ** 2).sum() / (2 * C * n)

    assert abs(J(ours) - J(reference)) < 1e-6
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=1e-4)
    assert np.array_equal(ours.predict(X), reference.predict(X))


def test_labels_of_any_type_and_the_scores():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = NeuronClassifier(learning_rate=0.5, max_steps=300, tol=0, random_state=1).fit(standardised(X), names)
    Xs = standardised(X)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    scores = clf.decision_function(Xs)
    assert scores.shape == (150, 3)
    np.testing.assert_allclose(scores, Xs @ clf.coef_.T + clf.intercept_)  # zₖ = wₖ·x + bₖ
    P = clf.predict_proba(Xs)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(Xs)), P, rtol=1e-12)
    assert np.array_equal(clf.predict(Xs), clf.classes_[np.argmax(P, axis=1)])
    assert clf.score(Xs, names) > 0.9


def test_warm_start_continues_from_the_fitted_weights():
    X, y = load_iris(return_X_y=True)
    X = standardised(X)
    once = NeuronClassifier(learning_rate=0.5, max_steps=40, tol=0, random_state=3).fit(X, y)
    twice = NeuronClassifier(learning_rate=0.5, max_steps=20, tol=0, random_state=3, warm_start=True)
    twice.fit(X, y)
    twice.fit(X, y)  # 20 more steps from where the first 20 ended
    np.testing.assert_allclose(twice.coef_, once.coef_, rtol=1e-12)


def test_pairs_other_than_softmax_with_log_loss_name_what_is_supported():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="needs the activation 'sigmoid' and the loss 'log_loss'"):
        NeuronClassifier(loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="perceptron rule separates two"):
        NeuronClassifier(solver="perceptron", activation="sigmoid").fit(X, y)


def test_model_file_round_trip_and_its_checks(tmp_path):
    X, y = load_iris(return_X_y=True)
    clf = NeuronClassifier(learning_rate=0.5, max_steps=50, tol=0, random_state=0).fit(X, y)
    path = tmp_path / "m.json"
    save(clf, path)
    loaded = load(path)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    doc = json.loads(path.read_text())
    doc["parameters"]["coef"] = doc["parameters"]["coef"][:2]
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"parameters.coef' must hold 3 rows \(one per label"):
        load(path)
    doc = json.loads(path.read_text())
    doc["parameters"]["coef"] = [[1.0, 2.0]] * 3
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"parameters.coef\[0\]' must hold 4 numbers"):
        load(path)


# --- the command line --------------------------------------------------------------------------
@pytest.fixture
def iris_csv(tmp_path):
    data = load_iris()
    path = tmp_path / "iris.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
        for row, k in zip(data.data, data.target):
            writer.writerow([*row.tolist(), data.target_names[k]])
    return path


def test_train_on_iris_is_as_accurate_as_logistic_regression_on_the_same_split(capsys, tmp_path, iris_csv):
    model = tmp_path / "iris.json"
    status, out, err = run_cli(capsys, "train", iris_csv, "--target", "species", "--out", model,
                               "--strategy", "lbfgs", "--steps", "500", "--json", "--quiet")
    assert status == 0, err
    report = json.loads(out)
    # the same rows held out, by the same seeded stratified split train uses (seed 0, 20 %)
    data = load_iris()
    train, validation = split_rows(150, 0.2, 0, stratify=data.target_names[data.target])
    mean, sd = data.data[train].mean(0), data.data[train].std(0)
    reference = LogisticRegression(C=np.inf, max_iter=5000).fit((data.data[train] - mean) / sd,
                                                                    data.target[train])
    expected = reference.score((data.data[validation] - mean) / sd, data.target[validation])
    assert abs(report["metrics"]["validation"]["accuracy"] - expected) <= 0.01
    assert report["metrics"]["validation"]["average"] == "macro"

    # predict: one probability column per class, rows summing to 1
    status, out, err = run_cli(capsys, "predict", model, iris_csv, "--proba")
    assert status == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["prediction", "p(setosa)", "p(versicolor)", "p(virginica)"]
    predicted = [r[0] for r in rows[1:]]
    assert all(abs(sum(map(float, r[1:])) - 1) < 1e-12 for r in rows[1:])
    assert all(r[0] == rows[0][1 + np.argmax(list(map(float, r[1:])))][2:-1] for r in rows[1:])

    # evaluate: its confusion matrix is the count of (true, predicted) pairs of predict's output
    status, out, err = run_cli(capsys, "evaluate", model, iris_csv, "--json")
    assert status == 0, err
    metrics = json.loads(out)["metrics"]
    truth = data.target_names[data.target]
    names = list(data.target_names)
    counts = np.zeros((3, 3), dtype=int)
    for t, p in zip(truth, predicted):
        counts[names.index(t), names.index(p)] += 1
    assert metrics["confusion_matrix"] == counts.tolist()
    assert metrics["accuracy"] == pytest.approx(np.trace(counts) / 150)
    recall = [counts[c, c] / counts[c].sum() for c in range(3)]
    assert metrics["recall"] == pytest.approx(np.mean(recall))
    assert [c["recall"] for c in metrics["per_class"]] == pytest.approx(recall)
    status, out, err = run_cli(capsys, "evaluate", model, iris_csv)
    assert status == 0 and "each class against the rest" in out and "precision (macro)" in out

    # inspect: one column of weights per class, the values of the model file
    status, out, err = run_cli(capsys, "inspect", model)
    assert status == 0, err
    assert "3 neurons, one per class" in out and "setosa → 0, versicolor → 1, virginica → 2" in out
    assert "w (virginica)" in out
    coef = np.array(json.loads(model.read_text())["parameters"]["coef"])
    assert coef.shape == (3, 4)


def test_an_unsupported_loss_is_one_line_naming_the_supported_one(capsys, iris_csv):
    status, out, err = run_cli(capsys, "train", iris_csv, "--target", "species", "--loss", "hinge")
    assert status == 2
    assert err.count("\n") == 1 and "'log_loss'" in err and "Traceback" not in err
