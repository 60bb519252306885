"""The compiled passes' thread count: an estimator's ``n_jobs`` (joblib's meaning), else
``NEURONLAB_THREADS``, else every core; and the fit's result does not depend on it."""

import numpy as np
import pytest

from neuronlab import NeuronClassifier, NeuronRegressor
from neuronlab.core import threads
from neuronlab.core.threads import check_n_jobs, run_threads, thread_setting
from neuronlab.models import kernel


def test_n_jobs_counts_as_joblib_does(monkeypatch):
    monkeypatch.setattr(threads, "_cores", lambda: 4)
    monkeypatch.delenv("NEURONLAB_THREADS", raising=False)
    for n_jobs, expected in ((None, None), (1, 1), (3, 3), (-1, 4), (-2, 3), (-4, 1), (-10, 1)):
        with run_threads(n_jobs):
            assert thread_setting() == expected, n_jobs
    assert thread_setting() is None  # the setting ends with the block


def test_n_jobs_comes_before_the_environment_variable(monkeypatch):
    monkeypatch.setenv("NEURONLAB_THREADS", "3")
    with run_threads(None):
        assert thread_setting() == 3
    with run_threads(1):
        assert thread_setting() == 1
    assert thread_setting() == 3


@pytest.mark.parametrize("wrong", [0, 1.5, True, "2"])
def test_a_wrong_n_jobs_is_named(wrong):
    with pytest.raises(ValueError, match="n_jobs must be None, a whole number"):
        check_n_jobs(wrong)
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match="n_jobs"):
        NeuronClassifier(n_jobs=wrong, max_steps=2).fit(X, X[:, 0] > 0)


@pytest.mark.parametrize("Estimator", [NeuronClassifier, NeuronRegressor])
def test_n_jobs_reaches_the_passes_and_leaves_the_bits_alone(Estimator, monkeypatch):
    """Every threaded pass of the fit runs on the n_jobs threads, and one thread, two and every
    core give the same coefficients, bit for bit."""
    if not kernel.numba_available():
        pytest.skip("the compiled engine needs numba")
    monkeypatch.setattr(kernel, "PARALLEL_MIN_ELEMENTS", 0)  # thread even this small X
    monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 2000)  # in many chunks
    compiled = kernel._compiled()
    asked = []
    real = compiled.accumulate_in_threads

    def recording(threads_asked, *args, **options):
        asked.append(threads_asked)
        return real(threads_asked, *args, **options)

    monkeypatch.setattr(compiled, "accumulate_in_threads", recording)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20_000, 6))  # ≥ COMPILED_MIN_ELEMENTS values: the compiled engine
    y = X @ rng.normal(size=6) + rng.normal(size=20_000) > 0 if Estimator is NeuronClassifier \
        else X @ rng.normal(size=6)
    coefficients = {}
    for n_jobs in (1, 2, -1):
        asked.clear()
        model = Estimator(solver="lbfgs", max_steps=30, random_state=0, n_jobs=n_jobs).fit(X, y)
        assert asked and set(asked) == {n_jobs if n_jobs > 0 else threads._cores()}, (n_jobs, set(asked))
        coefficients[n_jobs] = (model.coef_.copy(), model.intercept_)
    for n_jobs in (2, -1):
        np.testing.assert_array_equal(coefficients[n_jobs][0], coefficients[1][0])
        assert coefficients[n_jobs][1] == coefficients[1][1]
