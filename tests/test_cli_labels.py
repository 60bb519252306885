"""What the tables call things: inspect's bias row cannot be taken for a feature, and evaluate
says which class precision and recall are about."""

import json

import numpy as np
import pytest

import neuronlab
from neuronlab.apps.cli import main

from cli_helpers import run_cli


def train(capsys, tmp_path, columns, name="m.json"):
    """A model trained (20 steps, no validation split) on two clouds with feature columns ``columns``."""
    data = tmp_path / "d.csv"
    rows = [(0, 0, "no"), (1, 0, "no"), (0, 1, "no"), (4, 4, "yes"), (5, 4, "yes"), (4, 5, "yes")]
    data.write_text(",".join([*columns, "y"]) + "\n" + "".join(f"{a},{b},{y}\n" for a, b, y in rows))
    model = tmp_path / name
    assert main(["train", str(data), "--target", "y", "--val-split", "0", "--steps", "20",
                 "--out", str(model), "--quiet"]) == 0
    capsys.readouterr()  # training's summary is not what is tested
    return model, data


def weight_rows(out):
    """The weights table's rows as (label, w) — the label may hold spaces, w is the next cell."""
    lines = out.split("weights\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("━")) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        label, w = line.strip().rsplit(None, 3)[0].rsplit(None, 1)  # label, w (standardised)
        rows.append((label.strip(), float(w)))
    return rows


@pytest.mark.parametrize("columns", [("a", "b"), ("b", "b (bias)"), ("a", "bias b"), ("b", "bias b")])
def test_inspect_tells_a_feature_named_like_the_bias_from_the_bias(capsys, tmp_path, columns):
    model_path, _ = train(capsys, tmp_path, columns)
    code, out, err = run_cli(capsys, "inspect", model_path)
    assert code == 0 and err == ""
    rows = weight_rows(out)
    labels = [label for label, _ in rows]
    assert len(rows) == 3 and len(set(labels)) == 3, labels  # two features and the bias, all told apart
    est = neuronlab.load(model_path).estimator
    assert labels[-1] == "bias b" and rows[-1][1] == pytest.approx(est.intercept_, rel=1e-3)
    # each feature row carries that feature's w, under a label that names the feature
    for (label, w), name, coef in zip(rows, columns, est.coef_):
        assert label in (name, repr(name)) and w == pytest.approx(coef, rel=1e-3)


def test_evaluate_says_which_class_is_positive(capsys, tmp_path):
    model_path, data = train(capsys, tmp_path, ("a", "b"))
    code, out, err = run_cli(capsys, "evaluate", model_path, data)
    assert code == 0 and err == ""
    lines = [line.split() for line in out.splitlines()]
    metrics = [line[0] for line in lines if line and line[0] in ("positive", "precision", "recall")]
    assert metrics == ["positive", "precision", "recall"]  # named above the numbers it is about
    assert ["positive", "class", "yes"] in lines
    code, out, err = run_cli(capsys, "evaluate", model_path, data, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["positive_class"] == "yes" == doc["labels"][1]
    # precision is about that class: of the rows predicted 'yes', the share truly 'yes'
    (tn, fp), (fn, tp) = doc["metrics"]["confusion_matrix"]
    assert doc["metrics"]["precision"] == pytest.approx(tp / (tp + fp))


def test_evaluate_of_a_regressor_names_no_positive_class(capsys, tmp_path):
    data = tmp_path / "r.csv"
    data.write_text("a,y\n" + "".join(f"{x},{2 * x + 1}\n" for x in np.arange(8.0)))
    model = tmp_path / "r.json"
    assert main(["train", str(data), "--target", "y", "--val-split", "0", "--steps", "20",
                 "--out", str(model), "--quiet"]) == 0
    capsys.readouterr()
    code, out, _ = run_cli(capsys, "evaluate", model, data, "--json")
    assert code == 0 and "positive_class" not in json.loads(out)
    code, out, _ = run_cli(capsys, "evaluate", model, data)
    assert code == 0 and "positive" not in out
