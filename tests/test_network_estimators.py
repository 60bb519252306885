"""NetworkClassifier and NetworkRegressor: scikit-learn's contract, the neuron as the network
with no hidden layer, curved boundaries that one neuron cannot draw, and the settings that
scikit-learn's MLP users find surprising (warm_start, partial_fit, early stopping)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.model_selection import train_test_split

from neuronlab import NetworkClassifier, NetworkRegressor, NeuronClassifier, NeuronRegressor
from neuronlab.io.datasets import load_table


def standardised(X):
    return (X - X.mean(0)) / X.std(0)


def plane(name):
    table = load_table(name)
    return np.column_stack([table["x1"].to_numpy(), table["x2"].to_numpy()]), table["label"].to_numpy()


@pytest.mark.parametrize("estimator", [NetworkClassifier((4,), max_iter=100, random_state=0),
                                       NetworkRegressor((4,), max_iter=100, random_state=0)],
                         ids=["classifier", "regressor"])
def test_scikit_learn_estimator_checks(estimator):
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_iris], ids=["two classes", "three classes"])
def test_no_hidden_layer_trains_exactly_as_the_neuron_classifier(loader):
    X, y = loader(return_X_y=True)
    X = standardised(X)
    settings = dict(solver="gradient_descent", learning_rate=0.1, alpha=0.01, tol=0, random_state=3)
    network = NetworkClassifier((), max_iter=60, batch_size=None, **settings).fit(X, y)
    neuron = NeuronClassifier(max_steps=60, **settings).fit(X, y)
    W, b = network.coefs_[0], network.intercepts_[0]
    if W.shape[1] == 1:
        assert np.array_equal(W[:, 0], neuron.coef_) and b[0] == neuron.intercept_
    else:
        assert np.array_equal(W.T, neuron.coef_) and np.array_equal(b, neuron.intercept_)
    assert np.array_equal(network.predict_proba(X), neuron.predict_proba(X))


def test_no_hidden_layer_regressor_is_the_linear_neuron():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 + rng.normal(0, 0.1, 80)
    settings = dict(solver="gradient_descent", learning_rate=0.1, alpha=0.0, tol=0, random_state=1)
    network = NetworkRegressor((), max_iter=50, batch_size=None, **settings).fit(X, y)
    neuron = NeuronRegressor(max_steps=50, **settings).fit(X, y)
    assert np.array_equal(network.coefs_[0][:, 0], neuron.coef_)
    assert np.array_equal(network.predict(X), neuron.predict(X))


@pytest.mark.filterwarnings("ignore:NetworkClassifier stopped at max_iter")
@pytest.mark.parametrize("name", ["xor", "circles", "moons"])
def test_one_hidden_layer_draws_the_curved_boundaries_one_neuron_cannot(name):
    X, y = plane(name)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    network = NetworkClassifier((8,), random_state=0).fit(X_train, y_train)
    assert network.score(X_test, y_test) >= 0.97
    if name == "xor":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            neuron = NeuronClassifier(random_state=0).fit(X_train, y_train)
        assert neuron.score(X_test, y_test) <= 0.65  # about chance: no line separates xor


def test_layers_are_views_of_one_theta_and_a_seed_gives_the_same_bits():
    X, y = plane("circles")
    first = NetworkClassifier((5, 3), activation=["tanh", "relu"], max_iter=30, tol=0, random_state=7).fit(X, y)
    second = NetworkClassifier((5, 3), activation=["tanh", "relu"], max_iter=30, tol=0, random_state=7).fit(X, y)
    assert np.array_equal(first.theta_, second.theta_)
    assert [W.shape for W in first.coefs_] == [(2, 5), (5, 3), (3, 1)]
    assert all(np.shares_memory(W, first.theta_) for W in first.coefs_ + first.intercepts_)
    # the forward pass written out with the fitted layers
    a = np.tanh(X @ first.coefs_[0] + first.intercepts_[0])
    a = np.maximum(a @ first.coefs_[1] + first.intercepts_[1], 0)
    z = (a @ first.coefs_[2] + first.intercepts_[2])[:, 0]
    np.testing.assert_allclose(first.decision_function(X), z, rtol=1e-12, atol=1e-12)
    assert np.array_equal(first.predict(X), np.where(z > 0, 1, 0))


def test_warm_start_continues_and_partial_fit_takes_one_epoch_a_call():
    X, y = load_iris(return_X_y=True)
    X = standardised(X)
    twice = NetworkClassifier((6,), max_iter=10, tol=0, random_state=2, warm_start=True)
    twice.fit(X, y)
    after_first = twice.theta_.copy()
    twice.fit(X, y)
    # the second fit starts where the first ended: its row 0 is J there
    J = twice.objective(X, y.astype(float), n_classes=3).loss(after_first)
    assert twice.loss_curve_[0] == pytest.approx(J, rel=1e-12)
    assert twice.loss_curve_[-1] < twice.loss_curve_[0]
    partial = NetworkClassifier((6,), random_state=2)
    with pytest.raises(ValueError, match="classes"):
        partial.partial_fit(X[:20], y[:20], classes=[0])
    for _ in range(3):
        partial.partial_fit(X, y, classes=[0, 1, 2])
    assert partial.n_iter_ == 3 and len(partial.loss_curve_) == 4
    # later calls give the same classes or none; others are an error, as in scikit-learn
    with pytest.raises(ValueError, match=r"classes=0, 1 is not what the first partial_fit was given \(0, 1, 2\)"):
        partial.partial_fit(X, y, classes=[0, 1])
    from sklearn.neural_network import MLPClassifier
    reference = MLPClassifier((6,), random_state=2)
    reference.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError):
        reference.partial_fit(X, y, classes=[0, 1])
    assert partial.n_iter_ == 3
    assert partial.loss_curve_[-1] < partial.loss_curve_[0]


@pytest.mark.parametrize("solver", ["adam", "momentum", "sgd"])
def test_partial_fit_epochs_are_one_fits_epochs(solver):
    """Three calls of partial_fit on the same rows are a fit of three epochs, bit for bit: the
    optimiser's state (Adam's moments, the velocity), the schedule's t and the shuffling go on
    from call to call (scikit-learn's partial_fit keeps its optimiser too)."""
    X, y = load_iris(return_X_y=True)
    X = standardised(X)
    settings = dict(hidden_layer_sizes=(6,), solver=solver, learning_rate=0.01, batch_size=32, random_state=4,
                    schedule="inverse_time")
    whole = NetworkClassifier(max_iter=3, tol=0, **settings).fit(X, y)
    assert np.all(np.diff(whole.loss_curve_) < 0)  # each epoch better: the best θ is the last
    partial = NetworkClassifier(**settings)
    for _ in range(3):
        partial.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(partial.theta_, whole.theta_)
    np.testing.assert_array_equal(partial.loss_curve_, whole.loss_curve_)
    regressor = NetworkRegressor(**settings)
    for _ in range(2):
        regressor.partial_fit(X[:, :3], X[:, 3])
    np.testing.assert_array_equal(regressor.theta_,
                                  NetworkRegressor(max_iter=2, tol=0, **settings).fit(X[:, :3], X[:, 3]).theta_)


def test_early_stopping_keeps_the_best_held_out_theta_and_its_curve():
    X, y = load_breast_cancer(return_X_y=True)
    X = standardised(X)
    clf = NetworkClassifier((32,), learning_rate=0.05, max_iter=300, early_stopping=True,
                            n_iter_no_change=5, random_state=0).fit(X, y)
    curve = clf.validation_loss_curve_
    assert curve is not None and len(curve) == len(clf.loss_curve_)
    assert clf.status_ == "converged" and "early stopping" in clf.result_.message
    assert clf.n_iter_ < 300


def test_regressor_with_several_outputs():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (300, 2))
    Y = np.column_stack([np.sin(2 * X[:, 0]), X[:, 0] * X[:, 1]])
    reg = NetworkRegressor((32,), learning_rate=0.01, max_iter=800, tol=0, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2)
    assert reg.score(X, Y) > 0.9


