"""Networks from the command line: train --hidden, the model file, predict, evaluate, inspect,
resume, and backpropagation written out by --explain (checked against a hand computation)."""

import json

import numpy as np
import pytest
from cli_helpers import run_cli

from neuronlab.io.datasets import load_table
from neuronlab.io.model_file import load
from neuronlab.models.network import Network
from neuronlab.objectives.network import NetworkObjective
from neuronlab.train.registry import minimize
from neuronlab.viz.explain import explain, format_number


def test_train_a_network_on_xor_then_predict_evaluate_inspect_and_resume(capsys, tmp_path):
    model = tmp_path / "xor.json"
    status, out, err = run_cli(capsys, "train", "xor", "--hidden", "8", "--steps", "600", "--out", model,
                               "--json", "--quiet")
    assert status == 0, err
    report = json.loads(out)
    assert report["metrics"]["validation"]["accuracy"] >= 0.95  # one neuron stays near 0.5 here
    assert report["training"]["hidden"] == [8] and report["training"]["strategy"] == "adam"
    saved = load(model)
    assert type(saved.estimator).__name__ == "NetworkClassifier"
    assert [W.shape for W in saved.estimator.coefs_] == [(2, 8), (8, 1)]

    # predict: the file's layers, applied by hand to the standardised row, give the same probability
    status, out, err = run_cli(capsys, "predict", model, "--row", "x1=0.5,x2=-0.5", "--proba")
    assert status == 0, err
    p_cli = float(out.splitlines()[1].split(",")[2])
    doc = json.loads(model.read_text())
    x = (np.array([0.5, -0.5]) - doc["scaler"]["mean"]) / doc["scaler"]["scale"]
    (layer1, layer2) = doc["parameters"]["layers"]
    a = np.tanh(x @ np.array(layer1["W"]) + layer1["b"])
    z = a @ np.array(layer2["W"]) + layer2["b"]
    assert p_cli == pytest.approx(1 / (1 + np.exp(-z[0])), rel=1e-12)

    status, out, err = run_cli(capsys, "evaluate", model, "xor", "--json")
    assert status == 0 and json.loads(out)["metrics"]["accuracy"] >= 0.95
    status, out, err = run_cli(capsys, "inspect", model)
    assert status == 0 and "Network(2 → 8 tanh → 1 sigmoid)" in out and "2 × 8" in out and "8 × 1" in out

    status, out, err = run_cli(capsys, "train", "xor", "--resume", model, "--steps", "610", "--json", "--quiet")
    assert status == 0, err
    assert json.loads(out)["training"]["steps_done"] == 610
    assert load(model).training["runs"] == 2


def test_per_layer_activations_and_a_regression_network(capsys, tmp_path):
    status, out, err = run_cli(capsys, "train", "moons", "--hidden", "6,4", "--activation", "relu,tanh",
                               "--steps", "50", "--json", "--quiet", "--tol", "0")
    assert status == 0, err
    assert json.loads(out)["training"]["activation"] == ["relu", "tanh"]
    model = tmp_path / "d.json"
    status, out, err = run_cli(capsys, "train", "diabetes", "--hidden", "8", "--steps", "30", "--out", model,
                               "--quiet", "--tol", "0")
    assert status == 0, err
    assert type(load(model).estimator).__name__ == "NetworkRegressor"


@pytest.mark.parametrize("argv,message", [
    (["--hidden", "0"], "whole numbers ≥ 1"),
    (["--hidden", "4,x"], "whole numbers ≥ 1"),
    (["--hidden", "4,4", "--activation", "relu,tanh,tanh"], "one per hidden layer"),
    (["--hidden", "4", "--loss", "hinge"], "learns with log_loss"),
])
def test_bad_network_options_are_one_line(capsys, argv, message):
    status, out, err = run_cli(capsys, "train", "xor", *argv)
    assert status == 2 and message in err and err.count("\n") == 1


