"""NeuronClassifier / NeuronRegressor against scikit-learn and closed-form answers."""

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numeric_checks import largest_curvature

import sklearn  # noqa: F401  (the test extra: a missing install fails loudly)
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from neuronlab import (
    ConvergenceWarning,
    Neuron,
    NeuronClassifier,
    NeuronObjective,
    NeuronRegressor,
    NotFittedError,
)


@parametrize_with_checks([NeuronClassifier(), NeuronRegressor()])
def test_scikit_learn_estimator_checks(estimator, check):
    # check_array_api_input is skipped by scikit-learn itself unless SCIPY_ARRAY_API=1:
    # the estimators take NumPy arrays (and anything np.asarray accepts), not array-API tensors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def log_loss_objective(X, y, alpha):
    return NeuronObjective(Neuron(X.shape[1], "sigmoid"), X, y.astype(float), "log_loss", alpha=alpha)


def test_matches_logistic_regression_with_l2(breast_cancer):
    X, y = breast_cancer
    C, n = 1.0, X.shape[0]
    reference = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    alpha = 1.0 / (C * n)  # C·Σ loss + ½‖w‖²  =  C·n·(mean loss + (α/2)‖w‖²)
    model = NeuronClassifier(alpha=alpha, learning_rate=3.0, max_steps=50_000, tol=1e-13, random_state=0)
    model.fit(X, y)
    assert model.status_ == "converged"
    objective = log_loss_objective(X, y, alpha)
    ours = objective.loss(np.append(model.coef_, model.intercept_))
    theirs = objective.loss(np.append(reference.coef_[0], reference.intercept_[0]))
    assert abs(ours - theirs) < 1e-6
    np.testing.assert_allclose(model.coef_, reference.coef_[0], atol=1e-3)
    assert model.intercept_ == pytest.approx(reference.intercept_[0], abs=1e-3)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-4)


def test_separable_data_is_reported_not_hidden(breast_cancer):
    X, y = breast_cancer
    model = NeuronClassifier(learning_rate=3.0, max_steps=3000, random_state=0)
    with pytest.warns(ConvergenceWarning) as caught:
        model.fit(X, y)
    assert len(caught) == 1  # one fit, one warning: the status and the fix
    assert re.match(r"NeuronClassifier stopped at max_steps=3000 with ‖∇J‖ = \S+: the training data is "
                    r"linearly separable.*: set alpha > 0$", str(caught[0].message))
    # the weights keep growing while the loss heads to 0
    assert model.result_.loss < 0.05
    assert "still growing" in model.result_.message
    longer = NeuronClassifier(learning_rate=3.0, max_steps=6000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        longer.fit(X, y)
    assert np.linalg.norm(longer.coef_) > np.linalg.norm(model.coef_)
    assert longer.result_.loss < model.result_.loss


def test_overlapping_classes_are_not_called_separable():
    X, y = make_classification(n_samples=300, n_features=3, n_informative=2, n_redundant=0, flip_y=0.3,
                               random_state=0)
    model = NeuronClassifier(max_steps=20, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    assert model.status_ == "max_steps"
    assert not any("separable" in str(w.message) for w in caught)


def test_matches_unpenalised_logistic_regression_on_overlapping_classes():
    X, y = make_classification(n_samples=400, n_features=5, n_informative=3, n_redundant=0, flip_y=0.2,
                               class_sep=0.5,
                               random_state=1)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)  # no penalty
    model = NeuronClassifier(learning_rate=1.0, max_steps=100_000, tol=1e-14, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_[0], atol=1e-3)
    assert model.intercept_ == pytest.approx(reference.intercept_[0], abs=1e-3)


def test_linear_neuron_matches_least_squares_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    # η below 2/λ_max(XᵀX/n) ≈ 0.5; tol=0 runs every step, enough for (1 − ηλ_min)^T ≈ 1e-13
    model = NeuronRegressor(learning_rate=0.2, max_steps=20_000, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    np.testing.assert_allclose(model.coef_, solution[:-1], atol=1e-6)
    assert model.intercept_ == pytest.approx(solution[-1], abs=1e-6)


def test_pipeline_and_cross_validation(breast_cancer):
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), NeuronClassifier(alpha=0.01, learning_rate=1.0, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=5)
    assert scores.shape == (5,) and scores.mean() > 0.95


def test_labels_of_any_type_map_to_0_1_and_back():
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    y = np.array(["Not Obese", "Not Obese", "Obese", "Obese"])
    model = NeuronClassifier(learning_rate=1.0, alpha=0.01, random_state=0).fit(X, y)
    assert list(model.classes_) == ["Not Obese", "Obese"]
    assert list(model.predict([[-1.0], [5.0]])) == ["Not Obese", "Obese"]
    assert model.predict_proba([[5.0]])[0, 1] > 0.5


def test_same_seed_same_bits_other_seed_other_weights():
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    fit = lambda seed: NeuronClassifier(init="normal", max_steps=50, random_state=seed).fit(X, y).coef_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b, c = fit(7), fit(7), fit(8)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)
    mc = lambda seed: NeuronClassifier(solver="monte_carlo", max_steps=200, random_state=seed).fit(X, y).coef_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert mc(1).tobytes() == mc(1).tobytes() and not np.array_equal(mc(1), mc(2))


