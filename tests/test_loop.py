"""The one training loop (``train.loop``): a run stepped by hand is the run ``minimize`` makes,
every monitor works with more than one step rule, η can be changed between steps, and a run
can be interrupted (by a call, a callback or a signal) keeping the best θ."""

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from numeric_checks import bowl, largest_curvature

from neuronlab import (
    LBFGS,
    Adagrad,
    Adam,
    EquationObjective,
    ErrorDrivenSearch,
    FunctionObjective,
    GaussNewton,
    GradientDescent,
    LineSearch,
    Momentum,
    MonteCarloSearch,
    Nesterov,
    Neuron,
    NeuronObjective,
    PerceptronRule,
    RMSProp,
    StochasticGradientDescent,
)
from neuronlab.train.history import Step
from neuronlab.train.loop import UpdateRecord
from neuronlab.train.lr_find import LearningRateRangeTest
from neuronlab.train.registry import STRATEGIES

SRC = Path(__file__).resolve().parents[1] / "src"


# --- problems ------------------------------------------------------------------------------

def logistic_data(n=60, seed=0):
    """Rows of 3 features with noisy 0/1 labels (not separable: the log loss has a finite minimum)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.standard_normal(n) > 0).astype(float)
    return X, y


def logistic(n=60, seed=0):
    X, y = logistic_data(n, seed)
    return NeuronObjective(Neuron(3, "sigmoid"), X, y, "log_loss")


def linear_regression(n=40, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = X @ [1.0, 2.0, -1.0] + 0.5 + 0.1 * rng.standard_normal(n)
    return NeuronObjective(Neuron(3, "identity"), X, y, "squared_error")


def separable_step_neuron():
    """0/1 targets on either side of the line x0 + x1 = 0, with a margin: the perceptron converges."""
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, (200, 2))
    X = X[np.abs(X.sum(axis=1)) > 0.3][:40]
    y = (X.sum(axis=1) > 0).astype(float)
    return NeuronObjective(Neuron(2, "step"), X, y, "squared_error")


def circle_and_line():
    return EquationObjective(["x^2 + y^2 = 25", "x - y = 1"])


def overfitting_split(seed=11):
    """20 training rows with 10 features (separable, so the weights grow without bound) and
    200 held-out rows from the same weak signal: the held-out log loss falls, then rises."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((220, 10))
    y = (X[:, 0] + 2.0 * rng.standard_normal(220) > 0).astype(float)
    train, held_out = np.arange(20), np.arange(20, 220)
    neuron = Neuron(10, "sigmoid")
    return (NeuronObjective(neuron, X, y, "log_loss", rows=train),
            NeuronObjective(neuron, X, y, "log_loss", rows=held_out), X[held_out], y[held_out])


def log_loss_numpy(theta, X, y):
    """The mean log loss of a sigmoid neuron, written out: mean of log(1 + e^z) − y·z."""
    z = X @ theta[:-1] + theta[-1]
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


# --- 1. stepping by hand is minimize -------------------------------------------------------

