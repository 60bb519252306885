"""`neuronlab train` with --plot, --explain, --trace and --animate."""

import json

import numpy as np
from image_checks import assert_picture

from neuronlab.apps.cli import main
from neuronlab.io.tables import split_rows


def test_train_obesity_writes_every_visual(tmp_path, capsys):
    plot, trace, gif = tmp_path / "train.png", tmp_path / "t.jsonl", tmp_path / "d.gif"
    code = main(["train", "obesity", "--steps", "40", "--quiet", "--plot", str(plot), "--trace", str(trace),
                 "--animate", str(gif), "--explain", "--explain-steps", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert_picture(plot, size=(1300, 500))
    assert_picture(gif, size=(800, 360))
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(records) == 41
    # the trace's gradient is the one the run followed: θ₁ = θ₀ − η·∇J(θ₀) with η = 0.5
    theta0 = np.array(list(records[0]["params"].values()))
    grad0 = np.array(list(records[0]["gradient"].values()))
    theta1 = np.array(list(records[1]["params"].values()))
    np.testing.assert_allclose(theta1, theta0 - 0.5 * grad0, rtol=1e-12)
    # … and it is ∇J(θ₀) itself, computed here from the CSV by hand: the training rows are those
    # left by the stratified 0.2 split of seed 0 (split_rows), standardised with their own
    # mean and (population) standard deviation; ∇J = (1/n)·X̃ᵀ(σ(X̃θ) − y), X̃ = [x′, 1]
    import pandas as pd
    from importlib.resources import files

    frame = pd.read_csv(files("neuronlab") / "io" / "bundled" / "obesity.csv")
    train = split_rows(len(frame), 0.2, 0, stratify=frame["condition"].to_numpy())[0]
    x = frame[["height", "weight"]].to_numpy(dtype=float)[train]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (frame["condition"].to_numpy()[train] == "Obese").astype(float)
    X1 = np.column_stack([x, np.ones(len(x))])
    expected = X1.T @ (1 / (1 + np.exp(-(X1 @ theta0))) - y) / len(x)
    np.testing.assert_allclose(grad0, expected, rtol=1e-10)
    assert "Training, step by step" in out and "w₁ ← w₁ − η·∂J/∂w₁" in out


def test_train_bad_trace_path_fails_before_training(tmp_path, capsys):
    code = main(["train", "obesity", "--quiet", "--trace", str(tmp_path / "t.txt"), "--out", str(tmp_path / "m.json")])
    assert code == 2 and "--trace" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_train_explain_with_a_search_strategy_is_refused_before_training(tmp_path, capsys):
    model = tmp_path / "m.json"
    code = main(["train", "obesity", "--quiet", "--strategy", "monte_carlo", "--explain", "--out", str(model)])
    assert code == 2 and "--explain" in capsys.readouterr().err
    assert not model.exists()


def test_explain_of_a_neuron_too_wide_to_keep_its_path_is_refused_before_training(tmp_path, capsys):
    from neuronlab.train.loop import RECORD_PARAMS_UP_TO

    # RECORD_PARAMS_UP_TO features + the bias: one parameter more than a run keeps θ_t for
    n_features = RECORD_PARAMS_UP_TO
    rows = np.random.default_rng(0).normal(size=(20, n_features))
    data = tmp_path / "wide.csv"
    data.write_text(",".join(f"f{i}" for i in range(n_features)) + ",t\n" + "".join(
        ",".join(f"{v:.3f}" for v in row) + f",{int(row[0] > 0)}\n" for row in rows))
    model = tmp_path / "m.json"
    code = main(["train", str(data), "--target", "t", "--quiet", "--explain", "--out", str(model)])
    captured = capsys.readouterr()
    assert code == 2 and "--explain needs θ_t" in captured.err
    assert captured.out == "" and not model.exists()


def test_explain_of_a_mini_batch_run_is_refused_before_training(tmp_path, capsys):
    model = tmp_path / "m.json"
    code = main(["train", "obesity", "--quiet", "--batch-size", "32", "--explain", "--out", str(model)])
    captured = capsys.readouterr()
    assert code == 2 and "--batch-size 32" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert captured.out == "" and not model.exists()
