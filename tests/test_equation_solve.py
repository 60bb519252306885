"""neuronlab.solve: the three methods side by side, and what they say about the equation."""

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import neuronlab
from neuronlab import ErrorDrivenSearch, EquationObjective, solve
from neuronlab.train import solving

COURSE = "256x + 212y = 1492"
A = np.array([256.0, 212.0])
NEAREST_TO_ORIGIN = 1492 / (A @ A) * A  # projection of (0, 0) onto the line a·θ = 1492


def residual(theta):
    return abs(256 * theta[0] + 212 * theta[1] - 1492)


def test_the_course_equation_three_ways():
    report = solve(COURSE, budget=2000, random_state=1)
    runs = {run.method: run for run in report.runs}
    assert list(runs) == ["monte-carlo", "error-driven", "gradient"]
    # gradient with the automatic step: |r| < 1e-9 within 10 evaluations
    gradient = runs["gradient"]
    assert gradient.solved and gradient.result.n_evals <= 10
    assert residual(gradient.result.theta) < 1e-9
    # error-driven (error-proportional step) reaches the tolerance
    assert runs["error-driven"].solved and residual(runs["error-driven"].result.theta) <= 1e-6
    # Monte-Carlo: 2000 guesses against an expected 2.56e10 → the budget is spent, and said so
    guesses = runs["monte-carlo"]
    assert guesses.status == "max_steps" and guesses.result.n_evals == 2000
    assert guesses.expected_guesses == pytest.approx(2.56e10, rel=1e-9)
    assert guesses.residual_norm == pytest.approx(residual(guesses.result.theta))
    assert "budget of 2000 guesses spent" in guesses.note


def test_one_equation_in_two_unknowns_has_infinitely_many_solutions_and_says_which_was_found():
    report = solve(COURSE, method="gradient")
    assert "infinitely many solutions (a line)" in report.solutions
    assert "nearest the start" in report.solutions
    np.testing.assert_allclose(report.nearest_solution, NEAREST_TO_ORIGIN, rtol=1e-12)
    np.testing.assert_allclose(report.runs[0].result.theta, NEAREST_TO_ORIGIN, rtol=1e-9)
    # from another start, the projection of that start
    start = np.array([10.0, -4.0])
    report = solve(COURSE, method="gradient", start={"x": 10, "y": -4})
    expected = start - (A @ start - 1492) / (A @ A) * A
    np.testing.assert_allclose(report.runs[0].result.theta, expected, rtol=1e-9)


def test_fixed_learning_rate_converges_to_the_same_nearest_solution():
    # J = ½(a·θ − c)² has curvature λ = ‖a‖² = 110480 along a: η = 1/λ would be one exact
    # step; η = 0.8/λ leaves 1 − 0.8 = 1/5 of the error each step, along a only
    report = solve(COURSE, method="gradient", learning_rate=0.8 / (A @ A))
    run = report.runs[0]
    assert run.solved and run.status == "converged"
    np.testing.assert_allclose(run.result.theta, NEAREST_TO_ORIGIN, atol=1e-8)


def test_too_large_a_learning_rate_is_diverged_with_a_suggestion_that_works():
    run = solve(COURSE, method="gradient", learning_rate=1e-4).runs[0]
    assert run.status == "diverged" and not run.solved
    suggested = run.result.suggested_learning_rate
    assert 0 < suggested < 2 / (A @ A)  # below the stability limit 2/λ
    assert f"try --lr {suggested:.3g}" in run.note
    again = solve(COURSE, method="gradient", learning_rate=suggested).runs[0]
    assert again.solved


def test_too_small_a_learning_rate_is_max_steps_with_the_remaining_error():
    run = solve(COURSE, method="gradient", learning_rate=1e-9, budget=200).runs[0]
    assert run.status == "max_steps" and run.result.n_evals == 200
    # each step shrinks the error by (1 − ηλ) = (1 − 1.1048e-4): 199 steps leave ≈ 97.8 %
    assert run.residual_norm == pytest.approx(1492 * (1 - 1e-9 * (A @ A)) ** 199, rel=1e-6)
    assert f"|r| = {run.residual_norm:.3g} remains" in run.note


def test_error_driven_fixed_step_overshoots_or_crawls_and_proportional_step_arrives():
    overshoot = solve(COURSE, method="error-driven", step_rule="fixed", step=1.0,
                      budget=500).runs[0]
    assert overshoot.status == "stalled" and "overshoots" in overshoot.note
    # 1 start + 6 moves + one round of 4 failed trials, then it stops: no budget wasted
    assert overshoot.result.n_evals == 11
    # by hand from (0, 0), x and y in turn, +1 each: r = −1236, −1024, −768, −556, −300, −88
    # at (3, 3); then x ± 1 gives r = 168 or −344 and y ± 1 gives 124 or −300: all bigger
    assert overshoot.residual_norm == pytest.approx(88.0)
    np.testing.assert_array_equal(overshoot.result.theta, [3.0, 3.0])
    crawl = solve(COURSE, method="error-driven", step_rule="fixed", step=1e-3, budget=500).runs[0]
    assert crawl.status == "max_steps" and "crawls" in crawl.note
    assert crawl.residual_norm > 1000  # 500 steps of 0.001 cannot cross 1492/256 ≈ 5.8
    proportional = solve(COURSE, method="error-driven", step_rule="proportional").runs[0]
    assert proportional.solved


