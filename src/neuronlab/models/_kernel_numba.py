"""The compiled half of :mod:`neuronlab.models.kernel` (imported only when numba is installed).

One pass over X: for each block of rows (small enough to stay in the L2 cache), compute
zᵢ = w·xᵢ + b, turn each zᵢ into the sample's loss and δᵢ = sᵢ·∂L/∂z, then add δᵢ·xᵢ into
the gradient while the rows are still in cache.  X is read from memory once per
evaluation.  A large pass is cut into many chunks of rows, shared by the threads, whose
partial sums are added in chunk order.

Codes (see ``kernel.ACTIVATION_CODES``/``LOSS_CODES``): activations 0 identity,
1 sigmoid, 2 tanh, 3 relu, 4 leaky_relu, 5 softplus; losses 0 squared, 1 absolute,
2 huber, 3 log loss in its logit form (sigmoid only), 4 hinge, 5 "gram"
(∂L/∂z = z: the gradient is then X̃ᵀX̃v, used for power iteration).
X is read in its own dtype (float32 or float64), in loops of this module (no BLAS).  The
per-sample math and every sum across rows, blocks and chunks run in float64.  The two
products with X run in X's dtype: a row's z = w·x (then + b in float64), and each four
rows' Σ δₖxₖ before it is added to the float64 gradient — for a float32 X that is twice
the numbers per vector instruction, and its rounding (about 1e-7 of z) is that of the
data itself.  The logistic case
(sigmoid + log loss, the one the optimisers' benchmarks time) gets e^−|z|, ln(1 + e^z) and
σ(z) for the whole block first, by polynomials for exp and log1p that LLVM vectorises: with
libm's scalar calls they took a third of the pass.

The entry points (``accumulate``, ``accumulate_columns``, ``accumulate_chunks``) let go of
the interpreter's lock while they run (numba's nogil): a file's next block is decoded by
pyarrow on a reading thread meanwhile, and that thread needs the lock to hand its block
over (ad hoc, 500,000 × 50 from Parquet, 9 interleaved rounds: the epoch went from 2.44–2.49
to 2.77–2.80 M rows/s).

This is compiled code: it cannot call the NumPy functions of ``core.activations`` and
``core.losses``, so it keeps its own copy of each f, f′, L and ∂L/∂ŷ (written once more in
``sample_loss_and_dz``; the two pairs the benchmarks time, sigmoid + log loss and identity +
squared error, are also written out in the block loops, where they vectorise).
tests/test_kernel.py checks its sums against the neuron's own forward → loss derivative →
backward for every pair it knows.
"""

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# Reassociation lets LLVM vectorise the dot products and the gradient update; the
# flags that assume no inf/NaN are left out on purpose: a diverging run must still
# see its inf/NaN loss.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

HUBER_DELTA = 1.0  # kept equal to losses.HUBER_DELTA (a test checks)
LEAKY_SLOPE = 0.01  # kept equal to activations.LEAKY_SLOPE (a test checks)


@nb.njit(cache=True, fastmath=FASTMATH)
def _sigmoid(z):
    e = math.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


@nb.njit(cache=True, fastmath=FASTMATH)
def sample_loss_and_dz(z, y, act, loss):
    """(L(ŷ, y), ∂L/∂z) for one sample with ŷ = f(z): the chain rule ∂L/∂ŷ · f′(z).

    Not handled here: sigmoid + log loss (code 3), whose logit form ``_logistic_parts``
    computes for a whole block at once, and the quadratic pairs, identity + squared error and
    the gram pass (code 5: the same with y = 0), which ``_per_sample_block`` writes out: its
    loop then vectorises, which it does not through this function's branches.  This is the
    one place for every other pair."""
    if act == 0:
        y_hat, slope = z, 1.0
    elif act == 1:
        y_hat = _sigmoid(z)
        slope = y_hat * (1.0 - y_hat)
    elif act == 2:
        y_hat = math.tanh(z)
        slope = 1.0 - y_hat * y_hat
    elif act == 3:
        y_hat, slope = (z, 1.0) if z > 0 else (0.0, 0.0)
    elif act == 4:
        y_hat, slope = (z, 1.0) if z > 0 else (LEAKY_SLOPE * z, LEAKY_SLOPE)
    else:  # softplus ln(1 + e^z), f′ = σ(z)
        y_hat, slope = max(z, 0.0) + math.log1p(math.exp(-abs(z))), _sigmoid(z)
    r = y_hat - y
    if loss == 0:
        value, d_y_hat = 0.5 * r * r, r
    elif loss == 1:
        value, d_y_hat = abs(r), (1.0 if r > 0 else (-1.0 if r < 0 else 0.0))
    elif loss == 2:
        a = abs(r)
        if a <= HUBER_DELTA:
            value, d_y_hat = 0.5 * a * a, r
        else:
            value = HUBER_DELTA * (a - 0.5 * HUBER_DELTA)
            d_y_hat = HUBER_DELTA if r > 0 else -HUBER_DELTA
    else:  # hinge with s = 2y − 1
        s = 2.0 * y - 1.0
        margin = s * y_hat
        value, d_y_hat = (1.0 - margin, -s) if margin < 1.0 else (0.0, 0.0)
    return value, d_y_hat * slope


