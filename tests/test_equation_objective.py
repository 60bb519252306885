"""EquationObjective: residuals, exact derivatives, domain errors, the expected-guesses formula,
and the Gauss–Newton (automatic) step."""

import math
import re

import numpy as np
import pytest

from neuronlab import (
    DomainError,
    EquationObjective,
    FunctionObjective,
    GaussNewton,
    MonteCarloSearch,
    get_strategy,
)
from neuronlab.objectives.equation import expected_guesses, parse_expression


def test_residual_loss_and_gradient_of_the_course_equation_by_hand():
    objective = EquationObjective("256x + 212y = 1492")
    assert objective.param_names == ["x", "y"] and objective.n_params == 2
    theta = np.array([1.0, 2.0])
    r = 256 * 1 + 212 * 2 - 1492  # −812
    assert objective.residuals(theta).tolist() == [r]
    loss, grad = objective.loss_and_grad(theta)
    assert loss == 0.5 * r * r
    np.testing.assert_array_equal(grad, [r * 256, r * 212])  # ∇J = r·∇r
    assert objective.is_linear
    A, c = objective.linear_system()
    np.testing.assert_array_equal(A, [[256.0, 212.0]])
    np.testing.assert_array_equal(c, [1492.0])


@pytest.mark.parametrize("equations, linear", [
    ("2(x + 1) - y/4 = 3", True),
    ("-(x - y)/2 + x^1 = sin(1)*y", True),      # constants may be any expression
    (["x + y = 1", "x - 2y = 0"], True),
    (["x + y = 1", "x*y = 2"], False),          # one nonlinear equation makes the system so
    ("x*y = 1", False),
    ("1/x = 2", False),
    ("x^2 - x^2 + x = 0", False),               # judged from the shape, not simplified
    ("2^x = 4", False),
    ("abs(x) = 1", False),
])
def test_linearity_is_read_from_the_shape_of_the_equations(equations, linear):
    assert EquationObjective(equations).is_linear is linear


def test_unknowns_are_sorted_by_name():
    assert EquationObjective("y = 2x + 1").param_names == ["x", "y"]


def test_a_system_sums_the_losses():
    objective = EquationObjective(["x^2 + y^2 = 25", "x - y = 1"])
    theta = np.array([1.0, 2.0])
    r1, r2 = 1 + 4 - 25, 1 - 2 - 1
    np.testing.assert_array_equal(objective.residuals(theta), [r1, r2])
    np.testing.assert_array_equal(objective.jacobian(theta), [[2.0, 4.0], [1.0, -1.0]])
    loss, grad = objective.loss_and_grad(theta)
    assert loss == 0.5 * (r1 ** 2 + r2 ** 2)
    np.testing.assert_array_equal(grad, [r1 * 2 + r2 * 1, r1 * 4 + r2 * -1])
    assert not objective.is_linear


def test_residuals_and_losses_work_on_a_grid_of_points():
    objective = EquationObjective("256x + 212y = 1492")
    xs, ys = np.meshgrid(np.linspace(-5, 5, 4), np.linspace(-3, 3, 3))
    grid = np.stack([xs, ys], axis=-1)
    np.testing.assert_allclose(objective.losses(grid), 0.5 * (256 * xs + 212 * ys - 1492) ** 2)
    # one point at a time (the fast scalar path) gives the same numbers as the grid
    nonlinear = EquationObjective(["x^2*sin(y) + exp(x/3) = 2", "sqrt(x^2 + 1) = y^3"])
    values = nonlinear.residuals(grid)
    for index in np.ndindex(grid.shape[:-1]):
        np.testing.assert_allclose(nonlinear.residuals(grid[index]), values[index], rtol=1e-14)


@pytest.mark.parametrize("text, point", [
    ("x^2*sin(y) + exp(x/3) - log(y^2 + 1) = sqrt(x^2 + 1)*cos(x)", (0.7, -1.3)),
    ("tan(y/4) + abs(x - 0.3) + x^y = 2/(x + y^3)", (1.4, 0.9)),
    ("(x + 1)(y - 2)/(x^2 + 1) - 3 = -x^-2 + 2^x", (-0.8, 2.5)),
    ("exp(x) = 10", (0.3,)),
])
def test_exact_gradient_matches_central_finite_differences(text, point):
    objective = EquationObjective(text)
    theta = np.array(point)
    _, grad = objective.loss_and_grad(theta)
    h = 1e-6
    numeric = np.array([
        (objective.loss(theta + h * e) - objective.loss(theta - h * e)) / (2 * h)
        for e in np.eye(len(theta))
    ])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)


