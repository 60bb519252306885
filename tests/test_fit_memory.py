"""A fit's own memory beyond X and y (issue 16): nothing the size of X, and no n-long copy of y
in X's dtype for the kernel — measured with tracemalloc, which NumPy reports its arrays to."""

import tracemalloc
import warnings

import numpy as np

from neuronlab import NeuronClassifier, NeuronRegressor
from neuronlab.estimators import neuron as estimators_neuron


def _fit_peak(estimator, X, y):
    """The largest amount of memory allocated at once during ``estimator.fit(X, y)``."""
    with warnings.catch_warnings():  # a few steps, as asked: the budget's warning is expected
        warnings.simplefilter("ignore")
        estimator.fit(X, y)  # compiles (or loads) the kernel outside the measurement
        tracemalloc.start()
        estimator.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _data(n=1_000_000, p=10):
    # rows enough that the fixed-size blocks of the checks (4 MB for check_X's finiteness test,
    # 65,536 rows for the classifier's side test) stay well below a quarter of X
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p), dtype=np.float32)
    z = X @ rng.standard_normal(p).astype(np.float32)
    return X, z


def test_a_separable_classifier_fit_too_large_for_the_certificate_copies_nothing_like_x(monkeypatch):
    # y = [z > 0] is separable and 2 steps leave rows on the wrong side, so the fit asks whether
    # the data are separable; beyond the certificate's size limit it must not make the certificate's
    # float64 copy of X (2 × X) on the way to being refused
    monkeypatch.setattr(estimators_neuron, "SEPARABILITY_MAX_SIZE", 1000)
    X, z = _data()
    y = (z > 0).astype(np.int64)
    peak = _fit_peak(NeuronClassifier(max_steps=2, tol=1e-12, random_state=0), X, y)
    assert peak < X.nbytes / 4


def test_a_classifier_fit_keeps_its_labels_compact(monkeypatch):
    # the 0/1 target is one byte a row (booleans), not a vector of X's dtype beside the int64 y
    X, z = _data(n=20_000)
    y = (z > 0.3).astype(np.int64)
    targets = []
    original = NeuronClassifier._fit

    def spy(self, X, target, *args, **kwargs):
        targets.append(target)
        return original(self, X, target, *args, **kwargs)

    monkeypatch.setattr(NeuronClassifier, "_fit", spy)
    NeuronClassifier(max_steps=2, tol=0.0, random_state=0).fit(X, y)
    assert targets[0].dtype == np.bool_ and targets[0].shape == y.shape
    np.testing.assert_array_equal(targets[0], y == 1)


def test_a_regressor_fit_makes_nothing_the_size_of_x():
    X, z = _data()
    peak = _fit_peak(NeuronRegressor(max_steps=3, tol=0.0, random_state=0), X, z.astype(np.float64))
    assert peak < X.nbytes / 4
    # nor a copy of the float64 y in X's dtype (n × 4 bytes here): each target is taken in X's
    # dtype as the kernel reads it
    assert peak < X.shape[0] * X.itemsize / 2
