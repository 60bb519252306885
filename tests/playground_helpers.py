"""What the playground's server tests share: a test client of the app, the messages of the
WebSocket, and the rows `neuronlab train` would learn from (the library's own split and
scaling), against which the page's numbers are compared.  Import it after
``pytest.importorskip("starlette")``."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from neuronlab.apps.playground.server import create_app
from neuronlab.io.tables import Standardizer, load_dataset, split_rows

PORT = 8765  # the test client opens no socket: the port only names the Host the app expects
TOKEN = "test-token"
HOST = f"127.0.0.1:{PORT}"
WS = f"ws://{HOST}/ws?token={TOKEN}"


@pytest.fixture
def client():
    with TestClient(create_app(TOKEN, PORT), base_url=f"http://{HOST}") as c:
        yield c


def receive(ws, kind):
    """The next message of type ``kind`` (an error message fails the test with its text)."""
    while True:
        m = ws.receive_json()
        if m["type"] == "error" and kind != "error":
            pytest.fail(f"the server said: {m['message']}")
        if m["type"] == kind:
            return m


def open_section(ws, section, **config):
    ws.send_json({"type": "open", "section": section, "config": config})
    return receive(ws, "ready")


def step(ws, n):
    ws.send_json({"type": "step", "n": n})
    return receive(ws, "frame")


def exported_model(ws, tmp_path):
    """The session's model as `neuronlab` reads it back: the page's ``export`` text, written
    to a file and loaded by io.model_file.load (what the CLI does with a model file)."""
    from neuronlab.io.model_file import load

    ws.send_json({"type": "export"})
    path = tmp_path / "model.json"
    path.write_text(receive(ws, "export")["text"])
    return load(path)


def split_scaled(name, seed, val_split=0.2):
    """The rows `neuronlab train NAME --seed SEED` learns from, made here from the library's
    readers: (X, y, X_val, y_val, scaler) — the stratified split, scaled by the training rows."""
    data = load_dataset(name)
    train, val = split_rows(data.n_rows, val_split, seed, stratify=data.y)
    scaler = Standardizer().fit(data.X[train])
    return scaler.transform(data.X[train]), data.y[train], scaler.transform(data.X[val]), data.y[val], scaler


def probabilities(picture):
    """A frame's ``grid`` (16-bit integers in base64, see sessions.PROBABILITY_STEPS) as ŷ per
    cell, NaN where the server sent none."""
    import base64

    import numpy as np

    from neuronlab.apps.playground.sessions import PROBABILITY_MISSING, PROBABILITY_STEPS

    q = np.frombuffer(base64.b64decode(picture), dtype="<u2")
    return np.where(q == PROBABILITY_MISSING, np.nan, q / PROBABILITY_STEPS)


def unit_outputs(layer):
    """A frame's ``units`` entry for one layer as an array of one row per unit (its output
    over the plane), from the 16-bit integers and each unit's scale."""
    import base64

    import numpy as np

    from neuronlab.apps.playground.sessions import UNIT_MISSING

    scales = np.array(layer["scales"])
    q = np.frombuffer(base64.b64decode(layer["values"]), dtype="<i2").reshape(len(scales), -1)
    return np.where(q == UNIT_MISSING, np.nan, q / 32767 * scales[:, None])
