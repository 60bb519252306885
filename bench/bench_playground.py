"""How fast the playground streams, how soon its page shows the first frame, and how ten pages
at once share the server (medians of --repeat runs).

    PYTHONPATH=src .venv/bin/python bench/bench_playground.py [--repeat 5] [--seconds 3]

The server is ``neuronlab playground --no-browser`` in a process of its own, as a person runs
it (the clients and the browser are other processes, as they are for a person).

1. steps/s streamed to a WebSocket client while playing at the highest speed the server
   allows, and frames/s, for the neuron on each built-in set and for the issue's 2-8-8-1 tanh
   network (full-batch gradient descent) on 500 points (two moons, uploaded as a CSV; every
   frame carries the ŷ grid, the 16 hidden units' maps and the weights);
2. steps/s of one ``step n=2000`` command (the engine and one frame, no clock pacing);
3. ten clients at once, each playing that network at the highest speed: the p95 and the
   largest interval between two frames of a client, and the steps/s each client got;
4. with Debian's chromium (if installed): time from opening the page to the first loss shown,
   from pressing play to the first new step shown, and the network on the page (the CSV
   uploaded through the page's own file input): steps/s the page shows (its step counter)
   and boundary frames/s it draws (calls of its drawBoundary).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from neuronlab.apps.playground.server import MAX_STEPS_PER_SECOND

CLIENTS = 10


def start_server():
    """``neuronlab playground --no-browser`` in its own process: (process, url)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, "-m", "neuronlab", "playground", "--no-browser"],
                             stdout=subprocess.PIPE, text=True, env=env)
    line = child.stdout.readline()
    if not line.startswith("neuronlab playground: "):
        child.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return child, line.split(": ", 1)[1].strip()


def moons_csv(n=500):
    """Two moons of n points (numpy, seed 0) as CSV text."""
    import numpy as np

    rng = np.random.default_rng(0)
    t = rng.uniform(0.0, np.pi, n)
    upper = t[: n // 2]
    lower = t[n // 2:]
    X = np.vstack([np.column_stack([np.cos(upper), np.sin(upper)]),
                   np.column_stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)])]) + rng.normal(0, 0.1, (n, 2))
    label = np.repeat(["upper", "lower"], [len(upper), len(lower)])
    return "x1,x2,label\n" + "".join(f"{a!r},{b!r},{c}\n" for (a, b), c in zip(X.tolist(), label))


def upload(url, text, name="moons500.csv"):
    """The id of ``text`` uploaded to the server."""
    import urllib.request

    base, token = url.split("/?token=")
    request = urllib.request.Request(f"{base}/api/upload?token={token}&name={name}", data=text.encode(),
                                     method="POST")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())["upload"]


async def _opened(ws, config, section):
    await ws.send(json.dumps({"type": "open", "section": section,
                              "config": {**config, "tol": 0, "max_steps": 100000}}))
    while json.loads(await ws.recv())["type"] != "ready":
        pass


async def _streamed(ws_url, config, seconds, section="neuron"):
    import websockets

    async with websockets.connect(ws_url, max_size=1 << 22) as ws:
        await _opened(ws, config, section)
        await ws.send(json.dumps({"type": "step", "n": 2000}))
        t0 = time.perf_counter()
        while True:
            m = json.loads(await ws.recv())
            if m["type"] == "frame":
                burst = len(m["rows"]) / (time.perf_counter() - t0)
                break
        await ws.send(json.dumps({"type": "speed", "steps_per_second": MAX_STEPS_PER_SECOND}))
        await ws.send(json.dumps({"type": "play"}))
        rows, frames, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            m = json.loads(await ws.recv())
            if m["type"] == "frame":
                rows += len(m["rows"])
                frames += 1
        elapsed = time.perf_counter() - start
        await ws.send(json.dumps({"type": "pause"}))
        return rows / elapsed, frames / elapsed, burst


async def _playing_client(ws_url, config, section, seconds, started):
    """(intervals between frames, steps/s) of one client playing for ``seconds`` once every
    client has opened its section (``started``: an event set when all have)."""
    import websockets

    async with websockets.connect(ws_url, max_size=1 << 22) as ws:
        await _opened(ws, config, section)
        await ws.send(json.dumps({"type": "speed", "steps_per_second": MAX_STEPS_PER_SECOND}))
        started["ready"] += 1
        if started["ready"] == CLIENTS:
            started["event"].set()
        await started["event"].wait()
        await ws.send(json.dumps({"type": "play"}))
        intervals, rows, last, start = [], 0, None, time.perf_counter()
        while time.perf_counter() - start < seconds:
            m = json.loads(await ws.recv())
            if m["type"] != "frame":
                continue
            now = time.perf_counter()
            if last is not None:
                intervals.append(now - last)
            last = now
            rows += len(m["rows"])
        elapsed = time.perf_counter() - start
        await ws.send(json.dumps({"type": "pause"}))
        return intervals, rows / elapsed


