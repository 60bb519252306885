"""Other ways to write the logistic loss-and-gradient pass, timed in turns with neuronlab's kernel.

    .venv/bin/python bench/bench_kernel_variants.py [--rows 1000000] [--cols 100] [--repeat 9]
                                                    [--dtype float64|float32] [--busy]

BENCHMARKS.md records how these compare with the kernel (its own loops, one row at a time,
on blocks of about 64 kB, in chunks of 2^18 values dealt to the threads); this script
is how that was measured.  Each variant is checked against the kernel's J and ∇J before it is
timed.  Variants:

- the kernel with the loss alone (no gradient), on one thread, with its chunks dealt one at a
  time from a shared counter to whichever thread is free and in equal shares (one run of
  consecutive chunks per thread), asking for rows 16, 32 or 64 kB ahead or not at all (the
  one it does is left out), its gradient asking for 0, 8, 16 or 32 lines of the next block per
  four rows or for all of it (the kernel's own pace left out), with chunks 4× smaller and 4×
  larger, and with blocks of 16 kB and 256 kB;
- the kernel before (the issue 6 kernel): BLAS z = X_B·w and δᵀX_B on blocks of 256 rows,
  16 chunks;
- numba loops, one row at a time: z for a block, the per-row math, then the gradient;
- the same with 4-row register blocking written with 2-D indexing;
- the same with a software prefetch (LLVM's llvm.prefetch) of the row 64 rows ahead;
- a software pipeline: block k's gradient added while block k + 1's z is computed.

With ``--busy`` the same table is timed while one other CPU-bound process (``yes``) runs.
"""

from __future__ import annotations

import argparse

import numba as nb
import numpy as np

import bench_training as bt
from neuronlab import Neuron, NeuronObjective
from neuronlab.models import kernel
from neuronlab.models import _kernel_numba as K

FM = K.FASTMATH


@nb.njit(fastmath=FM, error_model="numpy")
def _dot_rows(X, w, b, start, m, zbuf, four, ahead):
    """z of rows start … start + m − 1 into zbuf, one row or four rows at a time."""
    p = X.shape[1]
    k = 0
    if four:
        while k + 4 <= m:
            i = start + k
            z0 = 0.0
            z1 = 0.0
            z2 = 0.0
            z3 = 0.0
            for j in range(p):
                wj = w[j]
                z0 += X[i, j] * wj
                z1 += X[i + 1, j] * wj
                z2 += X[i + 2, j] * wj
                z3 += X[i + 3, j] * wj
            zbuf[k] = z0 + b
            zbuf[k + 1] = z1 + b
            zbuf[k + 2] = z2 + b
            zbuf[k + 3] = z3 + b
            k += 4
    while k < m:
        i = start + k
        if ahead > 0 and i + ahead < X.shape[0]:
            K._prefetch(X, i + ahead, 0)  # the row's first cache line
        acc = 0.0
        for j in range(p):
            acc += X[i, j] * w[j]
        zbuf[k] = acc + b
        k += 1


@nb.njit(fastmath=FM, error_model="numpy")
def _logistic(zbuf, m, y, start, logistic, scale_bits):
    """Σ L over the block; zbuf becomes δ = σ(z) − y (the kernel's own vectorised parts)."""
    K._logistic_parts(zbuf, m, logistic, scale_bits)
    total = 0.0
    for k in range(m):
        t = float(y[start + k])
        total += logistic[0, k] - t * float(zbuf[k])
        zbuf[k] = logistic[1, k] - t
    return total


@nb.njit(fastmath=FM, error_model="numpy")
def _add_gradient(X, start, m, zbuf, grad, four):
    p = X.shape[1]
    k = 0
    if four:
        while k + 4 <= m:
            i = start + k
            d0, d1, d2, d3 = zbuf[k], zbuf[k + 1], zbuf[k + 2], zbuf[k + 3]
            for j in range(p):
                grad[j] += d0 * X[i, j] + d1 * X[i + 1, j] + d2 * X[i + 2, j] + d3 * X[i + 3, j]
            grad[p] += d0 + d1 + d2 + d3
            k += 4
    while k < m:
        i = start + k
        d = zbuf[k]
        for j in range(p):
            grad[j] += d * X[i, j]
        grad[p] += d
        k += 1


@nb.njit
def _buffers(block):
    """A block's z (then δ), its logistic parts and their scale bits (see _kernel_numba)."""
    return np.empty(block), np.empty((2, block)), np.empty(2 * block, dtype=np.int64)


