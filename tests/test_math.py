"""Activations and losses: values at hand-worked points, derivatives against finite differences."""

import math

import numpy as np
import pytest

from neuronlab.core.activations import ACTIVATIONS, get_activation, sigmoid
from neuronlab.core.losses import LOSSES, check_compatible, get_loss

DIFFERENTIABLE = [name for name, a in ACTIVATIONS.items() if a.differentiable]


def central_difference(f, z, h=1e-6):
    return (f(z + h) - f(z - h)) / (2 * h)


@pytest.mark.parametrize(
    "name, z, expected",
    [
        ("identity", 1.5, 1.5),
        ("sigmoid", 0.0, 0.5),
        ("sigmoid", math.log(3.0), 0.75),  # 1 / (1 + 1/3)
        ("tanh", math.log(2.0), 0.6),  # (2 − 1/2) / (2 + 1/2)
        ("relu", -2.0, 0.0),
        ("relu", 2.0, 2.0),
        ("leaky_relu", -2.0, -0.02),
        ("softplus", 0.0, math.log(2.0)),
        ("step", 0.0, 1.0),
        ("step", -1e-9, 0.0),
    ],
)
def test_activation_values_by_hand(name, z, expected):
    assert float(ACTIVATIONS[name](np.array([z]))[0]) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_activation_derivative_matches_finite_differences(name):
    act = ACTIVATIONS[name]
    z = np.random.default_rng(0).uniform(-4, 4, 200)
    z = z[np.abs(z) > 1e-3]  # keep away from the kink of relu / leaky relu at 0
    analytic = act.derivative(z, act(z))
    numeric = central_difference(act.function, z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_sigmoid_and_softplus_are_finite_for_huge_z():
    z = np.array([-1e300, -1e6, -750.0, 0.0, 750.0, 1e6, 1e300])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(z)
        sp = ACTIVATIONS["softplus"](z)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(sp))
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    assert sp[1] == 0.0 and sp[5] == 1e6


def test_step_is_not_differentiable():
    assert not ACTIVATIONS["step"].differentiable


@pytest.mark.parametrize(
    "name, y_hat, y, expected",
    [
        ("squared_error", 3.0, 1.0, 2.0),  # ½·2²
        ("absolute_error", -1.0, 2.0, 3.0),
        ("huber", 0.5, 0.0, 0.125),  # inside: ½·0.5²
        ("huber", 3.0, 0.0, 2.5),  # outside: 1·(3 − ½)
        ("log_loss", 0.8, 1.0, -math.log(0.8)),
        ("log_loss", 0.8, 0.0, -math.log(0.2)),
        ("hinge", 0.3, 1.0, 0.7),  # max(0, 1 − 1·0.3)
        ("hinge", 0.3, 0.0, 1.3),  # max(0, 1 + 0.3)
        ("hinge", 2.0, 1.0, 0.0),
    ],
)
def test_loss_values_by_hand(name, y_hat, y, expected):
    value = LOSSES[name](np.array([y_hat]), np.array([y]))[0]
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_derivative_matches_finite_differences(name):
    loss = LOSSES[name]
    rng = np.random.default_rng(1)
    if loss.targets == "binary":
        y = rng.integers(0, 2, 200).astype(float)
    else:
        y = rng.normal(size=200)
    if name == "log_loss":
        y_hat = rng.uniform(0.05, 0.95, 200)
    else:
        y_hat = rng.normal(size=200) * 2
    # stay away from the kinks: ŷ = y (absolute error), |ŷ − y| = 1 (huber), s·ŷ = 1 (hinge)
    r = y_hat - y
    margin = (2 * y - 1) * y_hat
    keep = (np.abs(r) > 1e-3) & (np.abs(np.abs(r) - 1) > 1e-3) & (np.abs(margin - 1) > 1e-3)
    y_hat, y = y_hat[keep], y[keep]
    numeric = central_difference(lambda p: loss.value(p, y), y_hat)
    np.testing.assert_allclose(loss.derivative(y_hat, y), numeric, rtol=1e-6, atol=1e-8)


def test_log_loss_logit_form_is_stable_and_exact():
    loss = LOSSES["log_loss"]
    z = np.array([-1e6, -50.0, -1.0, 0.0, 1.0, 50.0, 1e6])
    for target in (0.0, 1.0):
        y = np.full_like(z, target)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            value = loss.from_logit(z, y)
            grad = loss.from_logit_derivative(z, y)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
        # by hand: ln(1 + e^z) − y·z  ≈  max(z, 0) − y·z for |z| large
        assert value[0] == pytest.approx(1e6 * target)
        assert value[-1] == pytest.approx(1e6 * (1 - target))
        assert value[3] == pytest.approx(math.log(2.0))
    # logit form equals the ŷ form where the latter is accurate
    zs = np.linspace(-5, 5, 11)
    y = (zs > 0).astype(float)
    np.testing.assert_allclose(loss.from_logit(zs, y), loss.value(sigmoid(zs), y), rtol=1e-12)


def test_unknown_names_and_incompatible_pairs():
    with pytest.raises(ValueError, match="unknown activation 'sigmod'"):
        get_activation("sigmod")
    with pytest.raises(ValueError, match="unknown loss 'msee'"):
        get_loss("msee")
    with pytest.raises(TypeError):
        get_loss(3)
    assert get_loss("mse").name == "squared_error"
    with pytest.raises(ValueError, match="needs ŷ in \\[0, 1\\]"):
        check_compatible(ACTIVATIONS["relu"], LOSSES["log_loss"])
