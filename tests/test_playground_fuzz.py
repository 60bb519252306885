"""A bounded fuzz of the playground's endpoints and message types (hypothesis): whatever a page
sends, the server answers with a clear message or what was asked — never a server error, never
a closed socket — and its memory does not grow beyond a stated bound."""

from __future__ import annotations

import gc
import json
import tracemalloc

import pytest

pytest.importorskip("starlette.testclient")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from neuronlab.apps.playground.server import create_app  # noqa: E402

PORT = 8766
TOKEN = "fuzz"
HOST = f"127.0.0.1:{PORT}"
MEMORY_BOUND = 1024 * 1024  # bytes 30 closed sessions may leave behind (the last 8 uploads are kept: 8 × 6 kB here)

TYPES = ["open", "play", "pause", "step", "reset", "set", "speed", "explain", "export", "nonsense"]
SECTIONS = ["neuron", "race", "rates", "network", "../etc", None, 3]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=8)
config_keys = st.sampled_from(["dataset", "activation", "loss", "learning_rate", "strategy", "batch_size",
                               "alpha", "seed", "val_split", "max_steps", "tol", "upload", "features",
                               "target", "model", "hidden", "equation", "budget", "steps", "colour"])
configs = st.dictionaries(config_keys, values, max_size=4)
messages = st.fixed_dictionaries({"type": st.sampled_from(TYPES)}, optional={
    "section": st.sampled_from(SECTIONS), "config": st.one_of(configs, values), "n": values,
    "settings": st.one_of(configs, values), "steps_per_second": values})


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(TOKEN, PORT), base_url=f"http://{HOST}") as c:
        yield c


def answers(ws, message):
    """Send one message; then a 'pause' whose 'paused' reply marks the end of the answers."""
    ws.send_text(message)
    ws.send_json({"type": "pause"})
    got = []
    while True:
        m = ws.receive_json()
        if m["type"] == "paused":
            return got
        got.append(m)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.one_of(messages.map(json.dumps), st.text(max_size=40)), min_size=1, max_size=6))
def test_any_message_gets_an_answer_and_the_socket_stays_open(client, batch):
    with client.websocket_connect(f"ws://{HOST}/ws?token={TOKEN}") as ws:
        for message in batch:
            for m in answers(ws, message):
                assert m["type"] in ("ready", "frame", "ended", "explain", "export", "error", "changed",
                                     "playing", "paused")
                if m["type"] == "error":
                    assert m["message"] and "Traceback" not in m["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=2000), name=st.text(max_size=60))
def test_any_upload_is_read_or_refused_with_a_message(client, body, name):
    answer = client.post("/api/upload", params={"token": TOKEN, "name": name}, content=body)
    assert answer.status_code in (200, 400, 413)
    if answer.status_code != 200:
        assert answer.json()["error"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz/._-%", max_size=30),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
def test_any_path_is_answered_without_a_server_error(client, path, method):
    answer = client.request(method, f"/{path}", params={"token": TOKEN})
    assert answer.status_code < 500


def test_memory_stays_bounded_over_many_sessions(client):
    csv = ("a,b,c\n" + "".join(f"{i},{i * 7 % 11},{i % 2}\n" for i in range(400))).encode()

    def one_session(k):
        up = client.post(f"/api/upload?token={TOKEN}&name=r{k}.csv", content=csv).json()
        with client.websocket_connect(f"ws://{HOST}/ws?token={TOKEN}") as ws:
            ws.send_json({"type": "open", "section": "neuron",
                          "config": {"upload": up["upload"], "features": ["a", "b"], "target": "c"}})
            ws.send_json({"type": "step", "n": 200})
            ws.send_json({"type": "open", "section": "race", "config": {"budget": 500}})
            ws.send_json({"type": "step", "n": 500})
            answers(ws, json.dumps({"type": "explain"}))

    for k in range(3):  # first uses load modules and fill caches: not what a session keeps
        one_session(k)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in range(30):
            one_session(k)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < MEMORY_BOUND, f"the server kept {grown / 1e6:.2f} MB after 30 sessions"