@nb.njit(fastmath=FM, error_model="numpy")
def _chunk_loops(X, y, lo, hi, w, b, grad, block, four, ahead):
    zbuf, logistic, scale_bits = _buffers(block)
    total = 0.0
    for start in range(lo, hi, block):
        m = min(block, hi - start)
        _dot_rows(X, w, b, start, m, zbuf, four, ahead)
        total += _logistic(zbuf, m, y, start, logistic, scale_bits)
        _add_gradient(X, start, m, zbuf, grad, four)
    return total


@nb.njit(fastmath=FM, error_model="numpy")
def _chunk_pipelined(X, y, lo, hi, w, b, grad, block, four, ahead):
    """Block k's gradient (rows in cache) and block k + 1's z (rows from memory) in one loop."""
    p = X.shape[1]
    current, logistic, scale_bits = _buffers(block)
    following = np.empty(block)
    total = 0.0
    _dot_rows(X, w, b, lo, min(block, hi - lo), current, False, 0)
    start = lo
    while start < hi:
        m = min(block, hi - start)
        total += _logistic(current, m, y, start, logistic, scale_bits)
        after = start + m
        m_next = min(block, hi - after) if after < hi else 0
        for r in range(m):
            d = current[r]
            for j in range(p):
                grad[j] += d * X[start + r, j]
            grad[p] += d
            if r < m_next:
                acc = 0.0
                for j in range(p):
                    acc += X[after + r, j] * w[j]
                following[r] = acc + b
        current, following = following, current
        start = after
    return total


@nb.njit(fastmath=FM, error_model="numpy")
def _chunk_blas(X, y, lo, hi, w, b, grad, block, four, ahead):
    """The issue 6 kernel's loop: BLAS for z = X_B·w and δᵀX_B on each block."""
    p = X.shape[1]
    zbuf, logistic, scale_bits = _buffers(block)
    total = 0.0
    for start in range(lo, hi, block):
        m = min(block, hi - start)
        z = zbuf[:m]
        z[:] = np.dot(X[start:start + m], w)
        for k in range(m):
            z[k] += b
        total += _logistic(zbuf, m, y, start, logistic, scale_bits)
        share = np.dot(zbuf[:m], X[start:start + m])
        for j in range(p):
            grad[j] += share[j]
        for k in range(m):
            grad[p] += zbuf[k]
    return total


def _parallel(chunk):
    @nb.njit(parallel=True)
    def run(X, y, w, b, n_chunks, block, four, ahead):
        n, p = X.shape
        grads = np.zeros((n_chunks, p + 1))
        losses = np.zeros(n_chunks)
        size = (n + n_chunks - 1) // n_chunks
        for c in nb.prange(n_chunks):
            lo = c * size
            hi = min(n, lo + size)
            if lo < hi:
                losses[c] = chunk(X, y, lo, hi, w, b, grads[c], block, four, ahead)
        return losses.sum() / n, grads.sum(axis=0) / n
    return run


