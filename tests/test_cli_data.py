"""The data commands end to end: train → predict/evaluate/inspect, bad inputs, Ctrl-C."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import neuronlab
import neuronlab.io.datasets
from neuronlab import NeuronClassifier
from neuronlab.apps.cli import main
from neuronlab.io.tables import split_rows

from cli_helpers import readline_within, run_cli

FOOT = 0.3048


@pytest.fixture(scope="module")
def obesity_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "m.json"
    assert main(["train", "obesity", "--target", "condition", "--out", str(path), "--quiet"]) == 0
    return path


def test_course_person_is_obese(obesity_model, capsys):
    code, out, err = run_cli(capsys, "predict", obesity_model, "--row", "height=4,weight=80")
    assert code == 0 and out.splitlines() == ["prediction", "Obese"]
    # and a person of 6 ft, 70 kg (BMI 20.9 by the WHO formula) is not
    code, out, _ = run_cli(capsys, "predict", obesity_model, "--row", "weight=70,height=6")
    assert out.splitlines()[1] == "Not Obese" and 70 / (6 * FOOT) ** 2 < 30


def test_validation_accuracy_and_metrics_recomputed_from_predictions(obesity_model, capsys, tmp_path):
    doc = json.loads(obesity_model.read_text())
    # 74 of the 80 stratified validation rows (23 of them Obese) are right
    assert doc["metrics"]["validation"]["accuracy"] >= 0.9
    assert all("val_loss" in p for p in doc["history"]["points"]) and doc["history"]["points"][-1]["step"] == 1000
    # recompute the validation accuracy independently: the documented split, the file, the predictions
    import csv

    from importlib import resources

    rows = list(csv.DictReader(resources.files("neuronlab").joinpath("io/bundled/obesity.csv").read_text().splitlines()))
    val = split_rows(len(rows), 0.2, 0, stratify=[r["condition"] for r in rows])[1]  # stratified by class
    val_csv = tmp_path / "val.csv"
    with open(val_csv, "w", newline="") as f:
        w = csv.DictWriter(f, ["weight", "height", "condition"])  # columns in another order
        w.writeheader()
        w.writerows(rows[i] for i in val)
    code, out, _ = run_cli(capsys, "predict", obesity_model, val_csv, "--out", tmp_path / "p.csv", "--proba")
    assert code == 0 and out == ""
    predicted = [r["prediction"] for r in csv.DictReader(open(tmp_path / "p.csv"))]
    truth = [rows[i]["condition"] for i in val]
    accuracy = np.mean([p == t for p, t in zip(predicted, truth)])
    assert accuracy == doc["metrics"]["validation"]["accuracy"] >= 0.9
    code, out, _ = run_cli(capsys, "evaluate", obesity_model, val_csv, "--json")
    assert json.loads(out)["metrics"]["accuracy"] == accuracy


def test_cli_predictions_equal_load_predictions(obesity_model, capsys, tmp_path):
    code, _, _ = run_cli(capsys, "predict", obesity_model, "obesity", "--proba", "--out", tmp_path / "p.csv")
    import csv

    with open(tmp_path / "p.csv", newline="") as f:
        cli = list(csv.DictReader(f))
    model = neuronlab.load(obesity_model)
    frame = neuronlab.io.datasets.load_frame("obesity")
    # bit for bit: the file's text is each float's shortest round-trip form, read back by float()
    np.testing.assert_array_equal([float(r["p(Obese)"]) for r in cli], model.predict_proba(frame)[:, 1])
    np.testing.assert_array_equal([float(r["p(Not Obese)"]) for r in cli], model.predict_proba(frame)[:, 0])
    assert [r["prediction"] for r in cli] == list(model.predict(frame))


def test_inspect_shows_weights_per_feature(obesity_model, capsys):
    code, out, _ = run_cli(capsys, "inspect", obesity_model)
    assert code == 0 and "height" in out and "weight" in out and "gradient_descent" in out
    code, out, _ = run_cli(capsys, "inspect", obesity_model, "--json")
    assert json.loads(out)["feature_names"] == ["height", "weight"]


def test_inspect_of_a_run_whose_loss_overflowed(capsys, tmp_path):
    out = tmp_path / "d.json"
    code, _, _ = run_cli(capsys, "train", "diabetes", "--lr", "1e30", "--steps", "50", "--out", out, "--quiet")
    history = json.loads(out.read_text())["history"]
    assert code == 0 and history["loss_end"] is None  # the loss reached inf; JSON writes null
    code, stdout, stderr = run_cli(capsys, "inspect", out)
    assert code == 0 and stderr == ""
    assert f"→ not finite over {history['n_steps']} steps" in stdout


def test_train_on_breast_cancer_matches_the_api_exactly(capsys, tmp_path):
    from sklearn.datasets import load_breast_cancer

    out = tmp_path / "bc.json"
    code, stdout, _ = run_cli(capsys, "train", "breast_cancer", "--target", "diagnosis", "--lr", "0.3",
                              "--steps", "300", "--seed", "3", "--alpha", "0.01", "--out", out, "--json", "--quiet")
    assert code == 0 and json.loads(stdout)["model"] == str(out)
    bunch = load_breast_cancer()
    X, y = bunch.data, bunch.target_names[bunch.target]
    train = split_rows(len(y), 0.2, 3, stratify=y)[0]  # the classes' stratified split
    mean, sd = X[train].mean(axis=0), X[train].std(axis=0)
    api = NeuronClassifier(learning_rate=0.3, max_steps=300, alpha=0.01, random_state=3)
    with pytest.warns(neuronlab.ConvergenceWarning):
        api.fit((X[train] - mean) / sd, y[train])
    model = neuronlab.load(out)
    np.testing.assert_array_equal(model.estimator.coef_, api.coef_)
    assert model.estimator.intercept_ == api.intercept_
    np.testing.assert_array_equal(model.predict_proba(X), api.predict_proba((X - mean) / sd))


def test_mini_batches_schedule_and_float32_match_the_api_exactly(capsys, tmp_path):
    from sklearn.datasets import load_breast_cancer

    out = tmp_path / "bc.json"
    code, stdout, _ = run_cli(capsys, "train", "breast_cancer", "--target", "diagnosis", "--strategy", "sgd",
                              "--batch-size", "16", "--schedule", "cosine", "--dtype", "float32", "--lr", "0.2",
                              "--steps", "5", "--seed", "4", "--out", out, "--json", "--quiet")
    doc = json.loads(stdout)
    assert code == 0 and doc["training"]["batch_size"] == 16 and doc["training"]["schedule"] == "cosine"
    bunch = load_breast_cancer()
    X, y = bunch.data, bunch.target_names[bunch.target]
    train = split_rows(len(y), 0.2, 4, stratify=y)[0]  # the classes' stratified split
    mean, sd = X[train].mean(axis=0), X[train].std(axis=0)
    api = NeuronClassifier(solver="sgd", batch_size=16, schedule="cosine", dtype="float32", learning_rate=0.2,
                           max_steps=5, random_state=4)
    with pytest.warns(neuronlab.ConvergenceWarning):
        api.fit((X[train] - mean) / sd, y[train])
    np.testing.assert_array_equal(neuronlab.load(out).estimator.coef_, api.coef_)
    # 5 epochs of ⌈455/16⌉ = 29 updates; the cosine schedule falls from 0.2 towards 0 over all 145
    updates = api.history_.updates
    assert len(updates.row) == 5 * 29 and updates.learning_rate[0] == 0.2
    assert updates.learning_rate[-1] == pytest.approx(0.2 * 0.5 * (1 + np.cos(np.pi * 144 / 145)))


def test_recover_turns_a_diverging_run_into_a_converged_one(capsys):
    argv = ("train", "diabetes", "--lr", "5", "--steps", "3000", "--json", "--quiet")
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and json.loads(out)["status"] == "diverged"
    code, out, _ = run_cli(capsys, *argv, "--recover")
    doc = json.loads(out)
    assert code == 0 and doc["status"] == "converged" and doc["training"]["recover"] is True
    assert "recovered from divergence" in doc["message"]


def test_resume_keeps_mini_batch_settings_and_says_how_to_turn_them_off(capsys, tmp_path):
    out = tmp_path / "m.json"
    code, _, _ = run_cli(capsys, "train", "obesity", "--steps", "3", "--batch-size", "64", "--recover",
                         "--out", out, "--quiet")
    assert code == 0
    code, stdout, stderr = run_cli(capsys, "train", "obesity", "--steps", "6", "--resume", out,
                                   "--strategy", "lbfgs", "--quiet")
    assert code == 2 and stdout == "" and len(stderr.strip().splitlines()) == 1
    assert "--batch-size 64 (kept from the resumed model)" in stderr and "--batch-size all" in stderr
    code, stdout, _ = run_cli(capsys, "train", "obesity", "--steps", "6", "--resume", out, "--strategy", "lbfgs",
                              "--batch-size", "all", "--no-recover", "--json", "--quiet")
    training = json.loads(stdout)["training"]
    assert code == 0 and training["batch_size"] == "all" and training["recover"] is False


@pytest.mark.parametrize("stream", [False, True])
def test_resume_on_data_of_other_classes_is_an_error_and_keeps_the_model(capsys, tmp_path, stream):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    for name, labels in (("a.csv", "xyz"), ("new.csv", "xyw"), ("fewer.csv", "xy")):
        rows = [f"{p},{q},{labels[i % len(labels)]}" for i, (p, q) in enumerate(X)]
        (tmp_path / name).write_text("p,q,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "m.json"
    assert run_cli(capsys, "train", tmp_path / "a.csv", "--target", "label", "--steps", "5", "--out", out,
                   "--quiet")[0] == 0
    saved = out.read_bytes()
    for name, theirs in (("new.csv", "w, x, y"), ("fewer.csv", "x, y")):
        code, stdout, stderr = run_cli(capsys, "train", tmp_path / name, "--target", "label", "--steps", "10",
                                       "--resume", out, "--quiet", *(["--stream"] if stream else []))
        assert code == 2 and stdout == "" and len(stderr.strip().splitlines()) == 1
        assert f"learned the classes x, y, z, but the data's are {theirs};" in stderr
        assert "without --resume" in stderr
        assert out.read_bytes() == saved
    code, _, _ = run_cli(capsys, "train", tmp_path / "a.csv", "--target", "label", "--steps", "10", "--resume", out,
                         "--quiet", *(["--stream"] if stream else []))
    assert code == 0 and out.read_bytes() != saved  # the same classes: it goes on


def test_regression_on_diabetes(capsys):
    code, out, _ = run_cli(capsys, "train", "diabetes", "--json", "--quiet", "--lr", "0.1", "--steps", "2000")
    doc = json.loads(out)
    assert code == 0 and doc["training"]["task"] == "regress" and doc["metrics"]["validation"]["r2"] > 0.3


# --- bad input: exit 2, one line on stderr, no traceback, stdout clean, --out untouched ------------
def bad_inputs(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    (tmp_path / "text.csv").write_text("a,city,y\n1,Paris,0\n2,Rome,1\n")
    (tmp_path / "nan.csv").write_text("a,b,y\n1,,0\n2,3,1\n4,5,0\n")
    (tmp_path / "one.csv").write_text("a,b,y\n1,2,0\n2,3,0\n4,5,0\n")
    (tmp_path / "good.csv").write_text("a,b,y\n1,2,0\n2,3,1\n4,5,0\n5,1,1\n6,2,0\n")
    (tmp_path / "binary.parquet").write_bytes(b"PAR1\x00\xff garbage")
    return {
        "missing file": ["train", tmp_path / "nope.csv", "--target", "y"],
        "unreadable file": ["train", tmp_path / "binary.parquet", "--target", "y"],
        "a folder": ["train", tmp_path, "--target", "y"],
        "empty file": ["train", tmp_path / "empty.csv", "--target", "y"],
        "header only": ["train", tmp_path / "header.csv", "--target", "y"],
        "missing target": ["train", tmp_path / "good.csv", "--target", "label"],
        "non-numeric feature": ["train", tmp_path / "text.csv", "--target", "y"],
        "NaN": ["train", tmp_path / "nan.csv", "--target", "y"],
        "one class": ["train", tmp_path / "one.csv", "--target", "y"],
        "unknown activation": ["train", tmp_path / "good.csv", "--target", "y", "--activation", "nope"],
        "unknown strategy": ["train", tmp_path / "good.csv", "--target", "y", "--strategy", "nope"],
        "unknown task": ["train", tmp_path / "good.csv", "--target", "y", "--task", "cluster"],
        "bad learning rate": ["train", tmp_path / "good.csv", "--target", "y", "--lr", "-1"],
        "missing feature": ["train", tmp_path / "good.csv", "--target", "y", "--features", "a,zz"],
        "unknown schedule": ["train", tmp_path / "good.csv", "--target", "y", "--schedule", "sometimes"],
        "mini-batches for L-BFGS": ["train", tmp_path / "good.csv", "--target", "y", "--strategy", "lbfgs",
                                    "--batch-size", "2"],
        "predict missing column": ["predict", "MODEL", tmp_path / "header.csv"],
        "bad model file": ["predict", tmp_path / "good.csv", tmp_path / "good.csv"],
    }


BAD_INPUT_CASES = ["missing file", "unreadable file", "a folder", "empty file", "header only", "missing target",
                   "non-numeric feature", "NaN", "one class", "unknown activation", "unknown strategy",
                   "unknown task", "bad learning rate", "missing feature", "unknown schedule", "mini-batches for L-BFGS",
                   "predict missing column", "bad model file"]


@pytest.mark.parametrize("case", BAD_INPUT_CASES)
def test_bad_input_exits_2_with_one_line_and_keeps_out(case, capsys, tmp_path, obesity_model):
    assert sorted(bad_inputs(tmp_path)) == sorted(BAD_INPUT_CASES)
    argv = [obesity_model if a == "MODEL" else a for a in bad_inputs(tmp_path)[case]]
    out = tmp_path / "existing.json"
    out.write_text("precious")
    code, stdout, stderr = run_cli(capsys, *argv, "--out", out, *(["--json"] if argv[0] == "train" else []))
    assert code == 2
    assert stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert out.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "neuronlab", "train", str(tmp_path / "x.csv"), "--target", "y", "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no such file" in result.stderr


# --- Ctrl-C ---------------------------------------------------------------------------------------
def test_sigint_saves_an_interrupted_model_and_resume_finishes(tmp_path):
    out = tmp_path / "m.json"
    # a tiny learning rate and tol 0 keep the loss changing for all 10⁸ steps: only Ctrl-C ends it
    argv = [sys.executable, "-m", "neuronlab", "train", "obesity", "--lr", "1e-6", "--tol", "0",
            "--steps", "100000000", "--out", str(out)]
    # a shell's background job inherits SIGINT ignored; give the child the default so Python's
    # KeyboardInterrupt handler is installed, as in a terminal
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = readline_within(proc.stderr, 60)  # the first progress line: training is under way
        assert first.startswith("step 0/100000000")
        time.sleep(0.5)  # let it take some steps (each is a few microseconds)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stdout
    model = neuronlab.load(out)
    assert model.training["status"] == "interrupted"
    done = model.training["steps_done"]
    assert 0 < done < 100_000_000
    # resume with a budget a little above what was done: it continues from the saved θ and finishes
    result = subprocess.run([sys.executable, "-m", "neuronlab", "train", "obesity", "--resume", str(out),
                             "--steps", str(done + 50), "--quiet"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    resumed = neuronlab.load(out)
    assert resumed.training["status"] == "max_steps" and resumed.training["steps_done"] == done + 50
    assert resumed.training["runs"] == 2 and resumed.training["learning_rate"] == 1e-6
    assert resumed.history["loss_start"] == pytest.approx(model.history["loss_end"], rel=1e-6)


# --- help, listing, light import -------------------------------------------------------------------
@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "inspect", "datasets"])
def test_each_command_has_full_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "examples:" in out and f"neuronlab {command}" in out


def test_datasets_lists_the_built_ins(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0 and all(name in out for name in neuronlab.io.datasets.names())
    assert "blobs3" in out and "three classes" in out
    code, out, _ = run_cli(capsys, "datasets", "obesity")
    assert "WHO rule" in out and "4.00" in out


def test_row_with_a_missing_feature_names_it(obesity_model, capsys):
    code, out, err = run_cli(capsys, "predict", obesity_model, "--row", "height=4")
    assert code == 2 and "weight" in err and out == ""
