"""One objective, one data preparation: what an estimator minimises, and the rows train and
lr-find see, checked against J and X written out by hand with numpy."""

import json
import warnings

import numpy as np
import pytest

from neuronlab import NeuronClassifier, NeuronRegressor, init_params
from neuronlab.io.tables import split_rows
from cli_helpers import run_cli

RHO = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.15, None: 0.0}  # l1_ratio 0.15 is the default


def hand_J(X, y, theta, kind, penalty, alpha, s=None):
    """J(θ) = Σ sᵢLᵢ/Σ sᵢ + α((1 − ρ)/2‖w‖² + ρ‖w‖₁); L = ½(z − y)² or log loss of σ(z)."""
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    per_row = 0.5 * (z - y) ** 2 if kind == "regress" else np.logaddexp(0.0, z) - y * z
    s = np.ones(len(y)) if s is None else s
    a = 0.0 if penalty is None else alpha
    return float(s @ per_row / s.sum() + a * ((1 - RHO[penalty]) / 2 * w @ w + RHO[penalty] * np.abs(w).sum()))


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
@pytest.mark.parametrize("kind", ["classify", "regress"])
def test_the_estimator_objective_is_the_loss_written_out(kind, penalty):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(float) if kind == "classify" else X @ [1.0, -2.0, 0.5] + 1
    s = rng.uniform(0.5, 2.0, size=40)
    cls = NeuronClassifier if kind == "classify" else NeuronRegressor
    est = cls(penalty=penalty, alpha=0.3, max_steps=20, random_state=0)
    objective = est.objective(X, y, s)
    for theta in rng.normal(size=(3, 4)):
        assert objective.loss(theta) == pytest.approx(hand_J(X, y, theta, kind, penalty, 0.3, s), rel=1e-12)
    # without the penalty, on some rows (a validation split)
    rows = np.array([1, 5, 7, 30])
    unpenalised = est.objective(X, y, s, rows=rows, penalised=False)
    assert unpenalised.loss(theta) == pytest.approx(hand_J(X[rows], y[rows], theta, kind, None, 0.0, s[rows]))
    # fit minimises this same J: the loss it reports is the hand J at its (w, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 20 steps: not converged (or separable), which is not the point
        est.fit(X, y, sample_weight=s)
    fitted = np.append(est.coef_, est.intercept_)
    assert est.result_.loss == pytest.approx(hand_J(X, y, fitted, kind, penalty, 0.3, s), rel=1e-10)


def test_the_objective_keeps_the_estimator_precision():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0.0, 1, 0, 1, 1, 0])
    assert NeuronClassifier(dtype="float32").objective(X, y).source.X.dtype == np.float32
    assert NeuronClassifier().objective(X.astype(np.float32), y).source.X.dtype == np.float32
    assert NeuronClassifier().objective(X.astype(int), y).source.X.dtype == np.float64
    with pytest.raises(ValueError, match="unknown activation .nope.; choose one of"):
        NeuronClassifier(activation="nope").objective(X, y)


# --- train and lr-find prepare the same rows ---------------------------------------------------------
N_ROWS, SEED, VAL_SPLIT, ALPHA = 24, 5, 0.25, 0.1


@pytest.fixture
def table(tmp_path):
    """A CSV with features on very different scales (so standardising changes J a lot) and
    a text class besides the numeric target."""
    rng = np.random.default_rng(11)
    a, b = rng.normal(5.0, 2.0, N_ROWS), rng.normal(-3.0, 0.5, N_ROWS)
    y = 0.8 * a - 2.0 * b + rng.normal(0.0, 0.3, N_ROWS)
    label = np.where(a + rng.normal(0.0, 1.5, N_ROWS) > 5.0, "yes", "no")
    path = tmp_path / "table.csv"
    path.write_text("a,b,y,label\n" + "".join(
        f"{float(a[k])!r},{float(b[k])!r},{float(y[k])!r},{label[k]}\n" for k in range(N_ROWS)))
    return path, np.column_stack([a, b]), y, (label == "yes").astype(float)


