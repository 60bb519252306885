"""Benchmark of neuronlab's training kernel and optimisers against their peers, in one process.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/bench_training.py [--rows 1000000] [--cols 100] [--repeat 7]
                                             [--only evaluation|target|epoch|memory|step-overhead ...]

Prints tables of medians and ratios (Markdown, pasted into BENCHMARKS.md).  The routes of
each table run in turn, round after round and in a new order each round, so that a shared
machine's changing load, and what one route leaves behind for the next, fall on all of them
alike:

1. one loss-and-gradient evaluation of a logistic neuron (and of a linear one), float64 and
   float32: neuronlab vs naive NumPy (X @ w, then X.T @ r), PyTorch CPU hand-written and
   autograd, and three plain reads of X measured in the same run, the fastest of which is
   "one read" (the bandwidth limit); then the same table again while the benchmark keeps one
   other CPU-bound process (``yes > /dev/null``) running;
2. time to a mean log loss within 1e-4 (relative) of the optimum: neuronlab's strategies
   vs scikit-learn's LogisticRegression(lbfgs) and SGDClassifier(log_loss);
3. one epoch of mini-batch SGD with batch 256: neuronlab vs PyTorch vs SGDClassifier;
4. peak memory of NeuronClassifier.fit on the float64 X, in a subprocess under
   /usr/bin/time -v, and by tracemalloc;
5. (``--only step-overhead``) what NeuronClassifier.fit adds per step: a fit of 20 fixed-η
   gradient-descent steps against 20 loss-and-gradient passes plus one pass over X.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

TARGET_RTOL = 1e-4


def in_turns(routes, repeat, warm_up=True):
    """{name: [what the route returned, round after round]} with the routes run in turn, round
    after round: on a shared machine the load changes from second to second, and taking turns
    spreads it over every route.

    Each round takes the routes in a new order (shuffled, the same each run): a route pays for
    what the one before it left behind — the copy of X leaves up to the size of the L3 cache of
    written lines, which the memory writes back during the next route (ad hoc, 11 rounds in a
    fixed order: our pass took 50.1 ms right after the copy against 47.4–49.3 ms after other
    routes) — and in a fixed order that cost always fell on the same route."""
    import random

    if warm_up:
        for fn in routes.values():
            fn()
    results = {name: [] for name in routes}
    order = list(routes)
    shuffle = random.Random(0).shuffle
    for _ in range(repeat):
        shuffle(order)
        for name in order:
            results[name].append(routes[name]())
    return results


def medians_ms_interleaved(routes, repeat, outcomes=None, warm_up=True):
    """{name: median ms} of the routes run :func:`in_turns`; ``outcomes``: a dict that receives
    each route's last return value."""
    def timed(fn):
        def run():
            start = time.perf_counter()
            outcome = fn()
            return time.perf_counter() - start, outcome
        return run

    runs = in_turns({name: timed(fn) for name, fn in routes.items()}, repeat, warm_up)
    if outcomes is not None:
        outcomes.update({name: results[-1][1] for name, results in runs.items()})
    return {name: 1e3 * statistics.median([seconds for seconds, _ in results]) for name, results in runs.items()}