async def _concurrent(ws_url, config, section, seconds):
    started = {"ready": 0, "event": asyncio.Event()}
    return await asyncio.gather(*(_playing_client(ws_url, config, section, seconds, started)
                                  for _ in range(CLIENTS)))


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]


def page_timings(url, repeat, seconds, csv_path):
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    loads, firsts, shown, drawn = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        for _ in range(repeat):
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(url + "#section=neuron&dataset=moons")
            page.wait_for_selector('#loss[data-value]:not([data-value=""])')
            loads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            page.click("#section-neuron .play")
            page.wait_for_selector("#step-count:not(:text-is('0'))")
            firsts.append(time.perf_counter() - t0)
            page.close()
            # the network on the page, the CSV chosen with the page's own controls
            page = browser.new_page()
            page.goto(url + f"#section=network&hidden=8,8&acts=tanh&lr=0.5&dataset=csv&speed={MAX_STEPS_PER_SECOND}")
            page.wait_for_selector("#boundary-note:has-text('training rows')")
            page.set_input_files("#csv-file", csv_path)
            page.wait_for_selector("#target option[value='label']", state="attached")
            page.click("#csv-use")
            page.wait_for_selector("#boundary-note:has-text('400 training rows')")
            page.evaluate("""() => { window.boundaryDraws = 0; const draw = window.drawBoundary;
                window.drawBoundary = function () { window.boundaryDraws++; return draw.apply(this, arguments); }; }""")
            page.click("#section-neuron .play")
            page.wait_for_selector("#step-count:not(:text-is('0'))")
            counters = ("() => [Number(document.querySelector('#step-count').textContent), window.boundaryDraws, "
                        "performance.now()]")
            before = page.evaluate(counters)
            time.sleep(seconds)
            after = page.evaluate(counters)
            elapsed = (after[2] - before[2]) / 1000
            shown.append((after[0] - before[0]) / elapsed)
            drawn.append((after[1] - before[1]) / elapsed)
            page.close()
        browser.close()
    return (statistics.median(loads), statistics.median(firsts), statistics.median(shown),
            statistics.median(drawn))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    child, url = start_server()
    try:
        run(url, args)
    finally:
        child.terminate()
        child.wait(30)


def run(url, args):
    ws_url = url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
    csv = moons_csv()
    network = ("network", {"upload": upload(url, csv), "features": ["x1", "x2"], "target": "label",
                           "hidden": [8, 8], "activation": "tanh", "strategy": "gradient_descent",
                           "learning_rate": 0.5})
    print(f"| data set | steps/s streamed (play, cap {MAX_STEPS_PER_SECOND}) | frames/s | steps/s of 'step 2000' |")
    print("|---|---:|---:|---:|")
    cases = [(dataset, "neuron", {"dataset": dataset}) for dataset in ("linear", "moons", "obesity")]
    cases.append(("2-8-8-1 tanh network, 500 points", *network))
    for name, section, config in cases:
        runs = [asyncio.run(_streamed(ws_url, config, args.seconds, section)) for _ in range(args.repeat)]
        print(f"| {name} | {statistics.median(r[0] for r in runs):,.0f} | "
              f"{statistics.median(r[1] for r in runs):.1f} | {statistics.median(r[2] for r in runs):,.0f} |",
              flush=True)
    rounds = []
    for _ in range(args.repeat):
        rounds.append(asyncio.run(_concurrent(ws_url, network[1], network[0], args.seconds)))
        # the server lets a closed page's last turn finish before it counts the page gone (and
        # it takes 16 pages at most): the next round waits for that
        time.sleep(1.0)
    intervals = [[gap for gaps, _ in clients for gap in gaps] for clients in rounds]
    rates = [[rate for _, rate in clients] for clients in rounds]
    print(f"\n{CLIENTS} clients at once, each playing the network at cap {MAX_STEPS_PER_SECOND} for "
          f"{args.seconds:g} s (median of {args.repeat} rounds): p95 frame interval "
          f"{statistics.median(p95(i) for i in intervals) * 1000:.0f} ms, largest "
          f"{statistics.median(max(i) for i in intervals) * 1000:.0f} ms, frames/s per client "
          f"{statistics.median(len(i) / CLIENTS / args.seconds for i in intervals):.1f}, steps/s per client "
          f"{statistics.median(statistics.median(r) for r in rates):,.0f} (all {CLIENTS}: "
          f"{statistics.median(sum(r) for r in rates):,.0f})", flush=True)
    if shutil.which("chromium"):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "moons500.csv")
            with open(path, "w") as f:
                f.write(csv)
            load, first, shown, drawn = page_timings(url, args.repeat, args.seconds, path)
        print(f"\npage open → first loss shown: {load * 1000:.0f} ms (median of {args.repeat}); "
              f"play → first new step shown: {first * 1000:.0f} ms")
        print(f"the network on the page (cap {MAX_STEPS_PER_SECOND}): {shown:,.0f} steps/s shown, "
              f"{drawn:.1f} boundary frames/s drawn")


if __name__ == "__main__":
    main()
