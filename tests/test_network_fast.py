"""The network's fast mini-batch path (preallocated buffers, float32, chunked full passes):
the same numbers as the plain forward and backward passes, the same bits for the same seed,
and no array of a batch's size allocated per step once the buffers exist."""

import tracemalloc

import numpy as np
import pytest

from neuronlab.core.activations import ACTIVATIONS
from neuronlab.core.losses import multinomial_log_loss
from neuronlab.models.network import Network, Workspace
from neuronlab.objectives import network as network_objective
from neuronlab.objectives.network import NetworkObjective
from neuronlab.train.registry import minimize


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "step"])
def test_in_place_activations_equal_the_allocating_ones(name):
    f = ACTIVATIONS[name]
    z = np.random.default_rng(0).normal(size=(7, 5)) * 3
    for dtype in (np.float64, np.float32):
        zd = z.astype(dtype)
        a = f(zd)
        out = np.empty_like(zd)
        assert np.array_equal(f.apply(zd, out), a) and out.dtype == dtype
        np.testing.assert_array_equal(f.derivative_at(zd, a, np.empty_like(zd)),
                                      f.derivative(zd, a).astype(dtype))


def test_fused_softmax_log_loss_matches_the_plain_one():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(30, 4)) * 5
    c = rng.integers(0, 4, 30)
    losses, delta = multinomial_log_loss(Z, c)
    out = Z.copy()
    losses2, delta2 = multinomial_log_loss(out, c, out=out)
    assert delta2 is out
    np.testing.assert_allclose(losses2, losses, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(delta2, delta, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_workspace_passes_equal_the_plain_passes(dtype):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 6)).astype(dtype)
    net = Network(6, (8, 5), ["tanh", "relu"], n_outputs=3, output="softmax")
    theta = net.init_params("xavier", 3)
    delta = rng.normal(size=(50, 3)).astype(dtype)
    plain = net.backward(theta, net.forward_pass(theta, X), delta)
    work = Workspace(net, 64, dtype)
    theta_d = net.weights_as(theta, dtype, work)
    fast = net.backward(theta_d, net.forward_pass(theta_d, X, work), delta.copy(), work)
    assert fast is work.grad and fast.dtype == dtype
    assert np.array_equal(fast.astype(np.float64), plain)


def test_a_full_pass_in_chunks_equals_one_pass(monkeypatch):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(301, 4)); y = rng.integers(0, 3, 301).astype(float)
    w = rng.uniform(0.5, 2, 301)
    net = Network(4, (7,), "sigmoid", n_outputs=3, output="softmax")
    theta = net.init_params("xavier", 4)
    J, g = NetworkObjective(net, X, y, "log_loss", sample_weight=w).loss_and_grad(theta)
    monkeypatch.setattr(network_objective, "CHUNK_ROWS", 64)
    J2, g2 = NetworkObjective(net, X, y, "log_loss", sample_weight=w).loss_and_grad(theta)
    assert J2 == pytest.approx(J, rel=1e-13)
    np.testing.assert_allclose(g2, g, rtol=1e-12, atol=1e-15)


def fit(X, y, seed=0, epochs=5):
    net = Network(X.shape[1], (16,), "relu", n_outputs=3, output="softmax")
    objective = NetworkObjective(net, X, y, "log_loss")
    return minimize(objective, net.init_params("he", seed), "adam", learning_rate=1e-2, batch_size=32,
                    max_steps=epochs, tol=0, random_state=seed)


def data(n=300, p=10, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] > 0).astype(float) + (X[:, 1] > 0.5)
    return X, y


def test_same_seed_same_bits_in_float64_and_float32():
    X, y = data()
    for Xd in (X, X.astype(np.float32)):
        a, b = fit(Xd, y), fit(Xd, y)
        assert np.array_equal(a.theta_last, b.theta_last)
        assert np.array_equal(a.history.loss, b.history.loss)


def test_float32_training_stays_close_to_float64():
    X, y = data()
    r64, r32 = fit(X, y), fit(X.astype(np.float32), y)
    assert r32.loss == pytest.approx(r64.loss, rel=1e-3)
    np.testing.assert_allclose(r32.theta_last, r64.theta_last, rtol=1e-2, atol=1e-3)


def test_a_mini_batch_step_allocates_nothing_of_the_batch_size():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 200)).astype(np.float32)
    y = rng.integers(0, 10, 2000).astype(np.float32)
    net = Network(200, (8,), "relu", n_outputs=10, output="softmax")
    objective = NetworkObjective(net, X, y, "log_loss")
    theta = net.init_params("he", 0)
    rows = rng.permutation(2000)[:256]
    objective.loss_and_grad_batch(theta, rows)  # the buffers are made here
    tracemalloc.start()
    try:
        objective.loss_and_grad_batch(theta, rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    batch_bytes = 256 * 200 * 4
    # what remains: the float64 gradient (θ's size, twice at most), the batch's y and a few
    # vectors of one number per row
    assert peak < 16 * net.n_params + 16_000 < batch_bytes // 4