# (case id, strategy factory, objective factory, θ0, the status its settings end with and why)
CASES = [
    # η = 0.2 < 2/λ_max = 0.5 on the bowl: converges long before 1000 steps
    ("gradient_descent", lambda: GradientDescent(learning_rate=0.2, max_steps=1000, tol=1e-10),
     lambda: bowl([1.0, 4.0], [1.0, -2.0]), [5.0, 5.0], "converged"),
    # η = 0.6 > 2/λ = 0.5: the loss grows ×(1 − 2.4)² per step
    ("gradient_descent_too_large", lambda: GradientDescent(learning_rate=0.6),
     lambda: bowl([4.0]), [1.0], "diverged"),
    # η = 1.3 > 2/λ: recovery halves η twice, to 0.325 < 0.5, then it converges
    ("gradient_descent_recover", lambda: GradientDescent(learning_rate=1.3, recover=True),
     lambda: bowl([4.0], [3.0]), [0.0], "converged"),
    # tol = 0: only the 5-epoch budget can stop it
    ("gradient_descent_batch_size",
     lambda: GradientDescent(learning_rate=0.5, batch_size=16, max_steps=5, tol=0, random_state=1),
     logistic, np.zeros(4), "max_steps"),
    ("sgd", lambda: StochasticGradientDescent(learning_rate=0.1, batch_size=7, max_steps=8, tol=0,
                                               random_state=2),
     logistic, np.zeros(4), "max_steps"),
    # ηλ = 0.4 < 2(1 + μ): heavy ball converges on the bowl
    ("momentum", lambda: Momentum(learning_rate=0.1, momentum=0.9, max_steps=3000, tol=1e-10),
     lambda: bowl([1.0, 4.0], [1.0, -2.0]), [5.0, 5.0], "converged"),
    ("nesterov", lambda: Nesterov(learning_rate=0.05, max_steps=30, tol=0), logistic, np.zeros(4),
     "max_steps"),
    ("adagrad", lambda: Adagrad(learning_rate=0.5, max_steps=40, tol=0), logistic, np.zeros(4),
     "max_steps"),
    ("rmsprop", lambda: RMSProp(learning_rate=0.01, max_steps=40, tol=0), logistic, np.zeros(4),
     "max_steps"),
    ("adam", lambda: Adam(learning_rate=0.05, max_steps=40, tol=0), logistic, np.zeros(4), "max_steps"),
    ("line_search", lambda: LineSearch(tol=1e-8), logistic, np.zeros(4), "converged"),
    ("lbfgs", lambda: LBFGS(tol=1e-8), logistic, np.zeros(4), "converged"),
    ("monte_carlo", lambda: MonteCarloSearch(low=-3, high=3, budget=300, random_state=0),
     lambda: bowl([1.0, 4.0]), [0.0, 0.0], "max_steps"),
    # the chunked path (an equation evaluates many guesses at once); the band |x + y − 1| ≤ 0.045
    # covers ~1.5 % of the box, so 5000 guesses reach it
    ("monte_carlo_chunked", lambda: MonteCarloSearch(low=-3, high=3, budget=5000, target_loss=1e-3,
                                                     random_state=0),
     lambda: EquationObjective("x + y = 1"), [0.0, 0.0], "converged"),
    ("error_driven", lambda: ErrorDrivenSearch(step=1.0, budget=5000), lambda: bowl([1.0, 4.0], [0.3, 0.7]),
     [0.0, 0.0], "converged"),
    # a fixed step of 0.3 from 0 cannot land on the centre 0.5
    ("error_driven_fixed", lambda: ErrorDrivenSearch(step=0.3, step_rule="fixed", budget=5000),
     lambda: bowl([1.0], [0.5]), [0.0], "stalled"),
    ("perceptron", lambda: PerceptronRule(learning_rate=1.0, max_steps=1000), separable_step_neuron,
     np.zeros(3), "converged"),
    ("gauss_newton", lambda: GaussNewton(tol=1e-10), circle_and_line, [1.0, 1.0], "converged"),
    # η grows past 2/λ = 0.5 well before max_lr = 10: the loss explodes
    ("lr_range_test", lambda: LearningRateRangeTest(min_lr=1e-3, max_lr=10.0, steps=60),
     lambda: bowl([4.0], [1.0]), [0.0], "diverged"),
]


def assert_same_run(a, b):
    assert np.array_equal(a.theta, b.theta)
    assert np.array_equal(a.theta_last, b.theta_last)
    assert a.status == b.status and a.message == b.message
    assert (a.loss == b.loss) or (math.isnan(a.loss) and math.isnan(b.loss))
    assert a.n_steps == b.n_steps and a.n_evals == b.n_evals
    assert a.suggested_learning_rate == b.suggested_learning_rate
    ha, hb = a.history, b.history
    for column in ("loss", "grad_norm", "step_size", "learning_rate", "evaluations"):
        assert np.array_equal(getattr(ha, column), getattr(hb, column), equal_nan=True), column
    if ha.record_params:
        assert np.array_equal(ha.params, hb.params)
    for column in ("row", "loss", "learning_rate"):
        assert np.array_equal(getattr(ha.updates, column), getattr(hb.updates, column))
    assert ha.events == hb.events


