"""Bad values the command line must refuse in one line (exit 2), and scoring a one-class test set.

Every CLI case runs ``neuronlab.apps.cli.main`` in-process; stderr must be exactly one line,
stdout empty, and no numpy warning may be raised on the way.
"""

import json
import sys
import warnings

import numpy as np
import pytest

import neuronlab
import neuronlab.io.datasets
from neuronlab.apps.cli import main
from neuronlab.io.tables import load_dataset

from cli_helpers import run_cli

#: a tiny classification set: two clouds in (a, b), labels yes/no
TINY = "a,b,y\n0,0,no\n1,0,no\n0,1,no\n1,1,no\n4,4,yes\n5,4,yes\n4,5,yes\n5,5,yes\n"


def assert_one_line_error(code, out, err, *phrases):
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in err, err


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "tiny.csv").write_text(TINY)
    assert main(["train", str(folder / "tiny.csv"), "--target", "y", "--val-split", "0", "--steps", "200",
                 "--lr", "1", "--out", str(folder / "m.json"), "--quiet"]) == 0
    return folder / "m.json"


# --- 1. evaluate: one class is fine, unknown labels are not ------------------------------------------
def test_evaluate_scores_a_test_set_of_one_class(tiny_model, capsys, tmp_path):
    rows = [(4.5, 4.0), (3.0, 2.5), (5.0, 6.0)]  # all truly 'yes'
    data = tmp_path / "yes.csv"
    data.write_text("a,b,y\n" + "".join(f"{a},{b},yes\n" for a, b in rows))
    code, out, err = run_cli(capsys, "evaluate", tiny_model, data, "--json")
    assert code == 0 and err == ""
    metrics = json.loads(out)["metrics"]
    assert metrics["roc_auc"] is None  # undefined without a negative example
    # by hand from the model file: x′ = (x − μ)/σ, p = σ(w·x′ + b), labels ['no', 'yes']
    doc = json.loads(tiny_model.read_text())
    assert doc["labels"] == ["no", "yes"]
    model = neuronlab.load(tiny_model)
    X = (np.array(rows) - model.scaler.mean) / model.scaler.scale
    p = 1.0 / (1.0 + np.exp(-(X @ model.estimator.coef_ + model.estimator.intercept_)))
    assert metrics["accuracy"] == pytest.approx(np.mean(p > 0.5))
    assert metrics["log_loss"] == pytest.approx(-np.mean(np.log(p)))
    assert metrics["confusion_matrix"] == [[0, 0], [int(np.sum(p <= 0.5)), int(np.sum(p > 0.5))]]
    code, out, err = run_cli(capsys, "evaluate", tiny_model, data)
    assert code == 0 and err == ""
    roc_line = [line for line in out.splitlines() if line.strip().startswith("roc_auc")]
    assert roc_line and roc_line[0].split()[-1] == "—"


def test_evaluate_names_the_labels_the_model_does_not_know(tiny_model, capsys, tmp_path):
    data = tmp_path / "other.csv"
    data.write_text("a,b,y\n0,0,no\n5,5,maybe\n4,4,perhaps\n")
    code, out, err = run_cli(capsys, "evaluate", tiny_model, data)
    assert_one_line_error(code, out, err, "maybe, perhaps", "does not know", "no, yes")


def test_numeric_labels_are_compared_as_numbers_people_write(tmp_path):
    (tmp_path / "train.csv").write_text("a,y\n0,0\n1,0\n4,1\n5,1\n")
    assert main(["train", str(tmp_path / "train.csv"), "--target", "y", "--val-split", "0", "--steps", "50",
                 "--out", str(tmp_path / "m.json"), "--quiet"]) == 0
    model = neuronlab.load(tmp_path / "m.json")
    assert model.labels == [0, 1]
    (tmp_path / "ones.csv").write_text("a,y\n4,1\n6,1\n")
    ds = load_dataset(str(tmp_path / "ones.csv"), "y", ["a"], task="classify", labels=model.labels)
    assert ds.y.tolist() == [1, 1] and ds.labels == [0, 1]
    (tmp_path / "two.csv").write_text("a,y\n4,1\n6,2\n")
    with pytest.raises(ValueError, match=r"label\(s\) 2 that the model does not know; its classes are 0, 1"):
        load_dataset(str(tmp_path / "two.csv"), "y", ["a"], task="classify", labels=model.labels)


