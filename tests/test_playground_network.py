"""The playground's Networks section and k classes, through Starlette's test client: the page's
run against ``NetworkClassifier``/``NeuronClassifier`` run directly (bit for bit), the hidden
units' maps and the class map against the library's own forward pass, "explain this step"
against ``neuronlab train --hidden … --explain``, the bounds on a network's size, and the race's
gradient method restarting as ``neuronlab solve`` does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("starlette.testclient")


from neuronlab import NeuronClassifier  # noqa: E402
from neuronlab.apps.playground import sessions  # noqa: E402
from neuronlab.estimators.network import NetworkClassifier  # noqa: E402
from neuronlab.io.tables import load_dataset, split_rows  # noqa: E402

from playground_helpers import (HOST, TOKEN, WS, client, exported_model, open_section, probabilities,  # noqa: E402,F401
                                receive, split_scaled, step, unit_outputs)


def reference(name, seed, val_split=0.2):
    """The training rows of `neuronlab train NAME --seed SEED` (split, scaled), and the scaler."""
    X, y, _, _, scaler = split_scaled(name, seed, val_split)
    return X, y, scaler


def plane(ready, n):
    """The page's n × n grid over its bounds (row r is y = ys[r]), in the data's units."""
    low, high = ready["bounds"]["low"], ready["bounds"]["high"]
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], n), np.linspace(low[1], high[1], n))
    return np.column_stack([gx.ravel(), gy.ravel()])


# --- the page's network is NetworkClassifier's ----------------------------------------------------
@pytest.mark.parametrize("strategy, batch_size, hidden, activation", [
    ("adam", None, [4], "tanh"),
    ("sgd", 32, [5, 3], ["relu", "tanh"]),
])
def test_the_pages_network_run_is_network_classifiers_bit_for_bit(client, strategy, batch_size, hidden, activation):
    X, y, _ = reference("moons", seed=3)
    clf = NetworkClassifier(tuple(hidden), activation if isinstance(activation, str) else tuple(activation),
                            solver=strategy, learning_rate=0.05, max_iter=30, tol=0, alpha=0.0,
                            batch_size=batch_size, random_state=3).fit(X, y)
    with client.websocket_connect(WS) as ws:
        ready = open_section(ws, "network", dataset="moons", seed=3, hidden=hidden, activation=activation,
                             strategy=strategy, learning_rate=0.05, batch_size=batch_size, tol=0, max_steps=30)
        # a step of the page is one update: with mini-batches an epoch (a History row) is several
        updates = 1 if batch_size is None else -(-len(y) // batch_size)
        frames = [step(ws, 10 * updates), step(ws, 20 * updates)]
    rows = ready["rows"] + [r for f in frames for r in f["rows"]]
    assert ready["section"] == "network" and ready["sizes"] == [2, *hidden, 1]
    assert [r["t"] for r in rows] == list(range(31))
    assert np.array_equal([r["loss"] for r in rows], clf.loss_curve_)
    assert np.array_equal(list(frames[-1]["theta"].values()), clf.theta_)
    assert list(frames[-1]["theta"]) == clf.network_.param_names
    # the History keeps no θ_t of a network this size: the validation loss is measured for the
    # last row of each frame (the current θ), the others are left out, not guessed
    data = load_dataset("moons")
    _, val = split_rows(data.n_rows, 0.2, 3, stratify=data.y)
    _, _, scaler = reference("moons", seed=3)
    validation = clf.objective(scaler.transform(data.X[val]), (data.y[val] == 1).astype(float), penalised=False)
    assert frames[-1]["rows"][-1]["val_loss"] == validation.loss(clf.theta_)
    assert all(r["val_loss"] is None for f in frames for r in f["rows"][:-1])
    # the drawing's weights are the fitted W_l, b_l; each hidden unit's map is its own output
    layers = frames[-1]["layers"]
    for l, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        assert np.array_equal(layers[l]["W"], W) and np.array_equal(layers[l]["b"], b)
    _, _, scaler = reference("moons", seed=3)
    n = ready["unit_grid_size"]
    outputs = clf.network_.forward_pass(clf.theta_, scaler.transform(plane(ready, n))).inputs[1:]
    assert [len(layer["scales"]) for layer in frames[-1]["units"]] == hidden
    for layer, a in zip(frames[-1]["units"], outputs):
        # sent as 16-bit fractions of each unit's largest |a| (computed in float32): within half
        # a step of it, and float32's rounding
        scale = np.abs(a).max(axis=0)[:, None]
        assert np.all(np.abs(unit_outputs(layer) - a.T) <= scale * (0.5 / 32767 + 1e-6))
    # ŷ over the plane is the classifier's P(second class), to 1/65534
    p = clf.predict_proba(scaler.transform(plane(ready, ready["grid_size"])))[:, 1]
    np.testing.assert_allclose(probabilities(frames[-1]["grid"]), p, atol=1e-5)


def test_three_classes_in_the_neuron_section_are_neuron_classifiers_softmax(client):
    X, y, scaler = reference("blobs3", seed=2)
    clf = NeuronClassifier(learning_rate=0.5, random_state=2, max_steps=25, tol=0).fit(X, y)
    with client.websocket_connect(WS) as ws:
        ready = open_section(ws, "neuron", dataset="blobs3", seed=2, learning_rate=0.5, tol=0)
        frame = step(ws, 25)
    assert ready["n_classes"] == 3 and ready["labels"] == ["left", "right", "top"]
    assert sorted(set(ready["points"]["label"])) == [0, 1, 2]
    assert np.array_equal([r["loss"] for r in ready["rows"] + frame["rows"]], clf.history_.loss)
    grid = scaler.transform(plane(ready, ready["grid_size"]))
    proba = clf.predict_proba(grid)
    assert frame["grid_class"] == np.argmax(proba, axis=1).tolist()  # the class-coloured region map
    np.testing.assert_allclose(probabilities(frame["grid"]), proba.max(axis=1), atol=1e-5)


def test_a_three_class_network_is_network_classifiers_softmax(client):
    X, y, _ = reference("blobs3", seed=1)
    clf = NetworkClassifier((6,), "tanh", solver="adam", learning_rate=0.02, max_iter=20, tol=0, alpha=1e-4,
                            batch_size=None, random_state=1).fit(X, y)
    with client.websocket_connect(WS) as ws:
        ready = open_section(ws, "network", dataset="blobs3", seed=1, hidden=[6], alpha=1e-4,
                             strategy="adam", learning_rate=0.02, tol=0)
        frame = step(ws, 20)
    assert ready["sizes"] == [2, 6, 3]
    assert np.array_equal([r["loss"] for r in ready["rows"] + frame["rows"]], clf.loss_curve_)
    assert np.array_equal(list(frame["theta"].values()), clf.theta_)


def test_a_learning_rate_changed_mid_run_is_the_networks_next_steps(client):
    with client.websocket_connect(WS) as ws:
        open_section(ws, "network", dataset="xor", hidden=[4, 4], strategy="gradient_descent", learning_rate=0.1,
                     tol=0)
        first = step(ws, 5)["rows"]
        ws.send_json({"type": "set", "settings": {"learning_rate": 0.7}})
        assert receive(ws, "changed")["learning_rate"] == 0.7
        second = step(ws, 5)["rows"]
    assert [r["learning_rate"] for r in first + second] == [0.1] * 5 + [0.7] * 5


def test_explain_writes_out_a_networks_step_as_train_hidden_explain_does(client, capsys):
    from neuronlab.apps.cli import main

    assert main(["train", "moons", "--hidden", "2", "--strategy", "gradient_descent", "--lr", "0.5",
                 "--alpha", "0", "--batch-size", "all", "--seed", "4", "--steps", "2", "--tol", "0",
                 "--explain", "--explain-steps", "2", "--quiet"]) == 0
    cli_text = capsys.readouterr().out
    with client.websocket_connect(WS) as ws:
        open_section(ws, "network", dataset="moons", hidden=[2], seed=4, strategy="gradient_descent",
                     learning_rate=0.5, tol=0)
        step(ws, 2)
        ws.send_json({"type": "explain"})
        explained = receive(ws, "explain")
    assert explained["lines"][0].startswith("Step 1 → 2")
    assert any("δ" in line for line in explained["lines"])  # backpropagation written out
    assert "\n".join(explained["lines"]) in cli_text


def test_explain_works_for_a_network_too_large_to_keep_every_theta(client):
    """θ_t of every step is kept for small runs only; the page keeps the last step's itself."""
    from neuronlab.train.history import History
    from neuronlab.viz.explain import explain_step

    X, y, _ = reference("circles", seed=0)
    clf = NetworkClassifier((8, 8), "tanh", solver="gradient_descent", learning_rate=0.3, max_iter=3, tol=0,
                            alpha=0.0, batch_size=None, random_state=0)
    objective, training = clf.start_run(X, (y == 1).astype(float))
    assert not training.history.record_params  # 161 parameters: the History keeps no θ
    thetas = [training.theta.copy()]
    for _ in range(3):
        training.step()
        thetas.append(training.theta.copy())
    # the same rows in a History that keeps θ, as explain reads it for a small run
    h, kept = training.history, History(True)
    for t, theta in enumerate(thetas):
        kept.append(theta, h.loss[t], h.grad_norm[t], h.step_size[t], h.learning_rate[t], int(h.evaluations[t]),
                    h.elapsed[t])
    reference_lines = explain_step(objective, kept, "gradient_descent", 2).lines
    with client.websocket_connect(WS) as ws:
        open_section(ws, "network", dataset="circles", hidden=[8, 8], strategy="gradient_descent",
                     learning_rate=0.3, tol=0)
        step(ws, 3)
        ws.send_json({"type": "explain"})
        explained = receive(ws, "explain")
    assert explained["lines"] == reference_lines


