"""The written-out first step equals numbers worked out by hand in this file."""

import json

import numpy as np
import pytest

from neuronlab import FunctionObjective, Neuron, NeuronObjective, minimize
from neuronlab.objectives.equation import EquationObjective
from neuronlab.viz.explain import explain, format_number
from neuronlab.io.trace import TraceWriter, read_trace


def test_linear_neuron_first_step_by_hand():
    # θ0 = (w₁, w₂, b) = (0.5, −1, 0.25), η = 0.1, f(z) = z, L = ½(ŷ − y)²
    # row 1: x = (2, 1), y = 1:  z = 0.5·2 − 1·1 + 0.25 = 0.25,  ŷ = 0.25,
    #        L = ½(0.25 − 1)² = 0.28125,  δ = ŷ − y = −0.75
    # row 2: x = (−1, 3), y = 0: z = −0.5 − 3 + 0.25 = −3.25,  ŷ = −3.25,
    #        L = ½·3.25² = 5.28125,  δ = −3.25
    # J = (0.28125 + 5.28125)/2 = 2.78125
    # ∂J/∂w₁ = (−0.75·2 + (−3.25)·(−1))/2 = 0.875
    # ∂J/∂w₂ = (−0.75·1 + (−3.25)·3)/2 = −5.25
    # ∂J/∂b  = (−0.75 − 3.25)/2 = −2
    # w₁ = 0.5 − 0.1·0.875 = 0.4125,  w₂ = −1 + 0.525 = −0.475,  b = 0.25 + 0.2 = 0.45
    X = np.array([[2.0, 1.0], [-1.0, 3.0]])
    y = np.array([1.0, 0.0])
    objective = NeuronObjective(Neuron(2, "identity"), X, y, loss="squared_error")
    result = minimize(objective, [0.5, -1.0, 0.25], learning_rate=0.1, max_steps=3, tol=0)
    explanation = explain(objective, result, first=1, rows=2)
    step = explanation.steps[0]
    assert step.loss == pytest.approx(2.78125, abs=1e-12)
    np.testing.assert_allclose(step.gradient, [0.875, -5.25, -2.0], atol=1e-12)
    np.testing.assert_allclose(step.theta_next, [0.4125, -0.475, 0.45], atol=1e-12)
    text = explanation.text()
    assert "z = w·x + b = 0.5·2 + (−1)·1 + 0.25 = 0.25" in text
    assert "z = w·x + b = 0.5·(−1) + (−1)·3 + 0.25 = −3.25" in text
    assert "δ = ∂L/∂ŷ·f′(z) = −0.75" in text
    assert "J = (1/n)·Σ L = 2.781" in text
    assert "∂J/∂w₁ = (1/n)·Σ δ·x₁ = 0.875" in text
    assert "∂J/∂w₂ = (1/n)·Σ δ·x₂ = −5.25" in text
    assert "∂J/∂b = (1/n)·Σ δ = −2" in text
    assert "w₁ ← w₁ − η·∂J/∂w₁ = 0.5 − 0.1·0.875 = 0.4125" in text
    assert "w₂ ← w₂ − η·∂J/∂w₂ = −1 − 0.1·(−5.25) = −0.475" in text
    assert "b ← b − η·∂J/∂b = 0.25 − 0.1·(−2) = 0.45" in text


def test_sigmoid_neuron_for_the_course_person_by_hand():
    # the course's person: 4 ft, 80 kg, obese (y = 1); θ0 = (0.5, −0.02, 0.1), η = 0.01
    # z = 0.5·4 − 0.02·80 + 0.1 = 2 − 1.6 + 0.1 = 0.5
    # ŷ = σ(0.5) = 1/(1 + e^−0.5) = 0.6224593312  (e^−0.5 = 0.6065306597)
    # L = −ln ŷ = 0.4740769842,  δ = ŷ − y = −0.3775406688
    # ∂J/∂w₁ = δ·4 = −1.5101626752, ∂J/∂w₂ = δ·80 = −30.2032535, ∂J/∂b = δ
    # w₁ = 0.5 + 0.01·1.5101626752 = 0.515101626752
    objective = NeuronObjective(Neuron(2, "sigmoid"), np.array([[4.0, 80.0]]), np.array([1.0]),
                                loss="log_loss")
    result = minimize(objective, [0.5, -0.02, 0.1], learning_rate=0.01, max_steps=1, tol=0)
    explanation = explain(objective, result)
    step = explanation.steps[0]
    assert step.loss == pytest.approx(0.4740769842, rel=1e-9)
    np.testing.assert_allclose(step.gradient, [-1.5101626752, -30.2032535, -0.3775406688], rtol=1e-9)
    np.testing.assert_allclose(step.theta_next, [0.515101626752, 0.282032535, 0.103775406688],
                               rtol=1e-9)
    text = explanation.text()
    assert "z = w·x + b = 0.5·4 + (−0.02)·80 + 0.1 = 0.5" in text
    assert "ŷ = f(z) = 0.6225" in text
    assert "L(ŷ, y) = 0.4741" in text


