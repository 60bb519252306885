"""Schedules against their formulas worked by hand, and the gradient transformations against
the update rules written out step by step."""

import math

import numpy as np
import pytest
from numeric_checks import bowl

from neuronlab import Neuron, NeuronObjective, minimize
from neuronlab.optim.transforms import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    StepDecay,
    chain,
    clip,
    clip_by_global_norm,
    get_schedule,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_rms,
    trace,
)


def test_schedules_by_hand():
    assert [Constant(0.1)(t) for t in (0, 7)] == [0.1, 0.1]
    assert [StepDecay(1.0, drop=0.5, every=10)(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    e = ExponentialDecay(2.0, rate=0.5, decay_steps=4)
    assert e(0) == 2.0 and e(8) == pytest.approx(0.5) and e(2) == pytest.approx(2.0 / math.sqrt(2))
    i = InverseTimeDecay(1.0, rate=2.0, decay_steps=10)
    assert i(5) == pytest.approx(0.5) and i(10) == pytest.approx(1 / 3)
    c = CosineDecay(1.0, decay_steps=10, final_fraction=0.1)
    assert c(0) == pytest.approx(1.0) and c(5) == pytest.approx(0.55)  # 0.1 + 0.9·½(1 + cos π/2)
    assert c(10) == pytest.approx(0.1) and c(20) == pytest.approx(0.1)
    w = LinearWarmup(StepDecay(1.0, drop=0.5, every=2), warmup_steps=4)
    assert [w(t) for t in range(9)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25])


def test_get_schedule_names_objects_and_mistakes():
    assert get_schedule(None, 0.3) == Constant(0.3)
    assert get_schedule("cosine", 0.3, decay_steps=50) == CosineDecay(0.3, 50)
    assert get_schedule("step", 1.0, warmup_steps=2)(0) == 0.5
    assert get_schedule(lambda t: 1.0 / (t + 1), 9.0)(3) == 0.25
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'cosin'"):
        get_schedule("cosin", 0.1)
    with pytest.raises(ValueError, match="drop must be a number in"):
        get_schedule("step", 0.1, drop=2.0)
    with pytest.raises(TypeError, match="schedule 'step'"):
        get_schedule("step", 0.1, dorp=0.5)


def test_the_history_shows_the_scheduled_learning_rate():
    result = minimize(bowl([1.0]), [1.0], "gd", learning_rate=0.4, max_steps=6, tol=0,
                      schedule=StepDecay(0.4, drop=0.5, every=2))
    assert np.isnan(result.history.learning_rate[0])
    np.testing.assert_allclose(result.history.learning_rate[1:], [0.4, 0.4, 0.2, 0.2, 0.1, 0.1])
    # θ ← (1 − η_t)·θ on J = ½θ²
    assert result.theta_last[0] == pytest.approx(0.6 * 0.6 * 0.8 * 0.8 * 0.9 * 0.9)


def _run(transformation, gradients, theta=None):
    theta = np.zeros(2) if theta is None else theta
    state = transformation.init(theta)
    out = []
    for g in gradients:
        d, state = transformation.update(np.asarray(g, dtype=float), state, theta)
        out.append(d.copy())  # d may be the state's buffer, valid until the next update
    return out


def test_momentum_and_nesterov_by_hand():
    g1, g2 = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    d1, d2 = _run(trace(0.5), [g1, g2])
    np.testing.assert_allclose(d1, g1)
    np.testing.assert_allclose(d2, 0.5 * g1 + g2)  # v₂ = μ·v₁ + g₂
    _, n2 = _run(trace(0.5, nesterov=True), [g1, g2])
    np.testing.assert_allclose(n2, g2 + 0.5 * (0.5 * g1 + g2))


def test_adaptive_rules_by_hand():
    g1, g2 = np.array([2.0, -0.5]), np.array([1.0, 1.0])
    a1, a2 = _run(scale_by_adagrad(eps=1e-300), [g1, g2])
    np.testing.assert_allclose(a1, np.sign(g1))
    np.testing.assert_allclose(a2, g2 / np.sqrt(g1**2 + g2**2))
    r1, r2 = _run(scale_by_rms(0.9, eps=1e-300), [g1, g2])
    np.testing.assert_allclose(r1, g1 / np.sqrt(0.1 * g1**2))
    np.testing.assert_allclose(r2, g2 / np.sqrt(0.9 * 0.1 * g1**2 + 0.1 * g2**2))
    m1, m2 = _run(scale_by_adam(0.9, 0.999, eps=1e-300), [g1, g2])
    np.testing.assert_allclose(m1, np.sign(g1))  # bias correction: m̂₁ = g₁, v̂₁ = g₁²
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    np.testing.assert_allclose(m2, (m / (1 - 0.81)) / np.sqrt(v / (1 - 0.999**2)))


@pytest.mark.parametrize("dtype, size", [(np.float64, 7), (np.float32, 7), (np.float64, 10_000),
                                         (np.float32, 10_000)])
def test_in_place_rules_give_the_bits_of_the_textbook_formulas(dtype, size):
    """The rules update their state in place; over many steps their directions are, bit for
    bit, the formulas written out with fresh arrays, and two runs' states are separate
    (10,000 float64 weights: Adam's compiled loop, which must give the same bits)."""
    from neuronlab.optim import transforms

    assert (size >= transforms.COMPILED_ADAM_FROM) == (size == 10_000)
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=size).astype(dtype) for _ in range(30)]

    def textbook(name):
        m, v, total, out = np.zeros(size, dtype), np.zeros(size, dtype), np.zeros(size, dtype), []
        for t, g in enumerate(grads, start=1):
            if name == "adam":
                m = 0.9 * m + (1.0 - 0.9) * g
                v = 0.999 * v + (1.0 - 0.999) * g * g
                out.append((m / (1.0 - 0.9**t)) / (np.sqrt(v / (1.0 - 0.999**t)) + 1e-8))
            elif name == "rms":
                v = 0.9 * v + (1.0 - 0.9) * g * g
                out.append(g / (np.sqrt(v) + 1e-8))
            elif name == "adagrad":
                total = total + g * g
                out.append(g / (np.sqrt(total) + 1e-10))
            else:
                m = 0.5 * m + g
                out.append(g + 0.5 * m if name == "nesterov" else m)
        return out

    rules = {"adam": scale_by_adam(0.9, 0.999, 1e-8), "rms": scale_by_rms(0.9, 1e-8),
             "adagrad": scale_by_adagrad(1e-10), "momentum": trace(0.5), "nesterov": trace(0.5, nesterov=True)}
    for name, rule in rules.items():
        theta = np.zeros(size, dtype)
        other = rule.init(theta)  # a second run's state, which the first must not touch
        state = rule.init(theta)
        for g, expected in zip(grads, textbook(name)):
            d, state = rule.update(g, state, theta)
            assert d.dtype == dtype
            np.testing.assert_array_equal(d, expected, err_msg=name)
        d, _ = rule.update(grads[0], other, theta)
        np.testing.assert_array_equal(d, textbook(name)[0], err_msg=name)