def test_every_registered_strategy_has_a_stepping_case():
    names = {case[1]().name for case in CASES}
    assert set(STRATEGIES) <= names
    assert {"converged", "max_steps", "diverged", "stalled"} <= {case[4] for case in CASES}


@pytest.mark.parametrize("case_id, make_strategy, make_objective, theta0, status", CASES,
                         ids=[case[0] for case in CASES])
def test_stepping_by_hand_gives_the_run_minimize_gives(case_id, make_strategy, make_objective,
                                                       theta0, status):
    training = make_strategy().start(make_objective(), theta0)
    while not training.finished:
        training.step()
    by_hand = training.result()
    run = make_strategy().minimize(make_objective(), theta0)
    assert run.status == status, run.message
    assert_same_run(by_hand, run)


# --- 2. monitors ---------------------------------------------------------------------------

def test_divergence_of_full_batch_descent_keeps_the_lowest_point_and_suggests_a_working_eta():
    # λ = (1, 4.2), η = 0.49: the first direction shrinks ×0.51 per step, the second grows
    # ×|1 − 0.49·4.2| = 1.058, so the loss falls for a while, then grows for good
    objective = bowl([1.0, 4.2])
    eta = 0.49
    result = GradientDescent(learning_rate=eta, max_steps=1000).minimize(objective, [10.0, 0.01])
    assert result.status == "diverged"
    lowest = int(np.argmin(result.history.loss))
    assert 0 < lowest < len(result.history) - 1  # the best point is neither the start nor the end
    np.testing.assert_array_equal(result.theta, result.history.params[lowest])
    assert result.loss == result.history.loss[lowest]
    assert result.suggested_learning_rate < eta
    # and the suggestion is below the stability limit 2/λ_max: descent with it converges
    assert result.suggested_learning_rate < 2 / 4.2
    again = GradientDescent(learning_rate=result.suggested_learning_rate, max_steps=5000).minimize(
        objective, [10.0, 0.01])
    assert again.status == "converged"


def test_divergence_of_mini_batch_descent_keeps_the_lowest_epoch_and_suggests_a_smaller_eta():
    objective = linear_regression()
    eta = 3.0
    assert eta > 2 / largest_curvature(objective.source.X)  # past the stability limit of full-batch descent
    result = StochasticGradientDescent(learning_rate=eta, batch_size=8, max_steps=500,
                                       random_state=0).minimize(objective, np.zeros(4))
    assert result.status == "diverged"
    assert result.history.learning_rate[-1] == eta
    assert result.suggested_learning_rate < eta
    lowest = int(np.argmin(result.history.loss))
    np.testing.assert_array_equal(result.theta, result.history.params[lowest])
    assert math.isfinite(result.loss) and result.loss == result.history.loss[lowest]


def test_lbfgs_does_not_diverge_on_a_convex_problem():
    # its Wolfe line search only accepts steps that lower J: the divergence monitor never fires
    result = LBFGS(tol=1e-10).minimize(bowl([1.0, 100.0, 1e4]), [1.0, 1.0, 1.0])
    assert result.status == "converged"
    assert np.all(np.diff(result.history.loss) <= 0)
    np.testing.assert_allclose(result.theta, 0.0, atol=1e-6)


def test_recovery_with_gradient_descent_halves_eta_until_stable():
    lam, eta = 4.0, 1.3
    halvings = next(k for k in range(10) if eta / 2**k < 2 / lam)  # descent is stable for η < 2/λ
    assert halvings == 2
    result = GradientDescent(learning_rate=eta, recover=True).minimize(bowl([lam], [3.0]), [0.0])
    assert result.status == "converged", result.message
    events = result.history.events
    assert len(events) == halvings and all("halved η" in text for _, text in events)
    assert result.info["recoveries"] == halvings
    assert result.history.learning_rate[-1] == eta / 2**halvings
    assert result.theta[0] == pytest.approx(3.0, abs=1e-3)


