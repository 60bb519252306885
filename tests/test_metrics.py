"""neuronlab.metrics against scikit-learn's implementations (an independent route)."""

import numpy as np
import pytest
from sklearn import metrics as sk

from neuronlab.estimators import metrics


@pytest.mark.parametrize("seed", range(5))
def test_classification_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    p = np.clip(0.3 * y + rng.random(60) * 0.7, 0, 1)
    p[:5] = np.round(p[:5], 1)  # ties for the AUC
    p[5] = 1.0  # clipped in log loss
    pred = (p > 0.5).astype(int)
    assert metrics.accuracy(y, pred) == pytest.approx(sk.accuracy_score(y, pred), abs=1e-15)
    assert metrics.precision(y, pred) == pytest.approx(sk.precision_score(y, pred, zero_division=0), abs=1e-15)
    assert metrics.recall(y, pred) == pytest.approx(sk.recall_score(y, pred), abs=1e-15)
    assert metrics.f1(y, pred) == pytest.approx(sk.f1_score(y, pred), abs=1e-15)
    assert metrics.log_loss(y, p) == pytest.approx(sk.log_loss(y, p), rel=1e-12)
    assert metrics.roc_auc(y, p) == pytest.approx(sk.roc_auc_score(y, p), abs=1e-12)
    np.testing.assert_array_equal(metrics.confusion_matrix(y, pred), sk.confusion_matrix(y, pred))


def test_zero_division_gives_zero_like_sklearn():
    y, pred = np.array([1, 1, 0]), np.array([0, 0, 0])
    assert metrics.precision(y, pred) == sk.precision_score(y, pred, zero_division=0) == 0.0
    assert metrics.f1(y, pred) == 0.0


def test_auc_by_hand():
    # positives score 0.9 and 0.4, negatives 0.5 and 0.4: pairs (0.9>0.5, 0.9>0.4, 0.4<0.5, 0.4=0.4) → (1+1+0+½)/4
    assert metrics.roc_auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.4]) == 0.625


@pytest.mark.parametrize("seed", range(3))
def test_regression_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=40)
    pred = y + rng.normal(scale=0.5, size=40)
    assert metrics.mse(y, pred) == pytest.approx(sk.mean_squared_error(y, pred), rel=1e-12)
    assert metrics.mae(y, pred) == pytest.approx(sk.mean_absolute_error(y, pred), rel=1e-12)
    assert metrics.r2(y, pred) == pytest.approx(sk.r2_score(y, pred), rel=1e-12)
    assert metrics.r2(np.ones(3), np.ones(3)) == 1.0


# --- model_metrics: one pass over X gives what the estimator's own methods give ------------------
def _noisy_rows(seed, n=80):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[170.0, 70.0], scale=[10.0, 15.0], size=(n, 2))  # raw units: the scaler matters
    signal = (X[:, 0] - 170.0) / 10.0 - (X[:, 1] - 70.0) / 15.0
    return X, signal + rng.normal(scale=0.8, size=n)  # noise: some rows land on the wrong side


@pytest.mark.parametrize("estimator, labels", [
    (dict(activation="sigmoid", loss="log_loss"), ("no", "yes")),
    (dict(activation="tanh", loss="hinge"), (3, 7)),  # no probabilities; threshold 0 on ŷ
    (dict(activation="sigmoid", loss="squared_error"), (False, True)),  # threshold ½ on ŷ
])
def test_model_metrics_equal_the_classifiers_outputs_and_sklearn(estimator, labels):
    from neuronlab import NeuronClassifier
    from neuronlab.apps.commands._common import model_metrics
    from neuronlab.io.tables import Standardizer
    from neuronlab.io.model_file import TrainedModel

    X, noisy = _noisy_rows(0)
    y = np.where(noisy > 0, labels[1], labels[0])
    scaler = Standardizer().fit(X)
    fitted = NeuronClassifier(**estimator, max_steps=500, learning_rate=0.5, tol=0.02, random_state=0)
    model = TrainedModel(fitted.fit(scaler.transform(X), y), ["height", "weight"], scaler)
    report = model_metrics(model, X, y)

    predicted, score = model.predict(X), model.decision_function(X)
    assert 0.6 < sk.accuracy_score(y, predicted) < 1.0  # a fair test: right and wrong rows both
    assert report["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted), abs=1e-15)
    assert report["precision"] == pytest.approx(sk.precision_score(y, predicted, pos_label=labels[1]), abs=1e-15)
    assert report["recall"] == pytest.approx(sk.recall_score(y, predicted, pos_label=labels[1]), abs=1e-15)
    assert report["f1"] == pytest.approx(sk.f1_score(y, predicted, pos_label=labels[1]), abs=1e-15)
    assert report["confusion_matrix"] == sk.confusion_matrix(y, predicted, labels=list(labels)).tolist()
    truth = (y == labels[1]).astype(int)
    assert report["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, score), abs=1e-12)
    if hasattr(model.estimator, "predict_proba"):
        assert report["log_loss"] == pytest.approx(sk.log_loss(truth, model.predict_proba(X)[:, 1]), rel=1e-12)
    else:
        assert report["log_loss"] is None


@pytest.mark.parametrize("activation", ["identity", "softplus"])
def test_model_metrics_equal_the_regressors_outputs_and_sklearn(activation):
    from neuronlab import NeuronRegressor
    from neuronlab.apps.commands._common import model_metrics
    from neuronlab.io.tables import Standardizer
    from neuronlab.io.model_file import TrainedModel

    X, y = _noisy_rows(1)
    y = y + 3.0  # mostly positive, so a softplus neuron can fit it
    scaler = Standardizer().fit(X)
    fitted = NeuronRegressor(activation=activation, learning_rate=0.5, max_steps=500, tol=1e-6, random_state=0)
    model = TrainedModel(fitted.fit(scaler.transform(X), y), ["height", "weight"], scaler)
    report = model_metrics(model, X, y)
    predicted = model.predict(X)
    assert report["mse"] == pytest.approx(sk.mean_squared_error(y, predicted), rel=1e-12)
    assert report["mae"] == pytest.approx(sk.mean_absolute_error(y, predicted), rel=1e-12)
    assert report["r2"] == pytest.approx(sk.r2_score(y, predicted), rel=1e-12)
    assert 0.3 < report["r2"] < 1.0
