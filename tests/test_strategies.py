"""Strategies on problems whose answers are known in closed form."""

import math

import numpy as np
import pytest
from numeric_checks import bowl, largest_curvature

from neuronlab import (
    ErrorDrivenSearch,
    FunctionObjective,
    GradientDescent,
    MonteCarloSearch,
    Neuron,
    NeuronObjective,
    NotDifferentiableError,
    get_strategy,
    minimize,
)

LAMBDA = 4.0  # curvature of the test quadratic J(θ) = ½·λ·(θ − 3)²


def quadratic():
    return bowl([LAMBDA], center=3.0)


def test_gradient_descent_follows_the_closed_form_iterates():
    eta, steps = 0.1, 20
    result = GradientDescent(learning_rate=eta, max_steps=steps, tol=0).minimize(quadratic(), [0.0])
    # θ_t − 3 = (1 − ηλ)^t·(θ_0 − 3), so J_t = ½λ·9·(1 − ηλ)^(2t)
    t = np.arange(steps + 1)
    expected = 0.5 * LAMBDA * 9.0 * (1 - eta * LAMBDA) ** (2 * t)
    np.testing.assert_allclose(result.history.loss, expected, rtol=1e-10)
    assert result.status == "max_steps" and result.n_steps == steps and result.n_evals == steps + 1
    assert result.history.params[-1][0] == pytest.approx(3 - 3 * 0.6**steps)
    np.testing.assert_allclose(result.history.learning_rate[1:], eta)
    np.testing.assert_allclose(result.history.step_size[1:], eta * LAMBDA * 3 * 0.6 ** t[:-1], rtol=1e-12)


def test_gradient_descent_stops_at_tol():
    # exact step η = 1/λ: one step lands on θ = 3 where ∇J = 0
    result = GradientDescent(learning_rate=0.25, max_steps=1000, tol=1e-8).minimize(quadratic(), [10.0])
    assert result.status == "converged" and result.n_steps == 1 and "‖∇J‖" in result.message
    # otherwise the loss change stops it: J changes by less than tol·max(1, J)
    result = GradientDescent(learning_rate=0.2, max_steps=1000, tol=1e-8).minimize(quadratic(), [10.0])
    assert result.status == "converged" and "loss changed" in result.message
    assert abs(result.history.loss[-2] - result.history.loss[-1]) <= 1e-8
    assert result.loss < 1e-8 and result.theta[0] == pytest.approx(3.0, abs=1e-4)


def test_divergence_is_detected_with_the_right_suggestion():
    # η = 0.6 > 2/λ = 0.5: the error is multiplied by (1 − ηλ) = −1.4 per step
    result = GradientDescent(learning_rate=0.6, max_steps=1000).minimize(quadratic(), [0.0])
    assert result.status == "diverged"
    assert result.n_steps == 10  # the default patience: 10 growing steps
    # on a quadratic the suggested η is 1/λ exactly: η/(1 + √ρ) with √ρ = |1 − ηλ| = 1.4
    assert result.suggested_learning_rate == pytest.approx(1 / LAMBDA, rel=1e-9)
    assert "learning_rate ≤ 0.25" in result.message
    # the best θ seen is the start, where the loss was lowest
    assert result.theta[0] == 0.0 and result.loss == pytest.approx(18.0)


def test_nan_loss_stops_at_once_and_keeps_the_best_theta():
    calls = []

    def fun(t):
        calls.append(1)
        value = float(t[0] ** 2) if len(calls) < 4 else math.nan
        return value, 2 * t

    result = GradientDescent(learning_rate=0.1, max_steps=100).minimize(
        FunctionObjective(fun, 1, grad=True), [1.0]
    )
    assert result.status == "diverged" and result.n_evals == 4
    assert result.theta[0] == pytest.approx(0.8**2)  # the third point, the last finite one
    assert math.isfinite(result.loss)


def test_ctrl_c_and_callbacks_interrupt_cleanly():
    def fun(t):
        if fun.calls == 5:
            raise KeyboardInterrupt
        fun.calls += 1
        return float(t @ t), 2 * t

    fun.calls = 0
    result = GradientDescent(learning_rate=0.1).minimize(FunctionObjective(fun, 2, grad=True), [1.0, 1.0])
    assert result.status == "interrupted" and len(result.history) == 5
    assert result.loss == pytest.approx(2 * 0.8 ** 8)

    seen = []
    result = GradientDescent(learning_rate=0.1).minimize(
        quadratic(), [0.0], callback=lambda step: seen.append(step.step) or step.step == 3
    )
    assert seen == [0, 1, 2, 3] and result.status == "interrupted"


