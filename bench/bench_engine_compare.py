"""Speed of two revisions of neuronlab side by side, in one run: is a refactor's speed unchanged?

    .venv/bin/python bench/bench_engine_compare.py          # base 5d57a43, head = the working tree's src/
    .venv/bin/python bench/bench_engine_compare.py [--base REV] [--head REV] [--rounds 9]
                                                   [--only grad64 grad32 target_gd ...] [--rows N] [--cols P]

The base revision (and the head, when ``--head REV`` names one; by default the head is the
code on disk in src/) is checked out with ``git worktree add --detach`` into a temporary folder,
removed at the end.  Each revision runs in its own long-lived worker process (this script
with ``--worker``, the same Python, PYTHONPATH=<revision>/src, NUMBA_CACHE_DIR=a new empty
folder, the environment otherwise unchanged; it reports the neuronlab.__file__ it imported),
which builds the data of bench_training.py once (X: rows × cols float64 and a float32 copy,
logistic y) and then runs one measurement per request.  The parent asks base and head in
turn, measurement by measurement, and flips the order every round; it prints medians, the
ratio head/base of the medians, the range of the per-round ratios, and whether both revisions
produced the same numbers (loss, step counts, and the bytes of θ or ∇J, by SHA-256).

Measurements (the settings are bench_training.py's; only the public top-level API is used):

- grad64, grad32: one ``NeuronObjective.loss_and_grad`` of a logistic neuron (sigmoid + log
  loss) at a fixed θ, on the float64 X and on the float32 X;
- target_gd, target_ls, target_lbfgs: time to a mean log loss within 1e-4 (relative) of the
  optimum with fixed-η gradient descent (η = 1), line search (Armijo, η₀ = 1) and L-BFGS, from
  θ = 0; the optimum comes from a long L-BFGS run in each worker, and both use the base's target;
- epoch: one epoch of mini-batch SGD (batch 256, η = 0.1, shuffled from random_state 0).

Every measurement runs once untimed in each worker before it is timed (numba's compilation).
Both workers compile numba's kernels themselves, into their own empty cache: the base's new
worktree has no cache while the working tree usually has one, and kernels loaded from numba's
cache give some mini-batch losses that differ in the last bit from freshly compiled ones (the
SGD epoch's mean batch loss then differs although θ is identical).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from bench_training import TARGET_RTOL, make_data, table

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BASE = "5d57a43"
MEASUREMENTS = ("grad64", "grad32", "target_gd", "target_ls", "target_lbfgs", "epoch")


# --- the worker: one revision of neuronlab, one measurement per request -----------------------

def digest(*arrays):
    """The first 16 hex digits of the SHA-256 of the arrays' bytes."""
    sha = hashlib.sha256()
    for array in arrays:
        sha.update(array.tobytes())
    return sha.hexdigest()[:16]


def build_measurements(X64, X32, y, target):
    """{name: run}, each run returning the numbers that both revisions must agree on."""
    from neuronlab import (LBFGS, GradientDescent, LineSearch, Neuron, NeuronObjective,
                           StochasticGradientDescent, minimize)

    p = X64.shape[1]
    theta = np.random.default_rng(1).standard_normal(p + 1) * 0.1
    theta0 = np.zeros(p + 1)

    def objective(X):
        return NeuronObjective(Neuron(p, "sigmoid"), X, y, "log_loss")

    def gradient(X):
        fixed = objective(X)

        def run():
            loss, grad = fixed.loss_and_grad(theta)
            return {"loss": float(loss), "sha256 of ∇J": digest(grad)}
        return run

    def to_target(strategy, **options):
        def run():
            result = minimize(objective(X64), theta0, strategy(**options),
                              callback=lambda step: step.loss <= target)
            return {"loss": float(result.loss), "steps": result.n_steps, "evals": result.n_evals,
                    "reached": bool(result.loss <= target),
                    "sha256 of θ": digest(result.theta, result.theta_last)}
        return run

    def epoch():
        result = minimize(objective(X64), theta0,
                          StochasticGradientDescent(learning_rate=0.1, max_steps=1, tol=0,
                                                    batch_size=256, random_state=0))
        return {"loss": float(result.loss), "sha256 of θ": digest(result.theta, result.theta_last)}

    return {
        "grad64": gradient(X64),
        "grad32": gradient(X32),
        "target_gd": to_target(GradientDescent, learning_rate=1.0, max_steps=500, tol=0),
        "target_ls": to_target(LineSearch, learning_rate=1.0, max_steps=500, tol=0),
        "target_lbfgs": to_target(LBFGS, max_steps=500, tol=0),
        "epoch": epoch,
    }


def serve(rows, cols):
    """The worker's loop.  It replies with one JSON line per request on stdout: first (unasked)
    neuronlab.__file__ and the optimum loss; then it reads the target loss (one line), and then
    one measurement name per line until stdin closes, replying with the seconds and the result."""
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the replies
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # on Ctrl-C the parent ends its workers

    def reply(**fields):
        replies.write(json.dumps(fields) + "\n")

    import neuronlab
    from neuronlab import LBFGS, Neuron, NeuronObjective, minimize

    X64, y = make_data(rows, cols)
    X32 = X64.astype(np.float32)
    objective = NeuronObjective(Neuron(cols, "sigmoid"), X64, y, "log_loss")
    optimum = minimize(objective, np.zeros(cols + 1), LBFGS(tol=1e-12, max_steps=200)).loss
    reply(file=neuronlab.__file__, optimum=float(optimum))
    runs = build_measurements(X64, X32, y, target=float(sys.stdin.readline()))
    warmed = set()
    for line in iter(sys.stdin.readline, ""):
        name = line.strip()
        if name not in warmed:
            runs[name]()
            warmed.add(name)
        start = time.perf_counter()
        result = runs[name]()
        reply(seconds=time.perf_counter() - start, result=result)