def training_rows(classes=None):
    """As train's documentation says: a default_rng(seed) permutation, its first round(share·n)
    rows held back for validation — class by class when the target is a class (stratified)."""
    if classes is not None:
        return split_rows(N_ROWS, VAL_SPLIT, SEED, stratify=classes)[0]
    held_back = np.random.default_rng(SEED).permutation(N_ROWS)[:round(VAL_SPLIT * N_ROWS)]
    return np.setdiff1d(np.arange(N_ROWS), held_back)


def features_seen(X, flag, classes=None):
    """The training rows, standardised with their own μ and σ unless --no-standardize (on by
    default for gradient descent)."""
    X = X[training_rows(classes)]
    return X if flag == "--no-standardize" else (X - X.mean(axis=0)) / X.std(axis=0)


def run_json(capsys, *argv):
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    return json.loads(out)


@pytest.mark.parametrize("flag", [None, "--standardize", "--no-standardize"])
@pytest.mark.parametrize("target", ["y", "label"])
def test_train_and_lr_find_see_the_same_rows_and_objective(table, flag, target, capsys, tmp_path):
    path, X, y, positive = table
    flags = [path, "--target", target, "--features", "a,b", "--seed", SEED, "--val-split", VAL_SPLIT,
             "--alpha", ALPHA, "--json"] + ([flag] if flag else [])
    found = run_json(capsys, "lr-find", *flags)
    trained = run_json(capsys, "train", *flags, "--steps", 1, "--quiet")
    kind = "regress" if target == "y" else "classify"
    classes = None if kind == "regress" else positive
    X_fit = features_seen(X, flag, classes)
    t = (y if kind == "regress" else positive)[training_rows(classes)]
    # both start from train's θ₀ on the same J: the same loss, the one written out by hand
    J0 = hand_J(X_fit, t, init_params(2, "xavier", SEED), kind, "l2", ALPHA)
    assert found["initial_loss"] == pytest.approx(J0, rel=1e-12)
    assert trained["history"]["loss_start"] == pytest.approx(J0, rel=1e-12)
    assert trained["training"]["standardize"] is (flag != "--no-standardize")
    if kind == "regress":
        # a linear neuron with squared error: ∇²J = AᵀA/n + α·diag(1, 1, 0), A = [X′ 1], everywhere
        A = np.column_stack([X_fit, np.ones(len(X_fit))])
        hessian = A.T @ A / len(A) + ALPHA * np.diag([1.0, 1.0, 0.0])
        lam = np.linalg.eigvalsh(hessian)
        assert [found["curvature_min"], found["curvature_max"]] == pytest.approx([lam[0], lam[-1]], rel=1e-6)


def test_lr_find_drops_missing_rows_as_train_does(tmp_path, capsys):
    path = tmp_path / "gaps.csv"
    path.write_text("a,y\n" + "".join(f"{k},{2 * k + 1}\n" for k in range(9)) + "4,\n")
    status, _, err = run_cli(capsys, "lr-find", path, "--target", "y", "--json")
    assert status == 2 and err.count("\n") == 1 and "--drop-missing" in err
    found = run_json(capsys, "lr-find", path, "--target", "y", "--val-split", 0, "--drop-missing", "--json")
    assert found["train_rows"] == 9


def test_lr_find_suggests_the_train_command_with_the_same_rows(table, capsys):
    path = table[0]
    status, out, _ = run_cli(capsys, "lr-find", path, "--target", "y", "--no-standardize", "--val-split", "0.1",
                             "--features", "a,b")
    assert status == 0
    line = [text for text in out.splitlines() if text.startswith("try: ")][0]
    assert line.startswith(f"try: neuronlab train {path} --target y --features a,b --val-split 0.1 "
                           "--no-standardize --lr ")