def equation():
    """256x + 212y = 1492, as ``neuronlab solve`` minimises it: r = 256x + 212y − 1492, J = ½r²."""
    return EquationObjective("256x + 212y = 1492")


def test_equation_first_step_by_hand():
    # at (x, y) = (0, 0): r = −1492, J = ½·1492² = 1113032
    # ∂J/∂x = r·256 = −381952, ∂J/∂y = r·212 = −316304
    # η = 1e−6: x = 0 + 0.381952, y = 0 + 0.316304
    objective = equation()
    result = minimize(objective, [0.0, 0.0], learning_rate=1e-6, max_steps=30, tol=0)
    explanation = explain(objective, result, first=2, every=10)
    step = explanation.steps[0]
    assert step.loss == 1113032.0
    np.testing.assert_array_equal(step.gradient, [-381952.0, -316304.0])
    np.testing.assert_allclose(step.theta_next, [0.381952, 0.316304], rtol=1e-12)
    text = explanation.text()
    assert "equation: 256x + 212y = 1492" in text
    assert "r = LHS − RHS = −1492" in text
    assert "J = ½r² = ½·(−1492)² = 1.113·10^6" in text
    assert "∂J/∂x = r·∂r/∂x = (−1492)·256 = −3.82·10^5" in text
    assert "x ← x − η·∂J/∂x = 0 − 1·10^−6·(−3.82·10^5) = 0.382" in text
    assert len(explanation.steps) == 2 and explanation.steps[1].step == 1
    assert [row[0] for row in explanation.table] == [0, 10, 20, 30]
    assert explanation.table[-1][1] == result.history.loss[-1]


def test_format_number():
    assert format_number(-0.25) == "−0.25"
    assert format_number(1e-6) == "1·10^−6"
    assert format_number(float("nan")) == "NaN"


def test_explain_refuses_a_search_run():
    result = minimize(equation(), [0.0, 0.0], strategy="error_driven", budget=20)
    with pytest.raises(ValueError, match="does not follow −∇J"):
        explain(equation(), result)


def test_trace_has_every_step_with_its_gradient(tmp_path):
    objective = equation()
    out = tmp_path / "run.jsonl"
    with TraceWriter(out, objective) as trace:
        result = minimize(trace.objective, [0.0, 0.0], learning_rate=1e-6, max_steps=5, tol=0,
                          callback=trace)
    records = read_trace(out)
    assert len(records) == len(result.history) == 6
    first = records[0]
    assert first["params"] == {"x": 0.0, "y": 0.0}
    assert first["gradient"] == {"x": -381952.0, "y": -316304.0}  # r·(256, 212) by hand
    assert first["loss"] == 1113032.0
    # step 1 moved by η·‖∇J‖ = 1e−6·√(381952² + 316304²)
    assert records[1]["step_size"] == pytest.approx(1e-6 * np.hypot(381952.0, 316304.0))
    assert all(r["learning_rate"] == 1e-6 for r in records[1:])


def test_trace_is_not_left_half_written_on_error(tmp_path):
    out = tmp_path / "run.jsonl"
    out.write_text("old\n")

    def broken(t):
        if t[0] > 0.5:
            raise ValueError("boom")
        return 0.5 * (t[0] - 3) ** 2, np.array([t[0] - 3])

    objective = FunctionObjective(broken, 1, grad=True)
    with pytest.raises(ValueError, match="boom"):
        with TraceWriter(out, objective) as trace:
            minimize(trace.objective, [0.0], learning_rate=0.1, max_steps=50, callback=trace)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]