def test_error_proportional_step_is_step_times_error():
    # from x = 0 on 2x = 10 (|r| = 10) with gain 0.25 the first step is 2.5
    objective = EquationObjective("2x = 10")
    result = ErrorDrivenSearch(step=0.25, step_rule="proportional", budget=3).minimize(
        objective, [0.0])
    np.testing.assert_allclose(result.history.params[1], [2.5])
    assert result.history.step_size[1] == 2.5


def test_nonlinear_equations_are_solved_to_1e_9():
    method = "gradient"
    run = solve("exp(x) = 10", method=method, tol=1e-9).runs[0]
    assert run.solved and abs(run.result.theta[0] - math.log(10)) < 1e-9
    report = solve(["x^2 + y^2 = 25", "x - y = 1"], method=method, tol=1e-9,
                   start={"x": 1.0, "y": 0.0})
    np.testing.assert_allclose(report.runs[0].result.theta, [4.0, 3.0], atol=1e-9)
    assert "isolated solutions" in report.solutions


def test_from_an_undefined_or_stationary_start_the_gradient_method_restarts_and_solves():
    """sqrt(x) = 3 at x = 0 (slope infinite), x² + y² = 25 and the README's system at (0, 0)
    (∇J = 0 there): random restarts in the box, reported, within the budget; each answer is
    checked by putting it back into the equations, not by the reported residual."""
    cases = {("sqrt(x) = 3",): lambda x: [math.sqrt(x) - 3],
             ("x^2 + y^2 = 25",): lambda x, y: [x * x + y * y - 25],
             ("x^2 + y^2 = 25", "x - y = 1"): lambda x, y: [x * x + y * y - 25, x - y - 1]}
    for equations, residuals in cases.items():
        report = solve(list(equations), method="gradient", budget=200)
        run = report.runs[0]
        assert run.solved and run.restarts >= 1 and run.result.n_evals <= 200
        assert max(abs(r) for r in residuals(*run.result.theta)) <= 1e-6
        assert "restarted from" in run.note
        assert report.to_dict()["runs"][0]["restarts"] == run.restarts
        again = solve(list(equations), method="gradient", budget=200).runs[0]
        np.testing.assert_array_equal(again.result.theta, run.result.theta)  # the seed decides


def test_without_a_solution_the_restarts_end_unsolved_within_the_budget():
    report = solve("x^2 + y^2 = -1", method="gradient", budget=60)
    run = report.runs[0]
    assert not run.solved and run.status in ("stalled", "max_steps") and run.restarts >= 1
    assert run.result.n_evals <= 60
    assert len([e for e in run.result.history.events if "restart" in e[1]]) == run.restarts


@pytest.mark.parametrize("own_status", ["converged", "stalled"])
def test_a_fixed_step_stuck_short_of_the_tolerance_is_stalled_whatever_the_strategy_says(
        monkeypatch, own_status):
    class SaysStatus(ErrorDrivenSearch):
        def minimize(self, objective, theta0, callback=None):
            return dataclasses.replace(super().minimize(objective, theta0, callback),
                                       status=own_status)

    monkeypatch.setattr(solving, "ErrorDrivenSearch", SaysStatus)
    run = solve(COURSE, method="error-driven", step_rule="fixed", step=1.0, budget=500).runs[0]
    # stuck at (3, 3) with r = −88, as worked out by hand in the test above
    assert run.result.status == own_status and not run.solved
    assert run.status == "stalled" and "overshoots" in run.note and "88" in run.note


def test_a_long_linear_equation_is_solved_by_the_automatic_step():
    # Σ k·x_k = 1 for k = 1 … 500: one step lands on the solution nearest 0, the
    # projection x_k = k / Σk², with Σk² = 500·501·1001/6
    text = " + ".join(f"{k}*x{k}" for k in range(1, 501)) + " = 1"
    report = solve(text, method="gradient", tol=1e-9)
    run = report.runs[0]
    assert run.solved and run.status == "converged" and run.result.n_evals <= 10
    coefficient = {f"x{k}": float(k) for k in range(1, 501)}
    a = np.array([coefficient[name] for name in report.unknowns])
    np.testing.assert_allclose(run.result.theta, a / (500 * 501 * 1001 / 6), rtol=1e-9)
    assert abs(a @ run.result.theta - 1) < 1e-9
    assert "infinitely many solutions" in report.solutions


def test_solution_sets_of_linear_systems():
    unique = solve(["x + y = 3", "x - y = 1"], method="gradient")
    assert unique.solutions.startswith("exactly one solution")
    np.testing.assert_allclose(unique.nearest_solution, [2.0, 1.0])
    contradiction = solve(["x + y = 1", "x + y = 2"], method="gradient")
    assert "contradict" in contradiction.solutions


