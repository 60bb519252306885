"""Benchmark of neuronlab's dense network against scikit-learn's MLPClassifier and PyTorch, in
one process (issue 13: "Fast").

    make bench   # or, once the bench extra is installed:
    .venv/bin/python bench/bench_networks.py [--rounds 3] [--only digits|fashion|memory|variants ...]

One hidden layer of 64 relu, softmax output, multinomial log loss, Adam (η = 1e-3), batch 200,
shuffled every epoch, no penalty, no early stopping: the same network and optimiser in all three.

1. digits (scikit-learn's 8×8 images; fixed split 1,347 train / 450 test,
   ``train_test_split(random_state=0, test_size=450, stratify=y)``, standardised), 200 epochs:
   neuronlab float64 and float32, MLPClassifier with BLAS on one thread, PyTorch on one thread
   (``--two-threads`` adds both on 2 threads: minutes per fit on a busy 2-core machine).
   Goal: ≤ 0.5× scikit-learn's time at ≥ 97.3 %.
2. Fashion-MNIST (60,000 / 10,000, float32 pixels in [0, 1]), 20 epochs: neuronlab vs PyTorch
   (its threads pinned to whichever of 1 and 2 was faster on a 1-epoch probe, both reported;
   ``--torch-threads 1`` skips the probe).
   Goal: ≤ 0.8× PyTorch's time at ≥ 86.4 %.  (MLPClassifier takes about a minute per fit
   here; ``--sklearn-fashion`` adds it.)
3. peak memory of the Fashion-MNIST fit, in a child process: tracemalloc's peak during the
   fit (numpy's allocations are traced) and the growth of the peak RSS, against the size of
   the training X in float32.  Goal: ≤ 1.3×.
4. variants of neuronlab's kernel on digits: what each speed-up gained.

Routes run in turn, round after round (a shared machine's changing load falls on all of
them alike); medians are reported.  neuronlab is used through ``NetworkClassifier``, as a user
calls it (He initialisation, as PyTorch's and scikit-learn's relu layers start).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

from bench_training import table  # the Markdown table every benchmark here prints

HIDDEN, EPOCHS_DIGITS, EPOCHS_FASHION, BATCH, ETA = 64, 200, 20, 200, 1e-3


def interleaved(routes, rounds):
    """{name: (median seconds, accuracy of the last round)}, routes run in turn each round."""
    times = {name: [] for name in routes}
    scores = {}
    for _ in range(rounds):
        for name, fit in routes.items():
            start = time.perf_counter()
            predict = fit()
            times[name].append(time.perf_counter() - start)
            scores[name] = predict()
    return {name: (statistics.median(t), scores[name], t) for name, t in times.items()}


# --- data --------------------------------------------------------------------------------
def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0, test_size=450, stratify=y)
    mean, scale = Xtr.mean(axis=0), Xtr.std(axis=0)
    scale[scale == 0] = 1.0
    return (Xtr - mean) / scale, ytr, (Xte - mean) / scale, yte


def fashion():
    from neuronlab.io.datasets import fashion_mnist

    Xtr, ytr = fashion_mnist("train")
    Xte, yte = fashion_mnist("test")
    return Xtr, ytr, Xte, yte


# --- the three implementations ----------------------------------------------------------
def neuronlab_fit(Xtr, ytr, Xte, yte, epochs, seed=0):
    from neuronlab import NetworkClassifier

    clf = NetworkClassifier((HIDDEN,), "relu", solver="adam", learning_rate=ETA, batch_size=BATCH, max_iter=epochs,
                            tol=0, alpha=0, init="he", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "stopped at max_iter": as asked
        clf.fit(Xtr, ytr)
    return lambda: float(clf.score(Xte, yte))


def sklearn_fit(Xtr, ytr, Xte, yte, epochs, threads=None, seed=0):
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="adam", learning_rate_init=ETA,
                        batch_size=BATCH, max_iter=epochs, alpha=0, tol=0, n_iter_no_change=epochs,
                        shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(threads, user_api="blas"):
        warnings.simplefilter("ignore")  # "maximum iterations reached": as asked
        clf.fit(Xtr, ytr)
    return lambda: float(clf.score(Xte, yte))


def torch_fit(Xtr, ytr, Xte, yte, epochs, threads, seed=0):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dtype = torch.float32 if Xtr.dtype == np.float32 else torch.float64
    X, y = torch.from_numpy(Xtr).to(dtype), torch.from_numpy(np.asarray(ytr, dtype=np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, 10)).to(dtype)
    optimiser = torch.optim.Adam(model.parameters(), lr=ETA)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    n = X.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, BATCH):
            rows = order[begin:begin + BATCH]
            optimiser.zero_grad(set_to_none=True)
            loss_fn(model(X[rows]), y[rows]).backward()
            optimiser.step()

    def accuracy():
        with torch.no_grad():
            z = model(torch.from_numpy(Xte).to(dtype))
        return float((z.argmax(dim=1).numpy() == yte).mean())

    return accuracy


def rows_of(results, reference):
    ref = results[reference][0]
    return [[name, f"{t:.3f}", f"{100 * acc:.2f} %", f"{t / ref:.2f}×", " ".join(f"{s:.2f}" for s in times)]
            for name, (t, acc, times) in results.items()]


def bench_digits(rounds, two_threads):
    Xtr, ytr, Xte, yte = digits()
    X32, Xte32 = Xtr.astype(np.float32), Xte.astype(np.float32)
    routes = {
        "neuronlab float64": lambda: neuronlab_fit(Xtr, ytr, Xte, yte, EPOCHS_DIGITS),
        "neuronlab float32": lambda: neuronlab_fit(X32, ytr, Xte32, yte, EPOCHS_DIGITS),
        "scikit-learn MLPClassifier (BLAS on 1 thread)": lambda: sklearn_fit(Xtr, ytr, Xte, yte, EPOCHS_DIGITS, 1),
        "PyTorch float32, 1 thread": lambda: torch_fit(X32, ytr, Xte32, yte, EPOCHS_DIGITS, 1),
    }
    if two_threads:  # minutes each on a busy 2-core machine
        routes["scikit-learn MLPClassifier (BLAS as it comes: 2 threads)"] = \
            lambda: sklearn_fit(Xtr, ytr, Xte, yte, EPOCHS_DIGITS)
        routes["PyTorch float32, 2 threads"] = lambda: torch_fit(X32, ytr, Xte32, yte, EPOCHS_DIGITS, 2)
    results = interleaved(routes, rounds)
    return table(["digits, 200 epochs", "median s", "test accuracy", "÷ scikit-learn (1 thread)", "every round (s)"],
                 rows_of(results, "scikit-learn MLPClassifier (BLAS on 1 thread)")), results


def bench_fashion(rounds, with_sklearn, torch_threads):
    Xtr, ytr, Xte, yte = fashion()
    if torch_threads == "probe":
        probe = {f"PyTorch, {k} thread{'s' if k > 1 else ''}": (lambda k=k: torch_fit(Xtr, ytr, Xte, yte, 1, k))
                 for k in (1, 2)}
        probed = interleaved(probe, 2)
        threads = 1 if probed["PyTorch, 1 thread"][0] <= probed["PyTorch, 2 threads"][0] else 2
        probe_line = "1-epoch probe of PyTorch's threads: " + ", ".join(f"{k}: {v[0]:.2f} s" for k, v in probed.items())
    else:
        threads = int(torch_threads)
        probe_line = f"PyTorch's threads set to {threads} (--torch-threads)"
    routes = {"neuronlab float32": lambda: neuronlab_fit(Xtr, ytr, Xte, yte, EPOCHS_FASHION),
              f"PyTorch float32, {threads} thread(s)":
                  lambda: torch_fit(Xtr, ytr, Xte, yte, EPOCHS_FASHION, threads)}
    if with_sklearn:
        routes["scikit-learn MLPClassifier (float32)"] = lambda: sklearn_fit(Xtr, ytr, Xte, yte, EPOCHS_FASHION)
    results = interleaved(routes, rounds)
    ref = [k for k in results if k.startswith("PyTorch")][0]
    return (table(["Fashion-MNIST, 20 epochs", "median s", "test accuracy", "÷ PyTorch", "every round (s)"],
                  rows_of(results, ref)) + f"\n\n{probe_line}"), results


CHILD = r"""
import json, sys, time, tracemalloc
sys.path.insert(0, {bench!r})
import numpy as np
from bench_networks import fashion, neuronlab_fit
def status(key):  # kB in /proc/self/status; VmHWM is this process's own peak (getrusage's
    # ru_maxrss would carry the parent's peak over the fork)
    with open("/proc/self/status") as f:
        return 1024 * int(next(line.split()[1] for line in f if line.startswith(key + ":")))
