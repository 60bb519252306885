"""The training kernel: J(θ) and ∇J(θ) of a neuron over X in one pass over X.

For θ = (w, b), rows xᵢ with targets yᵢ and sample weights sᵢ:

    zᵢ = w·xᵢ + b,   ŷᵢ = f(zᵢ),   δᵢ = sᵢ·∂L/∂ŷ(ŷᵢ, yᵢ)·f′(zᵢ)
    Σᵢ sᵢ·L(ŷᵢ, yᵢ),   Σᵢ δᵢ·xᵢ (= Xᵀδ),   Σᵢ δᵢ,   Σᵢ sᵢ

The naive route — z = X @ w, then elementwise passes, then Xᵀ @ δ — reads X from
memory twice and makes a handful of n-long temporaries.  Here the rows are taken
in blocks small enough to stay in the CPU cache: the block's z, its δ, and its
share of Xᵀδ are computed before moving on, so X streams from memory once and
the extra memory is one block plus the parameters.

Two engines compute exactly these sums:

- ``"numba"``: a compiled loop (numba, imported only when first used and compiled
  once per dtype, cached on disk) that computes z = X_B·w, the per-sample math and
  δᵀX_B itself: the products with X in X's dtype, every other sum in float64 (rows
  named by index, as in a shuffled mini-batch, are read where they are).  A pass over at
  least ``PARALLEL_MIN_ELEMENTS`` values is cut into chunks of about ``CHUNK_ELEMENTS``
  values, dealt one at a time to whichever thread is free (``NEURONLAB_THREADS``, else
  every core: ``core.threads``); the chunks' sums are added in chunk order, so the bits
  do not depend on the thread count or on which thread took which chunk.  Used for a
  contiguous float32/float64 X of at least ``COMPILED_MIN_ELEMENTS`` values (and for its
  mini-batches) when numba is installed: row-major, row by row; column-major (a block
  read from a file), column by column in float64, on blocks of ``COLUMN_BLOCK_BYTES``.
- ``"numpy"``: the same blocking with NumPy calls on row blocks of about
  ``NUMPY_BLOCK_BYTES``; used for small data (where compiling would cost more than
  it saves), any other memory layout, or when numba is missing.

X is never copied: a block of rows is a view (or, for a list of row indices, a
copy of that block only).  Nor is y: it may be of any numeric type (bool labels, a
float64 y beside a float32 X), and each target is taken in X's dtype as it is read —
the numbers of a copy of y in X's dtype, without the copy.
"""

from __future__ import annotations

import contextlib
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..core.losses import get_loss
from ..core.threads import pool_threads, thread_setting
from .neuron import Neuron

__all__ = [
    "ACTIVATION_CODES",
    "LOSS_CODES",
    "ENGINES",
    "NeuronKernel",
    "neuron_sums",
    "gram_matrix",
    "gram_max_eigenvalue",
    "numba_available",
]

ACTIVATION_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "softplus": 5}
LOSS_CODES = {"squared_error": 0, "absolute_error": 1, "huber": 2, "log_loss": 3, "hinge": 4}
GRAM = 5  # the "loss" whose ∂L/∂z is z: its gradient at θ = v is X̃ᵀX̃v (power iteration)
ENGINES = ("auto", "numba", "numpy")

