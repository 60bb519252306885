"""``neuronlab solve`` on the command line: the table, --json, and one-line errors."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import run_cli

COURSE = "256x + 212y = 1492"


def test_the_table_compares_the_three_methods(capsys):
    status, out, err = run_cli(capsys, "solve", COURSE, "--budget", "1000")
    assert status == 0 and err == ""
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("method"))
    assert header.split() == ["method", "evaluations", "x", "y", "|LHS", "−", "RHS|", "time",
                              "status"]
    rows = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in (
        "monte-carlo", "error-driven", "gradient")}
    assert rows["monte-carlo"].split()[-1] == "max_steps"
    assert rows["error-driven"].split()[-1] == "converged"
    assert rows["gradient"].split()[-1] == "converged"
    assert "infinitely many solutions" in out and "nearest the start" in out
    assert "expected guesses" in out and "budget of 1000 guesses spent" in out


def test_json_is_one_document_and_nothing_else(capsys):
    status, out, err = run_cli(capsys, "solve", COURSE, "--json", "--method", "gradient")
    assert status == 0 and err == ""
    data = json.loads(out)
    run = data["runs"][0]
    assert run["method"] == "gradient" and run["status"] == "converged" and run["solved"]
    x, y = run["solution"]["x"], run["solution"]["y"]
    assert abs(256 * x + 212 * y - 1492) < 1e-9 and run["evaluations"] <= 10


def test_diverged_learning_rate_names_a_better_one(capsys):
    status, out, _ = run_cli(capsys, "solve", COURSE, "--method", "gradient", "--lr", "1e-4")
    assert status == 1
    assert "diverged" in out and "try --lr" in out
    suggested = float(out.split("try --lr ")[1].split()[0])
    status, out, _ = run_cli(capsys, "solve", COURSE, "--method", "gradient", "--lr", str(suggested))
    assert status == 0 and "converged" in out


def test_too_small_learning_rate_reports_the_remaining_error(capsys):
    status, out, _ = run_cli(capsys, "solve", COURSE, "--method", "gradient", "--lr", "1e-9",
                             "--budget", "100")
    assert status == 1 and "max_steps" in out and "remains" in out


def test_ranges_start_step_rule_and_systems(capsys):
    status, out, _ = run_cli(capsys, "solve", "x^2 + y^2 = 25", "x - y = 1", "--range", "-10:10",
                             "--range", "x=0:10", "--start", "x=1,y=0", "--tol", "1e-9",
                             "--method", "gradient", "--json")
    data = json.loads(out)
    assert status == 0 and data["box"] == {"x": [0.0, 10.0], "y": [-10.0, 10.0]}
    assert data["start"] == {"x": 1.0, "y": 0.0}
    solution = data["runs"][0]["solution"]
    assert math.isclose(solution["x"], 4.0, abs_tol=1e-9)
    assert math.isclose(solution["y"], 3.0, abs_tol=1e-9)
    status, out, _ = run_cli(capsys, "solve", COURSE, "--method", "error-driven", "--step-rule", "fixed",
                             "--budget", "200")
    assert status == 1 and "overshoots" in out


HOSTILE = [
    ["__import__('os')"],
    ["x =="],
    ["1/0 = x"],
    ["(" * 10_000 + "x" + ")" * 10_000],
    ["x" * 1_000_000],
    ["foo(x) = 2"],
    ["2 + 2 = 4"],
    ["3xy = 1"],
    ["log(x) = 1", "--method", "monte-carlo"],
    [COURSE, "--range", "x=5"],
    [COURSE, "--range", "z=0:1"],
    [COURSE, "--lr", "fast"],
    [COURSE, "--tol", "-1"],
    [COURSE, "--start", "x"],
    [COURSE, "--method", "newton"],
    [COURSE, "--seed", "-1"],
    [COURSE, "--seed", str(2 ** 32)],
    [COURSE, "--seed", "1.5"],
]


@pytest.mark.parametrize("argv", HOSTILE, ids=lambda a: a[0][:20] + " " + " ".join(a[1:]))
def test_bad_or_hostile_input_is_one_line_on_stderr_and_exit_2(capsys, argv):
    status, out, err = run_cli(capsys, "solve", *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("neuronlab")
    assert "Traceback" not in err


def test_seed_accepts_the_whole_range_numpy_takes_and_names_itself_when_refused(capsys):
    for seed in (0, 2 ** 32 - 1):
        status, out, err = run_cli(capsys, "solve", "x + y = 1", "--method", "monte-carlo", "--seed",
                                   str(seed), "--range", "-1:1", "--tol", "0.5", "--budget", "50",
                                   "--json")
        run = json.loads(out)["runs"][0]
        # the guesses are numpy's from that seed: the first one inside |x + y − 1| ≤ 0.5 stops it
        guesses = np.random.default_rng(seed).uniform(-1, 1, size=(50, 2))
        first = int(np.argmax(np.abs(guesses.sum(axis=1) - 1) <= 0.5)) + 1
        assert status == 0 and err == "" and run["evaluations"] == first
    status, out, err = run_cli(capsys, "solve", COURSE, "--seed", str(2 ** 32))
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "--seed" in err and "0 to 4294967295" in err


def test_a_search_box_wider_than_the_float_range_is_a_usage_error(capsys):
    # (run_cli also asserts that no warning is raised on the way)
    status, out, err = run_cli(capsys, "solve", "x=1", "--range=-1e308:1e308")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "search range of x" in err and "--range x=" in err and "too wide" in err
    status, out, err = run_cli(capsys, "solve", "x + y = 1", "--range=y=-1e308:1.7e308")
    assert status == 2 and err.count("\n") == 1 and "search range of y" in err


@pytest.mark.parametrize("equation", ["x=1", "x^2 + y = 4", "1e10x + y = 1", "x*x - x*x + x = 1"])
def test_huge_search_boxes_run_without_warnings(capsys, equation):
    # guesses up to 1e300 overflow x², 1e10·x and x·x − x·x: such points are rejected
    # like undefined ones, and the expected-guesses formula stays in the float range
    # (run_cli asserts that no warning is raised on the way)
    status, out, err = run_cli(capsys, "solve", equation, "--range=-1e300:1e300", "--budget", "200")
    assert err == ""
    assert status == 0  # the automatic step solves each from the start 0
    if "x^2" in equation or "x*x" in equation:
        assert "overflow" in out and "rejected" in out


def test_the_console_script_never_shows_a_traceback():
    script = Path(sys.executable).with_name("neuronlab")
    assert script.exists(), "the neuronlab console script is installed with the package"
    for text in ["__import__('os').system('echo pwned')", "(" * 10_000 + "x" + ")" * 10_000]:
        done = subprocess.run([str(script), "solve", text], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2
        assert done.stdout == "" and "pwned" not in done.stdout
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    done = subprocess.run([str(script), "solve", COURSE, "--method", "gradient", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout)["runs"][0]["solved"]
    # no traceback and no RuntimeWarning from a search box at the ends of the float range
    done = subprocess.run([str(script), "solve", "x = 1", "--range=-1e308:1e308"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--range" in done.stderr
    done = subprocess.run([str(script), "solve", "x^2 = 1", "--range=-1e300:1e300",
                           "--budget", "200", "--start", "x=3"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize("option, value, message", [
    ("--budget", "0", "--budget: must be a whole number ≥ 1"),
    ("--budget", "2.5", "--budget: must be a whole number ≥ 1"),
    ("--tol", "-1", "--tol: must be a number ≥ 0"),
    ("--step", "nan", "--step: must be a number > 0"),
])
def test_numeric_options_are_checked_by_name(capsys, option, value, message):
    status, out, err = run_cli(capsys, "solve", "x = 1", option, value)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1


# --- bounds on work (issue 16) ------------------------------------------------------------------
def test_a_system_beyond_the_limit_is_refused_before_it_is_parsed(monkeypatch):
    from neuronlab.objectives import equation
    from neuronlab.train.solving import MAX_EQUATIONS, solve

    parsed = []
    monkeypatch.setattr(equation, "parse_equation", lambda *a, **k: parsed.append(a) or None)
    chain = [f"x{i} + x{i + 1} = {i}" for i in range(MAX_EQUATIONS + 1)]
    with pytest.raises(ValueError, match=f"{MAX_EQUATIONS + 1:,} equations is more than solve takes"):
        solve(chain)
    assert parsed == []


def test_one_equation_with_too_many_unknowns_is_refused(capsys):
    from neuronlab.apps.cli import main
    from neuronlab.train.solving import MAX_UNKNOWNS

    text = " + ".join(f"x{i}" for i in range(MAX_UNKNOWNS + 1)) + " = 1"
    assert main(["solve", text]) == 2
    err = capsys.readouterr().err
    assert f"{MAX_UNKNOWNS + 1:,} unknowns" in err and len(err.strip().splitlines()) == 1


def test_the_jacobian_of_a_system_costs_work_linear_in_its_equations():
    """Counted, not timed: the lines the Jacobian's reverse pass executes for a chain of m
    equations grow as m (each equation's own tree), not as m² (every node for each equation)."""
    import numpy as np

    from neuronlab.objectives.equation import EquationObjective, _Tape

    lines = []

    def count(frame, event, arg):
        if event == "line":
            lines.append(1)
        return count

    def tracer(frame, event, arg):
        return count if frame.f_code is _Tape._values_and_jacobian.__code__ else None

    counts = {}
    for m in (20, 80):
        objective = EquationObjective([f"x{i} + 2*x{i + 1} = {i}" for i in range(m)])
        lines.clear()
        sys.settrace(tracer)
        try:
            objective.residuals_and_jacobian(np.ones(objective.n_params))
        finally:
            sys.settrace(None)
        counts[m] = len(lines)
    assert counts[80] <= 4 * counts[20] * 1.1, counts  # ×4 the equations, ×4 the work (m² would be ×16)