# --- the parent: check out, start the workers, take turns, report ------------------------------

def git(*args):
    done = subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def checkout(stack, rev, folder):
    """Check ``rev`` out into ``folder`` (a detached worktree, removed when ``stack`` closes)."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    git("worktree", "add", "--detach", "--quiet", str(folder), commit)
    stack.callback(git, "worktree", "remove", "--force", str(folder))
    return folder / "src", f"{rev} ({commit[:12]})"


class Worker:
    """One revision's worker process; a context manager that ends it."""

    def __init__(self, label, src, numba_cache, rows, cols):
        self.label, self.src = label, src
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", "--rows", str(rows),
             "--cols", str(cols)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=str(src), NUMBA_CACHE_DIR=str(numba_cache)))

    def receive(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker ended (exit status {self.process.wait()}); "
                               "its error is above")
        return json.loads(line)

    def send(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def hello(self):
        """(neuronlab.__file__, optimum loss), after checking the file is this revision's."""
        reply = self.receive()
        if not Path(reply["file"]).resolve().is_relative_to(self.src.resolve()):
            raise RuntimeError(f"the {self.label} worker imported {reply['file']}, not from {self.src}")
        return reply["file"], reply["optimum"]

    def measure(self, name):
        self.send(name)
        return self.receive()

    def __enter__(self):
        return self

    def __exit__(self, error, *_):
        if error is None:
            self.process.stdin.close()  # end of requests: the worker's loop ends
        else:
            self.process.kill()
        self.process.wait()


def describe(result):
    return ", ".join(f"{key} {value:.9g}" if isinstance(value, float) else f"{key} {value}"
                     for key, value in result.items())


def compare(args):
    started = time.perf_counter()
    names = [name for name in MEASUREMENTS if name in (args.only or MEASUREMENTS)]
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-engine-")))
        base_src, base_label = checkout(stack, args.base, folder / "base")
        if args.head is None:
            head_src, head_label = REPO / "src", f"working tree {REPO / 'src'}"
        else:
            head_src, head_label = checkout(stack, args.head, folder / "head")
        workers = {label: stack.enter_context(Worker(label, src, folder / f"numba-cache-{label}",
                                                     args.rows, args.cols))
                   for label, src in (("base", base_src), ("head", head_src))}
        files, optima = zip(*(worker.hello() for worker in workers.values()))
        target = optima[0] * (1 + TARGET_RTOL)
        for worker in workers.values():
            worker.send(repr(target))
        setup = time.perf_counter() - started

        seconds = {(name, side): [] for name in names for side in workers}
        results = {(name, side): set() for name in names for side in workers}
        for round_ in range(args.rounds):
            order = ("base", "head") if round_ % 2 == 0 else ("head", "base")
            for name in names:
                for side in order:
                    reply = workers[side].measure(name)
                    seconds[name, side].append(reply["seconds"])
                    results[name, side].add(json.dumps(reply["result"], sort_keys=True))
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    rows, notes = [], []
    for name in names:
        base, head = seconds[name, "base"], seconds[name, "head"]
        ratios = [h / b for h, b in zip(head, base)]
        same = len(results[name, "base"]) == 1 and results[name, "base"] == results[name, "head"]
        rows.append([name, f"{1e3 * statistics.median(base):.1f}", f"{1e3 * statistics.median(head):.1f}",
                     f"{statistics.median(head) / statistics.median(base):.3f}",
                     f"{min(ratios):.3f}–{max(ratios):.3f}", "yes" if same else "**no**"])
        for side in workers:
            found = sorted(results[name, side])
            notes.append(f"- {name}, {side}: " + " | ".join(describe(json.loads(r)) for r in found)
                         + ("" if len(found) == 1 else f" ({len(found)} different results over the rounds)"))

    delta = abs(optima[1] - optima[0])
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"base: {base_label}: neuronlab.__file__ = {files[0]}")
    print(f"head: {head_label}: neuronlab.__file__ = {files[1]}")
    print(f"Python {sys.version.split()[0]}, numpy {version('numpy')}, numba {version('numba')}, "
          f"scipy {version('scipy')}; {os.cpu_count()} cores")
    print(f"X: {args.rows:,} × {args.cols} float64 (and a float32 copy), logistic y; {args.rounds} rounds, "
          "base and head in turn, the order flipped every round; one run per request, medians")
    print(f"optimum J* (L-BFGS, tol 1e-12): base {optima[0]:.15g}, head {optima[1]:.15g} "
          f"(agree to 1e-12: {'yes' if delta <= 1e-12 * abs(optima[0]) else '**no**'}); "
          f"target J ≤ {target:.9g} in both\n")
    print(table(["measurement", "base median ms", "head median ms", "head/base (medians)",
                 "min–max of the per-round ratios", "same result"], rows))
    print("\nsame result: yes when the loss, step counts and SHA-256 of θ (of ∇J for grad*) were the "
          "same in every round of both revisions. The results:\n")
    print("\n".join(notes))
    total = time.perf_counter() - started
    print(f"\nwall time {total:.0f} s ({setup:.0f} s of it checking out and starting the workers: "
          "data, numba's compilation, optimum)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", metavar="REV", default=DEFAULT_BASE,
                        help=f"revision to compare against (default {DEFAULT_BASE})")
    parser.add_argument("--head", metavar="REV",
                        help="revision to measure (default: the working tree's src/, as it is on disk)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", nargs="+", action="extend", choices=MEASUREMENTS,
                        help="run only these measurements (default: all)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        serve(args.rows, args.cols)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
        compare(args)


if __name__ == "__main__":
    main()