@pytest.mark.parametrize("params,message", [
    (dict(hidden_layer_sizes=(0,)), "hidden layer size"),
    (dict(hidden_layer_sizes=(3, 3), activation=["tanh"]), "one per hidden layer"),
    (dict(activation="bogus"), "unknown activation"),
    (dict(init="glorot"), "unknown init"),
    (dict(max_iter=0), "max_iter must be ≥ 1"),
    (dict(batch_size="big"), "batch_size"),
])
def test_bad_settings_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        NetworkClassifier(**params).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


@pytest.mark.parametrize("solver,extra", [
    ("gradient_descent", dict(batch_size=None, learning_rate=0.5)), ("sgd", dict(learning_rate=0.1)),
    ("momentum", dict(learning_rate=0.1)), ("nesterov", dict(learning_rate=0.1)),
    ("adam", dict(learning_rate=0.02)), ("rmsprop", dict(learning_rate=0.01)),
    ("adagrad", dict(learning_rate=0.1)), ("line_search", dict(batch_size=None)),
    ("lbfgs", dict(batch_size=None)), ("monte_carlo", dict(batch_size=None)),
    ("error_driven", dict(batch_size=None)),
])
def test_every_strategy_of_the_loop_trains_a_network(solver, extra):
    X, y = plane("xor")
    clf = NetworkClassifier((4,), solver=solver, max_iter=150, tol=0, random_state=0, **extra).fit(X, y)
    start = clf.history_.loss[0]
    assert clf.status_ in ("max_steps", "converged")
    assert np.nanmin(clf.history_.loss) < start
    assert clf.objective(X, y.astype(float)).loss(clf.theta_) < start


def test_divergence_is_explained_and_recovery_goes_on():
    X, y = plane("circles")
    with pytest.warns(Warning, match="diverged"):
        wild = NetworkClassifier((8,), solver="gradient_descent", batch_size=None, learning_rate=1e4,
                                 max_iter=100, random_state=0).fit(X, y)
    assert wild.status_ == "diverged" and "best θ" in wild.result_.message
    assert np.isfinite(wild.theta_).all()
    rescued = NetworkClassifier((8,), solver="gradient_descent", batch_size=None, learning_rate=1e4,
                                max_iter=100, tol=0, recover=True, random_state=0).fit(X, y)
    assert rescued.status_ != "diverged" and rescued.history_.events


@pytest.mark.parametrize("solver, batch_size", [("lbfgs", None), ("adam", 500)])
def test_same_seed_same_bits_on_one_or_two_blas_threads(solver, batch_size):
    """Products large enough that BLAS runs them on its own threads (4,096-row chunks × a 300 × 64
    layer) give the same θ, bit for bit, on one BLAS thread and on two."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    X = rng.normal(size=(6000, 300))
    y = (X[:, :3].sum(axis=1) + 0.5 * rng.normal(size=6000) > 0).astype(int)
    thetas = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            clf = NetworkClassifier((64,), solver=solver, batch_size=batch_size, max_iter=4, tol=0,
                                    random_state=1).fit(X, y)
        thetas.append(clf.theta_)
    np.testing.assert_array_equal(thetas[0], thetas[1])
