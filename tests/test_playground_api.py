"""The playground's server, through Starlette's test client: the step stream over the WebSocket,
settings changed mid-run, the numbers against the library's own run (bit for bit), a user's
mistakes (a clear message, no server error), and the safety checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("starlette.testclient")

from starlette.websockets import WebSocketDisconnect  # noqa: E402

from neuronlab import NeuronClassifier  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from neuronlab.apps.playground.server import MAX_UPLOAD_BYTES, create_app  # noqa: E402
from neuronlab.io.tables import Standardizer, split_rows  # noqa: E402
from neuronlab.models.neuron import Neuron, init_params  # noqa: E402
from neuronlab.objectives.neuron import NeuronObjective  # noqa: E402
from neuronlab.train.descent import GradientDescent  # noqa: E402

from playground_helpers import (HOST, PORT, TOKEN, WS, client, exported_model, open_section, receive,  # noqa: E402,F401
                                split_scaled, step)


def open_neuron(ws, **config):
    return open_section(ws, "neuron", **config)


def reference_data(name, seed, val_split=0.2):
    """The training and validation rows of `neuronlab train NAME --seed SEED`."""
    return split_scaled(name, seed, val_split)[:4]


# --- the stream ----------------------------------------------------------------------------------
def test_the_page_gets_the_classifiers_loss_curve_bit_for_bit(client):
    X, y, X_val, y_val = reference_data("linear", seed=3)
    clf = NeuronClassifier(learning_rate=0.5, random_state=3, max_steps=40, tol=0).fit(X, y)
    validation = NeuronObjective(Neuron(2, "sigmoid"), X_val, (y_val == 1).astype(float), "log_loss")
    with client.websocket_connect(WS) as ws:
        ready = open_neuron(ws, dataset="linear", seed=3, learning_rate=0.5, tol=0)
        rows = ready["rows"] + step(ws, 15)["rows"] + step(ws, 25)["rows"]
    assert [r["t"] for r in rows] == list(range(41))
    assert np.array_equal([r["loss"] for r in rows], clf.history_.loss)
    assert np.array_equal([r["val_loss"] for r in rows], [validation.loss(th) for th in clf.history_.params])
    assert ready["row_counts"] == {"train": len(y), "validation": len(y_val)}


def test_a_learning_rate_changed_mid_run_is_the_next_steps(client):
    X, y, _, _ = reference_data("moons", seed=7)
    objective = NeuronObjective(Neuron(2, "sigmoid"), X, (y == 1).astype(float), "log_loss")
    theta0 = init_params(2, "xavier", np.random.default_rng(7))
    training = GradientDescent(learning_rate=0.2, max_steps=1000, tol=0).start(objective, theta0)
    expected = [training.step().loss for _ in range(10)]
    training.learning_rate = 3.0
    expected += [training.step().loss for _ in range(10)]
    with client.websocket_connect(WS) as ws:
        open_neuron(ws, dataset="moons", seed=7, learning_rate=0.2, tol=0)
        first = step(ws, 10)["rows"]
        ws.send_json({"type": "set", "settings": {"learning_rate": 3.0}})
        assert receive(ws, "changed")["learning_rate"] == 3.0
        second = step(ws, 10)["rows"]
    assert [r["learning_rate"] for r in first + second] == [0.2] * 10 + [3.0] * 10
    assert np.array_equal([r["loss"] for r in first + second], expected)


def test_another_setting_changed_mid_run_goes_on_from_the_current_weights(client):
    X, y, _, _ = reference_data("linear", seed=0)
    target = (y == 1).astype(float)
    plain = NeuronObjective(Neuron(2, "sigmoid"), X, target, "log_loss")
    theta0 = init_params(2, "xavier", np.random.default_rng(0))
    before = GradientDescent(learning_rate=0.5, max_steps=5, tol=0).minimize(plain, theta0)
    penalised = NeuronObjective(Neuron(2, "sigmoid"), X, target, "log_loss", alpha=0.1)
    after = GradientDescent(learning_rate=0.5, max_steps=5, tol=0).minimize(penalised, before.theta_last)
    with client.websocket_connect(WS) as ws:
        open_neuron(ws, dataset="linear", learning_rate=0.5, tol=0)
        step(ws, 5)
        ws.send_json({"type": "set", "settings": {"alpha": 0.1}})
        receive(ws, "changed")
        rows = step(ws, 5)["rows"]
    assert [r["t"] for r in rows] == [6, 7, 8, 9, 10]
    assert np.array_equal([r["loss"] for r in rows], after.history.loss[1:])


def test_play_streams_frames_until_pause(client):
    with client.websocket_connect(WS) as ws:
        open_neuron(ws, dataset="xor")
        ws.send_json({"type": "speed", "steps_per_second": 2000})
        ws.send_json({"type": "play"})
        seen = []
        while len(seen) < 30:
            seen += receive(ws, "frame")["rows"]
        ws.send_json({"type": "pause"})
        receive(ws, "paused")
    assert [r["t"] for r in seen] == list(range(1, len(seen) + 1))  # no step lost or repeated


def test_pages_playing_at_once_share_the_engine_and_each_gets_its_own_run_whole(client):
    # the engine takes the pages' turns one after another: each page's rows, however its
    # frames cut them, are its own classifier's loss curve
    fits = {seed: NeuronClassifier(learning_rate=0.5, random_state=seed, max_steps=400, tol=0)
            .fit(*reference_data("moons", seed=seed)[:2]) for seed in (1, 2)}
    with client.websocket_connect(WS) as first, client.websocket_connect(WS) as second:
        pages = {1: first, 2: second}
        for seed, ws in pages.items():
            open_neuron(ws, dataset="moons", seed=seed, learning_rate=0.5, tol=0, max_steps=400)
            ws.send_json({"type": "speed", "steps_per_second": 5000})
        for ws in pages.values():
            ws.send_json({"type": "play"})
        seen = {1: [], 2: []}
        while any(len(rows) < 60 for rows in seen.values()):
            for seed, ws in pages.items():  # each page reads a frame in turn: both keep coming
                seen[seed] += receive(ws, "frame")["rows"]
        for ws in pages.values():
            ws.send_json({"type": "pause"})
            receive(ws, "paused")
    for seed, rows in seen.items():
        assert [r["t"] for r in rows] == list(range(1, len(rows) + 1))
        assert np.array_equal([r["loss"] for r in rows], fits[seed].history_.loss[1:len(rows) + 1])


def test_explain_writes_out_the_step_as_the_cli_explain_does(client, capsys):
    from neuronlab.apps.cli import main

    assert main(["train", "linear", "--seed", "3", "--lr", "0.5", "--steps", "2", "--tol", "0", "--explain",
                 "--explain-steps", "2", "--quiet"]) == 0
    cli_text = capsys.readouterr().out
    with client.websocket_connect(WS) as ws:
        open_neuron(ws, dataset="linear", seed=3, learning_rate=0.5, tol=0)
        ws.send_json({"type": "explain"})
        assert "no step to explain yet" in receive(ws, "error")["message"]
        step(ws, 2)
        ws.send_json({"type": "explain"})
        explained = receive(ws, "explain")
    assert explained["lines"][0].startswith("Step 1 → 2")
    block = "\n".join(explained["lines"])
    assert block in cli_text  # the same lines, the same numbers


def test_divergence_is_reported_with_its_explanation_and_a_smaller_rate(client):
    X, y, _, _ = reference_data("obesity", seed=0)
    objective = NeuronObjective(Neuron(2, "identity"), X, (y == "Obese").astype(float), "squared_error")
    limit = objective.stability_limit()
    with client.websocket_connect(WS) as ws:
        ready = open_neuron(ws, dataset="obesity", activation="identity", loss="squared_error",
                            learning_rate=3 * limit)
        assert ready["stability_limit"] == limit
        ws.send_json({"type": "step", "n": 500})
        ended = receive(ws, "ended")
        ws.send_json({"type": "play"})
        refused = receive(ws, "error")
    assert ended["status"] == "diverged"
    assert "diverged at step" in ended["message"] and "stable only for η <" in ended["message"]
    assert 0 < ended["suggested_learning_rate"] <= limit / 2
    assert "reset" in refused["message"]


def test_the_equation_race_runs_the_methods_solve_runs(client):
    from neuronlab.train.solving import solve

    report = solve("3x - 2y = 7", budget=300, random_state=5, tol=1e-6)
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "open", "section": "race",
                      "config": {"equation": "3x - 2y = 7", "budget": 300, "seed": 5}})
        ready = receive(ws, "ready")
        frames = [ready]
        ws.send_json({"type": "step", "n": 100})
        frames.append(receive(ws, "frame"))
        assert frames[-1]["runs"]["monte-carlo"]["evaluations"] == 101  # the start, then 100 more
        ws.send_json({"type": "step", "n": 400})
        frames.append(receive(ws, "frame"))
        receive(ws, "ended")
    assert ready["contour"]["n"] > 0 and ready["unknowns"] == ["x", "y"]
    for run in report.runs:
        mine = frames[-1]["runs"][run.method]
        assert mine["evaluations"] == run.result.n_evals
        assert mine["residual"] == run.residual_norm
        points = [p for f in frames for p in f["runs"][run.method]["points"]]
        assert np.array_equal(points, run.result.history.params)


def test_learning_rates_side_by_side_are_demo_act_three(client):
    from neuronlab.apps.commands.demo import obesity_problem
    from neuronlab.train.lr_find import lr_find

    problem = obesity_problem(0)
    eta = lr_find(problem.objective, problem.theta0).suggestion
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "open", "section": "rates", "config": {"steps": 30}})
        ready = receive(ws, "ready")
        ws.send_json({"type": "step", "n": 30})
        frame = receive(ws, "frame")
        ended = receive(ws, "ended")
    assert ready["rates"] == {"too small": eta / 100, "about right": eta, "too large": 4 * eta,
                              "far too large": 300 * eta}
    for name, lr in ready["rates"].items():
        expected = GradientDescent(learning_rate=lr, max_steps=30, tol=0, divergence_patience=31).minimize(
            problem.objective, problem.theta0).history.loss
        got = ready["runs"][name]["losses"] + frame["runs"][name]["losses"]
        assert np.array_equal(np.array(got, dtype=float), expected)
    assert ended["verdicts"]["far too large"]["verdict"] == "diverges"


def test_export_writes_the_model_file_the_cli_reads(client, tmp_path):
    X, y, _, _ = reference_data("circles", seed=0)
    clf = NeuronClassifier(learning_rate=0.3, random_state=0, max_steps=12, tol=0).fit(X, y)
    with client.websocket_connect(WS) as ws:
        open_neuron(ws, dataset="circles", learning_rate=0.3, tol=0, max_steps=12)
        step(ws, 12)  # the run ends, as fit's does
        model = exported_model(ws, tmp_path)
    # the file holds the weights NeuronClassifier fits with the same seed and settings
    assert np.array_equal(model.estimator.coef_, clf.coef_)
    assert np.array_equal(model.estimator.intercept_, clf.intercept_)
    assert model.feature_names == ["x1", "x2"]


# --- uploads ---------------------------------------------------------------------------------------
def people_csv(n=60):
    rng = np.random.default_rng(1)
    height = rng.uniform(4, 7, n)
    weight = rng.uniform(40, 140, n)
    label = np.where(weight / (height * 0.3048) ** 2 >= 30, "obese", "not")
    lines = ["height,weight,name,label"] + [f"{float(h)!r},{float(w)!r},p{i},{c}" for i, (h, w, c) in
                                            enumerate(zip(height, weight, label))]
    return ("\n".join(lines) + "\n").encode(), height, weight, label


def test_an_uploaded_csv_trains_on_the_two_chosen_columns(client):
    content, height, weight, label = people_csv()
    answer = client.post(f"/api/upload?token={TOKEN}&name=people.csv", content=content)
    assert answer.status_code == 200
    up = answer.json()
    assert up["columns"] == ["height", "weight", "name", "label"] and up["numeric"] == ["height", "weight"]
    # the library on the same rows: split, scaled, fitted with the same seed
    X = np.column_stack([height, weight])
    train, _ = split_rows(len(label), 0.2, 0, stratify=label)
    clf = NeuronClassifier(learning_rate=0.5, random_state=0, max_steps=8, tol=0).fit(
        Standardizer().fit(X[train]).transform(X[train]), label[train])
    with client.websocket_connect(WS) as ws:
        ready = open_neuron(ws, upload=up["upload"], features=["height", "weight"], target="label", tol=0)
        rows = ready["rows"] + step(ws, 8)["rows"]
    assert ready["features"] == ["height", "weight"] and ready["labels"] == ["not", "obese"]
    assert np.array_equal([r["loss"] for r in rows], clf.history_.loss)


@pytest.mark.parametrize("content, name, message", [
    (b"", "empty.csv", "the file is empty"),
    (b"\x00\x01\x02 not a table", "junk.csv", "cannot be read as CSV"),
    (b"PAR1 broken parquet", "x.parquet", "cannot be read as PARQUET"),
    (b"a,b\n1,2\n", "tiny.csv", "at least 4"),
])
def test_a_bad_upload_gets_a_clear_message(client, content, name, message):
    answer = client.post(f"/api/upload?token={TOKEN}&name={name}", content=content)
    assert answer.status_code == 400
    assert message in answer.json()["error"] and name in answer.json()["error"]


def test_an_oversized_upload_is_refused_before_it_is_read(client):
    answer = client.post(f"/api/upload?token={TOKEN}&name=big.csv", content=b"x" * (MAX_UPLOAD_BYTES + 1))
    assert answer.status_code == 413
    assert "larger than the playground's limit of 5 MB" in answer.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(6):
            yield b"1,2\n" * (256 * 1024)

    answer = client.post(f"/api/upload?token={TOKEN}&name=stream.csv", content=chunks())
    assert answer.status_code == 413


@pytest.mark.parametrize("config, message", [
    ({"dataset": "nope"}, "dataset must be one of"),
    ({"learning_rate": -1}, "learning_rate must be > 0"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
    ({"activation": "sigmoid", "loss": "hinge", "colour": 1}, "unknown setting(s) 'colour'"),
    ({"activation": "step", "strategy": "gradient_descent"}, "derivative 0"),
    ({"model": "brain"}, "model must be one of neuron, network"),
    ({"hidden": [4]}, "set model to 'network'"),
    ({"upload": "not-an-id", "features": ["a", "b"], "target": "c"}, "upload it again"),
    ({"features": ["x1", "x2"]}, "uploaded file only"),
    ({"max_steps": 10 ** 9}, "max_steps must be from 1"),
])
def test_bad_settings_get_a_clear_message_and_the_socket_stays_open(client, config, message):
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "open", "section": "neuron", "config": config})
        error = receive(ws, "error")
        assert message in error["message"], error["message"]
        assert open_neuron(ws)["type"] == "ready"  # still serving


@pytest.mark.parametrize("message, expected", [
    ("not json", "must be JSON"),
    ("[1, 2]", "JSON object with a 'type'"),
    ('{"type": "fly"}', "unknown message type 'fly'"),
    ('{"type": "play"}', "open a section first"),
    ('{"type": "open", "section": "bank"}', "section must be one of"),
    ('{"type": "speed", "steps_per_second": 1e9}', "steps_per_second must be from 1 to"),
    ('{"type": "open", "section": "race", "config": {"equation": "x + = 2"}}', "found '=' at column 5"),
    ('{"type": "open", "section": "race", "config": {"equation": "' + "x+" * 150 + '1 = 2"}}', "too long"),
])
def test_bad_messages_get_a_clear_message(client, message, expected):
    with client.websocket_connect(WS) as ws:
        ws.send_text(message)
        assert expected in receive(ws, "error")["message"]


def test_a_step_count_out_of_bounds_is_refused(client):
    with client.websocket_connect(WS) as ws:
        open_neuron(ws)
        ws.send_json({"type": "step", "n": 10 ** 6})
        assert "from 1 to 10000" in receive(ws, "error")["message"]
        ws.send_json({"type": "set", "settings": {"dataset": "xor"}})
        assert "cannot change mid-run" in receive(ws, "error")["message"]


# --- safety ------------------------------------------------------------------------------------------
def test_the_page_needs_the_token_and_sends_a_strict_content_security_policy(client):
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    for url, what in (("/", "the token is missing"), ("/?token=guess", "wrong token"),
                      ("/api/options", "the token is missing")):
        answer = client.get(url)
        assert answer.status_code == 403 and what in answer.json()["error"]


def test_a_foreign_host_is_refused(client):
    answer = client.get(f"/?token={TOKEN}", headers={"host": f"evil.example:{PORT}"})
    assert answer.status_code == 403 and "is not this server's address" in answer.json()["error"]
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(WS, headers={"host": "attacker.test"}):
            pass
    assert refused.value.code == 1008 and "Host" in refused.value.reason


def test_a_foreign_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(WS, headers={"origin": "http://evil.example"}):
            pass
    assert refused.value.code == 1008 and "another site" in refused.value.reason
    answer = client.post(f"/api/upload?token={TOKEN}&name=a.csv", content=b"a,b\n1,2\n",
                         headers={"origin": "http://evil.example"})
    assert answer.status_code == 403
    with client.websocket_connect(WS, headers={"origin": f"http://{HOST}"}) as ws:  # its own page
        assert open_neuron(ws)["type"] == "ready"


def test_a_socket_without_the_token_is_refused(client):
    for url in (f"ws://{HOST}/ws", f"ws://{HOST}/ws?token=wrong"):
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect(url):
                pass
        assert refused.value.code == 1008 and "token" in refused.value.reason


def test_no_file_system_path_comes_from_the_page(client):
    assert client.get(f"/static/../sessions.py?token={TOKEN}").status_code == 404
    assert client.get("/static/%2e%2e/server.py").status_code == 404
    with client.websocket_connect(WS) as ws:  # a data set is a name from the list, never a path
        ws.send_json({"type": "open", "section": "neuron", "config": {"dataset": "/etc/passwd"}})
        assert "dataset must be one of" in receive(ws, "error")["message"]


def test_an_idle_page_is_closed_and_its_session_freed():
    app = create_app(TOKEN, PORT, idle_seconds=0.2)
    with TestClient(app, base_url=f"http://{HOST}") as client:
        with client.websocket_connect(WS) as ws:
            open_neuron(ws)
            closed = receive(ws, "closed")
            assert "idle" in closed["message"]


def test_too_many_pages_are_refused():
    app = create_app(TOKEN, PORT, max_sockets=1)
    with TestClient(app, base_url=f"http://{HOST}") as client:
        with client.websocket_connect(WS) as ws:
            open_neuron(ws)
            with pytest.raises(WebSocketDisconnect) as refused:
                with client.websocket_connect(WS):
                    pass
            assert refused.value.code == 1013 and "too many pages" in refused.value.reason


def test_frames_hold_only_json_numbers(client):
    """NaN and inf (a diverged loss) travel as null: the page's JSON.parse must never fail."""
    with client.websocket_connect(WS) as ws:
        open_neuron(ws, dataset="linear", activation="identity", loss="squared_error", learning_rate=1e5)
        ws.send_json({"type": "step", "n": 50})
        frame = ws.receive_text()
    rows = json.loads(frame)["rows"]
    assert all(r["loss"] is None or math.isfinite(r["loss"]) for r in rows)