def test_trace_of_a_search_has_no_gradient(tmp_path):
    out = tmp_path / "mc.jsonl"
    with TraceWriter(out, equation()) as trace:
        minimize(trace.objective, [0.0, 0.0], strategy="monte_carlo", budget=4, random_state=0,
                 callback=trace)
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["gradient"] is None for line in lines)


def test_trace_written_after_the_runs_from_their_histories(tmp_path):
    from neuronlab.io.trace import write_trace

    objective = equation()
    gd = minimize(objective, [0.0, 0.0], learning_rate=1e-6, max_steps=3, tol=0)
    mc = minimize(objective, [0.0, 0.0], strategy="monte_carlo", budget=2, random_state=0)
    out = tmp_path / "runs.jsonl"
    assert write_trace(out, {"gradient": gd.history, "monte-carlo": mc.history}, objective) == 6
    records = read_trace(out)
    assert [r["run"] for r in records] == ["gradient"] * 4 + ["monte-carlo"] * 2
    assert records[0]["gradient"] == {"x": -381952.0, "y": -316304.0}
    guess = records[4]["params"]
    r = 256 * guess["x"] + 212 * guess["y"] - 1492  # the gradient at a guess is r·(256, 212)
    assert records[4]["gradient"]["x"] == pytest.approx(256 * r)


def test_trace_recomputes_the_gradient_when_asked(tmp_path):
    objective = equation()
    out = tmp_path / "run.jsonl"
    with TraceWriter(out, objective, recompute_gradient=True) as trace:
        minimize(objective, [0.0, 0.0], learning_rate=1e-6, max_steps=2, tol=0, callback=trace)
    assert read_trace(out)[0]["gradient"] == {"x": -381952.0, "y": -316304.0}


def test_trace_path_must_be_jsonl(tmp_path):
    with pytest.raises(ValueError, match=r"\.jsonl"):
        TraceWriter(tmp_path / "run.json", equation())


def test_explain_refuses_an_objective_the_run_did_not_minimise():
    X = np.array([[2.0, 1.0], [-1.0, 3.0]])
    run_on = NeuronObjective(Neuron(2, "identity"), X, np.array([1.0, 0.0]))
    other = NeuronObjective(Neuron(2, "identity"), X, np.array([0.0, 1.0]))
    result = minimize(run_on, [0.5, -1.0, 0.25], learning_rate=0.1, max_steps=2, tol=0)
    with pytest.raises(ValueError, match="not the one this run minimised"):
        explain(other, result)


def test_an_objective_over_some_rows_writes_out_those_rows():
    # the same two rows as above, the objective covering only the second: x = (−1, 3), y = 0
    # z = −3.25, J = ½·3.25² = 5.28125, δ = −3.25, ∇J = δ·(−1, 3, 1) = (3.25, −9.75, −3.25)
    X = np.array([[2.0, 1.0], [-1.0, 3.0]])
    objective = NeuronObjective(Neuron(2, "identity"), X, np.array([1.0, 0.0]), rows=np.array([1]))
    result = minimize(objective, [0.5, -1.0, 0.25], learning_rate=0.1, max_steps=1, tol=0)
    explanation = explain(objective, result, rows=2)
    np.testing.assert_allclose(explanation.steps[0].gradient, [3.25, -9.75, -3.25], atol=1e-12)
    text = explanation.text()
    assert "1 rows" in text and "other" not in text
    assert "row 1: x = (−1, 3), y = 0" in text and "row 2" not in text
    assert "z = w·x + b = 0.5·(−1) + (−1)·3 + 0.25 = −3.25" in text
    assert "J = (1/n)·Σ L = 5.281" in text


def test_explain_refuses_a_mini_batch_run_and_says_why():
    X = np.array([[2.0, 1.0], [-1.0, 3.0], [0.5, 0.5], [1.0, -2.0]])
    objective = NeuronObjective(Neuron(2, "identity"), X, np.array([1.0, 0.0, 1.0, 0.0]))
    result = minimize(objective, [0.5, -1.0, 0.25], batch_size=2, learning_rate=0.1, max_steps=2, tol=0)
    # gradient descent by name, but each row is an epoch of two updates: not one θ ← θ − η·∇J
    assert result.strategy == "gradient_descent" and len(result.history.updates.row) == 4
    with pytest.raises(ValueError, match="mini-batch"):
        explain(objective, result)