def test_clipping_and_chains():
    (d,) = _run(clip_by_global_norm(1.0), [[3.0, 4.0]])
    np.testing.assert_allclose(d, [0.6, 0.8])
    (d,) = _run(clip_by_global_norm(10.0), [[3.0, 4.0]])
    np.testing.assert_allclose(d, [3.0, 4.0])
    (d,) = _run(clip(1.0), [[3.0, -0.5]])
    np.testing.assert_allclose(d, [1.0, -0.5])
    _, d2 = _run(chain(clip_by_global_norm(1.0), trace(0.5)), [[3.0, 4.0], [0.0, 0.5]])
    np.testing.assert_allclose(d2, 0.5 * np.array([0.6, 0.8]) + [0.0, 0.5])
    with pytest.raises(ValueError, match="momentum must be a number in"):
        trace(1.5)


def test_mini_batch_history_lists_every_update_with_its_eta_and_batch_loss():
    # 10 rows in batches of 4 → 3 updates per epoch (4, 4, 2 rows), 2 epochs: the step
    # decay halves η every 2 updates, across epoch boundaries: t = 0…5 → 0.4 0.4 0.2 0.2 0.1 0.1
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 2))
    y = X @ np.array([1.0, -2.0]) + 0.5
    objective = NeuronObjective(Neuron(2, "identity"), X, y, "squared_error")
    result = minimize(objective, np.zeros(3), "sgd", batch_size=4, shuffle=False, max_steps=2, tol=0,
                      schedule=StepDecay(0.4, drop=0.5, every=2))
    updates = result.history.updates
    np.testing.assert_array_equal(updates.row, [1, 1, 1, 2, 2, 2])
    np.testing.assert_allclose(updates.learning_rate, [0.4, 0.4, 0.2, 0.2, 0.1, 0.1])
    # replay the updates by hand: J_B = mean of ½(θ·x̃ − y)² over the batch, θ ← θ − η∇J_B
    X1 = np.column_stack([X, np.ones(10)])
    theta, losses = np.zeros(3), []
    for eta in [0.4, 0.4, 0.2, 0.2, 0.1, 0.1]:
        t = len(losses) % 3
        rows = slice(4 * t, min(10, 4 * t + 4))
        r = X1[rows] @ theta - y[rows]
        losses.append(0.5 * np.mean(r ** 2))
        theta = theta - eta * X1[rows].T @ r / len(r)
    np.testing.assert_allclose(updates.loss, losses, rtol=1e-12)
    np.testing.assert_allclose(result.theta_last, theta, rtol=1e-12)
    # each epoch row holds the η of its last update; a full-batch run has no separate updates
    np.testing.assert_allclose(result.history.learning_rate[1:], [0.2, 0.1])
    assert result.history.as_dict()["updates"]["row"] == [1, 1, 1, 2, 2, 2]
    full = minimize(objective, np.zeros(3), "gd", learning_rate=0.1, max_steps=3, tol=0)
    assert len(full.history.updates.row) == 0 and "updates" not in full.history.as_dict()
