"""How fast the playground streams and how soon its page shows the first frame (medians).

    .venv/bin/python bench/bench_playground.py [--repeat 5] [--seconds 3]

1. steps/s streamed by a real server (uvicorn on 127.0.0.1) to a WebSocket client while
   playing at the highest speed the server allows, for the neuron on each built-in set;
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


async def _streamed(ws_url, dataset, seconds):
    import websockets

    async with websockets.connect(ws_url, max_size=1 << 22) as ws:
        await ws.send(json.dumps({"type": "open", "section": "neuron", "config": {"dataset": dataset, "tol": 0,
                                                                                   "max_steps": 100000}}))
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
    for dataset in ("linear", "moons", "obesity"):
        runs = [asyncio.run(_streamed(ws_url, dataset, args.seconds)) for _ in range(args.repeat)]
        print(f"| {dataset} | {statistics.median(r[0] for r in runs):,.0f} | "
              f"{statistics.median(r[1] for r in runs):.1f} | {statistics.median(r[2] for r in runs):,.0f} |")
    if shutil.which("chromium"):
        load, first = page_timings(url, args.repeat)
        print(f"\npage open → first loss shown: {load * 1000:.0f} ms (median of {args.repeat}); "
              f"play → first new step shown: {first * 1000:.0f} ms")
    server.should_exit = True
    thread.join(10)


if __name__ == "__main__":
    main()