# exp(r) for |r| ≤ ln2/2 by its Taylor series to r¹³ (truncation < 4e-18 relative), and
# ln(1 + f) = 2·atanh(s), s = f/(2 + f), to s²¹ for |s| ≤ 0.2 (truncation < 2e-17): written
# as plain arithmetic so that LLVM vectorises them, which it cannot do with libm's exp/log1p
# (numba has no vector math library here: the PyPI llvmlite is not built with SVML).
# error_model="numpy" drops numba's division-by-zero check, which stops vectorisation;
# every divisor below is at least 1.
LN2_HI = 6.93147180369123816490e-01  # ln 2 = LN2_HI + LN2_LO, LN2_HI with 20 trailing zero bits
LN2_LO = 1.90821492927058770002e-10
LOG2_E = 1.4426950408889634
EXP_UNDERFLOW = -746.0  # e^x rounds to 0 below this
# without reassociation: it would undo the exact split x − k·ln 2 = (x − k·LN2_HI) − k·LN2_LO
EXACT_FASTMATH = FASTMATH - {"reassoc"}


@nb.njit(cache=True, fastmath=EXACT_FASTMATH, error_model="numpy")
def _exp_parts(x):
    """e^x for x ≤ 0 (or NaN) as (q, k₁, k₂) with e^x = q·2^k₁·2^k₂, each 2^k a normal number."""
    x = EXP_UNDERFLOW if x < EXP_UNDERFLOW else x  # NaN passes through (the test is false)
    k = np.floor(x * LOG2_E + 0.5)
    k = k if k == k else 0.0  # NaN: k = 0 and q stays NaN
    r = (x - k * LN2_HI) - k * LN2_LO
    q = 1.0 / 6227020800.0
    for c in (1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
              1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        q = q * r + c
    k_int = np.int64(k)
    k_half = k_int // 2
    return q, k_half, k_int - k_half


@nb.njit(cache=True, fastmath=EXACT_FASTMATH, error_model="numpy")
def _log1p_unit(e):
    """ln(1 + e) for 0 ≤ e ≤ 1: e ≤ ½ directly, else ln 2 + ln(1 + (e − 1)/2) (e − 1 is exact)."""
    high = e > 0.5
    f = (e - 1.0) * 0.5 if high else e
    s = f / (2.0 + f)
    s2 = s * s
    p = 1.0 / 21.0
    for c in (1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0, 1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0,
              1.0 / 5.0, 1.0 / 3.0, 1.0):
        p = p * s2 + c
    return 2.0 * s * p + (LN2_HI + LN2_LO if high else 0.0)


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _logistic_parts(zbuf, m, scratch, scale_bits):
    """scratch[0, k] = ln(1 + e^zₖ) = max(zₖ, 0) + ln(1 + e) and scratch[1, k] = σ(zₖ), with
    e = e^−|zₖ|, for the block's z in zbuf[:m]: two loops over contiguous buffers only, so
    that both vectorise (the first computes e as q·2^k₁·2^k₂, the second the rest)."""
    softplus = scratch[0]
    sigma = scratch[1]
    for k in range(m):
        softplus[k], k1, k2 = _exp_parts(-abs(float(zbuf[k])))
        scale_bits[2 * k] = (k1 + 1023) << 52  # the float64 bits of 2^k1
        scale_bits[2 * k + 1] = (k2 + 1023) << 52
    scales = scale_bits.view(np.float64)
    for k in range(m):
        z = float(zbuf[k])
        e = softplus[k] * scales[2 * k] * scales[2 * k + 1]
        sigma[k] = (1.0 if z >= 0 else e) / (1.0 + e)
        softplus[k] = (z if z > 0 else 0.0) + _log1p_unit(e)


@nb.njit(cache=True, fastmath=FASTMATH)
def _per_sample_block(zbuf, m, y, weights, rows, start, act, loss, logistic, single):
    """Turn zbuf[:m] (the block's z) into its δᵢ = sᵢ·∂Lᵢ/∂z in place; return (Σ sᵢLᵢ, Σ sᵢ).

    For sigmoid + log loss, ``logistic`` holds :func:`_logistic_parts` of the block, and
    L = ln(1 + e^z) − y·z, ∂L/∂z = σ(z) − y.  y may be of any numeric type (bool or
    uint8 labels, a float64 y beside a float32 X): each target is rounded to X's dtype
    (float32 when ``single``, else float64), as an n-long copy of y in that dtype would
    have been, and the arithmetic is float64 — so no such copy is needed, and a
    label is never subtracted from in its own (wrapping) integer type."""
    use_rows = rows.shape[0] > 0
    weighted = weights.shape[0] > 0
    # ½(z − y)² and δ = z − y, a linear neuron's squared error or (y = 0) the gram pass, written
    # out here: through :func:`sample_loss_and_dz`'s branches the loop is not vectorised
    quadratic = loss == 5 or (act == 0 and loss == 0)
    loss_sum = 0.0
    weight_sum = 0.0
    for k in range(m):
        i = rows[start + k] if use_rows else start + k
        target = 0.0  # the gram pass has no targets
        if loss != 5:
            target = float(np.float32(y[i])) if single else float(np.float64(y[i]))
        if loss == 3:
            value, dz = logistic[0, k] - target * float(zbuf[k]), logistic[1, k] - target
        elif quadratic:
            r = float(zbuf[k]) - target
            value, dz = 0.5 * r * r, r
        else:
            value, dz = sample_loss_and_dz(float(zbuf[k]), target, act, loss)
        if weighted:
            s = float(weights[i])
            value *= s
            dz *= s
            weight_sum += s
        loss_sum += value
        zbuf[k] = dz
    if not weighted:
        weight_sum = float(m)
    return loss_sum, weight_sum


_BYTE_POINTER = ir.IntType(8).as_pointer()


def _emit_prefetch(context, builder, pointer):
    """LLVM's llvm.prefetch of the cache line at ``pointer`` (a byte pointer): a hint, which never
    faults and which no instruction waits for; a read (0), to be kept in every cache level (3),
    of data (1)."""
    i32 = ir.IntType(32)
    prefetch = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [_BYTE_POINTER, i32, i32, i32]), "llvm.prefetch.p0i8")
    builder.call(prefetch, [pointer, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
    return context.get_dummy_value()


@intrinsic
def _prefetch_address(typingctx, address):
    """Ask the CPU to bring the cache line at the integer ``address`` into its caches
    (:func:`_emit_prefetch`)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return _emit_prefetch(context, builder, builder.inttoptr(args[0], _BYTE_POINTER))

    return types.void(address), codegen


@nb.njit(cache=True)
def _prefetch_span(first, end):
    """Ask for every cache line of the bytes at addresses first … end − 1, in order."""
    for address in range(first, end, 64):
        _prefetch_address(address)


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _block_z(X, rows, start, m, w, b, zbuf, zero, ahead):
    """zbuf[k] = w·xᵢ + b for the block's m rows i (rows[start + k] when ``rows`` is not empty,
    else start + k); the products and their sum over j in X's dtype (w is given in it, and
    ``zero`` is 0 in it), vectorised, then + b in float64.

    Consecutive rows one at a time: the CPU's prefetcher then streams X from memory (four
    rows at a time, four streams, was slower: BENCHMARKS.md); with ``ahead`` > 0, each row
    also asks for the row ``ahead`` rows further on, so that memory keeps working while the
    block's per-row math and gradient run.  Rows named by index (a shuffled mini-batch,
    scattered over X) four at a time: four rows' loads in flight at once, and each w[j]
    loaded once for the four."""
    p = X.shape[1]
    k = 0
    if rows.shape[0] > 0:
        while k + 4 <= m:
            x0, x1, x2, x3 = X[rows[start + k]], X[rows[start + k + 1]], X[rows[start + k + 2]], X[rows[start + k + 3]]
            a0 = a1 = a2 = a3 = zero
            for j in range(p):
                wj = w[j]
                a0 += x0[j] * wj
                a1 += x1[j] * wj
                a2 += x2[j] * wj
                a3 += x3[j] * wj
            zbuf[k], zbuf[k + 1] = float(a0) + b, float(a1) + b
            zbuf[k + 2], zbuf[k + 3] = float(a2) + b, float(a3) + b
            k += 4
    while k < m:
        i = rows[start + k] if rows.shape[0] > 0 else start + k
        if ahead > 0 and i + ahead < X.shape[0]:
            row = X.ctypes.data + (i + ahead) * X.strides[0]
            _prefetch_span(row, row + p * X.itemsize)
        a = zero
        for j in range(p):
            a += X[i, j] * w[j]
        zbuf[k] = float(a) + b
        k += 1


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _block_grad(X, rows, start, m, zbuf, dz, grad, pace):
    """grad[j] += Σₖ δₖ·xₖⱼ and grad[p] += Σₖ δₖ over the block's rows (δ in zbuf[:m], and
    in X's dtype in dz[:m]), while they are still in cache: four rows at a time, their
    products summed in X's dtype and then added to the float64 grad, so that each grad[j] is
    loaded and stored once per four rows rather than once per row (the update over j
    vectorised); the last m mod 4 rows one at a time, in float64.

    With ``pace`` > 0 (consecutive rows only), each four rows also ask the CPU for the next
    ``pace`` cache lines of the next block (the m rows from start + m), in order: this phase
    reads only what is in cache, and the CPU's prefetcher, which follows the rows that miss,
    would leave the memory idle meanwhile.  A few lines at a time: a pace that covers the
    whole next block (51 lines per four rows at p = 100) was slower than none (BENCHMARKS.md)."""
    p = X.shape[1]
    use_rows = rows.shape[0] > 0
    # X is C-contiguous here: the next block's rows are one stretch of bytes
    asked = X.ctypes.data + (start + m) * X.strides[0]  # the next byte to ask for
    asked_end = X.ctypes.data + min(start + 2 * m, X.shape[0]) * X.strides[0]
    step = 64 * pace
    for k in range(m):
        dz[k] = zbuf[k]
    # The row views are taken after the branch, from indices, and Σδ is summed in a local:
    # row views made in both arms of the branch, or grad[p] stored every four rows, made
    # LLVM's loop over j twice as slow in cache (BENCHMARKS.md, fifth round); same bits.
    bias = grad[p]
    k = 0
    while k + 4 <= m:
        if use_rows:
            i0, i1, i2, i3 = rows[start + k], rows[start + k + 1], rows[start + k + 2], rows[start + k + 3]
        else:
            i0, i1, i2, i3 = start + k, start + k + 1, start + k + 2, start + k + 3
        if asked < asked_end:
            _prefetch_span(asked, min(asked + step, asked_end))
            asked += step
        x0, x1, x2, x3 = X[i0], X[i1], X[i2], X[i3]
        d0, d1, d2, d3 = dz[k], dz[k + 1], dz[k + 2], dz[k + 3]
        for j in range(p):
            grad[j] += float((d0 * x0[j] + d1 * x1[j]) + (d2 * x2[j] + d3 * x3[j]))
        bias += (zbuf[k] + zbuf[k + 1]) + (zbuf[k + 2] + zbuf[k + 3])
        k += 4
    while k < m:
        i = rows[start + k] if use_rows else start + k
        d = zbuf[k]
        for j in range(p):
            grad[j] += d * X[i, j]
        bias += d
        k += 1
    grad[p] = bias


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _block_z_columns(X, rows, start, m, w, b, zbuf):
    """:func:`_block_z` for a column-major X (each column contiguous, as a block read from a
    file is): zbuf[k] = Σⱼ wⱼ·xᵢⱼ + b, column by column, each column's update over the block's
    rows vectorised; in float64.  Returns Σₖ zbuf[k]: not finite when some x is NaN or ±∞
    (NaN·0 is NaN), which a block summed where it was decoded looks at."""
    p = X.shape[1]
    for k in range(m):
        zbuf[k] = 0.0
    for j in range(p):
        wj = w[j]
        if rows.shape[0] > 0:
            for k in range(m):
                zbuf[k] += float(X[rows[start + k], j]) * wj
        else:
            column = X[start:start + m, j]
            for k in range(m):
                zbuf[k] += float(column[k]) * wj
    z_sum = 0.0
    for k in range(m):
        zbuf[k] += b
        z_sum += zbuf[k]
    return z_sum


@nb.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _block_grad_columns(X, rows, start, m, zbuf, grad):
    """:func:`_block_grad` for a column-major X: grad[j] += Σₖ δₖ·xₖⱼ, one column at a time (a
    dot product over the block's rows, vectorised), and grad[p] += Σₖ δₖ; in float64."""
    p = X.shape[1]
    for j in range(p):
        total = 0.0
        if rows.shape[0] > 0:
            for k in range(m):
                total += zbuf[k] * float(X[rows[start + k], j])
        else:
            column = X[start:start + m, j]
            for k in range(m):
                total += zbuf[k] * float(column[k])
        grad[j] += total
    total = 0.0
    for k in range(m):
        total += zbuf[k]
    grad[p] += total


@nb.njit(cache=True, fastmath=FASTMATH)
def _block_sums(X, rows, start, m, y, weights, y_rows, y_start, w, w_x, b, zero, act, loss, want_grad, grad,
                columns, ahead, pace, zbuf, dz, logistic, scale_bits):
    """One block of :func:`accumulate`: rows ``start`` … ``start + m − 1`` of X (of ``rows`` when
    it is not empty), whose targets and weights are those of rows ``y_start`` … of ``y_rows``
    (the same rows, unless X is a block's copy); returns (Σ sᵢLᵢ, Σ sᵢ, Σ zᵢ) — Σ zᵢ for a
    column-major X only (:func:`_block_z_columns`), else 0 — and adds the block's δᵀ[X_B, 1]
    into ``grad``.  ``ahead`` and ``pace``: 0 when ``rows`` is not empty (the caller's choice)."""
    z_sum = 0.0
    if columns:
        z_sum = _block_z_columns(X, rows, start, m, w, b, zbuf)
    else:
        _block_z(X, rows, start, m, w_x, b, zbuf, zero, ahead)
    if loss == 3:
        _logistic_parts(zbuf, m, logistic, scale_bits)
    block_loss, block_weight = _per_sample_block(zbuf, m, y, weights, y_rows, y_start, act, loss, logistic,
                                                 X.itemsize == 4)
    if want_grad:
        if columns:
            _block_grad_columns(X, rows, start, m, zbuf, grad)
        else:
            _block_grad(X, rows, start, m, zbuf, dz, grad, pace)
    return block_loss, block_weight, z_sum


@nb.njit(cache=True, fastmath=FASTMATH, nogil=True)
def accumulate(X, y, weights, rows, lo, hi, w, b, act, loss, want_grad, grad, block, ahead, pace):
    """Over rows lo…hi−1 (of ``rows`` when it is not empty, else of X): return
    (Σ sᵢ·Lᵢ, Σ sᵢ) and add Σ sᵢ·∂Lᵢ/∂z·(xᵢ, 1) into ``grad``.

    Block by block of ``block`` rows (small enough to stay in cache): z = X_B·w + b, then
    each row's δ, then δᵀX_B while X_B is still in cache — one read of X from memory.  w is
    float64, and so is every sum but those of :func:`_block_z` and :func:`_block_grad` (in
    X's dtype; a column-major X is read column by column, in float64).  No BLAS: OpenBLAS may split a
    block's product over threads of its own inside these (more threads than cores), and
    its summation order would then follow its thread count.  Rows named by index (a
    shuffled mini-batch) are read where they are, never copied.  ``ahead`` > 0: consecutive
    rows are asked for that many rows before they are read (:func:`_block_z`); ``pace`` > 0:
    the gradient of a block of consecutive rows asks for the next block's lines at that pace
    (:func:`_block_grad`); both 0 when ``rows`` is given.
    """
    loss_sum = 0.0
    weight_sum = 0.0
    zbuf = np.empty(block)
    dz = np.empty(block, dtype=X.dtype)
    w_x = w.astype(X.dtype)  # w in X's dtype: a float32 X's dot products run in float32
    zero = np.zeros(1, dtype=X.dtype)[0]
    logistic = np.empty((2, block))
    scale_bits = np.empty(2 * block, dtype=np.int64)
    # a column-major X (each column contiguous) is read column by column
    columns = X.shape[1] > 1 and X.strides[0] == X.itemsize
    for start in range(lo, hi, block):
        m = min(block, hi - start)
        block_loss, block_weight, _ = _block_sums(X, rows, start, m, y, weights, rows, start, w, w_x, b, zero, act,
                                                  loss, want_grad, grad, columns, ahead, pace, zbuf, dz,
                                                  logistic, scale_bits)
        loss_sum += block_loss
        weight_sum += block_weight
    return loss_sum, weight_sum


@intrinsic
def _float64_pointer(typingctx, address):
    """The integer ``address`` as a pointer to float64 values (LLVM's inttoptr)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(types.float64)))

    return types.CPointer(types.float64)(address), codegen


# fastmath=False said outright: a function that says nothing is compiled with the fast-math
# flags of the caller that compiles it first (numba), and arcp turns ÷σ into ×(1/σ)
@nb.njit(cache=True, fastmath=False, error_model="numpy")
def _block_standardised(addresses, n, mean, scale, rows, start, m, out):
    """out[k, j] = (x_ij − μⱼ)/σⱼ (or x_ij when ``mean`` is empty) for the block's m rows i
    (rows[start + k] when ``rows`` is not empty, else start + k), xⱼ the n float64 values
    at ``addresses[j]``.  Compiled without fast-math: each value is rounded as NumPy's
    subtraction and then division round it (the same bits as a standardised copy); consecutive
    rows are read, standardised and written in one loop (two loops, a copy and then the
    arithmetic in place, took twice the time in cache: BENCHMARKS.md, fifth round).  Read in
    order, each column's stretch then asks the CPU for its next block's stretch: the CPU's own
    prefetcher does not follow p short streams at once (ad hoc, 500,000 × 50 from Parquet: the
    pass over the decoded blocks went from 61 to 52 ms, medians of 15; a block further ahead
    was slower, 64 ms)."""
    standardise = mean.shape[0] > 0
    use_rows = rows.shape[0] > 0
    for j in range(addresses.shape[0]):
        column = nb.carray(_float64_pointer(addresses[j]), n)
        target = out[:m, j]
        if use_rows:
            if standardise:
                mu, sigma = mean[j], scale[j]
                for k in range(m):
                    target[k] = (column[rows[start + k]] - mu) / sigma
            else:
                for k in range(m):
                    target[k] = column[rows[start + k]]
        else:
            if standardise:
                mu, sigma = mean[j], scale[j]
                for k in range(m):
                    target[k] = (column[start + k] - mu) / sigma
            else:
                target[:] = column[start:start + m]
            _prefetch_span(addresses[j] + 8 * (start + m), addresses[j] + 8 * min(start + 2 * m, n))


@nb.njit(cache=True, fastmath=FASTMATH, nogil=True)
def accumulate_columns(addresses, n, mean, scale, y, weights, rows, lo, hi, w, b, act, loss, want_grad, grad,
                       block):
    """:func:`accumulate` over the rows of a table's float64 columns, without a standardised
    copy of them: the n values of column j are at ``addresses[j]``, and each row is read as
    x′ = (x − μ)/σ (``mean``, ``scale``; empty: as it is).  Block by block, the block's x′
    are written into a buffer that stays in cache (:func:`_block_standardised`), then summed
    as :func:`accumulate` sums a column-major X — the same sums, bit for bit, as that of a
    standardised copy of the rows.  Returns (Σ sᵢLᵢ, Σ sᵢ, finite): ``finite`` is False
    when some zᵢ is NaN or ±∞ — a missing or infinite x′ makes its row's z so (NaN·0 is NaN),
    and the caller then looks at the rows themselves; the sums are then meaningless."""
    p = addresses.shape[0]
    loss_sum = 0.0
    weight_sum = 0.0
    z_sum = 0.0
    scratch = np.empty((p, block)).T  # column-major: each column's stretch of the block contiguous
    no_rows = np.empty(0, dtype=np.int64)
    zbuf = np.empty(block)
    dz = np.empty(0)  # only the row-major gradient uses it
    logistic = np.empty((2, block))
    scale_bits = np.empty(2 * block, dtype=np.int64)
    for start in range(lo, hi, block):
        m = min(block, hi - start)
        _block_standardised(addresses, n, mean, scale, rows, start, m, scratch)
        block_loss, block_weight, block_z = _block_sums(scratch, no_rows, 0, m, y, weights, rows, start, w, w, b, 0.0,
                                                        act, loss, want_grad, grad, True, 0, 0, zbuf, dz,
                                                        logistic, scale_bits)
        loss_sum += block_loss
        weight_sum += block_weight
        z_sum += block_z
    return loss_sum, weight_sum, math.isfinite(z_sum)


@intrinsic
def _take_next(typingctx, counter):
    """The value of counter[0] before adding 1 to it, in one atomic step (LLVM's atomicrmw):
    the ticket by which a thread takes the next chunk of a pass."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        slot = cgutils.get_item_pointer(context, builder, signature.args[0], array,
                                        [context.get_constant(types.intp, 0)], wraparound=False)
        return builder.atomic_rmw("add", slot, context.get_constant(types.int64, 1), "monotonic")

    return types.int64(counter), codegen


@nb.njit(cache=True, parallel=True, nogil=True)
def accumulate_chunks(X, y, weights, rows, lo, hi, w, b, act, loss, want_grad, chunk_rows, block, ahead, pace,
                      workers, dealt):
    """:func:`accumulate` over the chunks lo + c·chunk_rows … of the rows lo…hi−1, on
    ``workers`` threads.  ``dealt``: each thread takes the next chunk from a shared counter as
    soon as it is free, so that a thread slowed by another program on its core takes fewer
    chunks and the others take the rest; else each thread takes one run of consecutive
    chunks, an equal share.

    The partition depends on the rows and ``chunk_rows`` only, and each chunk's partial
    sums are added in chunk order: the result does not depend on how many threads ran, or
    on which thread took which chunk — same data and θ, same bits.
    """
    p = X.shape[1]
    n_chunks = (hi - lo + chunk_rows - 1) // chunk_rows
    grads = np.zeros((n_chunks, p + 1))
    losses = np.zeros(n_chunks)
    weight_sums = np.zeros(n_chunks)
    counter = np.zeros(1, dtype=np.int64)
    for t in nb.prange(workers):  # one iteration per thread; the chunks are handed out inside
        # each chunk sums into this thread's own buffer, copied out once: the rows of ``grads``
        # share cache lines at their ends, which two threads would pass back and forth at every
        # row (false sharing)
        own = np.empty(p + 1)
        c = _take_next(counter) if dealt else t * n_chunks // workers
        end = n_chunks if dealt else (t + 1) * n_chunks // workers
        while c < end:
            a = lo + c * chunk_rows
            e = min(hi, a + chunk_rows)
            own[:] = 0.0
            losses[c], weight_sums[c] = accumulate(X, y, weights, rows, a, e, w, b, act, loss, want_grad, own,
                                                   block, ahead, pace)
            grads[c] = own
            c = _take_next(counter) if dealt else c + 1
    grad = np.zeros(p + 1)
    loss_sum = 0.0
    weight_sum = 0.0
    for c in range(n_chunks):
        loss_sum += losses[c]
        weight_sum += weight_sums[c]
        for j in range(p + 1):
            grad[j] += grads[c, j]
    return loss_sum, weight_sum, grad


#: hand the chunks of a threaded pass out one at a time (True) or in equal shares (False)
DEALT = True


def accumulate_in_threads(threads, *args, dealt=None):
    """:func:`accumulate_chunks` (``args`` are its arguments up to ``pace``) on ``threads``
    threads — None for numba's default, every core this process may use; at most that.
    ``dealt`` None: :data:`DEALT`."""
    available = nb.config.NUMBA_NUM_THREADS
    workers = available if threads is None else min(threads, available)
    previous = nb.get_num_threads()
    nb.set_num_threads(workers)
    try:
        return accumulate_chunks(*args, workers, DEALT if dealt is None else dealt)
    finally:
        nb.set_num_threads(previous)