def make_data(n, p, seed=0):
    """Logistic data: x ~ N(0, I), P(y = 1 | x) = σ(w*·x + b*), with ‖w*‖ ≈ 1.5."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w_true = rng.standard_normal(p) * (1.5 / np.sqrt(p))
    z = X @ w_true + 0.25
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y


def plain_reads(X):
    """Plain reads of every byte of X, each a candidate for "one read of X" (the bandwidth
    limit): the fastest of them, measured in the same run, is the limit every ratio is against.

    - NumPy's ``X.sum()`` over two halves of the rows in two threads (NumPy releases the GIL);
    - a compiled, threaded column sum (numba, 16 chunks);
    - a copy of X into a buffer allocated once (``np.copyto``, two threads over halves), which
      also writes every byte: a memcpy's speed.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numba

    @numba.njit(parallel=True, fastmath=True, cache=False)
    def column_sums(X, chunks):
        n, p = X.shape
        size = (n + chunks - 1) // chunks
        out = np.zeros((chunks, p))
        for c in numba.prange(chunks):
            acc = np.zeros(p)
            for i in range(c * size, min(n, (c + 1) * size)):
                for j in range(p):
                    acc[j] += X[i, j]
            out[c] = acc
        return out.sum(axis=0)

    pool = ThreadPoolExecutor(2)
    half = X.shape[0] // 2
    halves = (X[:half], X[half:])
    buffer = np.empty_like(X)
    buffer_halves = (buffer[:half], buffer[half:])

    def numpy_sum():
        return sum(pool.map(np.sum, halves))

    def copy():
        list(pool.map(np.copyto, buffer_halves, halves))

    return {
        READ_NUMPY: numpy_sum,
        READ_NUMBA: lambda: column_sums(X, 16),
        READ_COPY: copy,
    }


READ_NUMPY = "read: NumPy X.sum(), two threads over halves"
READ_NUMBA = "read: compiled threaded column sum (numba)"
READ_COPY = "read: copy into a reused buffer (np.copyto, two threads)"
READS = (READ_NUMPY, READ_NUMBA, READ_COPY)


class busy_core:
    """One other CPU-bound process (``yes > /dev/null``) for the length of a ``with`` block:
    the benchmark starts it and ends it itself."""

    def __enter__(self):
        self.process = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
        time.sleep(0.2)  # let the scheduler see it
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait()


def load():
    """The 1-minute load average, to print beside each table."""
    return f"{os.getloadavg()[0]:.2f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def bench_loss_and_grad(X64, y64, repeat, busy=False):
    """One loss-and-gradient evaluation against the plain reads of X, float64 and float32;
    with ``busy``, while one other CPU-bound process runs (:class:`busy_core`)."""
    import contextlib

    import torch

    from neuronlab import Neuron, NeuronObjective

    rows = []
    n, p = X64.shape
    loads = []
    for dtype in (np.float64, np.float32):
        X = X64 if dtype is np.float64 else X64.astype(np.float32)
        y = y64.astype(dtype)
        rng = np.random.default_rng(1)
        theta = rng.standard_normal(p + 1) * 0.1
        w, b = theta[:-1].astype(dtype), dtype(theta[-1])
        objective = NeuronObjective(Neuron(p, "sigmoid"), X, y, "log_loss")
        linear = NeuronObjective(Neuron(p, "identity"), X, y, "squared_error")

        def naive():
            z = X @ w + b
            loss = np.mean(np.logaddexp(0, z) - y * z)
            r = (1.0 / (1.0 + np.exp(-z)) - y) / n
            return loss, X.T @ r, r.sum()

        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        tw = torch.from_numpy(w.copy())
        tb = torch.tensor(float(b), dtype=tw.dtype)

        def torch_hand():
            with torch.no_grad():
                z = tX @ tw + tb
                loss = torch.nn.functional.softplus(z).sub_(ty * z).mean()
                r = torch.sigmoid(z).sub_(ty).div_(n)
                return loss, tX.T @ r, r.sum()

        wg = tw.clone().requires_grad_(True)
        bg = tb.clone().requires_grad_(True)

        def torch_autograd():
            wg.grad = bg.grad = None
            loss = torch.nn.functional.binary_cross_entropy_with_logits(tX @ wg + bg, ty)
            loss.backward()
            return loss

        # all routes agree before they are timed
        mine = objective.loss_and_grad(theta.astype(dtype).astype(np.float64))
        ref = naive()
        assert abs(mine[0] - ref[0]) <= 1e-5 * abs(ref[0]), (mine[0], ref[0])
        routes = {
            **plain_reads(X),
            "neuronlab loss_and_grad, logistic": lambda: objective.loss_and_grad(theta),
            "neuronlab loss_and_grad, linear (identity + squared error)": lambda: linear.loss_and_grad(theta),
            "naive NumPy (X @ w, then X.T @ r)": naive,
            "PyTorch CPU, hand-written": torch_hand,
            "PyTorch CPU, autograd": torch_autograd,
        }
        with busy_core() if busy else contextlib.nullcontext():
            timings = medians_ms_interleaved(routes, repeat)
            loads.append(load())
        limit = min(timings[name] for name in READS)
        ours = timings["neuronlab loss_and_grad, logistic"]
        gb = X.nbytes / 1e9
        for name, ms in timings.items():
            rows.append([np.dtype(dtype).name, name, f"{ms:.1f}", f"{gb / (ms / 1e3):.1f}",
                         f"{ms / limit:.2f}×", f"{ms / ours:.2f}×"])
    return (table(["dtype", "route", "median ms", "GB/s of X", "÷ fastest read", "÷ neuronlab"], rows)
            + f"\n\n1-minute load average after each dtype's rounds: {', '.join(loads)}"
            + (" (with the benchmark's own `yes > /dev/null` running)" if busy else ""))


