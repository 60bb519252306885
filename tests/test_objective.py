"""The neuron model and its objective: forward by hand, backward as the chain rule, and ∇J
against central finite differences for every activation × loss pair, with sample weights and
penalties."""

import zlib

import numpy as np
import pytest
from numeric_checks import TRAINABLE_PAIRS as PAIRS, central_differences

from neuronlab import FunctionObjective, Neuron, NeuronObjective, NotDifferentiableError
from neuronlab.core.losses import LOSSES
from neuronlab.objectives.base import GRADIENT
from neuronlab.models.neuron import init_params


def test_forward_by_hand():
    # the course's person: 4 ft, 80 kg; w = (0.5, −0.02), b = 0.1
    z, y_hat = Neuron(2, "sigmoid").forward(np.array([0.5, -0.02, 0.1]), [[4.0, 80.0]])
    assert z[0] == pytest.approx(0.5 * 4 - 0.02 * 80 + 0.1)  # = 0.5
    assert y_hat[0] == pytest.approx(1 / (1 + np.exp(-0.5)))


def test_weights_and_bias_are_views_into_theta():
    neuron = Neuron(3, "identity")
    theta = np.array([1.0, 2.0, 3.0, 4.0])
    theta[1] = 20.0
    theta[-1] = 40.0
    assert neuron.weights(theta)[1] == 20.0 and float(neuron.bias(theta)) == 40.0
    assert np.shares_memory(neuron.weights(theta), theta) and np.shares_memory(neuron.bias(theta), theta)
    neuron.weights(theta)[0] = -1.0  # writing a view writes θ
    assert theta[0] == -1.0
    assert neuron.param_names == ["w1", "w2", "w3", "b"] and neuron.n_params == 4


def test_backward_is_the_chain_rule_through_z():
    # ∂J/∂w = Xᵀδ, ∂J/∂b = Σδ, written out for two rows
    X, delta = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([0.5, -2.0])
    grad = Neuron(2, "tanh").backward(np.zeros(3), X, delta)
    np.testing.assert_array_equal(grad, [1.0 * 0.5 + 3.0 * -2.0, 2.0 * 0.5 + -1.0 * -2.0, 0.5 - 2.0])


@pytest.mark.parametrize("activation, loss", PAIRS)
def test_forward_then_backward_is_the_gradient_of_the_mean_loss(activation, loss):
    """J(θ) = (1/n)·Σ L(f(X·w + b), y): forward gives ŷ, the loss and activation their
    derivatives δ = ∂L/∂ŷ·f′(z)/n, backward ∇J; against central finite differences of J."""
    rng = np.random.default_rng(zlib.crc32(f"{activation} {loss}".encode()))
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 2, 40).astype(float) if LOSSES[loss].targets == "binary" else rng.normal(size=40)
    neuron, L = Neuron(3, activation), LOSSES[loss]

    def J(theta):
        return float(np.mean(L(neuron.forward(theta, X)[1], y)))

    theta = rng.normal(size=4) * 0.7
    z, y_hat = neuron.forward(theta, X)
    delta = L.derivative(y_hat, y) * neuron.activation.derivative(z, y_hat) / len(y)
    grad = neuron.backward(theta, X, delta)
    numeric = central_differences(J, theta)
    assert np.linalg.norm(grad - numeric) < 1e-6 * max(np.linalg.norm(numeric), 1e-6)


def test_init_is_seeded_and_shaped():
    for method in ("normal", "uniform", "zeros", "xavier", "he"):
        a, b = init_params(5, method, 7), init_params(5, method, 7)
        assert a.shape == (6,) and np.array_equal(a, b)
    assert not np.array_equal(init_params(5, "normal", 1), init_params(5, "normal", 2))
    assert np.all(init_params(5, "zeros", 0) == 0)
    with pytest.raises(ValueError, match="unknown init"):
        init_params(5, "gaussian", 0)


@pytest.mark.parametrize("method, weight_std, bias_std", [
    ("normal", 1.0, 1.0),                     # wᵢ, b ~ N(0, 1)
    ("uniform", 1 / np.sqrt(3), 1 / np.sqrt(3)),  # U(−1, 1) has variance 2²/12
    ("xavier", np.sqrt(2 / 4), 0.0),          # N(0, 2/(n + 1)) with n = 3, b = 0
    ("he", np.sqrt(2 / 3), 0.0),              # N(0, 2/n), b = 0
])
def test_init_draws_from_the_stated_distribution(method, weight_std, bias_std):
    rng = np.random.default_rng(0)  # one generator: 4000 draws of θ for a neuron with 3 inputs
    thetas = np.array([init_params(3, method, rng) for _ in range(4000)])
    # 12 000 weights: the sample standard deviation has a standard error of about 0.65 %
    assert thetas[:, :-1].std() == pytest.approx(weight_std, rel=0.04)
    assert abs(thetas[:, :-1].mean()) < 0.04 * weight_std
    assert thetas[:, -1].std() == pytest.approx(bias_std, rel=0.06)
    if method == "uniform":
        assert thetas.min() >= -1.0 and thetas.max() < 1.0


def test_every_differentiable_activation_meets_every_loss_it_can():
    assert len(PAIRS) == 6 * 4 + 1  # log loss only with the sigmoid


