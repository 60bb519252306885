"""Every optimiser reaches the reference optimum of a convex problem (scikit-learn's logistic
regression, numpy's least squares); early stopping, reduce-on-plateau, recovery from divergence,
the stability limit, mini-batch determinism, and the strategies' names."""

import numpy as np
import pytest
from numeric_checks import bowl, largest_curvature

from neuronlab import STRATEGIES, FunctionObjective, Neuron, NeuronObjective, get_strategy, minimize
from neuronlab.optim.transforms import chain, clip_by_global_norm, scale_by_adam

import sklearn  # noqa: F401  (the test extra: a missing install fails loudly)
from sklearn.linear_model import LogisticRegression  # noqa: E402

NEW = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "line_search", "lbfgs")


@pytest.fixture(scope="module")
def logistic():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3)) * [1.0, 0.5, 2.0]
    y = (X @ [1.0, -2.0, 0.5] + 0.3 + rng.standard_normal(400) > 0).astype(float)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    objective = NeuronObjective(Neuron(3, "sigmoid"), X, y, "log_loss")
    theta = np.append(ref.coef_[0], ref.intercept_)
    return objective, theta, objective.loss(theta)


@pytest.fixture(scope="module")
def least_squares():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 3)) * [1.0, 2.0, 3.0]
    y = X @ [1.0, 2.0, 3.0] + 1.0 + 0.1 * rng.standard_normal(300)
    theta, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(300)]), y, rcond=None)
    objective = NeuronObjective(Neuron(3, "identity"), X, y, "squared_error")
    return objective, theta, objective.loss(theta)


