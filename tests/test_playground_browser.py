"""The playground as a person uses it: Debian's chromium, driven by Playwright, on a real server.

The browser is the system's (``apt-get install chromium``), never one Playwright downloads.
Without it these tests skip — except under ``CI=true``, where a browser test that cannot
run fails (``.ci/run`` installs chromium).  The numbers the page shows are compared with the
library's own run of the same set-up.  With ``NEURONLAB_SCREENSHOT_DIR`` set, the README's
screenshot is written there.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _cannot_run(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


if CHROMIUM is None:
    _cannot_run("chromium is not installed (apt-get install chromium)")
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    _cannot_run("the playwright package is not installed (pip install -e '.[test]')")
pytest.importorskip("uvicorn")

from neuronlab import NeuronClassifier  # noqa: E402
from neuronlab.apps.playground.server import make_server  # noqa: E402
from neuronlab.io.tables import Standardizer, load_dataset, split_rows  # noqa: E402
from neuronlab.models.neuron import Neuron, init_params  # noqa: E402
from neuronlab.objectives.neuron import NeuronObjective  # noqa: E402
from neuronlab.train.descent import GradientDescent  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:NeuronClassifier stopped at max_steps"),
              pytest.mark.filterwarnings("ignore:NetworkClassifier stopped at max_iter")]
WAIT = 30.0  # seconds a page may take to show what it is waiting for (a deadline, not a measure)


@pytest.fixture(scope="module")
def url():
    server, address, sock = make_server(0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield address
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    yield page
    context.close()


def wait_until(read, ok, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = read()
        if ok(value):
            return value
        time.sleep(0.03)
    pytest.fail(f"the page did not show {what} within {WAIT:g} s (last: {read()!r})")


def open_neuron(page, url, hash_="section=neuron"):
    page.goto(f"{url}#{hash_}")
    page.wait_for_selector('#loss[data-value]:not([data-value=""])', timeout=WAIT * 1000)


def step_count(page) -> int:
    return int(page.inner_text("#step-count"))


def shown_loss(page) -> float:
    return float(page.get_attribute("#loss", "data-value"))


def reference_data(name, seed):
    data = load_dataset(name)
    train, _ = split_rows(data.n_rows, 0.2, seed, stratify=data.y)
    return Standardizer().fit(data.X[train]).transform(data.X[train]), data.y[train]


def test_every_section_loads_without_console_errors(page, url):
    open_neuron(page, url)
    assert page.inner_text("#connection") == "connected to neuronlab"
    for section in ("race", "rates", "neuron"):
        page.click(f'#tabs button[data-section="{section}"]')
        page.wait_for_selector(f"#section-{section}:not([hidden])")
    page.wait_for_selector('#loss[data-value]:not([data-value=""])')
    assert page.problems == []


def test_step_play_and_pause_show_the_engines_loss(page, url):
    open_neuron(page, url)
    boundary_before = page.locator("#boundary").screenshot()
    page.click("#section-neuron .step")
    wait_until(lambda: step_count(page), lambda n: n == 1, "step 1")
    X, y = reference_data("linear", 0)
    one = NeuronClassifier(learning_rate=0.5, random_state=0, max_steps=1).fit(X, y)
    assert shown_loss(page) == one.history_.loss[1]

    page.click("#section-neuron .play")
    wait_until(lambda: step_count(page), lambda n: n >= 40, "40 steps")
    page.click("#section-neuron .play")  # now "pause"
    wait_until(lambda: page.inner_text("#section-neuron .play"), lambda s: s == "play", "the play button back")
    settled = wait_until(lambda: (step_count(page), time.sleep(0.4), step_count(page)),
                         lambda v: v[0] == v[2], "the steps stop after pause")[0]
    clf = NeuronClassifier(learning_rate=0.5, random_state=0, max_steps=settled).fit(X, y)
    assert shown_loss(page) == clf.history_.loss[settled]
    assert shown_loss(page) < one.history_.loss[1]  # it learned
    assert page.locator("#boundary").screenshot() != boundary_before  # the boundary moved
    assert page.problems == []


def test_a_learning_rate_changed_mid_run_takes_effect_at_the_next_step(page, url):
    open_neuron(page, url, "section=neuron&dataset=circles&lr=0.1&seed=2")
    for n in (1, 2, 3):
        page.click("#section-neuron .step")
        wait_until(lambda: step_count(page), lambda c, n=n: c == n, f"step {n}")
    page.locator("#lr").fill("0")  # log₁₀ η = 0: η = 1
    wait_until(lambda: page.inner_text("#lr-value"), lambda s: s == "1.00", "η = 1.00")
    page.wait_for_selector("#eta-limit:has-text('η = 1.00')")
    page.click("#section-neuron .step")
    wait_until(lambda: step_count(page), lambda c: c == 4, "step 4")
    X, y = reference_data("circles", 2)
    objective = NeuronObjective(Neuron(2, "sigmoid"), X, (y == 1).astype(float), "log_loss")
    training = GradientDescent(learning_rate=0.1, max_steps=100).start(
        objective, init_params(2, "xavier", np.random.default_rng(2)))
    for _ in range(3):
        training.step()
    training.learning_rate = 1.0
    assert shown_loss(page) == training.step().loss
    assert "dataset=circles" in page.url and "lr=1" in page.url


def test_the_url_keeps_the_set_up(page, url):
    open_neuron(page, url, "section=neuron&dataset=moons&activation=tanh&loss-fn=x&loss=squared_error&lr=0.05"
                           "&seed=4&batch=32&alpha=0.01")
    assert page.input_value("#dataset") == "moons"
    assert page.input_value("#activation") == "tanh"
    assert page.input_value("#loss-fn") == "squared_error"
    assert page.input_value("#batch-size") == "32"
    assert page.input_value("#seed") == "4" and page.input_value("#alpha") == "0.01"
    assert page.inner_text("#lr-value") == "0.0500"
    page.select_option("#dataset", "xor")
    wait_until(lambda: page.url, lambda u: "dataset=xor" in u, "the new data set in the URL")
    page.reload()
    page.wait_for_selector('#loss[data-value]:not([data-value=""])')
    assert page.input_value("#dataset") == "xor" and page.input_value("#activation") == "tanh"
    assert page.problems == []


def test_divergence_shows_its_explanation_and_the_suggested_rate(page, url):
    open_neuron(page, url, "section=neuron&dataset=obesity&activation=identity&loss=squared_error&lr=20")
    page.click("#section-neuron .play")
    page.wait_for_selector("#neuron-message.diverged:not([hidden])", timeout=WAIT * 1000)
    text = page.inner_text("#neuron-message .text")
    assert text.startswith("diverged: diverged at step")
    assert "stable only for η <" in text and "try learning_rate ≤" in text
    page.click("#use-suggestion")
    wait_until(lambda: page.inner_text("#lr-value"), lambda s: float(s) < 20, "the suggested η")
    page.wait_for_selector("#neuron-message", state="hidden")
    assert page.problems == []


def test_explain_this_step_shows_the_steps_numbers(page, url):
    from neuronlab.viz.explain import explain

    open_neuron(page, url, "section=neuron&dataset=linear&lr=0.5&seed=1")
    page.click("#section-neuron .step")
    wait_until(lambda: step_count(page), lambda n: n == 1, "step 1")
    page.click("#section-neuron .explain")
    page.wait_for_selector("#explain-text:not([hidden])")
    X, y = reference_data("linear", 1)
    objective = NeuronObjective(Neuron(2, "sigmoid"), X, (y == 1).astype(float), "log_loss")
    result = GradientDescent(learning_rate=0.5, max_steps=1, tol=0).minimize(
        objective, init_params(2, "xavier", np.random.default_rng(1)))
    assert page.inner_text("#explain-text") == "\n".join(explain(objective, result).steps[0].lines)


def test_an_uploaded_csv_is_learned_and_a_bad_file_is_explained(page, url, tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "people.csv"
    rows = [f"{h:.3f},{w:.2f},{'obese' if w / (h * 0.3048) ** 2 >= 30 else 'not'}"
            for h, w in zip(rng.uniform(4, 7, 80), rng.uniform(40, 140, 80))]
    good.write_text("height,weight,condition\n" + "\n".join(rows) + "\n")
    open_neuron(page, url)
    page.select_option("#dataset", "csv")
    page.set_input_files("#csv-file", str(good))
    wait_until(lambda: page.input_value("#target"), lambda v: v == "condition", "the columns of the file")
    assert page.input_value("#feature-1") == "height" and page.input_value("#feature-2") == "weight"
    page.click("#csv-use")
    page.wait_for_selector("#boundary-note:has-text('height → across, weight → up')")
    page.click("#section-neuron .step")
    wait_until(lambda: step_count(page), lambda n: n == 1, "step 1")

    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\x00\x01\x02 not a table")
    page.set_input_files("#csv-file", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert "broken.csv: cannot be read as CSV" in page.inner_text("#error")


def test_the_equation_race_runs(page, url):
    from neuronlab.train.solving import solve

    page.goto(f"{url}#section=race")
    page.wait_for_selector("#race-table tbody tr")
    page.fill("#equation", "2x + y = 4")
    page.fill("#budget", "300")
    page.click("#race-start")
    page.wait_for_selector('#race-table tr[data-method="gradient"] td:has-text("converged")', timeout=WAIT * 1000)
    wait_until(lambda: page.inner_text('#race-table tr[data-method="monte-carlo"] td:nth-child(4)'),
               lambda s: s != "running", "Monte-Carlo's budget spent")
    report = solve("2x + y = 4", budget=300, random_state=0)
    for run in report.runs:
        row = page.locator(f'#race-table tr[data-method="{run.method}"] td')
        assert int(row.nth(1).inner_text()) == run.result.n_evals
        assert float(row.nth(2).get_attribute("data-value")) == run.residual_norm
    assert "2x + y = 4" in page.url.replace("+", " ").replace("%2B", "+") or "eq=2x" in page.url
    assert page.problems == []


def test_learning_rates_side_by_side_reach_their_verdicts(page, url):
    page.goto(f"{url}#section=rates&speed=2000")
    page.wait_for_selector("#rates-legend li")
    page.click("#section-rates .play")
    page.wait_for_selector('#rates-legend li[data-rate="far too large"] .verdict:has-text("diverges")',
                           timeout=WAIT * 1000)
    assert re.match(r"converges", page.inner_text('#rates-legend li[data-rate="about right"] .verdict'))
    assert page.problems == []


def test_screenshot_for_the_readme(page, url):
    out = os.environ.get("NEURONLAB_SCREENSHOT_DIR")
    open_neuron(page, url, "section=neuron&dataset=moons&lr=1&speed=500")
    page.click("#section-neuron .play")
    page.wait_for_selector("#neuron-message:not([hidden])", timeout=WAIT * 1000)  # converged
    page.click("#section-neuron .explain")
    page.wait_for_selector("#explain-text:not([hidden])")
    page.set_viewport_size({"width": 1100, "height": 860})
    shot = page.screenshot(full_page=False)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "playground.png").write_bytes(shot)


# --- networks and k classes -------------------------------------------------------------------------
def open_network(page, url, hash_="section=network"):
    page.goto(f"{url}#{hash_}")
    page.wait_for_selector('#loss[data-value]:not([data-value=""])', timeout=WAIT * 1000)
    page.wait_for_selector("#network-pictures:not([hidden])")


def unit_counts(page) -> list:
    return [int(t) for t in page.locator("#layers .units-count").all_inner_texts()]


def test_a_network_is_built_layer_by_layer_and_learns(page, url):
    from neuronlab.estimators.network import NetworkClassifier

    open_network(page, url, "section=network&dataset=xor&hidden=3&acts=tanh&lr=0.3&seed=1")
    assert page.inner_text("#neuron-title") == "Networks" and unit_counts(page) == [3]
    assert page.is_hidden("#activation-control") and page.is_hidden("#loss-control")  # per layer; log loss
    assert page.locator("#units canvas").count() == 3  # one map per hidden unit
    page.click("#add-layer")  # a second layer of 3 units
    wait_until(lambda: page.locator("#units canvas").count(), lambda n: n == 6, "the second layer's maps")
    page.click('#layers .layer[data-layer="2"] .more')
    wait_until(lambda: page.locator("#units canvas").count(), lambda n: n == 7, "a fourth unit in layer 2")
    page.select_option('#layers .layer[data-layer="2"] .layer-activation', "relu")
    wait_until(lambda: page.url, lambda u: "hidden=3%2C4" in u and "acts=tanh%2Crelu" in u, "the layers in the URL")
    page.click('#layers .layer[data-layer="1"] .remove')
    wait_until(lambda: unit_counts(page), lambda c: c == [4], "one layer left")
    wait_until(lambda: page.locator("#units canvas").count(), lambda n: n == 4, "four maps")
    assert page.input_value('#layers .layer[data-layer="1"] .layer-activation') == "relu"

    drawing_before = page.locator("#network-drawing").screenshot()
    unit_before = page.locator("#units canvas").first.screenshot()
    page.click("#section-neuron .step")
    wait_until(lambda: step_count(page), lambda n: n == 1, "step 1")
    X, y = reference_data("xor", 1)
    one = NetworkClassifier((4,), "relu", solver="gradient_descent", learning_rate=0.3, max_iter=1, tol=1e-6,
                            alpha=0.0, batch_size=None, random_state=1).fit(X, y)
    assert shown_loss(page) == one.loss_curve_[1]  # the page's network is the library's
    page.click("#section-neuron .play")
    wait_until(lambda: step_count(page), lambda n: n >= 60, "60 steps")
    page.click("#section-neuron .play")
    wait_until(lambda: page.inner_text("#section-neuron .play"), lambda s: s == "play", "paused")
    assert shown_loss(page) < one.loss_curve_[0]  # play lowered the loss
    assert page.locator("#network-drawing").screenshot() != drawing_before  # the edges changed with W
    assert page.locator("#units canvas").first.screenshot() != unit_before  # and the unit's map
    page.click("#section-neuron .explain")
    page.wait_for_selector("#explain-text:not([hidden])")
    assert "δ" in page.inner_text("#explain-text")  # backpropagation written out
    page.click('#tabs button[data-section="neuron"]')
    page.wait_for_selector("#neuron-title:has-text('A neuron learns')")
    assert page.is_hidden("#network-controls") and page.is_hidden("#network-pictures")
    assert page.is_visible("#activation-control")
    assert page.problems == []


def test_a_network_too_large_is_refused_with_a_clear_message(page, url):
    page.goto(f"{url}#section=network&hidden=32,32,32,32")
    page.wait_for_selector("#error:not([hidden])", timeout=WAIT * 1000)
    assert "the page trains at most" in page.inner_text("#error")


def test_three_classes_from_an_uploaded_csv_are_coloured_by_class(page, url, tmp_path):
    rng = np.random.default_rng(3)
    rows = []
    for species, (a, b) in {"setosa": (1.5, 0.3), "versicolor": (4.3, 1.3), "virginica": (5.5, 2.0)}.items():
        rows += [f"{a + rng.normal(0, 0.3):.3f},{b + rng.normal(0, 0.15):.3f},{species}" for _ in range(30)]
    iris = tmp_path / "iris.csv"
    iris.write_text("petal_length,petal_width,species\n" + "\n".join(rows) + "\n")
    open_neuron(page, url)
    page.select_option("#dataset", "csv")
    page.set_input_files("#csv-file", str(iris))
    wait_until(lambda: page.input_value("#target"), lambda v: v == "species", "the columns of the file")
    page.click("#csv-use")
    for section in ("neuron", "network"):
        if section == "network":  # the same upload, now learnt by a network
            page.click('#tabs button[data-section="network"]')
            page.wait_for_selector("#output-layer:has-text('output: 3 units, softmax')")
        page.wait_for_selector("#boundary-note:has-text('setosa (blue), versicolor (orange), virginica (green)')")
        wait_until(lambda: step_count(page), lambda n: n == 0, "a new run")
        first = shown_loss(page)
        page.click("#section-neuron .play")
        wait_until(lambda: step_count(page), lambda n: n >= 30, "30 steps")
        page.click("#section-neuron .play")
        wait_until(lambda: page.inner_text("#section-neuron .play"), lambda s: s == "play", "paused")
        assert shown_loss(page) < first
    assert page.inner_text("#output-layer") == "output: 3 units, softmax"
    assert page.problems == []


def test_screenshot_of_a_network_for_the_readme(page, url):
    out = os.environ.get("NEURONLAB_SCREENSHOT_DIR")
    open_network(page, url, "section=network&dataset=blobs3&hidden=6,4&acts=tanh&strategy=adam&lr=0.05&speed=500")
    page.click("#section-neuron .play")
    wait_until(lambda: step_count(page), lambda n: n >= 300, "300 steps")
    page.click("#section-neuron .play")
    page.set_viewport_size({"width": 1100, "height": 1500})
    shot = page.screenshot(full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.problems == []
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "playground-network.png").write_bytes(shot)


def test_the_races_gradient_method_restarts_when_stuck_at_its_start(page, url):
    from neuronlab.train.solving import solve

    page.goto(f"{url}#section=race")
    page.wait_for_selector("#race-table tbody tr")
    page.fill("#equation", "x^2 + y^2 = 4")  # the common start (0, 0) is a stationary point of J
    page.fill("#budget", "300")
    page.click("#race-start")
    page.wait_for_selector('#race-table tr[data-method="gradient"] td:has-text("restarted 1× from random points")',
                           timeout=WAIT * 1000)
    wait_until(lambda: page.inner_text('#race-table tr[data-method="gradient"] td:nth-child(4)'),
               lambda s: not s.startswith("running"), "the gradient method's end")
    run = solve("x^2 + y^2 = 4", method="gradient", budget=300, random_state=0).runs[0]
    assert run.restarts == 1
    row = page.locator('#race-table tr[data-method="gradient"] td')
    assert int(row.nth(1).inner_text()) == run.result.n_evals
    assert "restarted from 1 random point(s)" in page.get_attribute('#race-table tr[data-method="gradient"]', "title")
    assert page.problems == []