@pytest.mark.parametrize("activation, loss", PAIRS)
@pytest.mark.parametrize("weighted, penalty", [(False, None), (True, "l2"), (True, "elasticnet")])
def test_gradient_matches_finite_differences(activation, loss, weighted, penalty):
    rng = np.random.default_rng(zlib.crc32(f"{activation} {loss} {weighted} {penalty}".encode()))  # stable
    n, p = 60, 4
    X = rng.normal(size=(n, p))
    y = rng.integers(0, 2, n).astype(float) if LOSSES[loss].targets == "binary" else rng.normal(size=n)
    weight = rng.uniform(0.1, 3.0, n) if weighted else None
    alpha, l1_ratio = {None: (0.0, 0.0), "l2": (0.3, 0.0), "elasticnet": (0.3, 0.4)}[penalty]
    neuron = Neuron(p, activation)
    objective = NeuronObjective(neuron, X, y, loss, sample_weight=weight, alpha=alpha, l1_ratio=l1_ratio)
    theta = rng.normal(size=p + 1) * 0.7
    value, grad = objective.loss_and_grad(theta)
    assert value == pytest.approx(objective.loss(theta), rel=1e-14)
    numeric = central_differences(objective.loss, theta)
    rel = np.linalg.norm(grad - numeric) / max(np.linalg.norm(numeric), 1e-12)
    assert rel < 1e-6, (grad, numeric)


def test_weighted_loss_equals_repeated_rows():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, 10).astype(float)
    counts = rng.integers(1, 4, 10)
    theta = rng.normal(size=3)
    weighted = NeuronObjective(Neuron(2, "sigmoid"), X, y, "log_loss", sample_weight=counts.astype(float))
    repeated = NeuronObjective(Neuron(2, "sigmoid"), np.repeat(X, counts, 0), np.repeat(y, counts), "log_loss")
    a, b = weighted.loss_and_grad(theta), repeated.loss_and_grad(theta)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)


def test_penalty_by_hand():
    X, y = np.zeros((2, 2)), np.zeros(2)
    objective = NeuronObjective(Neuron(2, "identity"), X, y, "squared_error", alpha=0.5, l1_ratio=0.0)
    # J = 0 (data term, z = b = 0) + ½·α·‖w‖² = ½·0.5·(9 + 16) = 6.25; the bias is not penalised
    assert objective.loss(np.array([3.0, -4.0, 0.0])) == pytest.approx(6.25)
    l1 = NeuronObjective(Neuron(2, "identity"), X, y, "squared_error", alpha=0.5, l1_ratio=1.0)
    assert l1.loss(np.array([3.0, -4.0, 0.0])) == pytest.approx(0.5 * 7)


def test_step_activation_refuses_gradients_but_has_a_loss():
    X, y = np.eye(2), np.array([1.0, 1.0])
    objective = NeuronObjective(Neuron(2, "step"), X, y, "squared_error")
    # z = (−1, 1) → ŷ = (0, 1); J = mean(½·1², ½·0²) = 0.25
    assert objective.loss(np.array([-1.0, 1.0, 0.0])) == pytest.approx(0.25)
    with pytest.raises(NotDifferentiableError, match="derivative 0 almost everywhere"):
        objective.loss_and_grad(np.zeros(3))


def test_function_objective_forms():
    f = FunctionObjective(lambda t: float(t @ t), 2, grad=lambda t: 2 * t)
    value, grad = f.loss_and_grad(np.array([1.0, 2.0]))
    assert value == 5.0 and np.array_equal(grad, [2.0, 4.0])
    fused = FunctionObjective(lambda t: (float(t @ t), 2 * t), 2, grad=True)
    assert fused.loss(np.array([1.0, 2.0])) == 5.0
    assert f.capabilities == {GRADIENT} and fused.offers(GRADIENT)
    plain = FunctionObjective(lambda t: float(t @ t), 2)
    assert plain.capabilities == frozenset() and not plain.offers(GRADIENT)
    with pytest.raises(NotDifferentiableError, match="FunctionObjective; use a search strategy"):
        plain.loss_and_grad(np.zeros(2))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_inputs_of_the_wrong_length_or_shape_are_refused(engine):
    X = np.arange(2000.0).reshape(1000, 2) / 1000
    with pytest.raises(ValueError, match=r"y must hold one target per row of X \(1000\)"):
        NeuronObjective(Neuron(2, "identity"), X, np.ones(10), engine=engine)
    with pytest.raises(ValueError, match=r"sample_weight must hold one weight per row of X \(1000\)"):
        NeuronObjective(Neuron(2, "identity"), X, np.ones(1000), sample_weight=np.ones(10), engine=engine)
    with pytest.raises(ValueError, match="with 3 feature.*got rows of 2"):
        NeuronObjective(Neuron(3, "identity"), X, np.ones(1000), engine=engine)


def test_x_given_as_a_list_is_read_as_numbers():
    # J = mean of ½(0·x + 0 − y)² = ½·(1 + 4)/2 at θ = 0
    objective = NeuronObjective(Neuron(1, "identity"), [[1.0], [2.0]], [1.0, 2.0])
    assert objective.loss(np.zeros(2)) == pytest.approx(1.25)