loops = _parallel(_chunk_loops)
pipelined = _parallel(_chunk_pipelined)
blas = _parallel(_chunk_blas)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--busy", action="store_true", help="time with one other CPU-bound process running")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args(argv)
    import contextlib
    import os

    X, y = bt.make_data(args.rows, args.cols)
    if args.dtype == "float32":
        X, y = X.astype(np.float32), y.astype(np.float32)
    # the variants' own loops compute in float64; the kernel's products with a float32 X are float32
    tolerance = 1e-12 if args.dtype == "float64" else 1e-5
    p = X.shape[1]
    theta = np.random.default_rng(1).standard_normal(p + 1) * 0.1
    w, b = theta[:-1].copy(), float(theta[-1])
    objective = NeuronObjective(Neuron(p, "sigmoid"), X, y, "log_loss")
    loss, grad = objective.loss_and_grad(theta)

    def patched(**settings):
        """The kernel with some of its module's settings changed for the call."""
        def run():
            saved = {name: getattr(kernel, name) for name in settings}
            for name, value in settings.items():
                setattr(kernel, name, value)
            try:
                return objective.loss_and_grad(theta)
            finally:
                for name, value in saved.items():
                    setattr(kernel, name, value)
        return run

    def one_thread():
        os.environ["NEURONLAB_THREADS"] = "1"
        try:
            return objective.loss_and_grad(theta)
        finally:
            del os.environ["NEURONLAB_THREADS"]

    def schedule(dealt):
        def run():
            return K.accumulate_in_threads(None, X, y, np.empty(0, dtype=X.dtype), np.empty(0, np.int64), 0,
                                           X.shape[0], w, b,
                                           kernel.ACTIVATION_CODES["sigmoid"], kernel.LOSS_CODES["log_loss"], True,
                                           chunk_rows, block, ahead, pace, dealt=dealt)
        return run

    block = kernel._block_rows(p, X.itemsize, column_major=False)  # the kernel's own choices
    chunk_rows = kernel._chunk_rows(p, block)
    ahead, pace = kernel._prefetch_plan(p, X.itemsize)
    ahead_bytes = kernel.PREFETCH_BYTES.get(X.itemsize, 0)
    lines_in_block = -(-block * p * X.itemsize // 64)
    whole_block = -(-lines_in_block // (block // 4))  # lines per four rows that cover all of the next block

    def prefetching(n_bytes):
        """The kernel asking for the rows ``n_bytes`` of X ahead (0: not at all)."""
        return patched(PREFETCH_BYTES={**kernel.PREFETCH_BYTES, X.itemsize: n_bytes})

    def pacing(lines):
        """The kernel's gradient asking for ``lines`` lines of the next block per four rows."""
        return patched(GRAD_PREFETCH_LINES={**kernel.GRAD_PREFETCH_LINES, X.itemsize: lines})

    def as_mean(run):
        def mean():
            loss_sum, weight_sum, grad_sum = run()
            return loss_sum / weight_sum, grad_sum / weight_sum
        return mean

    variants = {
        "kernel on 1 thread (NEURONLAB_THREADS=1)": one_thread,
        "kernel, chunks dealt one at a time from a shared counter": as_mean(schedule(True)),
        "kernel, chunks in equal shares (one run of chunks per thread)": as_mean(schedule(False)),
        **{(f"kernel, rows asked for {n_bytes >> 10} kB ahead" if n_bytes else "kernel, no rows asked for ahead"):
           prefetching(n_bytes) for n_bytes in (0, 1 << 14, 1 << 15, 1 << 16) if n_bytes != ahead_bytes},
        **{(f"kernel, the gradient asks for {lines} lines of the next block per four rows"
            + (" (all of it)" if lines == whole_block else "") if lines else
            "kernel, the gradient asks for no lines of the next block"):
           pacing(lines) for lines in (0, 8, 16, 32, whole_block) if lines != pace},
        "kernel, chunks 4× smaller (2^16 values)": patched(CHUNK_ELEMENTS=kernel.CHUNK_ELEMENTS // 4),
        "kernel, chunks 4× larger (2^20 values)": patched(CHUNK_ELEMENTS=kernel.CHUNK_ELEMENTS * 4),
        "kernel, blocks of 16 kB": patched(COMPILED_BLOCK_BYTES=1 << 14),
        "kernel, blocks of 256 kB": patched(COMPILED_BLOCK_BYTES=1 << 18),
        "the kernel before: BLAS per block of 256 rows, 16 chunks": lambda: blas(X, y, w, b, 16, 256, False, 0),
        "numba loops, one row at a time": lambda: loops(X, y, w, b, 16, 256, False, 0),
        "numba loops, 4-row register blocking by 2-D indexing": lambda: loops(X, y, w, b, 16, 32, True, 0),
        "numba loops, prefetch 64 rows ahead": lambda: loops(X, y, w, b, 16, 256, False, 64),
        "software pipeline (gradient of block k with z of block k + 1)":
            lambda: pipelined(X, y, w, b, 16, 128, False, 0),
    }
    if args.dtype == "float32":  # its BLAS calls take one dtype (a float32 X with a float64 z)
        del variants["the kernel before: BLAS per block of 256 rows, 16 chunks"]
    for name, run in variants.items():  # each computes the same J and ∇J before it is timed
        got_loss, got_grad = run()
        assert abs(got_loss - loss) <= tolerance * abs(loss), name
        np.testing.assert_allclose(got_grad, grad, rtol=tolerance * 1e3, atol=tolerance * 1e-3, err_msg=name)
    reads = bt.plain_reads(X)
    routes = {
        **reads,
        "neuronlab kernel, loss and gradient": lambda: objective.loss_and_grad(theta),
        "neuronlab kernel, loss only": lambda: objective.loss(theta),
        **variants,
    }
    with bt.busy_core() if args.busy else contextlib.nullcontext():
        timings = bt.medians_ms_interleaved(routes, args.repeat)
        load = bt.load()
    read = min(timings[name] for name in reads)
    ours = timings["neuronlab kernel, loss and gradient"]
    rows = [[name, f"{ms:.1f}", f"{ms / read:.2f}×", f"{ms / ours:.2f}×"] for name, ms in timings.items()]
    print(f"X: {args.rows:,} × {args.cols} {args.dtype}; medians of {args.repeat} rounds in turns; "
          f"{'with `yes` running; ' if args.busy else ''}1-minute load average {load}\n")
    print(bt.table(["route", "median ms", "÷ fastest read", "÷ kernel"], rows))


if __name__ == "__main__":
    main()