# --- 2. infinite values are bad input, like missing ones ------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("where", ["feature", "regression target"])
def test_infinity_is_refused_before_any_arithmetic(seed, where, capsys, tmp_path):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=30), rng.normal(size=30)
    y = 3 * a - b + rng.normal(scale=0.1, size=30)  # many distinct values: a regression target
    rows = [[repr(float(v)) for v in row] for row in zip(a, b, y)]
    bad_rows = sorted(rng.choice(30, size=2, replace=False))
    column = 1 if where == "feature" else 2
    for k, r in enumerate(bad_rows):
        rows[r][column] = "inf" if k == 0 else "-inf"
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n" + "".join(",".join(r) + "\n" for r in rows))
    name = "b" if where == "feature" else "y"
    code, out, err = run_cli(capsys, "train", path, "--target", "y", "--seed", seed, "--quiet")
    assert_one_line_error(code, out, err, f"infinite values in column(s) {name} (2 rows)", "--drop-missing")
    # --drop-missing drops exactly those two rows
    code, out, err = run_cli(capsys, "train", path, "--target", "y", "--seed", seed, "--drop-missing",
                             "--steps", "5", "--json")
    assert code == 0 and json.loads(out)["training"]["rows"] == 28
    assert "dropped 2 row(s) with missing or infinite values" in err