def test_expression_gradient_by_hand():
    tree = parse_expression("x^y + 3x*y")
    g = tree.gradient({"x": 2.0, "y": 3.0})
    assert g["x"] == pytest.approx(3 * 2.0 ** 2 + 3 * 3.0)          # y·x^(y−1) + 3y
    assert g["y"] == pytest.approx(2.0 ** 3 * math.log(2.0) + 3 * 2.0)  # x^y·ln x + 3x


@pytest.mark.parametrize("text, theta, words", [
    ("log(x) = 1", [-2.0], "log of a number ≤ 0 in log(x) at x = -2"),
    ("log(x) = 1", [0.0], "log of a number ≤ 0 in log(x) at x = 0"),
    ("1/(x - 2) = 1", [2.0], "division by zero in 1 / (x - 2) at x = 2"),
    ("sqrt(x) = 2", [-4.0], "square root of a negative number in sqrt(x) at x = -4"),
    ("x^0.5 + y = 2", [-1.0, 3.0], "a negative number to a fractional power in x ^ 0.5 at x = -1, y = 3"),
    ("(x - 1)^y = 2", [1.0, -2.0], "zero to a negative power (division by zero) in (x - 1) ^ y at x = 1, y = -2"),
])
def test_domain_errors_name_the_operation_and_the_point(text, theta, words):
    # the same rule and words at one point (the quick path of a search: loss), through the
    # array path at one point (loss_and_grad) and on a grid whose first bad point is θ
    objective = EquationObjective(text)
    grid = np.array([[1.5] * len(theta), theta])  # 1.5: every operation is defined there
    for evaluate, at in ((objective.loss, theta), (objective.loss_and_grad, theta),
                         (objective.residuals, grid)):
        with pytest.raises(DomainError, match=re.escape(words)) as info:
            evaluate(np.array(at))
        assert info.value.operation == words.split(" in ")[0]


@pytest.mark.parametrize("text, theta, lhs_by_hand", [
    ("(x - 2)^y = 1", [1.0, 2.0], 1.0),        # a negative number to a whole power: (−1)² = 1
    ("(x - 2)^y = 1", [1.0, 1e300], 1.0),      # every float this large is whole (and even)
    ("(x - 2)^y = 1", [1.0, -1.0], -1.0),
    ("x^y = 1", [0.0, 0.0], 1.0),              # 0⁰ = 1, as in NumPy
    ("x^y = 1", [0.0, 0.5], 0.0),
    ("1/(x - 2) + sqrt(y) + log(y) = 1", [1.0, 1e-300], -1.0 + 1e-150 + math.log(1e-300)),
])
def test_operations_just_inside_their_domain_are_defined(text, theta, lhs_by_hand):
    # at one point (the quick path) and on a grid (the array path): a value, no DomainError
    objective = EquationObjective(text)
    assert objective.residuals(np.array(theta))[0] == pytest.approx(lhs_by_hand - 1.0, rel=1e-12)
    grid = np.array([theta, theta])
    assert objective.residuals(grid)[:, 0] == pytest.approx([lhs_by_hand - 1.0] * 2, rel=1e-12)


def test_domain_error_on_a_grid_names_the_first_bad_point():
    objective = EquationObjective("log(x) = y")
    grid = np.array([[[1.0, 0.0], [2.0, 0.0]], [[-3.0, 1.0], [4.0, 0.0]]])
    with pytest.raises(DomainError, match="x = -3, y = 1"):
        objective.residuals(grid)


def test_parts_without_unknowns_are_checked_once_at_construction():
    with pytest.raises(DomainError, match="division by zero in 1 / 0, which does not depend"):
        EquationObjective("1/0 = x")


def test_an_equation_without_unknowns_is_refused():
    with pytest.raises(ValueError, match="no unknowns"):
        EquationObjective("2 + 2 = 4")


