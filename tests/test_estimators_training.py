"""The estimators with the new solvers, schedules, mini-batches, early stopping and dtype."""

import warnings

import numpy as np
import pytest
from numeric_checks import largest_curvature

from neuronlab import NeuronClassifier, NeuronRegressor

import sklearn  # noqa: F401  (the test extra: a missing install fails loudly)
from sklearn.linear_model import LogisticRegression  # noqa: E402


@pytest.fixture(scope="module")
def classes():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 4))
    y = np.where(X @ [1.0, -1.0, 0.5, 0.0] + 0.5 * rng.standard_normal(300) > 0, "yes", "no")
    return X, y


@pytest.mark.parametrize("solver, options", [
    ("lbfgs", {}), ("line_search", {}), ("adam", dict(learning_rate=0.05)),
    ("momentum", dict(learning_rate=0.5)), ("nesterov", dict(learning_rate=0.5)),
    ("rmsprop", dict(learning_rate=0.01, schedule="cosine")), ("adagrad", dict(learning_rate=2.0)),
    ("sgd", dict(learning_rate=0.2, batch_size=16, max_steps=100, schedule="cosine")),
])
def test_solvers_fit_logistic_regression(solver, options, classes):
    X, y = classes
    ref = LogisticRegression(C=1.0 / (0.01 * len(X)), tol=1e-10, max_iter=1000).fit(X, y)
    options = {"max_steps": 3000, **options}  # a copy: the parameter's dict is shared across runs
    model = NeuronClassifier(solver=solver, alpha=0.01, tol=1e-10, random_state=0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    # the stochastic and the sign-like (RMSProp) steps end near, not at, the optimum
    atol = {"sgd": 0.02, "rmsprop": 1e-3}.get(solver, 1e-4)
    np.testing.assert_allclose(model.coef_, ref.coef_[0], atol=atol)
    assert np.mean(model.predict(X) == ref.predict(X)) >= 0.99


def test_early_stopping_keeps_the_best_validation_theta(classes):
    X, y = classes
    model = NeuronClassifier(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                             learning_rate=0.5, max_steps=500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    validation = model.result_.info["validation_loss"]
    assert len(validation) == len(model.history_)
    best = int(np.argmin(validation))
    np.testing.assert_array_equal(model.history_.params[best], np.append(model.coef_, model.intercept_))
    # it stopped because the validation loss did not improve for n_iter_no_change = 5 rows
    assert model.status_ == "converged" and "early stopping" in model.result_.message
    assert len(validation) == best + 1 + 5
    # ⌈0.2·300⌉ = 60 rows are held out and 240 trained on (no penalty: α = 0), so at every row
    # 240·J_train + 60·J_validation = 300·J over all rows, J the log loss written out here
    params = model.history_.params
    z = X @ params[:, :-1].T + params[:, -1]
    target = (y == "yes")[:, None]
    whole = np.mean(np.logaddexp(0.0, z) - target * z, axis=0)
    np.testing.assert_allclose(240 * model.history_.loss + 60 * validation, 300 * whole, rtol=1e-10)
    assert np.abs(validation - model.history_.loss).max() > 1e-3  # two different sets of rows


def test_float32_training_matches_float64(classes):
    X, y = classes
    a = NeuronClassifier(solver="lbfgs", alpha=0.01, tol=1e-8, random_state=0).fit(X, y)
    b = NeuronClassifier(solver="lbfgs", alpha=0.01, tol=1e-8, dtype="float32", random_state=0).fit(X, y)
    # both against scikit-learn: α = 1/(C·n) on the mean loss
    reference = LogisticRegression(C=1 / (0.01 * len(y)), tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(a.coef_, reference.coef_[0], atol=1e-5)
    np.testing.assert_allclose(b.coef_, reference.coef_[0], atol=1e-3)
    regressor = NeuronRegressor(solver="lbfgs", dtype=np.float32, random_state=0).fit(
        X, X @ [1.0, 2.0, 0.0, -1.0])
    np.testing.assert_allclose(regressor.coef_, [1.0, 2.0, 0.0, -1.0], atol=1e-3)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_starts_from_the_seeds_first_draw_with_or_without_early_stopping(early_stopping, classes):
    from neuronlab import init_params

    X, y = classes
    model = NeuronClassifier(early_stopping=early_stopping, max_steps=3, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    # lr-find draws θ0 the same way, from a fresh generator of the same seed
    expected = init_params(X.shape[1], "xavier", np.random.default_rng(7))
    np.testing.assert_array_equal(model.history_.params[0], expected)


def test_recover_halves_a_diverging_eta_until_the_fit_reaches_least_squares():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 3)) * [1.0, 3.0, 0.5]
    y = X @ [2.0, -1.0, 0.5] + 0.3 + 0.01 * rng.standard_normal(200)
    reference = np.linalg.lstsq(np.column_stack([X, np.ones(200)]), y, rcond=None)[0]
    limit = 2.0 / largest_curvature(X)  # η beyond this diverges
    options = dict(learning_rate=3 * limit, max_steps=5000, tol=1e-14, penalty=None, random_state=0)
    with pytest.warns(UserWarning, match="diverged"):
        diverged = NeuronRegressor(**options).fit(X, y)
    assert diverged.status_ == "diverged"
    model = NeuronRegressor(recover=True, **options).fit(X, y)
    assert model.status_ == "converged"
    np.testing.assert_allclose(np.append(model.coef_, model.intercept_), reference, atol=1e-5)
    halvings = [note for _, note in model.history_.events if "halved η" in note]
    # 3·limit → 1.5·limit → 0.75·limit: two halvings reach a stable η, none more
    assert len(halvings) == 2 and model.result_.info["recoveries"] == 2


@pytest.mark.parametrize("params, message", [
    (dict(solver="lbfgs", batch_size=10), "batch_size works with the solvers"),
    (dict(batch_size=0), "batch_size must be a whole number"),
    (dict(solver="lbfgs", early_stopping=True), "early_stopping works with the solvers"),
    (dict(validation_fraction=1.5), "validation_fraction must be a number in"),
    (dict(n_iter_no_change=0), "n_iter_no_change must be a whole number"),
    (dict(schedule="bogus"), "unknown learning-rate schedule"),
    (dict(dtype="int8"), "dtype must be None, 'float32' or 'float64'"),
    (dict(recover="yes"), "recover must be True or False"),
    (dict(solver="lbfgs", recover=True), "recover works with the solvers"),
    (dict(solver="adamw"), "unknown strategy 'adamw'"),
])
def test_bad_training_options(params, message, classes):
    X, y = classes
    with pytest.raises(ValueError, match=message):
        NeuronClassifier(**params).fit(X, y)


def test_a_value_too_large_for_float32_is_refused_not_trained_on():
    # 1e300 is finite in float64 but inf in float32 (largest ≈ 3.4e38): bad input, named
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error says it; no RuntimeWarning besides
        with pytest.raises(ValueError, match="contains infinity.*row 0, column 0"):
            NeuronRegressor(dtype="float32").fit([[1e300], [1.0], [2.0], [3.0]], [1.0, 2.0, 3.0, 4.0])