def bench_time_to_target(X, y, rounds=3):
    import warnings

    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from neuronlab import Neuron, NeuronObjective, minimize

    n, p = X.shape
    objective = NeuronObjective(Neuron(p, "sigmoid"), X, y, "log_loss")
    theta0 = np.zeros(p + 1)
    optimum = minimize(objective, theta0, "lbfgs", tol=1e-12, max_steps=200).loss
    target = optimum * (1 + TARGET_RTOL)

    def ours(name, half_the_stability_limit=False, **options):
        def run():
            objective = NeuronObjective(Neuron(p, "sigmoid"), X, y, "log_loss")
            if half_the_stability_limit:  # found inside the timed run: its pass over X counts
                options["learning_rate"] = objective.stability_limit() / 2
            result = minimize(objective, theta0, name, callback=lambda step: step.loss <= target, **options)
            return result.n_steps, result.n_evals, result.loss
        return run

    def sklearn(estimator):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = estimator().fit(X, y)
            loss = objective.loss(np.append(np.ravel(model.coef_), model.intercept_))
            return int(np.max(model.n_iter_)), "", loss
        return run

    routes = {
        "neuronlab L-BFGS": ours("lbfgs", max_steps=500, tol=0),
        "neuronlab line search (Armijo)": ours("line_search", learning_rate=1.0, max_steps=500, tol=0),
        "neuronlab gradient descent, fixed η = 1": ours("gradient_descent", learning_rate=1.0,
                                                        max_steps=500, tol=0),
        "neuronlab gradient descent, fixed η = half the stability limit 8/λ_max (λ_max found in the run)":
            ours("gradient_descent", half_the_stability_limit=True, max_steps=500, tol=0),
        "neuronlab Adam, η = 0.05 (full batch)": ours("adam", learning_rate=0.05, max_steps=500, tol=0),
        'scikit-learn LogisticRegression(penalty=None, solver="lbfgs") (C=inf)':
            sklearn(lambda: LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)),
        'scikit-learn SGDClassifier(loss="log_loss", alpha=1e-6), 5 epochs':
            sklearn(lambda: SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=5, tol=None,
                                          random_state=0)),
    }
    outcome = {}
    # no warm-up round: each route takes seconds, and the optimum's L-BFGS above has
    # compiled the kernel
    median = {name: ms / 1e3 for name, ms in
              medians_ms_interleaved(routes, rounds, outcomes=outcome, warm_up=False).items()}
    rows = []
    for name in routes:
        steps, evals, loss = outcome[name]
        rows.append([name, f"{median[name]:.2f}", steps, evals, f"{loss:.6f}", "yes" if loss <= target else "no"])
    names = list(routes)
    reference = median[names[5]]
    ratios = [f"- {name} ÷ LogisticRegression(lbfgs): {median[name] / reference:.2f}×" for name in names[:4]]
    return (f"optimum J* = {optimum:.6f} (neuronlab L-BFGS, tol 1e-12); target J ≤ {target:.6f}; "
            f"medians of {rounds} rounds\n\n"
            + table(["route", "seconds", "iterations", "loss+grad passes", "final J", "reached"], rows)
            + "\n\n" + "\n".join(ratios))