def heavy_ball_is_stable(eta, lam, mu):
    """Heavy-ball momentum on ½λθ² multiplies (θ_t, θ_{t−1}) by a matrix whose eigenvalues are
    the roots of z² − (1 + μ − ηλ)z + μ: stable when both lie inside the unit circle."""
    return max(abs(np.roots([1.0, -(1.0 + mu - eta * lam), mu]))) < 1.0


def test_recovery_with_momentum_halves_eta_until_stable():
    # (η = 3, not 2: 2 halves to 0.5, whose first step θ: 0 → 6 reflects across the centre 3 to a
    # point of the same loss — see test_a_jump_to_a_point_of_equal_loss_is_not_convergence)
    lam, mu, eta = 4.0, 0.9, 3.0
    halvings = next(k for k in range(10) if heavy_ball_is_stable(eta / 2**k, lam, mu))
    assert halvings == 2
    result = Momentum(learning_rate=eta, momentum=mu, recover=True).minimize(bowl([lam], [3.0]), [0.0])
    assert result.status == "converged", result.message
    events = result.history.events
    assert len(events) == halvings and all("halved η" in text for _, text in events)
    assert result.history.learning_rate[-1] == eta / 2**halvings
    assert result.theta[0] == pytest.approx(3.0, abs=1e-3)


def check_restores_the_best_held_out_theta(result, X_held_out, y_held_out):
    assert result.status == "converged" and "early stopping" in result.message, result.message
    params = result.history.params
    held_out = [log_loss_numpy(theta, X_held_out, y_held_out) for theta in params]
    best = int(np.argmin(held_out))
    assert 0 < best < len(params) - 1  # it fell, then rose: the best is not the last row
    np.testing.assert_array_equal(result.theta, params[best])
    assert result.loss == result.history.loss[best]
    np.testing.assert_allclose(result.info["validation_loss"], held_out, rtol=1e-10)


def test_early_stopping_restores_the_best_held_out_theta_with_sgd():
    train, validation, X_held_out, y_held_out = overfitting_split()
    result = StochasticGradientDescent(learning_rate=0.03, batch_size=5, max_steps=500, validation=validation,
                                       patience=5, random_state=0).minimize(train, np.zeros(11))
    check_restores_the_best_held_out_theta(result, X_held_out, y_held_out)


def test_early_stopping_restores_the_best_held_out_theta_with_lbfgs():
    train, validation, X_held_out, y_held_out = overfitting_split()
    result = LBFGS(validation=validation, patience=3).minimize(train, np.zeros(11))
    check_restores_the_best_held_out_theta(result, X_held_out, y_held_out)


def test_early_stopping_sees_the_row_on_which_the_target_loss_ends_the_run():
    # the held-out loss is the training loss here, falling at every step: the best row is the last
    objective = bowl([1.0, 4.0])
    result = GradientDescent(learning_rate=0.1, validation=bowl([1.0, 4.0]), target_loss=1e-3).minimize(
        objective, [2.0, 2.0])
    assert result.status == "converged" and "target_loss" in result.message
    assert np.all(np.diff(result.history.loss) < 0)
    assert len(result.info["validation_loss"]) == len(result.history)
    np.testing.assert_array_equal(result.theta, result.history.params[-1])
    assert result.loss <= 1e-3


def check_stops_on_first_row_at_target(result, target):
    assert result.status == "converged", result.message
    losses = result.history.loss
    assert losses[-1] <= target < losses[-2]
    assert np.all(losses[:-1] > target)