def test_search_solvers_train_a_neuron():
    X, y = make_classification(n_samples=200, n_features=2, n_redundant=0, class_sep=2.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver in ("monte_carlo", "error_driven"):
            model = NeuronClassifier(solver=solver, max_steps=2000, random_state=0).fit(X, y)
            assert model.score(X, y) > 0.9, solver
        step = NeuronClassifier("step", "squared_error", solver="error_driven", max_steps=2000,
                                random_state=0).fit(X, y)
        perceptron = NeuronClassifier("step", "squared_error", solver="perceptron", max_steps=50,
                                      random_state=0).fit(X, y)
    assert step.score(X, y) > 0.9 and perceptron.score(X, y) > 0.9
    with pytest.raises(ValueError, match="derivative 0 almost everywhere"):
        NeuronClassifier("step", "squared_error").fit(X, y)


def test_divergence_warns_and_keeps_the_best_weights():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = NeuronRegressor(learning_rate=5.0, max_steps=500, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged at step \\d+: set learning_rate ≤"):
        model.fit(X, y)
    assert model.status_ == "diverged" and np.all(np.isfinite(model.coef_))
    # fixed-η descent on this linear neuron is stable for η < 2/λ_max (numpy's λ_max of the
    # data's curvature); the suggestion is at most half of that, and it does not diverge
    lam = largest_curvature(X)
    assert model.result_.info["stability_limit"] == pytest.approx(2.0 / lam, rel=1e-9)
    suggested = model.result_.suggested_learning_rate
    assert 0 < suggested <= (1.0 / lam) * (1 + 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        calm = NeuronRegressor(learning_rate=suggested, max_steps=500, random_state=0).fit(X, y)
    assert calm.status_ != "diverged"


X_OK = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
Y_OK = np.array([0, 0, 1, 1])


@pytest.mark.parametrize(
    "X, y, params, error, message",
    [
        ([[np.nan, 1.0]] * 4, Y_OK, {}, ValueError, "contains NaN"),
        ([[np.inf, 1.0]] * 4, Y_OK, {}, ValueError, "contains infinity"),
        (X_OK, np.array([0, 1, np.nan, 1.0]), {}, ValueError, "NaN"),
        (X_OK, Y_OK[:3], {}, ValueError, "inconsistent numbers of samples"),
        (np.empty((0, 2)), [], {}, ValueError, "0 sample"),
        (np.arange(4.0), Y_OK, {}, ValueError, "Expected 2D array, got 1D"),
        (X_OK, np.zeros(4), {}, ValueError, "only one class"),
        (np.array([["a", "b"]] * 4), Y_OK, {}, ValueError, "numbers only"),
        (X_OK, Y_OK, {"learning_rate": 0}, ValueError, "learning_rate must be > 0"),
        (X_OK, Y_OK, {"learning_rate": -0.1}, ValueError, "learning_rate must be > 0"),
        (X_OK, Y_OK, {"max_steps": 0}, ValueError, "max_steps must be ≥ 1"),
        (X_OK, Y_OK, {"activation": "sigmod"}, ValueError, "unknown activation 'sigmod'"),
        (X_OK, Y_OK, {"loss": "l2"}, ValueError, "unknown loss 'l2'"),
        (X_OK, Y_OK, {"activation": "relu"}, ValueError, "log_loss' needs ŷ in"),
        (X_OK, Y_OK, {"solver": "newton"}, ValueError, "unknown strategy 'newton'"),
        (X_OK, np.array([0, 1, 2, 1]), {"loss": "hinge"}, ValueError, "3 classes, which NeuronClassifier learns with k neurons and softmax"),
        (X_OK, np.array([0.5, 1.5, 0.2, 1.0]), {}, ValueError, "Unknown label type: continuous"),
    ],
)
def test_bad_input_names_the_problem(X, y, params, error, message):
    with pytest.raises(error, match=message):
        NeuronClassifier(**params).fit(X, y)


def test_bad_input_for_the_regressor_and_before_fit():
    with pytest.raises(ValueError, match="for classification"):
        NeuronRegressor(loss="hinge").fit(X_OK, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="must hold numbers for regression"):
        NeuronRegressor().fit(X_OK, ["a", "b", "c", "d"])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        NeuronRegressor().predict(X_OK)
    with pytest.warns(ConvergenceWarning, match="stopped at max_steps=5 .*: raise max_steps or learning_rate"):
        model = NeuronRegressor(max_steps=5).fit(X_OK, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="X has 3 features, but NeuronRegressor is expecting 2"):
        model.predict(np.ones((2, 3)))


def test_import_neuronlab_stays_light():
    code = (
        "import sys, neuronlab; heavy = [m for m in ('matplotlib', 'pandas', 'sklearn', 'scipy', "
        "'pyarrow', 'rich', 'numba', 'torch', 'dask') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_probabilities_keep_their_precision_far_from_the_boundary():
    model = NeuronClassifier(alpha=0.1, learning_rate=0.8).fit(X_OK, Y_OK)
    model.coef_, model.intercept_ = np.array([40.0, 0.0]), 0.0  # z = 40·x₁: 0, 40, 80, 120
    proba = model.predict_proba(X_OK)
    # P(class 0) = σ(−z) = e^(−z)/(1 + e^(−z)): tiny but not 0, and equal to exp(log proba)
    assert proba[3, 0] == pytest.approx(np.exp(-120.0), rel=1e-12)
    np.testing.assert_allclose(np.log(proba), model.predict_log_proba(X_OK), rtol=1e-12, atol=1e-15)


def test_class_labels_are_checked_whole_from_their_two_values_without_rounding_all_of_y(monkeypatch):
    # a float y of two numbers: only those two are rounded (rounding y makes an n-long copy);
    # anything else is rounded whole, as before, and the errors are the same
    from neuronlab.estimators import neuron as estimators_neuron

    rounded = []
    real_round = np.round

    def spy(values, *args, **kwargs):
        rounded.append(np.shape(values))
        return real_round(values, *args, **kwargs)

    monkeypatch.setattr(estimators_neuron.np, "round", spy)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    two = estimators_neuron._two_numbers(y)
    np.testing.assert_array_equal(two, [0.0, 1.0])
    assert not estimators_neuron._continuous(y, two) and rounded == [(2,)]
    assert estimators_neuron._continuous(np.array([0.5, 1.5, 0.5]), estimators_neuron._two_numbers(np.array([0.5, 1.5, 0.5])))
    three = np.array([0.0, 1.0, 2.0, 2.5])
    assert estimators_neuron._two_numbers(three) is None and estimators_neuron._continuous(three)
    assert estimators_neuron._continuous(np.full(4, 0.5))  # one value, not whole: continuous first
    assert not estimators_neuron._continuous(np.array([0, 1, 2]))  # integers are never rounded
    monkeypatch.undo()
    X = np.arange(8.0).reshape(4, 2)
    for labels in (np.full(4, 0.5), np.array([0.5, 1.5, 0.5, 1.5])):
        with pytest.raises(ValueError, match="Unknown label type: continuous"):
            NeuronClassifier(max_steps=2).fit(X, labels)
    with pytest.raises(ValueError, match="only one class"):
        NeuronClassifier(max_steps=2).fit(X, np.ones(4))


# --- warm start: going on, or an error; never a silent fresh start -----------------------------
def test_a_warm_start_whose_fitted_shape_does_not_fit_the_data_is_an_error_as_in_scikit_learn():
    from sklearn.neural_network import MLPClassifier

    from neuronlab import NetworkClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    wider = rng.normal(size=(120, 4))
    # the reference: scikit-learn refuses a warm start on other features too
    mlp = MLPClassifier((4,), max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)  # scikit-learn's own
        mlp.fit(X, y)
    with pytest.raises(ValueError):
        mlp.fit(wider, y)
    for estimator, target in [(NeuronClassifier(max_steps=5, warm_start=True), y),
                              (NeuronClassifier(max_steps=5, warm_start=True), np.arange(120) % 3),
                              (NeuronRegressor(max_steps=5, warm_start=True), X[:, 0])]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, target)
        before = estimator.coef_.copy()
        name = type(estimator).__name__
        with pytest.raises(ValueError, match=f"X has 4 features, but {name} is expecting 3 features as input; "
                                             "start afresh with fit and warm_start=False"):
            estimator.fit(wider, target)
        bad = X.copy()
        bad[0, 0] = np.nan
        with pytest.raises(ValueError) as raised:  # not a warm start's problem: no warm start's fix
            estimator.fit(bad, target)
        assert "NaN" in str(raised.value) and "warm_start" not in str(raised.value)
        # nothing changed half-way: the fitted model still predicts its own features
        assert np.array_equal(estimator.coef_, before) and estimator.n_features_in_ == 3
        estimator.predict(X)
    network = NetworkClassifier((4,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        network.fit(X, y)
    network.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match=r"theta_ has 21 parameters, and this network needs 26"):
        network.fit(X, y)
    # partial_fit goes on with the fitted model whatever warm_start says: the fix says to call fit
    network.set_params(hidden_layer_sizes=(4,), warm_start=False)
    with pytest.raises(ValueError, match="expecting 3 features as input; start afresh with fit"):
        network.partial_fit(wider, y)


def test_a_warm_start_goes_on_with_the_fitted_classes_and_names_a_new_label(breast_cancer):
    X, y = breast_cancer
    labels = np.where(y == 1, "benign", "malignant")
    clf = NeuronClassifier(learning_rate=0.5, max_steps=30, tol=0, random_state=0, warm_start=True).fit(X, labels)
    w, b = clf.coef_.copy(), clf.intercept_
    # rows of one class only: a fresh fit would refuse them; a warm start takes one step from (w, b)
    clf.set_params(max_steps=1)
    rows = X[y == 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(rows, labels[y == 1])
    assert list(clf.classes_) == ["benign", "malignant"] and clf.n_iter_ == 1
    # the step by hand: benign is class 0, so ∂J/∂z = σ(z) − 0
    residual = 1 / (1 + np.exp(-(rows @ w + b)))
    np.testing.assert_allclose(clf.coef_, w - 0.5 * rows.T @ residual / len(rows), rtol=1e-12, atol=1e-15)
    assert clf.intercept_ == pytest.approx(b - 0.5 * residual.mean(), rel=1e-12)
    with pytest.raises(ValueError, match="label.*unsure.*not among the classes benign, malignant.*warm_start=False"):
        clf.fit(X[:10], np.array(["unsure"] * 5 + ["benign"] * 5))


def test_a_warm_start_on_a_data_source_with_other_classes_is_an_error(tmp_path):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from neuronlab.sources.files import FileSource

    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 2))
    sources = []
    for name, labels in (("abc", ["a", "b", "c"]), ("abd", ["a", "b", "d"])):
        path = tmp_path / f"{name}.csv"
        pcsv.write_csv(pa.table({"x1": X[:, 0], "x2": X[:, 1], "label": [labels[i % 3] for i in range(90)]}), path)
        sources.append(FileSource(path, "label").configured(labels=labels, target_is_text=True))
    clf = NeuronClassifier(max_steps=5, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(sources[0])
    before = clf.coef_.copy()
    with pytest.raises(ValueError, match=r"learned the classes a, b, c; the data's classes are a, b, d.*warm_start=False"):
        clf.fit(sources[1])
    path = tmp_path / "wider.csv"
    pcsv.write_csv(pa.table({"x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 0], "label": ["abc"[i % 3] for i in range(90)]}),
                   path)
    with pytest.raises(ValueError, match=r"coef_ has shape \(3, 2\), and this data needs \(3, 3\) "
                                         r"\(3 feature\(s\), 3 classes\); start afresh with fit and warm_start=False"):
        clf.fit(FileSource(path, "label").configured(labels=["a", "b", "c"], target_is_text=True))
    assert np.array_equal(clf.coef_, before) and list(clf.classes_) == ["a", "b", "c"]


def test_a_warm_start_refused_on_a_data_source_leaves_a_network_regressor_as_it_was(tmp_path):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from neuronlab import NetworkRegressor
    from neuronlab.sources.files import FileSource

    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 0]])
    net = NetworkRegressor((3,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(X, Y)
    path = tmp_path / "one.csv"
    pcsv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "t": Y[:, 0]}), path)
    theta = net.theta_.copy()
    with pytest.raises(ValueError, match="theta_ has 17 parameters, and this network needs 13"):
        net.fit(FileSource(path, "t").configured(target_is_text=False))
    assert net.n_outputs_ == 2 and np.array_equal(net.theta_, theta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(X, Y)  # the fitted model still goes on in memory
    assert net.predict(X).shape == (80, 2)


def test_warnings_point_at_the_users_line_however_deep_the_fit(tmp_path):
    """A warning names the caller's line, not the library's, for a fit in memory, a fit on a data
    source (three more calls deep) and a network's fit."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from neuronlab import NetworkClassifier
    from neuronlab.sources.files import FileSource

    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "d.csv"
    pcsv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "label": y}), path)
    source = FileSource(path, "label").configured(labels=[0, 1], target_is_text=False)
    fits = [lambda: NeuronClassifier(max_steps=2).fit(X, y),
            lambda: NeuronClassifier(max_steps=2).fit(source),
            lambda: NetworkClassifier((3,), max_iter=2).fit(X, y),
            lambda: NeuronClassifier(max_steps=2).fit(X, y[:, None])]  # a column-vector y: DataConversionWarning
    for fit in fits:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit()
        assert caught and all(w.filename == __file__ for w in caught), [(w.filename, str(w.message)) for w in caught]
