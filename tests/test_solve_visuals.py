"""`neuronlab solve` with --plot, --explain, --trace and --animate."""

import json

import pytest
from image_checks import assert_picture

from neuronlab.apps.cli import main


def test_solve_writes_plot_trace_animation_and_explains(tmp_path, capsys):
    plot, trace, gif = tmp_path / "race.png", tmp_path / "t.jsonl", tmp_path / "d.gif"
    code = main(["solve", "256x + 212y = 1492", "--budget", "400", "--lr", "1e-6",
                 "--plot", str(plot), "--trace", str(trace), "--animate", str(gif), "--explain", "--explain-steps", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert_picture(plot, size=(1700, 520))
    assert_picture(gif, size=(800, 360))
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert {r["run"] for r in records} == {"monte-carlo", "error-driven", "gradient"}
    first = next(r for r in records if r["run"] == "gradient")
    # at (0, 0): r = −1492, ∇J = r·(256, 212)
    assert first["gradient"] == {"x": -381952.0, "y": -316304.0}
    # the first step written out by hand: x ← 0 − 10⁻⁶·(−381952) = 0.381952
    assert "r = LHS − RHS = −1492" in out
    assert "x ← x − η·∂J/∂x = 0 − 1·10^−6·(−3.82·10^5) = 0.382" in out


@pytest.mark.parametrize("option, value, message", [
    ("--plot", "race.jpg", "--plot"),
    ("--trace", "t.json", "--trace"),
    ("--animate", "d.mp4", "--animate"),
    ("--plot", "missing/race.png", "does not exist"),
])
def test_bad_output_paths_fail_before_any_work(tmp_path, capsys, option, value, message):
    code = main(["solve", "256x + 212y = 1492", option, str(tmp_path / value)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_animate_needs_two_unknowns_and_writes_nothing(tmp_path, capsys):
    plot = tmp_path / "p.png"
    code = main(["solve", "exp(x) = 10", "--budget", "200", "--plot", str(plot), "--animate", str(tmp_path / "a.gif")])
    assert code == 2 and "two unknowns" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_one_unknown_plot_is_a_single_panel(tmp_path, capsys):
    plot = tmp_path / "p.png"
    assert main(["solve", "exp(x) = 10", "--budget", "200", "--plot", str(plot)]) == 0
    assert_picture(plot, size=(700, 450))


def test_trace_of_an_equation_too_wide_to_keep_its_path_is_refused_before_anything_is_written(tmp_path, capsys):
    from neuronlab.train.loop import RECORD_PARAMS_UP_TO

    names = [f"x{k}" for k in range(RECORD_PARAMS_UP_TO + 1)]  # one unknown more than a path is kept for
    plot, trace = tmp_path / "p.png", tmp_path / "t.jsonl"
    code = main(["solve", " + ".join(names) + " = 1", "--method", "gradient", "--plot", str(plot),
                 "--trace", str(trace)])
    captured = capsys.readouterr()
    assert code == 2 and "--trace needs θ_t" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not plot.exists() and not trace.exists()