def test_target_loss_stops_sgd_at_the_first_epoch_below_it():
    objective = logistic(n=200)
    # the start θ = 0 has log loss ln 2 ≈ 0.69; the data's best is well below 0.55
    result = StochasticGradientDescent(learning_rate=0.1, batch_size=10, max_steps=500, target_loss=0.55,
                                       random_state=0).minimize(objective, np.zeros(4))
    check_stops_on_first_row_at_target(result, 0.55)


def test_target_loss_stops_lbfgs_at_the_first_iterate_below_it():
    result = LBFGS(target_loss=1e-3).minimize(bowl([1.0, 10.0]), [3.0, -2.0])
    check_stops_on_first_row_at_target(result, 1e-3)


def test_target_loss_stops_monte_carlo_at_the_first_guess_below_it():
    result = MonteCarloSearch(low=-1, high=1, budget=10_000, target_loss=0.02, random_state=4).minimize(
        bowl([1.0, 1.0]), [0.0, 0.0])
    check_stops_on_first_row_at_target(result, 0.02)


def slow_bowl(seconds=0.01):
    """½‖θ‖² that takes ``seconds`` an evaluation."""
    def loss_and_grad(theta):
        time.sleep(seconds)
        return 0.5 * float(theta @ theta), theta.copy()
    return FunctionObjective(loss_and_grad, 2, grad=True)


@pytest.mark.parametrize("strategy", [
    GradientDescent(learning_rate=0.01, tol=0, time_limit=0.1),
    MonteCarloSearch(budget=10_000, time_limit=0.1, random_state=0),
], ids=["gradient_descent", "monte_carlo"])
def test_time_limit_ends_the_run_as_max_steps(strategy):
    result = strategy.minimize(slow_bowl(0.01), [1.0, 1.0])  # about 10 evaluations fit in the limit
    assert result.status == "max_steps" and "time limit" in result.message
    elapsed = result.history.elapsed
    # the first row found past the limit ends it (the limit is read a moment after the row's
    # time is written, hence the 1 ms)
    assert elapsed[-2] < 0.1 <= elapsed[-1] + 1e-3


def test_plateau_reduces_eta_by_the_factor_after_the_note():
    # η = 2/λ on ½λθ²: θ flips between ±1, the loss stays at 2 — a plateau; after 3 such rows
    # η is halved to 1/λ, which lands on the minimum in one step
    lam = 4.0
    result = GradientDescent(learning_rate=2 / lam, max_steps=50, tol=0, plateau_patience=3,
                             plateau_factor=0.5).minimize(bowl([lam]), [1.0])
    assert [row for row, _ in result.history.events] == [3]
    assert "plateau" in result.history.events[0][1]
    eta = result.history.learning_rate
    np.testing.assert_array_equal(eta[1:4], 2 / lam)
    assert eta[4] == 0.5 * eta[3]
    assert result.status == "converged" and result.theta[0] == 0.0 and result.n_steps == 4


def test_a_jump_to_a_point_of_equal_loss_is_not_convergence():
    # on ½λ(θ − 3)² with η = 2/λ, θ − 3 is multiplied by 1 − ηλ = −1: θ bounces between 0 and 6
    lam = 4.0
    result = GradientDescent(learning_rate=2 / lam, max_steps=100).minimize(bowl([lam], [3.0]), [0.0])
    assert result.history.loss[1] == result.history.loss[0] == 18.0
    assert result.status != "converged"
    assert "larger learning rate" not in result.message  # the step is too large, not too small


def test_a_step_too_small_to_move_is_stalled_and_names_half_the_stability_limit():
    objective = logistic()
    X, y = logistic_data()
    # the limit independently: 2/λ_max of the logistic loss's curvature bound X̃ᵀX̃/(4n)
    Xt = np.column_stack([X, np.ones(len(X))])
    limit = 2.0 / (np.linalg.eigvalsh(Xt.T @ Xt / len(X))[-1] / 4.0)
    result = GradientDescent(learning_rate=1e-6, max_steps=1000).minimize(objective, np.zeros(4))
    assert result.status == "stalled" and result.n_steps == 1
    assert f"try learning_rate ≈ {limit / 2:.3g}" in result.message
    # the same tolerance met by a fair step (η = limit/4) is convergence
    fair = GradientDescent(learning_rate=limit / 4, max_steps=5000).minimize(objective, np.zeros(4))
    assert fair.status == "converged"
    assert fair.history.grad_norm[-1] < 1e-2 * fair.history.grad_norm[0]