def test_search_box_and_start_and_seed():
    report = solve("x + y = 1", method="monte-carlo", ranges={"x": (2, 3)}, box=(-1, 1),
                   tol=0.5, random_state=3, budget=50)
    params = report.runs[0].result.history.params
    assert np.all((params[:, 0] >= 2) & (params[:, 0] <= 3))
    assert np.all((params[:, 1] >= -1) & (params[:, 1] <= 1))
    np.testing.assert_array_equal(report.start, [2.0, 0.0])  # the box point nearest 0
    again = solve("x + y = 1", method="monte-carlo", ranges={"x": (2, 3)}, box=(-1, 1),
                  tol=0.5, random_state=3, budget=50)
    np.testing.assert_array_equal(again.runs[0].result.theta, report.runs[0].result.theta)


@pytest.mark.parametrize("kwargs, words", [
    ({"method": "newton"}, "method must be"),
    ({"tol": 0}, "tol must be a positive"),
    ({"budget": 2.5}, "budget must be a whole number"),
    ({"learning_rate": "fast"}, "learning_rate must be"),
    ({"learning_rate": -1.0}, "learning_rate must be a positive"),
    ({"ranges": {"z": (0, 1)}}, "not an unknown"),
    ({"ranges": {"x": (1, 0)}}, "low < high"),
    ({"box": (-1e308, 1e308)}, r"search range of x, -1e\+308:1e\+308, is too wide.*--range x="),
    ({"ranges": {"y": (-math.inf, 0)}}, "finite low < high"),
    ({"start": {"q": 1}}, "not an unknown"),
    ({"step_rule": "adaptive", "method": "error-driven"}, "step_rule must be one of"),
])
def test_bad_settings_are_clear_errors(kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        solve("x + y = 1", **kwargs)


def test_report_as_json_ready_dict_and_table():
    report = solve(COURSE, budget=100)
    data = report.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data  # plain JSON, no NaN/inf
    assert data["unknowns"] == ["x", "y"] and len(data["runs"]) == 3
    assert data["runs"][0]["expected_guesses"] == pytest.approx(2.56e10)
    for run in data["runs"]:  # the error of the point it reports, by the formula
        point = (run["solution"]["x"], run["solution"]["y"])
        assert run["residual_norm"] == pytest.approx(residual(point), rel=1e-9, abs=1e-9)
        assert run["solved"] is (run["residual_norm"] <= 1e-6)
    table = report.table().splitlines()
    assert table[0].split()[:4] == ["method", "evaluations", "x", "y"]
    assert len(table) == 4


def test_solve_is_exported_lightly():
    assert neuronlab.solve is solve
    # solving (all three methods, the report and its JSON) imports no heavy library
    code = (
        "import sys, neuronlab; neuronlab.solve('x + y = 1', budget=50).to_dict(); "
        "print(','.join(m for m in ('matplotlib', 'pandas', 'sklearn', 'scipy', 'pyarrow', "
        "'rich', 'numba', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_points_where_the_equation_is_undefined_are_rejected_not_fatal():
    # Newton from x = 1 on log(x) = −5 jumps to x = 1 − 5·1 = −4, where log is undefined:
    # the automatic step halves instead, and still lands on x = e⁻⁵
    report = solve("log(x) = -5", method="gradient", tol=1e-9, ranges={"x": (0.001, 10)},
                   start={"x": 1.0})
    run = report.runs[0]
    assert run.solved and abs(run.result.theta[0] - math.exp(-5)) < 1e-9
    assert "outside where the equation is defined" in run.note and "log of a number ≤ 0" in run.note


def test_monte_carlo_rejects_and_counts_every_undefined_guess():
    report = solve("log(x) + y = 3", method="monte-carlo", budget=3000, ranges={"x": (-10, 10)},
                   start={"x": 1.0, "y": 0.0}, random_state=2)
    run = report.runs[0]
    guesses = run.result.history.params
    undefined = int(np.sum(guesses[:, 0] <= 0))  # log(x) needs x > 0
    assert len(guesses) == 3000 and 1000 < undefined < 2000
    assert f"{undefined} point(s) tried were outside where the equation is defined" in run.note
    assert np.all(np.isinf(run.result.history.loss[guesses[:, 0] <= 0]))
    assert np.all(np.isfinite(run.result.history.loss[guesses[:, 0] > 0]))


def test_a_start_where_the_equation_is_undefined_is_an_error():
    with pytest.raises(ValueError, match=r"log of a number ≤ 0 in log\(x\) at x = 0"):
        solve("log(x) = 1")


def test_a_guess_whose_squared_error_overflows_is_not_called_undefined():
    # x = 1 is defined everywhere; in a box of ±1e300 the guesses have finite |r| ≈ 1e299 but
    # J = ½r² beyond the float range: bad guesses, not points outside the equation's domain
    report = solve("x = 1", "monte-carlo", box=(-1e300, 1e300), budget=50)
    run = report.runs[0]
    assert run.result.n_evals == 50 and "outside where the equation is defined" not in run.note
