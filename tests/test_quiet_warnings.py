"""Quiet in scikit-learn use: at most one one-line ConvergenceWarning per fit (the status and
the fix), none when tol = 0 asks for exactly max_steps steps, and a status that does not
contradict itself."""

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuronlab import ConvergenceWarning, NeuronClassifier, NeuronRegressor

#: the warnings of each fit made by a CountedClassifier, one list per fit
FITS: list[list[warnings.WarningMessage]] = []


class CountedClassifier(NeuronClassifier):
    """NeuronClassifier that records the warnings of each of its fits (clone keeps the class)."""

    def fit(self, X, y, sample_weight=None, callback=None):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            super().fit(X, y, sample_weight, callback)
        FITS.append(list(caught))
        return self


def model_selection_fits(tol):
    """cross_val_score and GridSearchCV on standardised breast cancer, few steps: the warnings of
    every fit (3 + 4·3 + 1 refit = 16 fits)."""
    FITS.clear()
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), CountedClassifier(max_steps=20, tol=tol, random_state=0))
    cross_val_score(pipe, X, y, cv=3)
    grid = {"countedclassifier__alpha": [0.0, 0.01], "countedclassifier__learning_rate": [0.1, 1.0]}
    GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert len(FITS) == 16
    return list(FITS)


def test_model_selection_warns_at_most_once_per_fit_on_one_line():
    fits = model_selection_fits(tol=1e-6)
    assert all(len(caught) <= 1 for caught in fits)
    messages = [str(w.message) for caught in fits for w in caught]
    assert messages, "20 steps with tol > 0 stop at max_steps: that is worth one warning"
    assert all(w.category is ConvergenceWarning or issubclass(w.category, ConvergenceWarning)
               for caught in fits for w in caught)
    for message in messages:
        assert "\n" not in message
        assert re.match(r"CountedClassifier stopped at max_steps=20 with ‖∇J‖ = \S+: ", message), message


def test_model_selection_is_silent_when_tol_is_zero():
    fits = model_selection_fits(tol=0.0)
    assert [str(w.message) for caught in fits for w in caught] == []


MORE_STEPS = re.compile(r"more (steps|epochs)|larger learning.rate|raise max_steps|learning_rate ≈")


def test_separable_data_status_does_not_also_advise_more_steps():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = NeuronClassifier(learning_rate=1.0, max_steps=300, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    assert model.status_ == "max_steps"
    message = model.result_.message
    assert "more steps only make the weights larger" in message  # the data are separable
    assert not MORE_STEPS.search(message.replace("more steps only make the weights larger", ""))
    assert message.startswith("stopped after max_steps = 300")  # the status itself is kept
    [warning] = caught
    text = str(warning.message)
    assert "\n" not in text and "linearly separable" in text and text.endswith("set alpha > 0")
    assert not MORE_STEPS.search(text)
    # with no penalty at all, alpha alone would not help: the fix names the penalty too
    with pytest.warns(ConvergenceWarning, match=r"set penalty='l2' and alpha > 0$"):
        NeuronClassifier(learning_rate=1.0, max_steps=300, random_state=0, penalty=None).fit(X, y)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_diverged_and_stalled_still_warn_once_on_one_line(diabetes):
    X, y = diabetes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        diverged = NeuronRegressor(learning_rate=5.0, max_steps=500, random_state=0, tol=0.0).fit(X, y)
    assert diverged.status_ == "diverged"
    suggested = diverged.result_.suggested_learning_rate
    assert [str(w.message) for w in caught] == [
        f"NeuronRegressor diverged at step {diverged.n_iter_}: set learning_rate ≤ {suggested:.3g}"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stalled = NeuronRegressor(learning_rate=1e-6, max_steps=500, tol=1e-3, random_state=0).fit(X, y)
    assert stalled.status_ == "stalled"
    proposed = re.search(r"try learning_rate ≈ (\S+)", stalled.result_.message).group(1)
    [warning] = caught
    assert re.fullmatch(rf"NeuronRegressor stalled at step \d+ with ‖∇J‖ = \S+: set learning_rate ≈ "
                        rf"{re.escape(proposed)}", str(warning.message))


def test_a_fit_that_converged_or_stopped_on_request_says_nothing(diabetes):
    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        converged = NeuronRegressor(learning_rate=0.2, max_steps=5000, random_state=0).fit(X, y)
        asked = NeuronRegressor(max_steps=3, tol=0.0, random_state=0).fit(X, y)
    assert converged.status_ == "converged"
    assert asked.status_ == "max_steps" and "max_steps = 3" in asked.result_.message
    assert np.isfinite(asked.coef_).all()