def test_missing_and_infinite_in_one_column_are_counted_apart(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,0\n,1\ninf,0\n-inf,1\n3,1\n")
    with pytest.raises(ValueError, match=r"missing or infinite values in column\(s\) a "
                                         r"\(1 row missing, 2 rows infinite\), 3 rows in all"):
        load_dataset(str(path), "y")


# --- 3–5. option values: one usage line naming the option ---------------------------------------------
@pytest.mark.parametrize("argv, option", [
    (["train", "DATA", "--steps", "0"], "--steps"),
    (["train", "DATA", "--steps", "-3"], "--steps"),
    (["train", "DATA", "--steps", "1.5"], "--steps"),
    (["train", "DATA", "--seed", "-1"], "--seed"),
    (["train", "DATA", "--seed", str(2**32)], "--seed"),
    (["lr-find", "DATA", "--seed", "-1"], "--seed"),
    (["demo", "--seed", "-1", "--out", "OUT"], "--seed"),
    (["train", "DATA", "--lr", "0"], "--lr"),
    (["train", "DATA", "--lr", "-0.5"], "--lr"),
    (["train", "DATA", "--lr", "nan"], "--lr"),
    (["train", "DATA", "--val-split", "1"], "--val-split"),
    (["train", "DATA", "--val-split", "-0.1"], "--val-split"),
    (["train", "DATA", "--alpha", "-1"], "--alpha"),
    (["train", "DATA", "--tol", "inf"], "--tol"),
    (["lr-find", "DATA", "--min-lr", "0"], "--min-lr"),
    (["lr-find", "DATA", "--steps", "0"], "--steps"),
    (["lr-find", "DATA", "--val-split", "2"], "--val-split"),
    (["train", "DATA", "--features", ""], "--features"),
    (["train", "DATA", "--features", " , "], "--features"),
    (["lr-find", "DATA", "--features", ""], "--features"),
])
def test_bad_option_values_are_one_usage_line(argv, option, capsys, tmp_path):
    data = tmp_path / "tiny.csv"
    data.write_text(TINY)
    argv = [data if a == "DATA" else tmp_path / "report" if a == "OUT" else a for a in argv]
    if argv[0] != "demo":
        argv += ["--target", "y"]
    code, out, err = run_cli(capsys, *argv)
    assert_one_line_error(code, out, err, f"argument {option}")
    assert "already took" not in err and "n_inputs" not in err and "non-negative" not in err
    assert not (tmp_path / "report").exists()


def test_features_naming_no_columns_says_so(capsys, tmp_path):
    data = tmp_path / "tiny.csv"
    data.write_text(TINY)
    code, out, err = run_cli(capsys, "train", data, "--target", "y", "--features", "")
    assert_one_line_error(code, out, err, "--features", "named no columns")
    with pytest.raises(ValueError, match="names no columns"):
        load_dataset(str(data), "y", [])


def test_the_largest_seed_is_accepted(capsys, tmp_path):
    data = tmp_path / "tiny.csv"
    data.write_text(TINY)
    code, out, err = run_cli(capsys, "train", data, "--target", "y", "--seed", 2**32 - 1, "--steps", "3",
                             "--json", "--quiet")
    assert code == 0 and json.loads(out)["training"]["seed"] == 4294967295


# --- 6. predict's advice for a missing value ------------------------------------------------------------
def test_predict_with_a_missing_value_advises_what_predict_can_do(tiny_model, capsys, tmp_path):
    data = tmp_path / "new.csv"
    data.write_text("a,b\n1,2\n3,\n")
    code, out, err = run_cli(capsys, "predict", tiny_model, data)
    assert_one_line_error(code, out, err, "b (1 row)", "remove those rows or fill them in")
    assert "--drop-missing" not in err


# --- 7. binary garbage named .csv ---------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_binary_garbage_is_not_called_empty(seed, capsys, tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\x00\xff\x10" + np.random.default_rng(seed).bytes(300))
    code, out, err = run_cli(capsys, "train", path, "--target", "y")
    assert_one_line_error(code, out, err, "garbage.csv: cannot be read as CSV")
    assert "empty" not in err.replace("Empty CSV file", "")  # pyarrow's own words may say it
    assert all(c.isprintable() for c in err.rstrip("\n"))


def test_a_blank_file_is_still_called_empty(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\n\r\n\n")
    with pytest.raises(ValueError, match="the file is empty"):
        load_dataset(str(path), "y")


# --- 8. one class, three classes: plain values ----------------------------------------------------------
@pytest.mark.parametrize("column, shown", [("yes,yes,yes", "(yes)"), ("0,0,0", "(0)"), ("2.5,2.5,2.5", "(2.5)")])
def test_one_class_message_shows_the_plain_value(column, shown, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n" + "".join(f"{k},{v}\n" for k, v in enumerate(column.split(","))))
    with pytest.raises(ValueError, match="only one class") as info:
        load_dataset(str(path), "y", task="classify")
    assert shown in str(info.value) and "np." not in str(info.value)


def test_three_classes_are_kept_as_plain_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,0\n2,1\n3,2\n")
    dataset = load_dataset(str(path), "y", task="classify")
    assert dataset.labels == [0, 1, 2] and all(type(label) is int for label in dataset.labels)


# --- 9–13 ------------------------------------------------------------------------------------------------
def test_inspect_of_a_folder_says_it_is_a_folder(capsys, tmp_path):
    code, out, err = run_cli(capsys, "inspect", tmp_path)
    assert_one_line_error(code, out, err, "is a folder")
    assert "no such" not in err


def test_bare_neuronlab_prints_the_help_and_succeeds(capsys):
    code, out, err = run_cli(capsys)
    assert code == 0 and err == ""
    assert out.startswith("usage: neuronlab")
    for command in ("demo", "train", "predict", "evaluate", "inspect", "datasets", "lr-find"):
        assert command in out


def test_train_refuses_a_strategy_that_cannot_train_a_neuron(capsys, tmp_path):
    data = tmp_path / "tiny.csv"
    data.write_text(TINY)
    code, out, err = run_cli(capsys, "train", data, "--target", "y", "--strategy", "gauss_newton", "--quiet")
    assert_one_line_error(code, out, err, "gauss_newton cannot train a neuron", "gradient_descent")
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "gauss_newton" not in help_text


def test_the_listed_strategies_train_a_neuron_and_the_others_are_refused():
    from neuronlab.estimators.neuron import NEURON_SOLVERS
    from neuronlab.train.registry import STRATEGIES

    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [4.0, 4.0], [5.0, 4.0], [4.0, 5.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 3 steps do not converge; that is not what is tested
        for name in NEURON_SOLVERS:
            model = neuronlab.NeuronClassifier(solver=name, max_steps=3, random_state=0).fit(X, y)
            assert model.coef_.shape == (2,)
    others = [name for name in STRATEGIES if name not in NEURON_SOLVERS]
    assert "gauss_newton" in others
    for name in others:
        with pytest.raises(ValueError, match=f"{name}' cannot train a neuron.*choose one of: gradient_descent"):
            neuronlab.NeuronClassifier(solver=name).fit(X, y)


def test_demo_refuses_a_missing_parent_folder(capsys, tmp_path):
    out = tmp_path / "missing" / "report"
    code, stdout, err = run_cli(capsys, "demo", "--out", out)
    assert_one_line_error(code, stdout, err, "does not exist")
    assert not (tmp_path / "missing").exists()


def test_datasets_marks_the_ones_whose_library_is_missing(capsys, monkeypatch):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0 and "needs scikit-learn" not in out  # scikit-learn is in the test extra
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if it were not installed
    code, out, _ = run_cli(capsys, "datasets")
    text = " ".join(out.split())
    assert code == 0 and text.count("(needs scikit-learn)") == 5
    assert "569 rows (needs scikit-learn)" in text and "442 patients (needs scikit-learn)" in text
    missing = [d.name for d in neuronlab.io.datasets.DATASETS.values()
               if d.needs == ("sklearn", "scikit-learn") and not neuronlab.io.datasets.available(d.name)]
    assert missing == ["breast_cancer", "iris", "wine", "digits", "diabetes"]
    with pytest.raises(ValueError, match="pip install scikit-learn"):
        neuronlab.io.datasets.load_table("diabetes")


def test_numeric_overflow_is_one_line(capsys, monkeypatch):
    from neuronlab.apps.commands import inspect

    def overflowing(args):
        return int(float("inf"))  # OverflowError, as a too-large user value could cause

    monkeypatch.setattr(inspect, "run", overflowing)
    code, out, err = run_cli(capsys, "inspect", "m.json")
    assert_one_line_error(code, out, err, "neuronlab: error:", "infinity")