def test_monte_carlo_guesses_in_the_box_and_keeps_the_best():
    objective = FunctionObjective(lambda t: float(abs(t[0] + t[1] - 1.0)), 2)
    search = MonteCarloSearch(low=[-1, 0], high=[1, 5], budget=500, random_state=3)
    result = search.minimize(objective, [0.0, 0.0])
    guesses = result.history.params
    assert guesses.shape == (500, 2) and result.status == "max_steps"
    assert np.all(guesses[:, 0] >= -1) and np.all(guesses[:, 0] < 1)
    assert np.all(guesses[:, 1] >= 0) and np.all(guesses[:, 1] < 5)
    best = np.argmin(result.history.loss)
    np.testing.assert_array_equal(result.theta, guesses[best])
    # the guesses are exactly numpy's uniform draws from the seed
    expected = np.random.default_rng(3).uniform([-1, 0], [1, 5], size=(500, 2))
    np.testing.assert_array_equal(guesses, expected)
    again = search.minimize(objective, [0.0, 0.0])
    np.testing.assert_array_equal(again.theta, result.theta)


def test_monte_carlo_stops_at_the_target():
    objective = FunctionObjective(lambda t: float(abs(t[0])), 1)
    result = MonteCarloSearch(low=-1, high=1, budget=10_000, target_loss=0.01, random_state=0).minimize(
        objective, [0.0]
    )
    assert result.status == "converged" and result.loss <= 0.01
    # it stops at the first of numpy's draws from the seed with |θ| ≤ 0.01, not later
    draws = np.random.default_rng(0).uniform(-1, 1, 10_000)
    first = int(np.flatnonzero(np.abs(draws) <= 0.01)[0])
    assert result.n_evals == len(result.history) == first + 1
    assert result.theta[0] == draws[first]


def test_error_driven_search_solves_the_course_equation():
    objective = FunctionObjective(lambda t: 0.5 * float(256 * t[0] + 212 * t[1] - 1492) ** 2, 2)
    result = ErrorDrivenSearch(step=1.0, budget=20_000, target_loss=0.5e-12).minimize(objective, [0.0, 0.0])
    assert result.status == "converged"
    x, y = result.theta
    assert abs(256 * x + 212 * y - 1492) <= 1e-6
    # only the loss was used: one parameter changes per row
    moves = np.diff(result.history.params, axis=0)
    assert np.all(np.count_nonzero(moves, axis=1) <= 1)


def test_error_driven_fixed_step_can_only_reach_its_grid():
    objective = FunctionObjective(lambda t: float((t[0] - 0.35) ** 2), 1)
    result = ErrorDrivenSearch(step=0.1, step_rule="fixed", budget=200).minimize(objective, [0.0])
    # with a fixed step of 0.1 the closest reachable point to 0.35 is 0.3 or 0.4
    assert result.theta[0] == pytest.approx(0.3) or result.theta[0] == pytest.approx(0.4)
    # from 0 it moves 3 times (0.1, 0.2, 0.3: evaluations 2–4); at 0.3 both 0.4 (J equal,
    # (0.05)², not lower) and 0.2 fail (evaluations 5–6), and with one parameter that
    # whole round without a move means it is stuck
    assert result.status == "stalled" and "no move of ±0.1" in result.message
    assert result.n_evals == 6 and result.theta[0] == pytest.approx(0.3)


def test_gradient_strategies_refuse_the_step_activation():
    X, y = np.eye(3)[:, :2], np.array([0.0, 1.0, 1.0])
    objective = NeuronObjective(Neuron(2, "step"), X, y, "squared_error")
    with pytest.raises(NotDifferentiableError, match="monte_carlo"):
        GradientDescent().minimize(objective, np.zeros(3))
    # search strategies only need the loss: the budget is spent, the best guess kept
    result = MonteCarloSearch(budget=50, random_state=0).minimize(objective, np.zeros(3))
    assert result.status == "max_steps" and result.n_evals == 50
    assert result.loss == objective.loss(result.theta) == result.history.loss.min()


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(learning_rate=0), "learning_rate must be > 0"),
        (dict(learning_rate=-1.0), "learning_rate must be > 0"),
        (dict(max_steps=0), "max_steps must be > 0"),
        (dict(tol=-1), "tol must be"),
    ],
)
def test_bad_gradient_descent_settings(options, message):
    with pytest.raises(ValueError, match=message):
        GradientDescent(**options).minimize(quadratic(), [0.0])


