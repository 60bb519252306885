"""Several regression targets from the command line: ``train --target u,v`` learns one output
per target (a linear layer, or a network with --hidden), predict writes a column per target,
evaluate scores each; checked against scikit-learn's least squares and metrics."""

import csv
import json

import numpy as np
import pyarrow as pa
import pytest
from cli_helpers import run_cli
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from neuronlab.estimators.metrics import r2, regression_report
from neuronlab.io.model_file import load
from neuronlab.io.tables import prepare


def _write(path, X, Y, names=("a", "b", "c"), targets=("u", "v")):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*names, *targets])
        writer.writerows(np.column_stack([X, Y]).tolist())


@pytest.fixture
def two_targets(tmp_path):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(400, 3)) * [1.0, 3.0, 0.5] + [0.0, 10.0, -2.0]
    Y = X @ np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0]]) + [1.0, -1.0] + 0.1 * rng.normal(size=(400, 2))
    path = tmp_path / "two.csv"
    _write(path, X, Y)
    return path, X, Y


def _predictions(out):
    lines = out.strip().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


def test_two_targets_reach_least_squares_and_are_scored_each(capsys, tmp_path, two_targets):
    path, X, Y = two_targets
    model = tmp_path / "m.json"
    status, out, err = run_cli(capsys, "train", path, "--target", "u,v", "--strategy", "lbfgs", "--tol", "1e-12",
                               "--val-split", "0", "--out", model, "--json", "--quiet")
    assert status == 0, err
    assert json.loads(out)["training"]["target"] == ["u", "v"]

    status, out, err = run_cli(capsys, "predict", model, path)
    assert status == 0, err
    header, predicted = _predictions(out)
    assert header == ["prediction_u", "prediction_v"]
    reference = LinearRegression().fit(X, Y).predict(X)  # the closed-form least-squares fit
    np.testing.assert_allclose(predicted, reference, atol=1e-5)

    status, out, err = run_cli(capsys, "evaluate", model, path, "--json")
    assert status == 0, err
    metrics = json.loads(out)["metrics"]
    assert metrics["r2"] == pytest.approx(r2_score(Y, predicted), rel=1e-9)  # the mean of the two R²s
    assert metrics["mse"] == pytest.approx(mean_squared_error(Y, predicted), rel=1e-9)
    for j, scores in enumerate(metrics["per_target"]):
        assert scores["r2"] == pytest.approx(r2_score(Y[:, j], predicted[:, j]), rel=1e-9)
        assert scores["mae"] == pytest.approx(mean_absolute_error(Y[:, j], predicted[:, j]), rel=1e-9)

    status, out, err = run_cli(capsys, "evaluate", model, path)  # the table names each target
    assert status == 0, err
    assert "each target" in out and " u " in out and " v " in out
    status, out, err = run_cli(capsys, "inspect", model)
    assert status == 0, err
    assert "targets 'u', 'v'" in out


def test_two_targets_with_hidden_layers(capsys, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, size=(600, 2))
    Y = np.column_stack([np.sin(X[:, 0]) * X[:, 1], X[:, 0] ** 2 - X[:, 1]])  # curved in x
    path = tmp_path / "curved.csv"
    _write(path, X, Y, names=("x1", "x2"))
    model = tmp_path / "net.json"
    status, out, err = run_cli(capsys, "train", path, "--target", "u,v", "--hidden", "16", "--steps", "400",
                               "--out", model, "--json", "--quiet")
    assert status == 0, err
    validation = json.loads(out)["metrics"]["validation"]
    linear = LinearRegression().fit(X, Y)
    assert validation["r2"] > r2_score(Y, linear.predict(X)) + 0.2  # what no straight fit can do
    saved = load(model)
    assert saved.target_names == ["u", "v"] and saved.estimator.n_outputs_ == 2
    status, out, err = run_cli(capsys, "predict", model, "--row", "x1=0.5,x2=1")
    assert status == 0, err
    header, predicted = _predictions(out)
    assert header == ["prediction_u", "prediction_v"]
    np.testing.assert_allclose(predicted[0], saved.predict(np.array([[0.5, 1.0]]))[0], rtol=1e-12)


@pytest.mark.parametrize("argv, message", [
    (["--target", "u,v", "--task", "classify"], "can only be regressed"),
    (["--target", "u,u"], "names the column 'u' twice"),
    (["--target", "u,w"], "no column 'w'"),
    (["--target", "u,v", "--features", "a,u"], "'u' is the target"),
    (["--target", "u,v", "--activation", "sigmoid"], "add hidden layers with --hidden"),
])
def test_several_targets_refused_with_one_line(capsys, tmp_path, two_targets, argv, message):
    path, _, _ = two_targets
    status, out, err = run_cli(capsys, "train", path, *argv, "--quiet")
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_text_target_among_several_is_refused(capsys, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("a,u,v\n1,x,2\n2,y,3\n3,x,4\n")
    status, out, err = run_cli(capsys, "train", path, "--target", "u,v", "--quiet")
    assert status == 2 and "the target 'u' is not numeric" in err


def test_resume_keeps_the_targets(capsys, tmp_path, two_targets):
    path, _, _ = two_targets
    model = tmp_path / "m.json"
    assert run_cli(capsys, "train", path, "--target", "u,v", "--steps", "5", "--out", model, "--quiet")[0] == 0
    before = model.read_bytes()
    status, out, err = run_cli(capsys, "train", path, "--target", "u", "--resume", model, "--steps", "50",
                               "--quiet")
    assert status == 2 and "the model learned u, v" in err
    assert model.read_bytes() == before  # refused before anything was written
    status, out, err = run_cli(capsys, "train", path, "--resume", model, "--steps", "50", "--quiet")
    assert status == 0, err
    assert load(model).training["steps_done"] > 5


def test_a_model_file_whose_targets_do_not_match_its_outputs_is_refused(capsys, tmp_path, two_targets):
    path, _, _ = two_targets
    model = tmp_path / "m.json"
    assert run_cli(capsys, "train", path, "--target", "u,v", "--steps", "5", "--out", model, "--quiet")[0] == 0
    doc = json.loads(model.read_text())
    for target in (["u", "v", "w"], "u"):
        doc["target"] = target
        model.write_text(json.dumps(doc))
        status, out, err = run_cli(capsys, "predict", model, path)
        assert status == 2 and "field 'target' must name 2 column(s)" in err


def test_a_column_whose_name_holds_a_comma_is_still_one_target():
    table = pa.table({"a": [1.0, 2.0, 3.0], "price, usd": [2.0, 4.0, 7.0]})
    dataset = prepare(table, "price, usd")
    assert dataset.target == "price, usd" and dataset.y.ndim == 1


def test_r2_of_several_targets_is_scikit_learns_uniform_average():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -3.0]
    p = y + rng.normal(size=(50, 3)) * 0.5
    assert r2(y, p) == pytest.approx(r2_score(y, p), rel=1e-12)
    report = regression_report(y, p)
    assert [t["r2"] for t in report["per_target"]] == pytest.approx(list(r2_score(y, p, multioutput="raw_values")))
    assert "per_target" not in regression_report(y[:, 0], p[:, 0])