# --- 3. changing η between steps -----------------------------------------------------------

def test_a_new_learning_rate_takes_effect_at_the_next_update():
    lam, c, theta0, eta1, eta2 = 4.0, 3.0, 0.0, 0.1, 0.3
    training = GradientDescent(learning_rate=eta1, max_steps=10, tol=0).start(bowl([lam], [c]), [theta0])
    training.step()
    theta1 = theta0 - eta1 * lam * (theta0 - c)
    assert training.theta[0] == pytest.approx(theta1, rel=1e-15)
    training.learning_rate = eta2
    assert training.learning_rate == pytest.approx(eta2, rel=1e-15)
    assert training.theta[0] == pytest.approx(theta1, rel=1e-15)  # nothing moved yet
    training.step()
    theta2 = theta1 - eta2 * lam * (theta1 - c)
    assert training.theta[0] == pytest.approx(theta2, rel=1e-15)
    np.testing.assert_allclose(training.history.learning_rate[1:], [eta1, eta2], rtol=1e-15)


def test_a_new_learning_rate_takes_effect_at_the_next_mini_batch_update():
    training = StochasticGradientDescent(learning_rate=0.1, batch_size=3, max_steps=5, tol=0,
                                         random_state=0).start(logistic(n=10), np.zeros(4))
    first = [training.step(), training.step()]
    training.learning_rate = 0.05
    rest = [training.step(), training.step()]  # the last two updates of the first epoch
    assert [r.learning_rate for r in first] == [0.1, 0.1]
    assert isinstance(rest[0], UpdateRecord) and rest[0].learning_rate == pytest.approx(0.05, rel=1e-15)
    assert isinstance(rest[1], Step) and rest[1].learning_rate == pytest.approx(0.05, rel=1e-15)
    np.testing.assert_allclose(training.history.updates.learning_rate, [0.1, 0.1, 0.05, 0.05], rtol=1e-15)


def test_the_learning_rate_set_is_the_one_used_exactly():
    training = GradientDescent(learning_rate=0.3, max_steps=10, tol=0).start(bowl([1.0], [3.0]), [0.0])
    training.step()
    training.learning_rate = 0.7
    assert training.learning_rate == 0.7
    training.step()
    assert training.history.learning_rate[2] == 0.7


@pytest.mark.parametrize("value", [0, 0.0, -0.1, math.nan, math.inf])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused(value):
    training = GradientDescent(learning_rate=0.1).start(bowl([4.0]), [1.0])
    with pytest.raises(ValueError, match="learning_rate"):
        training.learning_rate = value
    assert training.learning_rate == 0.1


def test_a_strategy_without_a_learning_rate_refuses_one():
    training = MonteCarloSearch(budget=10, random_state=0).start(bowl([4.0]), [1.0])
    assert training.learning_rate is None
    with pytest.raises(TypeError, match="no learning rate"):
        training.learning_rate = 0.1


# --- 4. interruption -----------------------------------------------------------------------

def test_interrupt_between_steps_ends_the_run_keeping_the_best_theta():
    # heavy ball overshoots: the loss goes up and down, so the lowest row is not the last
    training = Momentum(learning_rate=0.2, momentum=0.9, max_steps=1000).start(bowl([4.0], [3.0]), [0.0])
    for _ in range(15):
        training.step()
    training.interrupt("interrupted (test)")
    assert not training.finished  # the flag is read at the next step
    training.step()
    assert training.finished and training.status == "interrupted"
    result = training.result()
    assert result.status == "interrupted" and result.message.startswith("interrupted (test)")
    assert len(result.history) == 16  # no update after the flag
    lowest = int(np.argmin(result.history.loss))
    assert lowest < 15  # the case worth checking: the lowest row is not where the run stopped
    np.testing.assert_array_equal(result.theta, result.history.params[lowest])
    np.testing.assert_array_equal(result.theta_last, result.history.params[-1])