def test_a_network_that_diverges_says_why(client):
    with client.websocket_connect(WS) as ws:
        open_section(ws, "network", dataset="moons", hidden=[8], strategy="gradient_descent",
                     learning_rate=5e4, tol=0)
        ws.send_json({"type": "step", "n": 300})
        ended = receive(ws, "ended")
    assert ended["status"] == "diverged" and "diverged at step" in ended["message"]
    assert ended["suggested_learning_rate"] and ended["suggested_learning_rate"] < 5e4


def test_an_uploaded_csv_with_three_text_classes_trains(client):
    rng = np.random.default_rng(5)
    centres = {"setosa": (1.5, 0.3), "versicolor": (4.3, 1.3), "virginica": (5.5, 2.0)}
    lines = ["petal_length,petal_width,species"]
    for species, (a, b) in centres.items():
        lines += [f"{a + rng.normal(0, 0.3):.3f},{b + rng.normal(0, 0.15):.3f},{species}" for _ in range(30)]
    answer = client.post(f"/api/upload?token={TOKEN}&name=iris.csv", content="\n".join(lines).encode())
    assert answer.status_code == 200
    up = answer.json()
    with client.websocket_connect(WS) as ws:
        for section in ("neuron", "network"):
            ready = open_section(ws, section, upload=up["upload"], features=["petal_length", "petal_width"],
                                 target="species")
            frame = step(ws, 50)
            assert ready["labels"] == list(centres) and ready["n_classes"] == 3
            assert frame["rows"][-1]["loss"] < ready["rows"][0]["loss"]
            assert set(frame["grid_class"]) == {0, 1, 2}