def test_explain_writes_out_one_backpropagation_step_of_a_2_2_1_network():
    # x = (1, 2), y = 1; W₁ = [[0.5, −0.3], [0.2, 0.8]], b₁ = (0.1, −0.2); W₂ = [[1.5], [−0.7]], b₂ = 0.05
    X = np.array([[1.0, 2.0]]); y = np.array([1.0])
    net = Network(2, (2,), "tanh", n_outputs=1, output="sigmoid")
    theta0 = net.layout.pack(W1=[[0.5, -0.3], [0.2, 0.8]], b1=[0.1, -0.2], W2=[[1.5], [-0.7]], b2=[0.05])
    objective = NetworkObjective(net, X, y, "log_loss")
    result = minimize(objective, theta0, "gradient_descent", learning_rate=0.1, max_steps=1, tol=0)
    text = explain(objective, result, first=1).text()
    # by hand: z₁ = (1·0.5 + 2·0.2 + 0.1, 1·(−0.3) + 2·0.8 − 0.2) = (1.0, 1.1)
    z1 = np.array([1.0, 1.1]); a1 = np.tanh(z1)
    z2 = a1[0] * 1.5 + a1[1] * -0.7 + 0.05
    y_hat = 1 / (1 + np.exp(-z2))
    delta2 = y_hat - 1.0                                     # ∂L/∂z₂ of sigmoid + log loss
    delta1 = np.array([delta2 * 1.5, delta2 * -0.7]) * (1 - a1 ** 2)
    dW1 = np.outer([1.0, 2.0], delta1)
    def vector(*values):
        return "(" + ", ".join(format_number(v) for v in values) + ")"

    # each number where the written-out step puts it, as the hand computation gives it
    assert f"= {vector(*z1)}\n" in text and f"a₁ = tanh(z₁) = {vector(*a1)}" in text
    assert f"= {vector(z2)}\n" in text and f"a₂ = sigmoid(z₂) = {vector(y_hat)}" in text
    assert f"δ₂ = ∂L/∂z₂ = {vector(delta2)}" in text
    assert f"= {vector(*delta1)}\n" in text
    assert f"∂L/∂W₂ = a₁ᵀ·δ₂ = [{vector(delta2 * a1[0])}; {vector(delta2 * a1[1])}]" in text
    assert f"∂L/∂W₁ = a₀ᵀ·δ₁ = [{vector(*dW1[0])}; {vector(*dW1[1])}]" in text
    expected_grad = np.concatenate([dW1.ravel(), delta1, [delta2 * a1[0], delta2 * a1[1]], [delta2]])
    np.testing.assert_allclose(result.history.params[1], theta0 - 0.1 * expected_grad, rtol=1e-12)


def test_animate_counts_the_networks_parameters(capsys, tmp_path):
    """θ_t is kept for up to 16 parameters: a 2-4-1 network has 2·4 + 4 + 4 + 1 = 17, refused
    before training with nothing written; a 2-3-1 network (13) is animated."""
    gif, plot = tmp_path / "a.gif", tmp_path / "p.png"
    status, out, err = run_cli(capsys, "train", "xor", "--hidden", "4", "--steps", "5", "--animate", gif,
                               "--plot", plot, "--quiet")
    assert status == 2 and "this model has 17" in err
    assert list(tmp_path.iterdir()) == []
    status, out, err = run_cli(capsys, "train", "xor", "--hidden", "3", "--steps", "5", "--animate", gif,
                               "--quiet")
    assert status == 0, err
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_plot_of_three_classes_has_the_class_regions_beside_the_loss(capsys, tmp_path):
    """blobs3 has two features and three classes: the figure is two panels wide, as a binary
    boundary's is (a loss curve alone is one panel)."""
    from PIL import Image

    from image_checks import assert_picture

    sizes = {}
    for data, extra in (("blobs3", ["--hidden", "4"]), ("blobs3", []), ("xor", ["--hidden", "4"]),
                        ("diabetes", [])):
        path = tmp_path / f"{data}{len(extra)}.png"
        status, out, err = run_cli(capsys, "train", data, *extra, "--steps", "20", "--plot", path, "--quiet")
        assert status == 0, err
        assert_picture(path)
        with Image.open(path) as image:
            sizes[path.stem] = image.size
    assert sizes["blobs32"] == sizes["blobs30"] == sizes["xor2"]
    assert sizes["diabetes0"][0] < sizes["xor2"][0]