def test_a_callback_returning_true_interrupts():
    seen = []

    def callback(step):
        seen.append(step.step)
        return step.step == 4

    result = GradientDescent(learning_rate=0.1, tol=0).minimize(bowl([4.0], [3.0]), [0.0], callback=callback)
    assert seen == [0, 1, 2, 3, 4]
    assert result.status == "interrupted" and "callback" in result.message
    assert result.n_steps == 4


def test_interrupting_inside_an_epoch_drops_that_epochs_updates():
    objective = logistic(n=10)  # batches of 3: 4 updates an epoch
    training = StochasticGradientDescent(learning_rate=0.1, batch_size=3, max_steps=10,
                                         random_state=0).start(objective, np.zeros(4))
    for _ in range(4 + 2):  # one epoch and two updates into the next
        training.step()
    assert len(training.history) == 2 and len(training.history.updates.row) == 6
    training.interrupt("interrupted (test)")
    training.step()
    result = training.result()
    assert result.status == "interrupted" and len(result.history) == 2
    np.testing.assert_array_equal(result.history.updates.row, [1, 1, 1, 1])
    # the run stands on the last row's θ, not on the θ two updates into the dropped epoch
    np.testing.assert_array_equal(result.theta_last, result.history.params[-1])


SIGNAL_SCRIPT = textwrap.dedent("""
    import os, signal, threading, time
    import numpy as np
    from neuronlab import GradientDescent, Neuron, NeuronObjective

    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 4))
    y = (X[:, 0] + rng.standard_normal(2000) > 0).astype(float)
    objective = NeuronObjective(Neuron(4, "sigmoid"), X, y, "log_loss")

    def send():
        time.sleep(0.3)
        os.kill(os.getpid(), signal.{name})

    threading.Thread(target=send, daemon=True).start()
    # tol = 0 and 10⁷ steps: only the signal (or the 20 s safety limit) ends it
    result = GradientDescent(learning_rate=0.5, max_steps=10_000_000, tol=0, time_limit=20).minimize(
        objective, np.zeros(5))
    print(result.status, result.n_steps, np.isfinite(result.theta).all())
""")


