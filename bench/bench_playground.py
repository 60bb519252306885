"""How fast the playground streams and how soon its page shows the first frame (medians).

    .venv/bin/python bench/bench_playground.py [--repeat 5] [--seconds 3]

1. steps/s streamed by a real server (uvicorn on 127.0.0.1) to a WebSocket client while
   playing at the highest speed the server allows, for the neuron on each built-in set, and
   for the issue's 2-8-8-1 tanh network (full-batch gradient descent) on 500 points (two moons,
   uploaded as a CSV; every frame carries the ŷ grid, the 16 hidden units' maps and the weights);
2. steps/s of one ``step n=2000`` command (the engine and the frame, no clock pacing);
3. with Debian's chromium (if installed): time from opening the page to the first loss shown,
   and from pressing play to the first new step shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import threading
import time

from neuronlab.apps.playground.server import MAX_STEPS_PER_SECOND, make_server


def start_server():
    server, url, sock = make_server(0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, url


def upload_moons(url, n=500):
    """Two moons of n points (numpy, seed 0) uploaded to the server: the id of the upload."""
    import urllib.request

    import numpy as np

    rng = np.random.default_rng(0)
    t = rng.uniform(0.0, np.pi, n)
    upper = t[: n // 2]
    lower = t[n // 2:]
    X = np.vstack([np.column_stack([np.cos(upper), np.sin(upper)]),
                   np.column_stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)])]) + rng.normal(0, 0.1, (n, 2))
    label = np.repeat(["upper", "lower"], [len(upper), len(lower)])
    text = "x1,x2,label\n" + "".join(f"{a!r},{b!r},{c}\n" for (a, b), c in zip(X.tolist(), label))
    base, token = url.split("/?token=")
    request = urllib.request.Request(f"{base}/api/upload?token={token}&name=moons500.csv", data=text.encode(),
                                     method="POST")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())["upload"]


async def _streamed(ws_url, config, seconds, section="neuron"):
    import websockets

    async with websockets.connect(ws_url, max_size=1 << 22) as ws:
        await ws.send(json.dumps({"type": "open", "section": section,
                                  "config": {**config, "tol": 0, "max_steps": 100000}}))
        while json.loads(await ws.recv())["type"] != "ready":
            pass
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


def page_timings(url, repeat):
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    loads, firsts = [], []
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
        browser.close()
    return statistics.median(loads), statistics.median(firsts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    server, thread, url = start_server()
    ws_url = url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
    print(f"| data set | steps/s streamed (play, cap {MAX_STEPS_PER_SECOND}) | frames/s | steps/s of 'step 2000' |")
    print("|---|---:|---:|---:|")
    cases = [(dataset, "neuron", {"dataset": dataset}) for dataset in ("linear", "moons", "obesity")]
    cases.append(("2-8-8-1 tanh network, 500 points", "network",
                  {"upload": upload_moons(url), "features": ["x1", "x2"], "target": "label", "hidden": [8, 8],
                   "activation": "tanh", "strategy": "gradient_descent", "learning_rate": 0.5}))
    for name, section, config in cases:
        runs = [asyncio.run(_streamed(ws_url, config, args.seconds, section)) for _ in range(args.repeat)]
        print(f"| {name} | {statistics.median(r[0] for r in runs):,.0f} | "
              f"{statistics.median(r[1] for r in runs):.1f} | {statistics.median(r[2] for r in runs):,.0f} |")
    if shutil.which("chromium"):
        load, first = page_timings(url, args.repeat)
        print(f"\npage open → first loss shown: {load * 1000:.0f} ms (median of {args.repeat}); "
              f"play → first new step shown: {first * 1000:.0f} ms")
    server.should_exit = True
    thread.join(10)


if __name__ == "__main__":
    main()