Xtr, ytr, Xte, yte = fashion()
import neuronlab.models.network, neuronlab.objectives.network, neuronlab.train.registry
loaded_peak = status("VmHWM")
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # VmHWM := VmRSS: from here it is the fit's peak
tracemalloc.start()
start = time.perf_counter()
predict = neuronlab_fit(Xtr, ytr, Xte, yte, {epochs})
seconds = time.perf_counter() - start
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
after = status("VmHWM")
print(json.dumps(dict(x_bytes=Xtr.nbytes, traced_peak=peak, rss_before=before, rss_after=after,
                      loaded_peak=loaded_peak, seconds=seconds, accuracy=predict())))
"""


def bench_memory(epochs=2):
    code = CHILD.format(bench=os.path.dirname(os.path.abspath(__file__)), epochs=epochs)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    m = json.loads(out.strip().splitlines()[-1])
    mb = 1e6
    rows = [["training X (60,000 × 784 float32)", f"{m['x_bytes'] / mb:.0f}", "1.00×"],
            [f"tracemalloc peak during the fit ({epochs} epochs), X not counted", f"{m['traced_peak'] / mb:.1f}",
             f"{m['traced_peak'] / m['x_bytes']:.2f}×"],
            ["X + that peak", f"{(m['x_bytes'] + m['traced_peak']) / mb:.0f}",
             f"{(m['x_bytes'] + m['traced_peak']) / m['x_bytes']:.2f}×"],
            ["peak RSS while loading both splits (Python, numpy, neuronlab, X, test X)",
             f"{m['loaded_peak'] / mb:.0f}", f"{m['loaded_peak'] / m['x_bytes']:.2f}×"],
            ["RSS before the fit", f"{m['rss_before'] / mb:.0f}", f"{m['rss_before'] / m['x_bytes']:.2f}×"],
            ["peak RSS during the fit", f"{m['rss_after'] / mb:.0f}", f"{m['rss_after'] / m['x_bytes']:.2f}×"],
            ["peak RSS growth during the fit", f"{(m['rss_after'] - m['rss_before']) / mb:.1f}",
             f"{(m['rss_after'] - m['rss_before']) / m['x_bytes']:.2f}×"]]
    return table(["Fashion-MNIST fit, memory", "MB", "÷ training X"], rows)


def bench_variants(rounds):
    """What each piece of the kernel gains, on digits float32 (the rest as shipped)."""
    import neuronlab.objectives.network as no

    Xtr, ytr, Xte, yte = digits()
    X32, Xte32 = Xtr.astype(np.float32), Xte.astype(np.float32)

    def plain_block_sums(self, theta, block, want_grad):  # the passes as first written: allocating
        where = block.rows if block.rows is not None else slice(block.lo, block.hi)
        X, y = block.X[where], block.y[where]
        with no.one_blas_thread():
            trace = self.model.forward_pass(theta, X)
            losses, delta = self.output_loss(trace.z[-1], y, want_grad)
            grad = self.model.backward(theta, trace, delta) if want_grad else None
        return float(losses.sum(dtype=np.float64)), float(losses.shape[0]), grad

    shipped = no.NetworkObjective._block_sums

    one_thread = no.one_blas_thread

    def variant(block_sums, blas_threads):
        def run():
            no.NetworkObjective._block_sums, no.one_blas_thread = block_sums, blas_threads
            try:
                return neuronlab_fit(X32, ytr, Xte32, yte, EPOCHS_DIGITS)
            finally:
                no.NetworkObjective._block_sums, no.one_blas_thread = shipped, one_thread
        return run

    as_it_comes = contextlib.nullcontext
    routes = {"plain passes (allocating), BLAS as it comes": variant(plain_block_sums, as_it_comes),
              "plain passes (allocating), BLAS on 1 thread": variant(plain_block_sums, one_thread),
              "buffers, BLAS as it comes": variant(shipped, as_it_comes),
              "buffers, BLAS on 1 thread (shipped)": variant(shipped, one_thread)}
    results = interleaved(routes, rounds)
    return table(["variant (digits, float32, 200 epochs)", "median s", "test accuracy", "÷ shipped",
                  "every round (s)"], rows_of(results, "buffers, BLAS on 1 thread (shipped)"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=["digits", "fashion", "memory", "variants"])
    parser.add_argument("--sklearn-fashion", action="store_true", help="add MLPClassifier on Fashion-MNIST")
    parser.add_argument("--two-threads", action="store_true",
                        help="add scikit-learn and PyTorch on 2 threads on digits (slow on a busy machine)")
    parser.add_argument("--torch-threads", choices=["probe", "1", "2"], default="probe",
                        help="PyTorch's threads on Fashion-MNIST: the faster on a 1-epoch probe, or as given")
    args = parser.parse_args(argv)
    parts = args.only or ["digits", "fashion", "memory", "variants"]
    load = os.getloadavg()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start; numpy {np.__version__}\n")
    if "digits" in parts:
        print(bench_digits(args.rounds, args.two_threads)[0], "\n", flush=True)
    if "fashion" in parts:
        print(bench_fashion(args.rounds, args.sklearn_fashion, args.torch_threads)[0], "\n", flush=True)
    if "memory" in parts:
        print(bench_memory(), "\n", flush=True)
    if "variants" in parts:
        print(bench_variants(args.rounds), "\n", flush=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end")


if __name__ == "__main__":
    main()
