"""The estimators' per-step callback (it drives the CLI's progress and validation loss)."""

import numpy as np
import pytest

from neuronlab import NeuronClassifier, NeuronRegressor

pytestmark = pytest.mark.filterwarnings("ignore::neuronlab.ConvergenceWarning")


def test_callback_sees_every_step_and_the_same_fit():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    y = X @ [0.5, -1.0] + 2.0
    seen = []
    with_callback = NeuronRegressor(learning_rate=0.05, max_steps=40, tol=0, random_state=1).fit(
        X, y, callback=lambda step: seen.append((step.step, step.loss)))
    plain = NeuronRegressor(learning_rate=0.05, max_steps=40, tol=0, random_state=1).fit(X, y)
    assert [t for t, _ in seen] == list(range(41))  # row 0 is the start, then one per update
    np.testing.assert_array_equal([loss for _, loss in seen], plain.history_.loss)
    np.testing.assert_array_equal(with_callback.coef_, plain.coef_)


def test_callback_returning_true_stops_with_status_interrupted():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = NeuronClassifier(max_steps=1000, random_state=0).fit(X, [0, 0, 1, 1], callback=lambda step: step.step == 5)
    assert model.status_ == "interrupted" and model.n_iter_ == 5