@pytest.mark.parametrize("text, theta, where", [
    ("x^2 = 4", [1e200], "x ^ 2"),                  # 1e400 is beyond the float range
    ("x*x - x*x + x = 1", [1e200], "x * x"),        # inf − inf would be NaN
    ("exp(x) = y", [1000.0, 0.0], "exp(x)"),
    ("x + y = 1", [1.5e308, 1.5e308], "x + y"),
])
def test_overflow_at_a_point_is_a_domain_error_without_warnings(text, theta, where, recwarn):
    objective = EquationObjective(text)
    for evaluate in (objective.loss, objective.residuals, objective.loss_and_grad,
                     objective.residuals_and_jacobian):
        with pytest.raises(DomainError, match=r"overflow .* in " + re.escape(where)) as info:
            evaluate(np.array(theta))
        assert info.value.operation.startswith("overflow") and "\n" not in str(info.value)
    # on a grid (a contour plot) the overflowing points are inf or NaN, the others exact
    grid = np.array([theta, [1.0] * len(theta)])
    losses = objective.losses(grid)
    assert not np.isfinite(losses[0]) and losses[1] == objective.loss(np.ones(len(theta)))
    assert len(recwarn) == 0


def test_a_large_but_finite_loss_is_not_an_error():
    # r = 1e200 is a float, J = ½r² = 5e399 is not: J = inf, ∇J = r·∇r = inf, no exception
    objective = EquationObjective("x = 0")
    assert objective.loss([1e200]) == math.inf
    loss, grad = objective.loss_and_grad(np.array([1e200]))
    assert loss == math.inf and grad[0] == 1e200


# --- the expected number of Monte-Carlo guesses -----------------------------------------

def test_expected_guesses_against_hand_derivations():
    # x + y = 1 in [-1, 1]²: s = x + y has density (2 − |s|)/4, so the slab |s − 1| ≤ 0.01
    # has probability 0.02 · 1/4 = 0.005 → 200 guesses.
    assert expected_guesses(EquationObjective("x + y = 1"), -1, 1, 0.01) == pytest.approx(200)
    # 3x = 1 in [-1, 1]: |3x − 1| ≤ 0.03 ⇔ x ∈ [0.97/3, 1.03/3], width 0.02 of 2 → 100.
    assert expected_guesses(EquationObjective("3x = 1"), -1, 1, 0.03) == pytest.approx(100)
    # 256x + 212y = 1492 in [-100, 100]²: 256x is uniform over a width of 51200, 212y over
    # 42400; their sum has the flat density 1/51200 on |s| ≤ 4400, where 1492 lies:
    # p = 2e-6 / 51200 → 2.56e10 guesses.
    assert expected_guesses(EquationObjective("256x + 212y = 1492"), -100, 100, 1e-6) == (
        pytest.approx(2.56e10, rel=1e-9))
    # a point outside what the box can reach is never hit
    assert expected_guesses(EquationObjective("x = 5"), -1, 1, 0.1) == math.inf


def test_expected_guesses_in_boxes_near_the_ends_of_the_float_range(recwarn):
    # x + y = 0 in [−a, a]²: s = x + y has the triangular density (2a − |s|)/(4a²), so
    # P(|s| ≤ a) = 1 − 2·(a²/2)/(4a²) = 3/4 → 4/3 guesses, for any a
    for a in (1e-300, 1.0, 1e300):
        assert expected_guesses(EquationObjective("x + y = 0"), -a, a, a) == pytest.approx(4 / 3)
    # x = 1 in [−1e300, 1e300]: p = 2e-6 / 2e300
    assert expected_guesses(EquationObjective("x = 1"), -1e300, 1e300, 1e-6) == pytest.approx(
        1e306, rel=1e-9)
    # 1e10·x reaches 1e310, beyond the float range: p = 2e-6 / 2e310 = 1e-316 and 1/p
    # is not a float either
    assert expected_guesses(EquationObjective("1e10x + y = 1"), -1e300, 1e300, 1e-6) == math.inf
    # a box far narrower than the tolerance: every guess is within it
    assert expected_guesses(EquationObjective("x + 2y = 0"), -1e-300, 1e-300, 1e-6) == 1.0
    assert len(recwarn) == 0