def test_export_of_a_network_is_the_model_file_the_cli_reads(client, tmp_path):
    X, y, _ = reference("xor", seed=0)
    clf = NetworkClassifier((4,), "tanh", solver="adam", learning_rate=0.05, max_iter=10, tol=0, alpha=0.0,
                            batch_size=None, random_state=0).fit(X, y)
    with client.websocket_connect(WS) as ws:
        open_section(ws, "network", dataset="xor", hidden=[4], strategy="adam", learning_rate=0.05, tol=0,
                     max_steps=10)
        step(ws, 10)  # the run ends, as fit's does
        model = exported_model(ws, tmp_path)
    # the file holds the weights NetworkClassifier fits with the same seed and settings
    assert np.array_equal(model.estimator.theta_, clf.theta_)
    assert model.training["hidden"] == [4]


@pytest.mark.parametrize("config, message", [
    ({"hidden": [sessions.MAX_UNITS + 1]}, f"1 to {sessions.MAX_UNITS} units"),
    ({"hidden": [2] * (sessions.MAX_HIDDEN_LAYERS + 1)}, f"at most {sessions.MAX_HIDDEN_LAYERS} hidden layers"),
    ({"hidden": [32, 32, 32, 32]}, f"the page trains at most {sessions.MAX_PARAMETERS}"),
    ({"hidden": "8,8"}, "hidden must list the widths"),
    ({"hidden": []}, "hidden must list the widths"),
    ({"hidden": [4, True]}, "hidden must list the widths"),
    ({"hidden": [4, 4], "activation": ["tanh"]}, "one f for every hidden layer"),
    ({"activation": "wobbly"}, "unknown activation 'wobbly'"),
    ({"loss": "hinge"}, "a network classifier learns with log_loss"),
])
def test_a_bad_network_gets_a_clear_message_and_the_socket_stays_open(client, config, message):
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "open", "section": "network", "config": config})
        error = receive(ws, "error")
        assert message in error["message"], error["message"]
        assert open_section(ws, "network")["type"] == "ready"  # still serving
        ws.send_json({"type": "set", "settings": {"hidden": [3]}})
        assert "cannot change mid-run" in receive(ws, "error")["message"]


def test_a_neuron_with_three_classes_and_another_activation_is_told_what_works(client):
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "open", "section": "neuron", "config": {"dataset": "blobs3", "activation": "tanh"}})
        assert "needs the activation 'sigmoid' and the loss 'log_loss'" in receive(ws, "error")["message"]


# --- the race's gradient method restarts as solve's does ------------------------------------------
@pytest.mark.parametrize("equation, learning_rate", [("x^2 + y^2 = 4", "auto"), ("x*y = 6", 0.05)])
def test_the_races_gradient_method_restarts_from_seeded_points_as_solve_does(client, equation, learning_rate):
    from neuronlab.train.solving import solve

    run = solve(equation, method="gradient", budget=300, random_state=5, tol=1e-6,
                learning_rate=learning_rate).runs[0]
    assert run.restarts >= 1  # the common start is stationary: solve restarts
    with client.websocket_connect(WS) as ws:
        open_section(ws, "race", equation=equation, budget=300, seed=5, learning_rate=learning_rate)
        ws.send_json({"type": "step", "n": 300})
        frame = receive(ws, "frame")
    mine = frame["runs"]["gradient"]
    assert mine["restarts"] == run.restarts and mine["evaluations"] == run.result.n_evals
    assert mine["best"] == list(run.result.theta) and mine["residual"] == run.residual_norm
    assert "restarted from" in mine["message"] and "seeded by --seed" in mine["message"]