#: bytes of X per block in the compiled loop (z, then δ, then δᵀX_B while the block is in the
#: L2 cache): 64 kB, 80 rows of 100 float64 columns
COMPILED_BLOCK_BYTES = 1 << 16
#: bytes of X per block when X is column-major (a block read from a file): each column's
#: stretch of the block is then long enough for the CPU's prefetcher to follow it
COLUMN_BLOCK_BYTES = 1 << 18
#: rows per block at least and at most (the per-row buffers; ×8 for a column-major X)
COMPILED_BLOCK_ROWS = (4, 512)
#: how far ahead, in bytes of X by its item size, a pass over consecutive rows asks the CPU
#: for the rows it will read next (0: leave it to the CPU's own prefetcher).  Measured on the
#: 1,000,000 × 100 X (BENCHMARKS.md): 25–51 kB ahead made a float32 pass 10–15 % faster; no
#: distance tried (13–51 kB) made a float64 pass faster
PREFETCH_BYTES = {4: 1 << 15, 8: 0}
#: how many cache lines of the next block each four rows of a block's gradient ask for, by
#: the item size of X (0: none).  That phase reads only the block in cache, and the memory
#: would idle meanwhile.  Measured on the 1,000,000 × 100 X (BENCHMARKS.md, issue 12 fourth
#: round): 12–16 lines made a float64 pass 5–14 % faster in three A/Bs, 24 or more less so,
#: and a pace covering the whole next block slower than none; float32, which asks for rows
#: ahead already, was not clearly faster
GRAD_PREFETCH_LINES = {4: 0, 8: 16}
#: values (rows × columns) per chunk, the pieces a threaded pass is cut into — by the data's
#: shape, never by the thread count, so that the sums are the same on any: 2 MB of float64
#: (chunks 4× smaller were 1.1–1.5× slower, 4× larger no faster: BENCHMARKS.md)
CHUNK_ELEMENTS = 1 << 18
#: for an X of fewer values (rows × columns) NumPy is as quick and needs no compilation
COMPILED_MIN_ELEMENTS = 100_000
#: threads only for passes over at least this many values: waking a second thread can
#: cost a scheduler time slice (milliseconds) on a busy machine, more than a small pass
PARALLEL_MIN_ELEMENTS = 4_000_000
#: bytes of X per block in the NumPy engine
NUMPY_BLOCK_BYTES = 1 << 20
#: up to this many parameters (p + 1) the curvature matrix X̃ᵀDX̃ is formed whole, in one
#: BLAS pass (n·(p + 1)² multiply-adds), and its eigenvalues are exact; above it, λ_max
#: comes from power iteration, one pass over X per iteration
GRAM_EXACT_UP_TO = 2048
#: rows per block when the curvature matrix is formed (each block a float64 copy)
GRAM_BLOCK_ROWS = 4096

_numba_module = None
_numba_missing = False


def numba_available() -> bool:
    """True when the compiled engine can be used (numba imports)."""
    return _compiled() is not None


def _compiled():
    global _numba_module, _numba_missing
    if _numba_module is None and not _numba_missing:
        try:
            from . import _kernel_numba
        except ImportError:
            _numba_missing = True
        else:
            _numba_module = _kernel_numba
    return _numba_module


def _codes(activation, loss):
    """(activation code, loss code) for the compiled loop, or None when it has no code."""
    act = ACTIVATION_CODES.get(activation.name)
    code = LOSS_CODES.get(loss.name)
    if act is None or code is None:
        return None
    if code == LOSS_CODES["log_loss"] and activation.name != "sigmoid":
        return None  # log loss from ŷ (not from the logit) is left to NumPy
    return act, code


def neuron_sums(X, y, weights, theta, activation, loss, rows=None, lo=0, hi=None,
                want_grad=True, engine="auto", gram=False):
    """(Σ sᵢLᵢ, Σ sᵢ, ∇ sums) over the chosen rows of X in one pass.

    ``rows`` (an int64 array of row numbers) or the range ``lo…hi`` selects the rows;
    ``weights`` is None for sᵢ = 1.  The third value is the length-(p + 1) array
    (Σ δᵢxᵢ, Σ δᵢ) — None when ``want_grad`` is False.  ``gram=True`` replaces the
    loss by ½z², so that the "gradient" at θ = v is X̃ᵀSX̃v with X̃ = [X, 1].
    A caller that asks for the same pair many times keeps a :class:`NeuronKernel`.
    """
    kernel = NeuronKernel(Neuron(X.shape[1], activation), loss, gram)
    return kernel.sums(X, y, weights, theta, rows, lo, hi, want_grad, engine)


