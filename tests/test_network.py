"""The dense network and its objective: the chain rule checked against finite differences,
the softmax layer against scikit-learn's multinomial logistic regression, and the network
with no hidden layer against the neuron."""

import numpy as np
import pytest

from neuronlab.core.activations import softmax
from neuronlab.models.network import Network
from neuronlab.models.neuron import Neuron, init_params
from neuronlab.objectives.network import NetworkObjective
from neuronlab.objectives.neuron import NeuronObjective


def central_differences(f, theta, h=1e-6):
    grad = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        grad[j] = (f(theta + e) - f(theta - e)) / (2 * h)
    return grad


def targets(rng, n, output, k, loss):
    if output == "softmax":
        return rng.integers(0, k, n).astype(float)
    if loss == "log_loss":
        y = rng.integers(0, 2, (n, k)).astype(float)
    else:
        y = rng.normal(size=(n, k))
    return y[:, 0] if k == 1 else y


HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]
CASES = [("softmax", "log_loss", 3), ("sigmoid", "log_loss", 1), ("sigmoid", "log_loss", 2),
         ("identity", "squared_error", 1), ("identity", "squared_error", 2),
         ("identity", "absolute_error", 2), ("identity", "huber", 1), ("tanh", "squared_error", 1)]


# no hidden layer: the hidden activation plays no part, so it is taken once
SHAPES = [((), "tanh")] + [(hidden, f) for hidden in [(4,), (3, 5)] for f in HIDDEN]


@pytest.mark.parametrize("hidden,activation", SHAPES)
@pytest.mark.parametrize("output,loss,k", CASES)
def test_gradient_matches_central_differences(hidden, activation, output, loss, k):
    rng = np.random.default_rng(7)
    n, p = 23, 3
    X = rng.normal(size=(n, p))
    y = targets(rng, n, output, k, loss)
    weights = rng.uniform(0.5, 2.0, n)
    net = Network(p, hidden, activation, n_outputs=k, output=output)
    objective = NetworkObjective(net, X, y, loss, sample_weight=weights, alpha=0.03, l1_ratio=0.0)
    theta = net.init_params("normal", 3) * 0.7
    J, grad = objective.loss_and_grad(theta)
    assert J == pytest.approx(objective.loss(theta), rel=1e-14)
    numeric = central_differences(objective.loss, theta)
    # relu and absolute error have kinks; the random points lie away from them
    assert np.linalg.norm(grad - numeric) <= 1e-6 * max(1.0, np.linalg.norm(numeric))


def test_loss_is_written_out_by_hand_for_a_2_2_1_network():
    # z₁ = xW₁ + b₁, a₁ = tanh(z₁), z₂ = a₁W₂ + b₂, ŷ = σ(z₂), L = −[y ln ŷ + (1 − y) ln(1 − ŷ)]
    net = Network(2, (2,), "tanh", n_outputs=1, output="sigmoid")
    W1 = np.array([[0.5, -0.3], [0.2, 0.8]]); b1 = np.array([0.1, -0.2])
    W2 = np.array([[1.5], [-0.7]]); b2 = np.array([0.05])
    theta = net.layout.pack(W1=W1, b1=b1, W2=W2, b2=b2)
    X = np.array([[1.0, 2.0], [-1.0, 0.5]]); y = np.array([1.0, 0.0])
    total = 0.0
    for x, t in zip(X, y):
        h = [np.tanh(x[0] * W1[0, j] + x[1] * W1[1, j] + b1[j]) for j in range(2)]
        z = h[0] * W2[0, 0] + h[1] * W2[1, 0] + b2[0]
        p = 1 / (1 + np.exp(-z))
        total += -(t * np.log(p) + (1 - t) * np.log(1 - p))
    objective = NetworkObjective(net, X, y, "log_loss")
    assert objective.loss(theta) == pytest.approx(total / 2, rel=1e-13)


def test_no_hidden_layer_and_one_output_is_the_neuron():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)); y = (rng.random(50) < 0.5).astype(float)
    net = Network(4, (), n_outputs=1, output="sigmoid")
    theta = net.init_params("xavier", 11)
    assert np.array_equal(theta, init_params(4, "xavier", 11))  # same draws, same layout
    for method in ("normal", "uniform", "he"):
        assert np.array_equal(net.init_params(method, 5), init_params(4, method, 5))
    neuron = NeuronObjective(Neuron(4, "sigmoid"), X, y, "log_loss", alpha=0.1, engine="numpy")
    network = NetworkObjective(net, X, y, "log_loss", alpha=0.1)
    J1, g1 = neuron.loss_and_grad(theta)
    J2, g2 = network.loss_and_grad(theta)
    assert J2 == pytest.approx(J1, rel=1e-13)
    np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-15)


def test_softmax_objective_is_scikit_learns_multinomial_logistic_regression():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    n, C = X.shape[0], 10.0
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=1000).fit(X, y)
    net = Network(4, (), n_outputs=3, output="softmax")
    objective = NetworkObjective(net, X, y.astype(float), "log_loss", alpha=1.0 / (C * n))
    # scikit-learn's objective: mean log loss + ‖W‖²/(2Cn), written out independently
    theta = net.layout.pack(W1=reference.coef_.T, b1=reference.intercept_)
    p = reference.predict_proba(X)
    expected = -np.mean(np.log(p[np.arange(n), y])) + (reference.coef_ ** 2).sum() / (2 * C * n)
    J, grad = objective.loss_and_grad(theta)
    assert J == pytest.approx(expected, abs=1e-10)
    assert np.linalg.norm(grad) < 1e-6  # scikit-learn's optimum is a stationary point of this J
    assert np.allclose(softmax(X @ reference.coef_.T + reference.intercept_), p)


def test_float32_rows_give_float64_sums_close_to_float64():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 5)); y = rng.integers(0, 3, 200).astype(float)
    net = Network(5, (6,), "tanh", n_outputs=3, output="softmax")
    theta = net.init_params("xavier", 2)
    J64, g64 = NetworkObjective(net, X, y, "log_loss").loss_and_grad(theta)
    J32, g32 = NetworkObjective(net, X.astype(np.float32), y, "log_loss").loss_and_grad(theta)
    assert g32.dtype == np.float64
    assert J32 == pytest.approx(J64, rel=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5)


def test_mini_batch_is_the_mean_over_its_rows():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3)); y = rng.integers(0, 4, 40).astype(float)
    net = Network(3, (5,), "relu", n_outputs=4, output="softmax")
    objective = NetworkObjective(net, X, y, "log_loss")
    theta = net.init_params("he", 3)
    rows = np.array([3, 17, 5, 30])
    J, grad = objective.loss_and_grad_batch(theta, rows)
    J_ref, grad_ref = NetworkObjective(net, X[rows], y[rows], "log_loss").loss_and_grad(theta)
    assert J == J_ref
    assert np.array_equal(grad, grad_ref)


@pytest.mark.parametrize("bad", [
    dict(hidden_layer_sizes=(0,)), dict(hidden_layer_sizes=(3,), activation=["tanh", "relu"]),
    dict(output="softmax", n_outputs=1), dict(output="bogus"), dict(activation="bogus", hidden_layer_sizes=(2,))])
def test_bad_shapes_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError, match=r"hidden|activation|softmax|output"):
        Network(3, **bad)


def test_softmax_needs_log_loss():
    with pytest.raises(ValueError, match="log_loss"):
        NetworkObjective(Network(2, (), n_outputs=3, output="softmax"), np.zeros((3, 2)), [0, 1, 2], "squared_error")