def test_bad_theta0_and_unknown_strategy():
    with pytest.raises(ValueError, match="theta0 must hold 1 numbers"):
        GradientDescent().minimize(quadratic(), [0.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        GradientDescent().minimize(quadratic(), [math.nan])
    with pytest.raises(ValueError, match="unknown strategy 'newton'"):
        get_strategy("newton")
    with pytest.raises(TypeError, match="whole number"):
        GradientDescent(max_steps=1.5).minimize(quadratic(), [0.0])


def test_minimize_by_name():
    result = minimize(quadratic(), [0.0], "gd", learning_rate=0.25, max_steps=5)
    assert result.strategy == "gradient_descent" and result.theta[0] == pytest.approx(3.0)


def test_perceptron_rule_by_hand_and_to_convergence():
    from neuronlab import PerceptronRule

    # one row x = (1, 2), y = 1, start w = (0, −1), b = 0: z = −2, ŷ = 0, error 1
    # → w = (0 + 1, −1 + 2) = (1, 1), b = 1; the second pass makes no mistake
    objective = NeuronObjective(Neuron(2, "step"), np.array([[1.0, 2.0]]), np.array([1.0]), "squared_error")
    result = PerceptronRule(learning_rate=1.0).minimize(objective, [0.0, -1.0, 0.0])
    np.testing.assert_array_equal(result.history.params[1], [1.0, 1.0, 1.0])
    assert result.status == "converged" and result.n_steps == 2

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X @ [2.0, -1.0] + 0.5 > 0).astype(float)
    separable = NeuronObjective(Neuron(2, "step"), X, y, "squared_error")
    result = PerceptronRule().minimize(separable, np.zeros(3))
    assert result.status == "converged" and result.loss == 0.0
    assert np.all(((X @ result.theta[:2] + result.theta[2]) >= 0) == (y == 1))


def test_a_bounded_loss_thrown_across_the_valley_is_diverged():
    # log loss grows only linearly in |z|: far too large an η never overflows, it keeps
    # the loss far above where it started, and that is a divergence too
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(float)
    objective = NeuronObjective(Neuron(2, "sigmoid"), X, y, "log_loss")
    start = np.zeros(3)  # J(θ0) = ln 2
    result = GradientDescent(learning_rate=1e4, max_steps=500).minimize(objective, start)
    assert result.status == "diverged"
    assert "above 10× its starting value 0.6931" in result.message
    assert np.all(result.history.loss[-10:] > 10 * np.log(2))
    np.testing.assert_array_equal(result.theta, start)  # nothing was better than the start
    # the suggestion respects the stability limit 8/λ_max(X̃ᵀX̃/n) of log loss (X̃ = [X, 1]),
    # computed here independently: η = half of it
    limit = 8.0 / largest_curvature(X)
    assert result.suggested_learning_rate == pytest.approx(limit / 2, rel=1e-3)
    assert f"try learning_rate ≤ {limit / 2:.3g}" in result.message
    calm = GradientDescent(learning_rate=result.suggested_learning_rate, max_steps=500).minimize(objective, start)
    assert calm.status != "diverged" and np.all(np.diff(calm.history.loss) <= 1e-12)


def test_gradient_descent_stops_at_a_target_loss():
    # J_t = 18·0.36^t (see the closed form above): the first t with J_t ≤ 0.01 is t = 8
    result = GradientDescent(learning_rate=0.1, max_steps=100, tol=0, target_loss=0.01).minimize(
        quadratic(), [0.0])
    assert result.status == "converged" and result.n_steps == 8 and "target_loss" in result.message
    assert 18 * 0.36**8 <= 0.01 < 18 * 0.36**7


@pytest.mark.parametrize("target", [None, 0.5 * 30.0**2])
def test_monte_carlo_in_chunks_guesses_exactly_as_one_at_a_time(target):
    from neuronlab import EquationObjective

    equation = EquationObjective("256x + 212y = 1492")  # has losses(): evaluated in chunks
    one_at_a_time = FunctionObjective(equation.loss, 2)  # only loss(): one guess per call
    search = MonteCarloSearch(low=-100, high=100, budget=1300, target_loss=target, random_state=5)
    chunked, single = search.minimize(equation, [0.0, 0.0]), search.minimize(one_at_a_time, [0.0, 0.0])
    np.testing.assert_array_equal(chunked.history.params, single.history.params)
    np.testing.assert_allclose(chunked.history.loss, single.history.loss, rtol=1e-12)
    assert (chunked.status, chunked.n_evals) == (single.status, single.n_evals)
    np.testing.assert_array_equal(chunked.history.evaluations, np.arange(1, single.n_evals + 1))
    if target is not None:
        assert chunked.status == "converged" and chunked.n_evals < 1300


def test_perceptron_rule_keeps_to_the_objectives_rows_and_refuses_weights():
    from neuronlab import PerceptronRule

    # rows 0–1 are separable by x > 0; row 2 contradicts row 1 and is not among the rows
    X = np.array([[-1.0], [1.0], [1.0]])
    y = np.array([0.0, 1.0, 0.0])
    result = PerceptronRule().minimize(
        NeuronObjective(Neuron(1, "step"), X, y, "squared_error", rows=np.array([0, 1])), np.zeros(2))
    assert result.status == "converged"
    with pytest.raises(ValueError, match="carry sample weights.*perceptron rule"):
        PerceptronRule().minimize(
            NeuronObjective(Neuron(1, "step"), X, y, "squared_error", sample_weight=[1.0, 2.0, 1.0]),
            np.zeros(2))


def test_numpy_numbers_are_accepted_as_tol():
    # J = ½θ², ∇J = θ: with η = 0.5 each step halves θ, and J falls by ½(4θ² − θ²) = 1.5θ²
    # onto θ; that is ≤ tol = 1e-3 first for θ = 2⁻⁶ (1.5·2⁻¹⁰ ≈ 1.5e-3 > 1e-3 at θ = 2⁻⁵)
    quadratic = FunctionObjective(lambda t: (0.5 * float(t @ t), t.copy()), 1, grad=True)
    result = minimize(quadratic, [1.0], "gd", learning_rate=0.5, max_steps=100, tol=np.float32(1e-3))
    assert result.status == "converged" and result.theta_last[0] == 2.0 ** -6


def test_the_common_options_have_one_name_for_every_strategy():
    from neuronlab import MonteCarloSearch, ErrorDrivenSearch, GaussNewton, EquationObjective

    objective = FunctionObjective(lambda t: 0.5 * (256 * t[0] + 212 * t[1] - 1492) ** 2, 2)
    # max_steps is the budget of evaluations for the searches, learning_rate the first step of
    # the error-driven one: the same runs as with their own names
    for common, own, cls in [(dict(max_steps=700, random_state=1), dict(budget=700, random_state=1),
                              MonteCarloSearch),
                             (dict(max_steps=300, learning_rate=0.5), dict(budget=300, step=0.5),
                              ErrorDrivenSearch)]:
        by_common = minimize(objective, [0.0, 0.0], cls.name, **common)
        by_own = cls(**own).minimize(objective, [0.0, 0.0])
        assert by_common.n_evals == by_own.n_evals <= common["max_steps"]
        np.testing.assert_array_equal(by_common.theta, by_own.theta)
    equation = EquationObjective("256x + 212y = 1492")
    assert minimize(equation, [0.0, 0.0], "gauss_newton", max_steps=1).n_evals == 1
    assert GaussNewton(budget=1).minimize(equation, [0.0, 0.0]).n_evals == 1


@pytest.mark.parametrize("strategy, option, takers", [
    ("lbfgs", "learning_rate", ["gradient_descent", "error_driven", "line_search"]),
    ("monte_carlo", "tol", ["gradient_descent", "lbfgs", "gauss_newton"]),
    ("perceptron", "batch_size", ["gradient_descent", "sgd", "adam"]),
])
def test_an_option_a_strategy_cannot_use_names_the_strategies_that_take_it(strategy, option, takers):
    objective = FunctionObjective(lambda t: float(t @ t), 2, grad=lambda t: 2 * t)
    with pytest.raises(ValueError, match=f"{strategy} has no option '{option}'; it is an option of: ") as error:
        minimize(objective, [1.0, 1.0], strategy, **{option: 0.1})
    named = str(error.value).split("it is an option of: ")[1].split(", ")
    assert set(takers) <= set(named) and strategy not in named