class NeuronKernel:
    """``neuron_sums`` for one neuron and loss, resolved once: the loss object and the
    compiled loop's codes for the pair (an objective evaluated at every step of a run
    keeps one rather than looking them up at each call).

    The NumPy engine is the neuron's own chain rule, block by block: ``neuron.net_input``
    gives z, the activation ŷ = f(z), the loss Lᵢ and δᵢ = ∂Lᵢ/∂zᵢ, ``neuron.backward``
    (Xᵀδ, Σδ).  The compiled engine computes the same sums in one fused loop.
    """

    def __init__(self, neuron: Neuron, loss, gram=False):
        self.neuron, self.loss = neuron, get_loss(loss)
        self.gram = gram
        self.codes = (ACTIVATION_CODES["identity"], GRAM) if gram else _codes(neuron.activation, self.loss)

    def sums(self, X, y, weights, theta, rows=None, lo=0, hi=None, want_grad=True, engine="auto"):
        """:func:`neuron_sums` with this kernel's neuron, loss and ``gram``."""
        neuron, loss, codes = self.neuron, self.loss, self.codes
        hi = X.shape[0] if hi is None else hi
        theta = np.asarray(theta, dtype=np.float64)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        suitable = (
            codes is not None
            and isinstance(X, np.ndarray)
            and X.dtype in (np.float64, np.float32)
            and (X.flags.c_contiguous or X.flags.f_contiguous)
            and isinstance(y, np.ndarray)
            and y.dtype.kind in "buif"
        )
        if engine == "numba" and not suitable:
            raise ValueError(
                "engine='numba' needs a contiguous float32/float64 X and a differentiable "
                f"activation/loss pair it knows; got {neuron.activation.name}/{loss.name}, X dtype "
                f"{getattr(X, 'dtype', type(X).__name__)}; use engine='auto'"
            )
        # the size of X, not of the batch, decides: mini-batches of a large X are many small
        # passes, where NumPy's per-call overhead would dominate
        if suitable and _compiled_for(engine, X.shape[0] * X.shape[1]):
            compiled = _compiled()
            if compiled is not None:
                return _numba_sums(compiled, neuron, X, y, weights, theta, codes, rows, lo, hi, want_grad)
            if engine == "numba":
                raise ValueError("engine='numba' needs numba installed (pip install numba)")
        return _numpy_sums(neuron, X, y, weights, theta, loss, rows, lo, hi, want_grad, self.gram)

    def takes_columns(self, n_rows, p, engine="auto") -> bool:
        """Whether :meth:`column_sums` would sum n_rows × p columns, as far as their size and
        ``engine`` say: :meth:`sums` would give a copy of them to the compiled engine
        (:func:`_compiled_for`) on one thread (:func:`_one_thread`), and this pair has code.
        The columns' own condition: at least two of them.  A caller may ask with an upper bound
        of the rows, before it builds the columns."""
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        values = n_rows * p
        return self.codes is not None and p >= 2 and _one_thread(values) and _compiled_for(engine, values)

    def column_sums(self, columns, mean, scale, y, weights, theta, rows=None, want_grad=True, engine="auto"):
        """:meth:`sums` over the rows of a table's columns, each read as x′ = (x − μ)/σ
        (``mean``, ``scale``; None: as it is) — the sums of a standardised copy of the
        columns, bit for bit, without that copy: a block read from a file is summed where
        pyarrow decoded it.  ``columns``: p contiguous float64 arrays of n values; ``rows``:
        the row numbers to use (None: all).  None when :meth:`sums` would not give the copy to
        the compiled engine on one thread (:meth:`takes_columns`; or numba is missing) or when
        some row's z is not finite (a missing or infinite value): the caller then makes the
        copy, which looks at each value."""
        p = len(columns)
        count = columns[0].shape[0] if rows is None else rows.shape[0]
        if not self.takes_columns(count, p, engine) or y.dtype.kind not in "buif":
            return None
        compiled = _compiled()
        if compiled is None:
            return None
        for column in columns:
            if column.dtype != np.float64 or not column.flags.c_contiguous:
                raise ValueError("column_sums needs contiguous float64 columns")
        addresses = np.array([column.ctypes.data for column in columns], dtype=np.int64)
        no_scaling = np.empty(0)
        mean = no_scaling if mean is None else np.asarray(mean, dtype=np.float64)
        scale = no_scaling if scale is None else np.asarray(scale, dtype=np.float64)
        weights = np.empty(0) if weights is None else weights
        theta = np.asarray(theta, dtype=np.float64)
        grad = np.zeros(p + 1)
        act, code = self.codes
        loss_sum, weight_sum, finite = compiled.accumulate_columns(
            addresses, columns[0].shape[0], mean, scale, y, weights,
            np.empty(0, dtype=np.int64) if rows is None else rows, 0, count, theta[:-1], float(theta[-1]), act,
            code, want_grad, grad, _block_rows(p, 8, column_major=True))
        if not finite:
            return None
        return float(loss_sum), float(weight_sum), (grad if want_grad else None)