SETTINGS = {
    "gradient_descent": dict(learning_rate=2.0, max_steps=5000, tol=1e-13),
    "momentum": dict(learning_rate=0.5, max_steps=5000, tol=1e-13),
    "nesterov": dict(learning_rate=0.5, max_steps=5000, tol=1e-13),
    "adagrad": dict(learning_rate=0.5, max_steps=5000, tol=1e-13),
    "rmsprop": dict(learning_rate=0.01, max_steps=5000, tol=1e-13, plateau_patience=20),
    "adam": dict(learning_rate=0.05, max_steps=5000, tol=1e-13),
    "line_search": dict(tol=1e-11),
    "lbfgs": dict(tol=1e-12),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_strategy_reaches_the_logistic_regression_optimum(name, logistic):
    objective, theta_ref, loss_ref = logistic
    result = minimize(objective, np.zeros(4), name, **SETTINGS[name])
    assert result.status == "converged", result.message
    assert result.loss <= loss_ref * (1 + 1e-9)
    np.testing.assert_allclose(result.theta, theta_ref, atol=2e-4)
    learning_rates = result.history.learning_rate[1:]
    assert np.all(learning_rates > 0)  # η of every step is in the History


@pytest.mark.parametrize("name", ["gradient_descent", "momentum", "adam", "line_search", "lbfgs"])
def test_least_squares_to_lstsq(name, least_squares):
    objective, theta_ref, loss_ref = least_squares
    options = {"gradient_descent": dict(learning_rate=0.2), "momentum": dict(learning_rate=0.05),
               "adam": dict(learning_rate=0.1)}.get(name, {})
    result = minimize(objective, np.zeros(4), name, max_steps=5000, tol=1e-14, **options)
    np.testing.assert_allclose(result.theta, theta_ref, atol=1e-5)
    assert result.loss == pytest.approx(loss_ref, rel=1e-9)


def test_mini_batch_sgd_reaches_the_optimum_and_is_seeded(logistic):
    objective, theta_ref, loss_ref = logistic
    options = dict(learning_rate=0.5, batch_size=20, max_steps=60, tol=0, schedule="cosine")
    result = minimize(objective, np.zeros(4), "sgd", random_state=3, **options)
    assert result.status == "max_steps" and len(result.history) == 61  # a row per epoch
    assert result.history.evaluations[-1] == 1 + 60 * 20  # the start, then 400/20 batches × 60 epochs
    assert objective.loss(result.theta_last) == pytest.approx(loss_ref, rel=1e-4)
    np.testing.assert_allclose(result.theta_last, theta_ref, rtol=0.02)
    again = minimize(objective, np.zeros(4), "sgd", random_state=3, **options)
    other = minimize(objective, np.zeros(4), "sgd", random_state=4, **options)
    assert np.array_equal(again.theta_last, result.theta_last)
    assert not np.array_equal(other.theta_last, result.theta_last)
    # the cosine schedule ran over all T = 60 × 20 updates: the last, t = T − 1, used
    # η_t = η·½(1 + cos(π·t/T)), nearly 0
    assert result.history.learning_rate[-1] == pytest.approx(0.5 * 0.5 * (1 + np.cos(np.pi * 1199 / 1200)),
                                                             rel=1e-9)
    with pytest.raises(TypeError, match="batch_size needs an objective over rows"):
        minimize(bowl([1.0, 1.0]), [1.0, 1.0], "sgd")


def test_early_stopping_restores_the_best_theta():
    # training pulls θ to 4 along θ_t = 4(1 − ½ᵗ) = 0, 2, 3, 3.5, …; the validation loss
    # ½(θ − 2)² is lowest at step 1 (θ = 2), so that θ comes back
    result = minimize(bowl([1.0], 4.0), [0.0], "gd", learning_rate=0.5, max_steps=100, tol=0,
                      validation=bowl([1.0], 2.0), patience=3)
    assert result.status == "converged" and "early stopping" in result.message
    assert len(result.history) == 5  # steps 2, 3, 4 did not improve on step 1
    assert result.theta[0] == pytest.approx(2.0)
    assert result.loss == pytest.approx(0.5 * 2.0**2)  # the training loss at that θ
    np.testing.assert_allclose(result.info["validation_loss"], [2.0, 0.0, 0.5, 1.125, 1.53125])
    # restore-best also when training ends for another reason (here the budget)
    result = minimize(bowl([1.0], 4.0), [0.0], "gd", learning_rate=0.5, max_steps=3, tol=0,
                      validation=bowl([1.0], 2.0), patience=10)
    assert result.status == "max_steps" and result.theta[0] == pytest.approx(2.0)
    keep_last = minimize(bowl([1.0], 4.0), [0.0], "gd", learning_rate=0.5, max_steps=3, tol=0,
                         validation=bowl([1.0], 2.0), restore_best=False)
    assert keep_last.theta[0] == pytest.approx(3.5)


def test_reduce_on_plateau_lowers_eta_and_notes_it():
    # the loss is flat (∇J = 1 everywhere but J constant): every step is a plateau
    flat = FunctionObjective(lambda t: (1.0, np.ones(1)), 1, grad=True)
    result = minimize(flat, [0.0], "gd", learning_rate=1.0, max_steps=7, tol=0,
                      plateau_patience=3, plateau_factor=0.1)
    # the first row sets the best; rows 1–3 do not improve → ×0.1; rows 4–6 → ×0.1 again
    np.testing.assert_allclose(result.history.learning_rate[1:], [1, 1, 1, 0.1, 0.1, 0.1, 0.01])
    assert [step for step, _ in result.history.events] == [3, 6]


def test_recovery_from_divergence_halves_eta_and_converges(least_squares):
    objective, theta_ref, _ = least_squares
    limit = 2.0 / largest_curvature(objective.source.X)  # ≈ 0.215 for this X
    assert 0.125 < limit < 0.25
    result = minimize(objective, np.zeros(4), "gd", learning_rate=0.5, max_steps=2000, tol=1e-13,
                      recover=True)
    assert result.status == "converged", result.message
    notes = [text for _, text in result.history.events]
    assert len(notes) == 2  # 0.5 → 0.25 (still > limit) → 0.125 (stable)
    assert "halved η from 0.5 to 0.25" in notes[0] and "from 0.25 to 0.125" in notes[1]
    assert result.history.learning_rate[-1] == 0.125
    assert result.info["recoveries"] == 2
    np.testing.assert_allclose(result.theta, theta_ref, atol=1e-5)


def test_recovery_rolls_back_to_the_best_theta_met_later_in_the_run(least_squares):
    # a linear warm-up walks η up past the stability limit: the loss falls for a while, then
    # diverges; the roll-back must go to the lowest point met (not to θ0), and the next row
    # is one step of the halved η from there, with ∇J at that point
    objective, theta_ref, _ = least_squares
    limit = objective.stability_limit()
    result = minimize(objective, np.zeros(4), "gd", learning_rate=4 * limit, warmup_steps=40, max_steps=400,
                      tol=1e-13, recover=True, record_params=True)
    history = result.history
    row = history.events[0][0]
    best = int(np.argmin(history.loss[:row + 1]))
    assert 0 < best < row
    theta_best = history.params[best]
    eta = history.learning_rate[row + 1]
    expected = theta_best - eta * objective.loss_and_grad(theta_best)[1]
    np.testing.assert_allclose(history.params[row + 1], expected, rtol=1e-12, atol=1e-12)
    assert result.status == "converged"
    np.testing.assert_allclose(result.theta, theta_ref, atol=1e-5)


def test_mini_batch_recovery_and_an_interrupt_inside_an_epoch(least_squares):
    objective, theta_ref, _ = least_squares
    result = minimize(objective, np.zeros(4), "sgd", batch_size=50, learning_rate=0.6, max_steps=40, tol=0,
                      recover=True, random_state=1)
    assert result.info["recoveries"] >= 1
    rolled = result.history.events[0][0]
    updates = result.history.updates
    # every epoch row, the rolled-back one too, has its 6 updates (300 rows / 50)
    np.testing.assert_array_equal(np.bincount(updates.row)[1:], np.full(len(result.history) - 1, 6))
    halved = updates.learning_rate[updates.row > rolled]
    assert np.all(halved <= 0.3)  # after the roll-back every update uses the halved η (or less)
    # constant-η SGD ends in a noise ball around the optimum: J within 5 % of J*
    np.testing.assert_allclose(objective.loss(result.theta_last), objective.loss(theta_ref), rtol=0.05)

    class StopsInsideTheThirdEpoch(NeuronObjective):
        calls = 0

        def loss_and_grad_batch(self, theta, batch):
            StopsInsideTheThirdEpoch.calls += 1
            if StopsInsideTheThirdEpoch.calls == 15:  # the 3rd of epoch 3's 6 updates
                raise KeyboardInterrupt
            return super().loss_and_grad_batch(theta, batch)

    stopped = minimize(StopsInsideTheThirdEpoch(Neuron(3, "identity"), objective.source.X, objective.source.y, "squared_error"),
                       np.zeros(4), "sgd", batch_size=50, learning_rate=0.01, max_steps=10, tol=0)
    assert stopped.status == "interrupted" and len(stopped.history) == 3  # rows 0, 1, 2
    # the two updates made inside epoch 3 are forgotten with it: θ_last is row 2's θ
    np.testing.assert_array_equal(stopped.history.updates.row, [1] * 6 + [2] * 6)
    np.testing.assert_array_equal(stopped.theta_last, stopped.history.params[2])
    assert not np.array_equal(stopped.history.params[2], stopped.history.params[1])


def test_divergence_reports_the_stability_limit(least_squares):
    objective, _, _ = least_squares
    limit = 2.0 / largest_curvature(objective.source.X)
    result = minimize(objective, np.zeros(4), "gd", learning_rate=0.5, max_steps=500)
    assert result.status == "diverged"
    assert f"stable only for η < {limit:.4g}" in result.message and "you used η = 0.5" in result.message
    assert result.info["stability_limit"] == pytest.approx(limit, rel=1e-4)


def test_lbfgs_records_every_iteration_and_can_be_stopped(logistic):
    objective, _, _ = logistic
    result = minimize(objective, np.zeros(4), "lbfgs", callback=lambda step: step.step >= 3)
    assert result.status == "interrupted" and len(result.history) == 4
    assert np.all(np.diff(result.history.loss) < 0)


def test_custom_chain_and_clipping(logistic):
    objective, theta_ref, _ = logistic
    transform = chain(clip_by_global_norm(0.1), scale_by_adam())
    result = minimize(objective, np.zeros(4), "gd", learning_rate=0.05, max_steps=5000, tol=1e-13,
                      transform=transform)
    np.testing.assert_allclose(result.theta, theta_ref, atol=2e-4)
    clipped = get_strategy("momentum", clip_norm=0.01, learning_rate=1.0, max_steps=1, tol=0)
    first = clipped.minimize(objective, np.zeros(4))
    assert first.history.step_size[1] == pytest.approx(0.01)  # η·‖clip(∇J)‖ = 1 × 0.01


def test_new_strategies_are_registered_and_check_their_settings():
    for name in NEW:
        assert name in STRATEGIES and get_strategy(name).name == name
    with pytest.raises(ValueError, match="batch_size must be > 0"):
        get_strategy("sgd", batch_size=0).validate()
    with pytest.raises(ValueError, match="beta1 must be a number in"):
        minimize(bowl([1.0]), [1.0], "adam", beta1=1.0)
    with pytest.raises(ValueError, match="c must be in"):
        minimize(bowl([1.0]), [1.0], "line_search", c=2)
    with pytest.raises(TypeError, match="transform must be a GradientTransformation"):
        minimize(bowl([1.0]), [1.0], "gd", transform="adam")


def test_line_search_stops_when_no_step_lowers_the_loss():
    # the "gradient" points uphill: no η ≥ min_learning_rate passes the Armijo test
    wrong = FunctionObjective(lambda t: (float(t @ t), -2 * t), 2, grad=True)
    result = minimize(wrong, [1.0, 2.0], "line_search", min_learning_rate=1e-6)
    assert result.status == "stalled" and result.n_steps == 0
    assert "no step η ≥ 1e-06 lowers the loss" in result.message and "gradient is wrong" in result.message
    assert np.array_equal(result.theta, [1.0, 2.0])


@pytest.mark.parametrize("name, options, first, second", [
    # J = ½θ² (∇J = θ) from θ0 = 1 with η = 0.1; each rule worked by hand, with settings other
    # than the defaults so that a setting handed to the wrong place shows
    ("momentum", dict(momentum=0.5), 0.9, 0.9 - 0.1 * (0.5 * 1.0 + 0.9)),  # v = μ·v + g
    ("nesterov", dict(momentum=0.5), 1 - 0.1 * 1.5,  # d = g + μ·v = 1 + 0.5·1
     0.85 - 0.1 * (0.85 + 0.5 * (0.5 * 1.0 + 0.85))),  # v = 0.5 + 0.85, d = g + μ·v
    ("adagrad", dict(eps=1e-300), 0.9, 0.9 - 0.1 * 0.9 / np.sqrt(1.0 + 0.81)),  # G = Σ g²
    # RMSProp, ρ = 0.5: s₁ = ½·1, d₁ = 1/√½; s₂ = ½·s₁ + ½·θ₁², d₂ = θ₁/√s₂
    ("rmsprop", dict(rho=0.5, eps=1e-300), 1 - 0.1 * np.sqrt(2.0),
     (1 - 0.1 * np.sqrt(2.0)) * (1 - 0.1 / np.sqrt(0.25 + 0.5 * (1 - 0.1 * np.sqrt(2.0)) ** 2))),
    # Adam, β₁ = ½, β₂ = ¾: step 1 moves by η (m̂₁ = g₁, v̂₁ = g₁²); step 2 with g₂ = 0.9:
    # m₂ = ½·½ + ½·0.9 = 0.7, v₂ = ¾·¼ + ¼·0.81 = 0.39, m̂₂ = 0.7/(1 − ¼), v̂₂ = 0.39/(1 − 9/16)
    ("adam", dict(beta1=0.5, beta2=0.75, eps=1e-300), 0.9,
     0.9 - 0.1 * (0.7 / 0.75) / np.sqrt(0.39 / (1 - 0.5625))),
])
def test_each_optimiser_takes_its_first_two_steps_by_its_own_rule(name, options, first, second):
    result = minimize(bowl([1.0], 0.0), [1.0], name, learning_rate=0.1, max_steps=2, tol=0, **options)
    np.testing.assert_allclose(result.history.params[1:, 0], [first, second], rtol=1e-12)
    np.testing.assert_allclose(result.history.learning_rate[1:], 0.1)


def test_line_search_backtracks_by_armijo_and_grows_the_next_trial():
    # J = ½θ² from θ0 = 1, first trial η = 0.3, then 2× the last accepted η; accept when
    # J(θ − η∇J) ≤ J(θ) − c·η·‖∇J‖², else halve.  θ ← (1 − η)·θ:
    #   η = 0.3 → 0.7;  η = 0.6 → 0.28;  η = 1.2 → −0.056;
    #   η = 2.4 → 0.0784, J = 0.00307 > J = 0.00157: refused, η = 1.2 → 0.0112
    result = minimize(bowl([1.0], 0.0), [1.0], "line_search", learning_rate=0.3, max_steps=4, tol=0)
    assert result.status == "max_steps"
    np.testing.assert_allclose(result.history.learning_rate[1:], [0.3, 0.6, 1.2, 1.2])
    np.testing.assert_allclose(result.history.params[:, 0], [1.0, 0.7, 0.28, -0.056, 0.0112], rtol=1e-12)
    # one evaluation per accepted trial, two for the step with the refused one
    np.testing.assert_array_equal(result.history.evaluations, [1, 2, 3, 4, 6])