@pytest.fixture(scope="module")
def signalled_runs():
    """The script's output for each signal; the two interpreters start at once (each one's
    import of neuronlab is most of its second)."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    runs = {name: subprocess.Popen([sys.executable, "-c", SIGNAL_SCRIPT.format(name=name)], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("SIGINT", "SIGTERM")}
    outputs = {}
    for name, process in runs.items():
        stdout, stderr = process.communicate(timeout=60)
        outputs[name] = (process.returncode, stdout, stderr)
    return outputs


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_interrupts_minimize_cleanly(name, signalled_runs):
    returncode, stdout, stderr = signalled_runs[name]
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    status, steps, finite = stdout.split()
    assert status == "interrupted" and int(steps) > 0 and finite == "True"


# --- 5. a run's life cycle -----------------------------------------------------------------

def test_step_after_the_end_raises():
    training = GradientDescent(learning_rate=0.1, max_steps=2, tol=0).start(bowl([4.0]), [1.0])
    training.step()
    training.step()
    assert training.finished and training.status == "max_steps"
    with pytest.raises(RuntimeError, match="ended"):
        training.step()


def test_result_before_the_end_raises():
    training = GradientDescent(learning_rate=0.1, max_steps=2, tol=0).start(bowl([4.0]), [1.0])
    assert training.status is None
    with pytest.raises(RuntimeError, match="not ended"):
        training.result()
    training.step()
    with pytest.raises(RuntimeError, match="not ended"):
        training.result()


# --- 6. mini-batch records -----------------------------------------------------------------

@pytest.mark.parametrize("n, batch_size", [(10, 3), (12, 4), (5, 8)])
def test_a_mini_batch_step_is_an_update_and_the_last_of_an_epoch_is_a_row(n, batch_size):
    per_epoch = math.ceil(n / batch_size)
    training = StochasticGradientDescent(learning_rate=0.1, batch_size=batch_size, max_steps=3, tol=0,
                                         random_state=0).start(logistic(n=n), np.zeros(4))
    for epoch in (1, 2, 3):
        records = [training.step() for _ in range(per_epoch)]
        assert all(isinstance(r, UpdateRecord) and r.row == epoch for r in records[:-1])
        assert isinstance(records[-1], Step) and records[-1].step == epoch
        assert len(training.history) == epoch + 1
        assert len(training.history.updates.row) == epoch * per_epoch
    assert training.finished and training.status == "max_steps"


def test_an_interruption_left_pending_by_an_earlier_run_does_not_stop_the_next():
    from neuronlab.core.interrupt import request_interrupt

    request_interrupt("interrupted (a signal during an earlier run's last update)")
    result = GradientDescent(learning_rate=0.1, max_steps=5, tol=0).minimize(bowl([1.0], [3.0]), [0.0])
    assert result.status == "max_steps" and result.n_steps == 5


def test_an_interruption_held_by_a_caller_stops_the_run_it_starts_at_its_first_step():
    from neuronlab.core.interrupt import deferred_signals, pending_interrupt, request_interrupt

    with deferred_signals():  # as `neuronlab train` holds signals from its start to the saved model
        request_interrupt("interrupted (SIGTERM)")
        result = GradientDescent(learning_rate=0.1, max_steps=5, tol=0).minimize(bowl([1.0], [3.0]), [0.0])
    assert result.status == "interrupted" and result.n_steps == 0
    assert result.message.startswith("interrupted (SIGTERM)") and not pending_interrupt()


def test_no_step_rule_says_converged_away_from_a_minimum():
    """The issue's sweep: every gradient step rule, η from 1e-9 up to the stability limit, on the
    obesity neuron and on the course's equation — 'converged' only where ‖∇J‖ ≤ 1e-3·(1 + ‖∇J(θ₀)‖),
    the gradient measured here on the final θ, not read from the run."""
    import warnings

    from neuronlab import EquationObjective, minimize
    from neuronlab.io.tables import Standardizer, load_dataset
    from neuronlab.train.registry import STRATEGIES, strategy_takes

    data = load_dataset("obesity")
    X, y = Standardizer().fit_transform(data.X), (data.y == "Obese").astype(float)
    problems = [(NeuronObjective(Neuron(2, "sigmoid"), X, y, "log_loss"), np.zeros(3)),
                (EquationObjective("256x + 212y = 1492"), np.zeros(2))]
    checked = 0
    for objective, theta0 in problems:
        # the limit: the neuron knows it; for J = ½(a·θ − c)² it is 2/‖a‖²
        limit = objective.stability_limit() if objective.offers("curvature") else 2 / (256**2 + 212**2)
        g0 = np.linalg.norm(objective.loss_and_grad(theta0)[1])
        for name, cls in STRATEGIES.items():
            if "gradient" not in cls.needs or "residuals" in cls.needs:
                continue
            if name == "sgd" and not objective.offers("mini_batches"):
                continue
            etas = np.geomspace(1e-9, limit, 7) if strategy_takes(name, "learning_rate") else [None]
            for eta in etas:
                options = {"max_steps": 500} | ({} if eta is None else {"learning_rate": float(eta)})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = minimize(objective, theta0, name, **options)
                if result.status == "converged":
                    checked += 1
                    grad = objective.loss_and_grad(result.theta_last)[1]
                    assert np.linalg.norm(grad) <= 1e-3 * (1 + g0), (name, eta, result.message)
    assert checked >= 10  # the sweep does reach minima, so the check is not empty
