"""neuronlab.metrics against scikit-learn's implementations (an independent route)."""

import numpy as np
import pytest
from sklearn import metrics as sk

from neuronlab import metrics


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