def bench_epoch(X, y, repeat):
    import torch
    from sklearn.linear_model import SGDClassifier

    from neuronlab import Neuron, NeuronObjective, minimize

    n, p = X.shape
    objective = NeuronObjective(Neuron(p, "sigmoid"), X, y, "log_loss")
    theta0 = np.zeros(p + 1)

    def ours():
        return minimize(objective, theta0, "sgd", batch_size=256, learning_rate=0.1, max_steps=1,
                        tol=0, random_state=0)

    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def torch_epoch():
        model = torch.nn.Linear(p, 1, dtype=torch.float64)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, 256):
            index = order[start:start + 256]
            optimizer.zero_grad()
            loss = loss_fn(model(tX[index]).squeeze(1), ty[index])
            loss.backward()
            optimizer.step()

    def torch_epoch_one_thread():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small batches often run faster on one thread
        try:
            torch_epoch()
        finally:
            torch.set_num_threads(threads)

    def sklearn_epoch():
        SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=1, tol=None, random_state=0).fit(X, y)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timings = medians_ms_interleaved({
            "neuronlab sgd, batch 256 (shuffled)": ours,
            "PyTorch SGD, nn.Linear + BCEWithLogitsLoss, batch 256 (shuffled)": torch_epoch,
            "PyTorch, the same on 1 thread": torch_epoch_one_thread,
            "scikit-learn SGDClassifier, 1 epoch (batch 1: it has no mini-batches)": sklearn_epoch,
        }, max(3, repeat // 2))
    ours_ms = timings["neuronlab sgd, batch 256 (shuffled)"]
    rows = [[name, f"{ms:.0f}", f"{ms / ours_ms:.2f}×"] for name, ms in timings.items()]
    return table([f"route (one epoch over {n:,} rows)", "median ms", "÷ neuronlab"], rows)


def bench_step_overhead(X64, y64, repeat, steps=20):
    """What NeuronClassifier.fit adds to its kernel passes (issue 12, item 4): a fit of ``steps``
    fixed-η gradient-descent steps (``learning_rate=1``, given, so no pass finds an η;
    ``tol=0``, so all of them are taken) against ``steps`` calls of
    ``NeuronObjective.loss_and_grad`` plus one pass over X, float64 and float32, all in turn
    round after round.

    The fit evaluates its start and every step's end: ``steps + 1`` loss-and-gradient passes,
    after one validation pass over X (``check_X``'s NaN/inf check).  The ratios are against
    ``steps`` passes plus one loss-only pass (the goal's terms), plus the fit's own validation
    pass, and against everything the fit must do (``steps + 1`` passes and the validation pass):
    the last is what the estimator adds."""
    from neuronlab.objectives.neuron import NeuronBlockRule

    # the fit's own passes are timed inside it (NeuronBlockRule is the one call each pass makes):
    # its time outside them, measured in the same runs, does not depend on how loaded the machine is
    inside, recording = [0.0], [False]
    plain_call = NeuronBlockRule.__call__

    def timed_call(self, *args, **kwargs):
        if not recording[0]:
            return plain_call(self, *args, **kwargs)
        start = time.perf_counter()
        try:
            return plain_call(self, *args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - start

    NeuronBlockRule.__call__ = timed_call
    try:
        return _step_overhead_table(X64, y64, repeat, steps, inside, recording)
    finally:
        NeuronBlockRule.__call__ = plain_call


def _step_overhead_table(X64, y64, repeat, steps, inside, recording):
    """The table of :func:`bench_step_overhead`; ``inside[0]`` gathers the time spent in the fit's
    passes while ``recording[0]``."""
    from neuronlab import Neuron, NeuronClassifier, NeuronObjective
    from neuronlab.core.validation import check_X

    n, p = X64.shape
    fit_name = f"NeuronClassifier(solver='gradient_descent', learning_rate=1.0, max_steps={steps}, tol=0).fit"
    passes_name = f"{steps} × NeuronObjective.loss_and_grad(θ)"
    loss_name = "1 × NeuronObjective.loss(θ) (one loss-only pass)"
    check_name = "check_X(X): the fit's validation pass over X (NaN/inf)"
    rows, notes = [], []
    for dtype in (np.float64, np.float32):
        X = X64 if dtype is np.float64 else X64.astype(np.float32)
        objective = NeuronObjective(Neuron(p, "sigmoid"), X, y64, "log_loss")
        theta = np.random.default_rng(1).standard_normal(p + 1) * 0.1
        estimator = NeuronClassifier(solver="gradient_descent", learning_rate=1.0, max_steps=steps,
                                     tol=0, random_state=0)
        fitted, outside = {}, []

        def fit():
            inside[0], recording[0] = 0.0, True
            start = time.perf_counter()
            fitted["model"] = estimator.fit(X, y64)
            outside.append(time.perf_counter() - start - inside[0])
            recording[0] = False

        timings = medians_ms_interleaved({
            fit_name: fit,
            passes_name: lambda: [objective.loss_and_grad(theta) for _ in range(steps)],
            loss_name: lambda: objective.loss(theta),
            check_name: lambda: check_X(X),
        }, repeat)
        model = fitted["model"]
        assert model.n_iter_ == steps and model.result_.n_evals == steps + 1, (model.n_iter_, model.result_.n_evals)
        fit_ms, passes_ms = timings[fit_name], timings[passes_name]
        loss_ms, check_ms = timings[loss_name], timings[check_name]
        one = passes_ms / steps
        dt = np.dtype(dtype).name
        for name, ms in timings.items():
            rows.append([dt, name, f"{ms:.1f}", f"{ms / one:.2f}"])
        goal = fit_ms / (passes_ms + loss_ms)
        rows.append([dt, f"**fit ÷ ({steps} passes + 1 loss-only pass)** (goal ≤ 1.10)", f"**{goal:.3f}**", ""])
        rows.append([dt, f"fit ÷ ({steps} passes + check_X)", f"{fit_ms / (passes_ms + check_ms):.3f}", ""])
        rows.append([dt, f"fit ÷ ({steps + 1} passes + check_X): what the estimator adds",
                     f"{fit_ms / (passes_ms + one + check_ms):.3f}", ""])
        beside = statistics.median(outside[1:]) * 1e3  # the first is the warm-up
        rows.append([dt, f"the fit's time outside its {steps + 1} passes, measured inside the same fits "
                     "(check_X, classes, the loop, the separability scan…)", f"{beside:.1f}", f"{beside / one:.2f}"])
        notes.append(f"{dt}: load {load()}")
    return (table(["dtype", "route", "median ms", "÷ one loss_and_grad pass"], rows)
            + f"\n\nmedians of {repeat} rounds; 1-minute load average after each dtype's rounds: "
            + ", ".join(notes))


MEMORY_CHILD = r"""
import sys, time, tracemalloc, resource, warnings
import numpy as np
from neuronlab import NeuronClassifier
n, p = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, p))
y = (X[:, 0] + rng.standard_normal(n) > 0).astype(np.float64)
# warm up on the first rows: the libraries (numba's compiled kernel, scipy) are loaded before
# the measured fit, so "before" holds them and the fit's increment is its own
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    NeuronClassifier(solver=sys.argv[3], penalty=None, max_steps=2).fit(X[:100_000], y[:100_000])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model = NeuronClassifier(solver=sys.argv[3], penalty=None, max_steps=int(sys.argv[4])).fit(X, y)
current, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print("RESULT", X.nbytes, peak, before, model.n_iter_)
"""


def bench_memory(n, p, solver="lbfgs", steps=20):
    command = ["/usr/bin/time", "-v", sys.executable, "-c", MEMORY_CHILD, str(n), str(p), solver, str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    x_bytes, traced_peak, rss_before, n_iter = done.stdout.split("RESULT")[1].split()
    max_rss = next(int(line.split(":")[1]) * 1024 for line in done.stderr.splitlines()
                   if "Maximum resident set size" in line)
    x_bytes, traced_peak, rss_before = int(x_bytes), int(traced_peak), int(rss_before)
    rss_fit = max_rss - rss_before  # what the fit added to the largest resident set
    rows = [
        ["X (float64)", f"{x_bytes / 1e6:.0f} MB", "1.00×"],
        [f"maximum resident set size of the whole process (/usr/bin/time -v), fit {solver} "
         f"{n_iter} iterations", f"{max_rss / 1e6:.0f} MB", f"{max_rss / x_bytes:.3f}×"],
        ["… of which resident before the fit (Python, numpy, numba and LLVM, X, y)",
         f"{rss_before / 1e6:.0f} MB", f"{rss_before / x_bytes:.3f}×"],
        ["… of which the fit's peak above that (maximum RSS − RSS before)", f"{rss_fit / 1e6:.1f} MB",
         f"{rss_fit / x_bytes:.3f}× → X + fit = {(x_bytes + rss_fit) / x_bytes:.3f}×"],
        ["peak of the fit's own allocations (tracemalloc)", f"{traced_peak / 1e6:.1f} MB",
         f"{traced_peak / x_bytes:.3f}× → X + fit = {(x_bytes + traced_peak) / x_bytes:.3f}×"],
    ]
    return table(["what", "bytes", "÷ size of X"], rows)


def environment():
    from threadpoolctl import threadpool_info

    import numba
    import sklearn
    import torch

    pools = ", ".join(f"{i['internal_api']} {i.get('architecture', '')} ×{i['num_threads']}"
                      for i in threadpool_info())
    flags = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    return (f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), scikit-learn "
            f"{sklearn.__version__}; {os.cpu_count()} cores; BLAS: {pools}; environment: "
            f"{json.dumps(flags)}")


TABLES = ("evaluation", "target", "epoch", "memory", "step-overhead")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", choices=TABLES, action="append",
                        help="run only this table (repeat the option for several; default: all)")
    args = parser.parse_args(argv)
    tables = args.only or TABLES
    X, y = make_data(args.rows, args.cols)
    print(environment())
    print(f"\nX: {args.rows:,} × {args.cols} float64 = {X.nbytes / 1e6:.0f} MB\n")
    if "evaluation" in tables:
        print("### One loss-and-gradient evaluation (logistic neuron)\n")
        print(bench_loss_and_grad(X, y, args.repeat), flush=True)
        print("\n### The same with one other CPU-bound process running (`yes > /dev/null`)\n")
        print(bench_loss_and_grad(X, y, args.repeat, busy=True), flush=True)
    if "target" in tables:
        print("\n### Time to a mean log loss within 1e-4 of the optimum\n")
        print(bench_time_to_target(X, y), flush=True)
    if "epoch" in tables:
        print("\n### One epoch of mini-batch SGD\n")
        print(bench_epoch(X, y, args.repeat), flush=True)
    if "step-overhead" in tables:
        print("\n### Per-step overhead of the estimator: a fit of 20 fixed-η steps against its kernel passes\n")
        print(bench_step_overhead(X, y, args.repeat), flush=True)
    if "memory" in tables:
        print("\n### Peak memory of NeuronClassifier(solver='lbfgs').fit on the float64 X\n")
        print(bench_memory(args.rows, args.cols), flush=True)


if __name__ == "__main__":
    main()