@pytest.mark.parametrize("text, box, tol, hand", [
    ("2x = 1", (-1.0, 1.0), 0.05, 40.0),      # x ∈ [0.475, 0.525]: p = 0.05 / 2
    ("x + y = 1", (-1.0, 1.0), 0.04, 50.0),   # p = 0.08 · 1/4
])
def test_monte_carlo_guess_count_matches_the_formula_over_many_seeds(text, box, tol, hand):
    objective = EquationObjective(text)
    formula = expected_guesses(objective, *box, tol)
    assert formula == pytest.approx(hand)
    seeds = 300
    counts = []
    for seed in range(seeds):
        result = MonteCarloSearch(low=box[0], high=box[1], budget=int(30 * formula),
                                  target_loss=0.5 * tol ** 2, random_state=seed,
                                  record_params=False).minimize(objective, np.zeros(objective.n_params))
        assert result.status == "converged"
        counts.append(result.n_evals)
    # the count is geometric with mean 1/p and sd ≈ 1/p: the mean of 300 counts has a
    # relative sd of about 1/√300 ≈ 6 %, so a factor 1.25 is more than 4 sd
    assert formula / 1.25 <= np.mean(counts) <= formula * 1.25


# --- the automatic step ------------------------------------------------------------------

def test_automatic_step_solves_the_course_equation_in_a_handful_of_evaluations():
    objective = EquationObjective("256x + 212y = 1492")
    result = GaussNewton(tol=1e-6).minimize(objective, [0.0, 0.0])
    assert result.status == "converged"
    assert result.n_evals <= 10
    assert abs(objective.residuals(result.theta)[0]) < 1e-9
    # the solution nearest the start (0, 0): the projection 1492·a/‖a‖²
    nearest = 1492 / (256 ** 2 + 212 ** 2) * np.array([256.0, 212.0])
    np.testing.assert_allclose(result.theta, nearest, rtol=1e-12)


def test_automatic_step_on_nonlinear_equations_against_the_closed_form():
    result = GaussNewton(tol=1e-9).minimize(EquationObjective("exp(x) = 10"), [0.0])
    assert result.converged and abs(result.theta[0] - math.log(10)) < 1e-9
    # x − y = 1, x² + y² = 25 ⇒ y² + y − 12 = 0 ⇒ (x, y) = (4, 3) or (−3, −4)
    system = EquationObjective(["x^2 + y^2 = 25", "x - y = 1"])
    for start, answer in [([1.0, 0.0], [4.0, 3.0]), ([-2.0, -5.0], [-3.0, -4.0])]:
        result = GaussNewton(tol=1e-9).minimize(system, start)
        assert result.converged
        np.testing.assert_allclose(result.theta, answer, atol=1e-9)


def test_automatic_step_reports_a_stationary_point_that_is_not_a_solution():
    # on the line x = −y both gradients of the system point along (1, −1): the iterates
    # never leave it, and the best on that line is not a solution
    result = GaussNewton(tol=1e-9).minimize(
        EquationObjective(["x^2 + y^2 = 25", "x - y = 1"]), [0.0, 0.0])
    assert result.status == "stalled" and result.loss > 1.0
    assert "not a solution" in result.message
    # contradictory equations: stalled at the least-squares compromise x + y = 2 nearest
    # the start, with r = (1, −1)
    result = GaussNewton(tol=1e-9).minimize(EquationObjective(["x + y = 1", "x + y = 3"]),
                                            [0.0, 0.0])
    assert result.status == "stalled" and "not a solution" in result.message
    np.testing.assert_allclose(result.theta, [1.0, 1.0], rtol=1e-12)
    assert result.loss == pytest.approx(1.0)
    # x² + 1 = 0 has no real solution; ½(x² + 1)² is least, ½, at x = 0
    result = GaussNewton(tol=1e-9).minimize(EquationObjective("x^2 + 1 = 0"), [0.5])
    assert result.status == "stalled" and "not a solution" in result.message
    assert abs(result.theta[0]) < 1e-6 and result.loss == pytest.approx(0.5)


def test_automatic_step_needs_residuals_and_is_registered():
    assert isinstance(get_strategy("gauss_newton"), GaussNewton)
    objective = FunctionObjective(lambda t: float(t @ t), 2, grad=lambda t: 2 * t)
    with pytest.raises(TypeError, match="residuals and a Jacobian"):
        GaussNewton().minimize(objective, [1.0, 1.0])


def test_automatic_step_reports_a_spent_budget():
    result = GaussNewton(tol=1e-12, budget=3).minimize(EquationObjective("exp(x) = 10"), [0.0])
    assert result.status == "max_steps" and result.n_evals == 3