def _block_rows(p, itemsize, column_major):
    """Rows per block of the compiled loop (see ``COMPILED_BLOCK_BYTES``, ``COLUMN_BLOCK_BYTES``)."""
    low, high = COMPILED_BLOCK_ROWS
    block_bytes = COLUMN_BLOCK_BYTES if column_major else COMPILED_BLOCK_BYTES
    return max(low, min(high * 8 if column_major else high, block_bytes // (p * itemsize)))


def _prefetch_plan(p, itemsize):
    """(rows ahead, lines per four rows of the gradient) that a pass over consecutive rows asks
    the CPU for (``PREFETCH_BYTES``, ``GRAD_PREFETCH_LINES``; 0: none)."""
    ahead_bytes = PREFETCH_BYTES.get(itemsize, 0)
    ahead = max(1, ahead_bytes // (p * itemsize)) if ahead_bytes else 0
    return ahead, GRAD_PREFETCH_LINES.get(itemsize, 0)


def _chunk_rows(p, block):
    """Rows per chunk of a threaded pass: whole blocks, about ``CHUNK_ELEMENTS`` values."""
    return block * max(1, CHUNK_ELEMENTS // (p * block))


def _compiled_for(engine, n_values) -> bool:
    """Whether ``engine`` sends X of ``n_values`` values (rows × columns) to the compiled loop:
    'numba' always, 'auto' from ``COMPILED_MIN_ELEMENTS`` on."""
    return engine == "numba" or (engine == "auto" and n_values >= COMPILED_MIN_ELEMENTS)


def _one_thread(n_values) -> bool:
    """Whether a compiled pass over ``n_values`` values runs on one thread (below
    ``PARALLEL_MIN_ELEMENTS``)."""
    return n_values < PARALLEL_MIN_ELEMENTS


def _numba_sums(compiled, neuron, X, y, weights, theta, codes, rows, lo, hi, want_grad):
    weights = np.empty(0, dtype=X.dtype) if weights is None else weights
    rows_arr = np.empty(0, dtype=np.int64) if rows is None else rows
    if rows is not None:
        lo, hi = 0, rows.shape[0]
    # the neuron's own fast path reads θ = (w, b) by position: a layout view costs microseconds
    # per call, which thousands of mini-batch updates per epoch would feel
    w, b = theta[:-1], float(theta[-1])
    count = hi - lo
    p = X.shape[1]
    act, code = codes
    block = _block_rows(p, X.dtype.itemsize, column_major=p > 1 and not X.flags.c_contiguous)
    # rows named by index are scattered over X: nothing to ask for ahead
    ahead, pace = (0, 0) if rows is not None else _prefetch_plan(p, X.dtype.itemsize)
    if _one_thread(count * p):
        # a mini-batch or a small data set: threads would cost more than they save
        grad = np.zeros(theta.shape[0])
        loss_sum, weight_sum = compiled.accumulate(
            X, y, weights, rows_arr, lo, hi, w, b, act, code, want_grad, grad, block, ahead, pace
        )
    else:
        # the chunks follow the data's shape only, never the thread count (same bits on any)
        chunk_rows = _chunk_rows(p, block)
        loss_sum, weight_sum, grad = compiled.accumulate_in_threads(
            thread_setting(), X, y, weights, rows_arr, lo, hi, w, b, act, code, want_grad, chunk_rows, block,
            ahead, pace
        )
    return float(loss_sum), float(weight_sum), (grad if want_grad else None)


def _per_sample(z, y, activation, loss, gram):
    """(Lᵢ, δᵢ = ∂Lᵢ/∂zᵢ) for a block's z: ŷ = f(z), then the loss's and the activation's own
    derivatives, ∂L/∂ŷ·f′(z) (or, for the sigmoid, ∂L/∂z of log loss's logit form)."""
    if gram:
        return 0.5 * z * z, z
    if activation.name == "sigmoid" and loss.from_logit is not None:
        return loss.from_logit(z, y), loss.from_logit_derivative(z, y)
    y_hat = activation(z)
    return loss.value(y_hat, y), loss.derivative(y_hat, y) * activation.derivative(z, y_hat)


def _numpy_sums(neuron, X, y, weights, theta, loss, rows, lo, hi, want_grad, gram):
    p = X.shape[1]
    dtype = getattr(X, "dtype", None)
    dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
    block = max(1, NUMPY_BLOCK_BYTES // (p * dtype.itemsize))
    grad = np.zeros(neuron.n_params) if want_grad else None
    loss_sum = weight_sum = 0.0
    count = hi - lo if rows is None else rows.shape[0]
    for start in range(0, count, block):
        stop = min(count, start + block)
        if rows is None:
            index = slice(lo + start, lo + stop)
        else:
            index = rows[start:stop]
        Xb = X[index]
        z = neuron.net_input(theta, Xb)
        # targets of any numeric type (bool labels, a float64 y beside a float32 X) are taken
        # in X's dtype one block at a time, as the compiled loop takes them
        target = None if gram else np.asarray(y[index], dtype=dtype)
        per, dz = _per_sample(z, target, neuron.activation, loss, gram)
        if weights is None:
            weight_sum += stop - start
        else:
            s = weights[index]
            per, dz = per * s, dz * s
            weight_sum += float(s.sum())
        loss_sum += float(per.sum())
        if want_grad:
            grad += neuron.backward(theta, Xb, dz)
    return loss_sum, weight_sum, grad


def gram_matrix(parts, row_factor=None):
    """H = X̃ᵀDX̃ / Σsᵢ with X̃ = [X, 1] and D = diag(sᵢ·cᵢ), over the rows of every part.

    ``parts()`` gives the data's parts as (X, weights, rows): an X, its sample weights
    (None for sᵢ = 1) and the row numbers of X to use (None for all); the products of
    the parts add up, so H of data in blocks is H of the whole.
    cᵢ = 1 by default: H is then the Hessian of J for a linear neuron with squared
    error.  ``row_factor`` maps a block of rows X_B (float64) to its cᵢ — σ(zᵢ)(1 − σ(zᵢ))
    makes H the Hessian of sigmoid + log loss at θ.  One pass over X in blocks of
    ``GRAM_BLOCK_ROWS`` rows, each block's product on its own (BLAS, as the caller has
    set its threads) and the products added in block order: the blocks are shared by the
    threads of ``core.threads.pool_threads`` and the bits do not depend on how many.  The memory is a
    float64 copy of a block and a (p + 1)² product per thread, and H.
    """
    threads = pool_threads()
    H = None
    total = 0.0
    for X, weights, rows in parts():
        p = X.shape[1]
        if H is None:
            H = np.zeros((p + 1, p + 1))
        count = X.shape[0] if rows is None else rows.shape[0]

        def block_terms(start, X=X, weights=weights, rows=rows, p=p):
            """(X_BᵀD X_B, column sums of D X_B, Σ dᵢ) of the block from row ``start``."""
            index = slice(start, start + GRAM_BLOCK_ROWS) if rows is None else rows[start:start + GRAM_BLOCK_ROWS]
            Xb = np.asarray(X[index], dtype=np.float64)
            s = None if weights is None else np.asarray(weights[index], dtype=np.float64)
            weight = Xb.shape[0] if s is None else float(s.sum())
            d = s if row_factor is None else (row_factor(Xb) if s is None else row_factor(Xb) * s)
            if d is None:
                return Xb.T @ Xb, Xb.sum(axis=0), weight, float(Xb.shape[0])  # Aᵀ·A: BLAS's symmetric product
            Xd = Xb * d[:, None]
            return Xd.T @ Xb, Xd.sum(axis=0), weight, float(d.sum())

        starts = list(range(0, count, GRAM_BLOCK_ROWS))
        shared = threads > 1 and len(starts) > 1
        with ThreadPoolExecutor(threads) if shared else contextlib.nullcontext() as pool:
            # ``threads`` blocks at a time: at most that many products are held at once
            terms = (term for at in range(0, len(starts), threads)
                     for term in pool.map(block_terms, starts[at:at + threads])) if shared \
                else map(block_terms, starts)
            for product, sums, weight, diagonal in terms:
                H[:p, :p] += product
                H[:p, p] += sums
                H[p, p] += diagonal
                total += weight
    H[p, :p] = H[:p, p]
    H /= total
    return H


def gram_max_eigenvalue(parts, n_features, iterations=100, rtol=1e-6, seed=0):
    """λ_max of H = X̃ᵀSX̃ / Σs with X̃ = [X, 1], over the rows of every part (see
    :func:`gram_matrix`; each X has ``n_features`` columns).

    H is the Hessian of J for a linear neuron with squared error L = ½(ŷ − y)²
    (and 4× a bound on it for sigmoid + log loss).  Up to ``GRAM_EXACT_UP_TO``
    parameters H is formed (:func:`gram_matrix`) and λ_max is exact.  Above that, by
    power iteration: each iteration is one ``neuron_sums`` pass over the parts
    (v ← Hv / ‖Hv‖); it stops when the estimate changes by less than ``rtol`` relative.
    From below: the estimate never exceeds λ_max (and converges slowly when the top
    eigenvalues are close).
    """
    if n_features + 1 <= GRAM_EXACT_UP_TO:
        return float(np.linalg.eigvalsh(gram_matrix(parts))[-1])
    v = np.random.default_rng(seed).standard_normal(n_features + 1)
    v /= np.linalg.norm(v)
    estimate = 0.0
    empty_y = np.zeros(0)
    gram = NeuronKernel(Neuron(n_features, "identity"), "squared_error", gram=True)
    for _ in range(iterations):
        total, hv = 0.0, None
        for X, weights, rows in parts():
            _, weight_sum, product = gram.sums(X, empty_y, weights, v, rows=rows)
            total += weight_sum
            hv = product if hv is None else hv + product
        hv /= total
        previous, estimate = estimate, float(v @ hv)
        norm = float(np.linalg.norm(hv))
        if norm == 0.0 or not math.isfinite(norm):
            break
        v = hv / norm
        if abs(estimate - previous) <= rtol * abs(estimate):
            break
    return estimate
