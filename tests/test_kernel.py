"""The training kernel against the plain formulas: z = Xw + b, ŷ = f(z), Xᵀδ computed over the
whole array at once, and central finite differences; both engines, float64 and float32, row
subsets and mini-batches, no copy of X, the stability limit from the data's curvature."""

import math
import tracemalloc
import warnings

import numpy as np
import pytest
from numeric_checks import TRAINABLE_PAIRS as PAIRS, central_differences, largest_curvature

from neuronlab import Neuron, NeuronObjective
from neuronlab.core import activations, losses, validation
from neuronlab.models import kernel
from neuronlab.core.activations import ACTIVATIONS
from neuronlab.core.losses import LOSSES
from neuronlab.objectives.base import CURVATURE

ENGINES = ["numpy", "numba"]  # numba is a run-time dependency: its engine is always tested


def test_the_compiled_engine_is_available():
    assert kernel.numba_available()


def _data(n=300, p=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, p)) * [1.0, 2.0, 0.5, 3.0, 1.5][:p]).astype(dtype)
    y = (rng.random(n) < 0.5).astype(np.float64)
    weights = rng.uniform(0.2, 2.0, n)
    theta = rng.normal(0.0, 0.4, p + 1)
    return X, y, weights, theta


def _naive(X, y, s, theta, activation, loss):
    """J and ∇J by the textbook route over whole arrays, in float64."""
    f, L = ACTIVATIONS[activation], LOSSES[loss]
    X = X.astype(np.float64)
    z = X @ theta[:-1] + theta[-1]
    y_hat = f(z)
    if activation == "sigmoid" and loss == "log_loss":
        per = np.logaddexp(0.0, z) - y * z
        dz = 1.0 / (1.0 + np.exp(-z)) - y
    else:
        per = L.value(y_hat, y)
        dz = L.derivative(y_hat, y) * f.derivative(z, y_hat)
    delta = s * dz / s.sum()
    return float(s @ per / s.sum()), np.append(X.T @ delta, delta.sum())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("activation, loss", PAIRS)
def test_kernel_equals_the_plain_formulas_and_finite_differences(activation, loss, engine):
    X, y, s, theta = _data()
    objective = NeuronObjective(Neuron(5, activation), X, y, loss, sample_weight=s, engine=engine)
    value, grad = objective.loss_and_grad(theta)
    ref_value, ref_grad = _naive(X, y, s, theta, activation, loss)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-14 * np.abs(ref_grad).max())
    assert objective.loss(theta) == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, central_differences(objective.loss, theta), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("activation, loss", PAIRS)
def test_kernel_sums_equal_the_neurons_forward_loss_derivative_and_backward(activation, loss, engine):
    """The kernel is the neuron's fast path: its Σ sᵢLᵢ, Σ sᵢ and (Σ δᵢxᵢ, Σ δᵢ) against the
    model's own pieces — forward (z, ŷ), the loss and activation derivatives
    δᵢ = sᵢ·∂L/∂ŷ·f′(zᵢ), backward (Xᵀδ, Σδ) — for every pair the compiled loop knows."""
    assert activation in kernel.ACTIVATION_CODES and loss in kernel.LOSS_CODES
    X, y, s, theta = _data()
    if LOSSES[loss].targets != "binary":
        y = np.random.default_rng(1).normal(size=len(y))
    neuron, L = Neuron(5, activation), LOSSES[loss]
    z, y_hat = neuron.forward(theta, X)
    delta = s * L.derivative(y_hat, y) * neuron.activation.derivative(z, y_hat)
    ref_grad = neuron.backward(theta, X, delta)
    loss_sum, weight_sum, grad = kernel.NeuronKernel(neuron, loss).sums(X, y, s, theta, engine=engine)
    assert loss_sum == pytest.approx(float(s @ L(y_hat, y)), rel=1e-12)
    assert weight_sum == pytest.approx(float(s.sum()), rel=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-12 * np.abs(ref_grad).max())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("activation, loss", [("sigmoid", "log_loss"), ("tanh", "huber"),
                                              ("identity", "mse")])  # mse: an alias
def test_neuron_sums_by_names_equals_the_plain_formulas(activation, loss, engine):
    # the function for callers without an objective (which keeps a NeuronKernel): names in,
    # the unnormalised sums out
    X, y, s, theta = _data()
    loss_sum, weight_sum, grad = kernel.neuron_sums(X, y, s, theta, activation, loss, engine=engine)
    ref_value, ref_grad = _naive(X, y, s, theta, activation, losses.get_loss(loss).name)
    assert weight_sum == pytest.approx(s.sum(), rel=1e-13)
    assert loss_sum / weight_sum == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad / weight_sum, ref_grad, rtol=1e-11,
                               atol=1e-14 * np.abs(ref_grad).max())
    assert kernel.neuron_sums(X, y, s, theta, activation, loss, want_grad=False,
                              engine=engine)[2] is None


@pytest.mark.parametrize("activation, loss", PAIRS)
def test_a_column_major_x_is_read_by_the_compiled_engine_with_the_same_sums(activation, loss):
    """A block read from a file is column-major (each column contiguous), and may be a view of
    the first values of a reused flat buffer: the compiled engine reads it column by column
    and gives the plain formulas' J and ∇J — all rows, weighted, and a subset by index."""
    X, y, s, theta = _data(n=3000)
    flat = np.full(X.size + 500, np.nan)  # values past the view's end must never be read
    column_major = flat[:X.size].reshape(X.shape, order="F")
    column_major[:] = X
    assert column_major.flags.f_contiguous and not column_major.flags.c_contiguous
    neuron_kernel = kernel.NeuronKernel(Neuron(5, activation), loss)
    rows = np.array([2999, 0, 17, 17, 1500, 3, 4, 5, 6])  # a length not a multiple of four
    for weights, subset in ((None, None), (s, None), (s, rows)):
        got = neuron_kernel.sums(column_major, y, weights, theta, rows=subset, engine="numba")
        picked = slice(None) if subset is None else subset
        weight = np.ones(len(y)) if weights is None else weights
        value, grad = _naive(X[picked], y[picked], weight[picked], theta, activation, loss)
        assert got[0] / got[1] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(got[2] / got[1], grad, rtol=1e-11, atol=1e-14 * np.abs(grad).max())


@pytest.mark.parametrize("activation, loss", PAIRS)
def test_columns_read_where_they_lie_give_the_bits_of_their_standardised_copy(activation, loss):
    """A file's block summed from its decoded columns, each value read as x′ = (x − μ)/σ,
    gives the sums of the standardised copy bit for bit (all rows, weighted, a subset by
    index), and those of the plain formulas; a NaN anywhere sends the block back (None)."""
    X, y, s, theta = _data(n=3000)
    raw = X * 3.0 + 7.0
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    columns = [np.ascontiguousarray(raw[:, j]) for j in range(raw.shape[1])]
    copy = np.asfortranarray((raw - mean) / scale)  # as io.tables.Standardizer computes it
    neuron_kernel = kernel.NeuronKernel(Neuron(5, activation), loss)
    rows = np.array([2999, 0, 17, 17, 1500, 3, 4, 5, 6])
    for weights, subset in ((None, None), (s, None), (s, rows)):
        got = neuron_kernel.column_sums(columns, mean, scale, y, weights, theta, rows=subset, engine="numba")
        picked = slice(None) if subset is None else subset
        copied = neuron_kernel.sums(np.asfortranarray(copy[picked]), y[picked],
                                    None if weights is None else weights[picked], theta, engine="numba")
        assert got[:2] == copied[:2]
        np.testing.assert_array_equal(got[2], copied[2])
        weight = np.ones(len(y)) if weights is None else weights
        value, grad = _naive(copy[picked], y[picked], weight[picked], theta, activation, loss)
        assert got[0] / got[1] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(got[2] / got[1], grad, rtol=1e-11, atol=1e-14 * np.abs(grad).max())
    unscaled = neuron_kernel.column_sums(columns, None, None, y, None, theta, engine="numba")
    copied = neuron_kernel.sums(np.asfortranarray(raw), y, None, theta, engine="numba")
    assert unscaled[:2] == copied[:2]
    np.testing.assert_array_equal(unscaled[2], copied[2])
    for value in (np.nan, np.inf):
        columns[3][1234] = value
        assert neuron_kernel.column_sums(columns, mean, scale, y, None, theta, engine="numba") is None


@pytest.mark.parametrize("engine", ENGINES)
def test_float32_path_within_float32_tolerance(engine):
    X, y, s, theta = _data(dtype=np.float32)
    for activation, loss in [("sigmoid", "log_loss"), ("identity", "squared_error"), ("tanh", "huber")]:
        objective = NeuronObjective(Neuron(5, activation), X, y, loss, engine=engine)
        value, grad = objective.loss_and_grad(theta)
        # the targets in X's precision, as a float32 training pass takes them
        ref_value, ref_grad = _naive(X, y.astype(np.float32), np.ones(len(y)), theta, activation, loss)
        assert value == pytest.approx(ref_value, rel=1e-5)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-6)


def test_parallel_chunks_equal_the_plain_formulas(monkeypatch):
    monkeypatch.setattr(kernel, "PARALLEL_MIN_ELEMENTS", 0)
    X, y, s, theta = _data(n=3000)  # more rows than one thread's share: the threaded path
    objective = NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", sample_weight=s, engine="numba")
    value, grad = objective.loss_and_grad(theta)
    ref_value, ref_grad = _naive(X, y, s, theta, "sigmoid", "log_loss")
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_same_bits_on_one_thread_and_on_two(dtype, monkeypatch):
    """A threaded pass is cut into chunks by the data's shape alone and their sums are added in
    chunk order: one thread and two, with the chunks dealt to whichever thread is free or in
    equal shares, give the same J and ∇J, bit for bit — for a full pass and for a row subset,
    which threads take in chunks of the same size."""
    from neuronlab.models import _kernel_numba

    monkeypatch.setattr(kernel, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 40 * 5)  # 125 chunks of this X: many tasks
    X, y, s, theta = _data(n=5000, dtype=dtype)
    rows = np.arange(3, 5000, 3)
    runs = {}
    for threads, dealt in (("1", True), ("2", True), ("2", False)):
        monkeypatch.setenv("NEURONLAB_THREADS", threads)
        monkeypatch.setattr(_kernel_numba, "DEALT", dealt)
        runs[threads, dealt] = [
            NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", sample_weight=s, engine="numba",
                            rows=subset).loss_and_grad(theta)
            for subset in (None, rows)
        ]
    one = runs["1", True]
    for other in (runs["2", True], runs["2", False]):
        for (value_1, grad_1), (value_2, grad_2) in zip(one, other):
            assert value_1 == value_2
            np.testing.assert_array_equal(grad_1, grad_2)
    ref_value, ref_grad = _naive(X, y, s, theta, "sigmoid", "log_loss")
    assert one[0][0] == pytest.approx(ref_value, rel=1e-12 if dtype is np.float64 else 1e-6)


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [3, 40])
def test_asking_the_cpu_for_rows_ahead_changes_no_bit(dtype, p, threaded, monkeypatch):
    """The rows a pass asks the CPU for ahead (while it computes z, and at a pace while it sums
    the gradient) are hints: J and ∇J are the same bits with or without them, for rows of fewer
    values than a cache line holds and of many, on one thread and in chunks on threads, and for
    a row subset (which asks for none)."""
    if threaded:
        monkeypatch.setattr(kernel, "PARALLEL_MIN_ELEMENTS", 0)
        monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 40 * 700)  # chunks of several blocks
    from neuronlab.models import _kernel_numba

    entry = "accumulate_in_threads" if threaded else "accumulate"
    given = []  # the (ahead, pace) each pass was given: the hints reach the pass, or not

    def spy(*args, **kwargs):
        given.append(args[-2:])
        return original(*args, **kwargs)

    original = getattr(_kernel_numba, entry)
    monkeypatch.setattr(_kernel_numba, entry, spy)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3001, p)).astype(dtype)  # blocks of whole and partial fours of rows
    y = (rng.random(3001) < 0.5).astype(np.float64)
    theta = rng.normal(0.0, 0.3, p + 1)
    rows = np.arange(1, 3001, 2)
    results = []
    for ahead_bytes, lines in ((0, 0), (1 << 12, 16), (1 << 15, 3), (0, 1000)):
        monkeypatch.setattr(kernel, "PREFETCH_BYTES", {4: ahead_bytes, 8: ahead_bytes})
        monkeypatch.setattr(kernel, "GRAD_PREFETCH_LINES", {4: lines, 8: lines})
        given.clear()
        results.append([NeuronObjective(Neuron(p, "sigmoid"), X, y, "log_loss", engine="numba",
                                        rows=subset).loss_and_grad(theta) for subset in (None, rows)])
        ahead_rows = max(1, ahead_bytes // (p * X.itemsize)) if ahead_bytes else 0
        assert given == [(ahead_rows, lines), (0, 0)]  # consecutive rows ask; rows by index do not
    for other in results[1:]:
        for (value, grad), (value_0, grad_0) in zip(other, results[0]):
            assert value == value_0
            np.testing.assert_array_equal(grad, grad_0)
    rel = 1e-12 if dtype is np.float64 else 1e-5
    for (value, grad), subset in zip(results[0], (slice(None), rows)):
        ref_value, ref_grad = _naive(X[subset], y[subset], np.ones(len(y[subset])), theta, "sigmoid", "log_loss")
        assert value == pytest.approx(ref_value, rel=rel)
        np.testing.assert_allclose(grad, ref_grad, rtol=rel * 10, atol=rel * np.abs(ref_grad).max())


@pytest.mark.parametrize("pair", ["linear", "gram"])
def test_the_quadratic_block_step_gives_the_bits_of_the_formula(pair):
    """Identity + squared error, and the gram pass (the same with y = 0), are written out in the
    block loop (so that it vectorises): each row's L = ½(z − y)² and δ = z − y are the bits of
    the formula in NumPy — and, for the linear neuron, of ``sample_loss_and_dz``, which holds the
    other pairs — and the block's Σ L is their sum."""
    from neuronlab.models import _kernel_numba

    rng = np.random.default_rng(5)
    z = np.concatenate([rng.normal(0.0, 3.0, 61), [0.0, -0.0, -0.0, 1e300, -1e-300, 7.5]])
    y = np.concatenate([rng.normal(0.0, 3.0, 61), [0.0, 1.0, 0.0, -1e300, 2.0, 7.5]])
    act = kernel.ACTIVATION_CODES["identity"]
    code = kernel.LOSS_CODES["squared_error"] if pair == "linear" else kernel.GRAM
    target = y if pair == "linear" else np.zeros_like(y)
    with np.errstate(over="ignore"):
        expected_dz = z - target
        expected_value = 0.5 * expected_dz * expected_dz
    none, no_rows = np.empty(0), np.empty(0, np.int64)
    for k in range(len(z)):
        one = z[k:k + 1].copy()
        value, weight = _kernel_numba._per_sample_block(one, 1, y[k:k + 1], none, no_rows, 0, act, code,
                                                        np.empty((2, 1)), False)
        assert (value, one[0], weight) == (expected_value[k], expected_dz[k], 1.0)
        assert np.signbit(one[0]) == np.signbit(expected_dz[k])  # −0 − 0 is −0: the bits, not just ==
        if pair == "linear":
            assert (value, one[0]) == _kernel_numba.sample_loss_and_dz(z[k], y[k], act, code)
    finite = slice(0, 61)  # the whole block at once: the same δ row by row, and Σ L
    block = z[finite].copy()
    total, weight = _kernel_numba._per_sample_block(block, 61, y[finite], none, no_rows, 0, act, code,
                                                    np.empty((2, 61)), False)
    np.testing.assert_array_equal(block, expected_dz[finite])
    assert weight == 61.0
    assert total == pytest.approx(math.fsum(expected_value[finite]), rel=1e-14)


def test_the_thread_setting_is_a_whole_number(monkeypatch):
    from neuronlab.core.threads import thread_setting

    monkeypatch.delenv("NEURONLAB_THREADS", raising=False)
    assert thread_setting() is None
    monkeypatch.setenv("NEURONLAB_THREADS", " 3 ")
    assert thread_setting() == 3
    for wrong in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv("NEURONLAB_THREADS", wrong)
        with pytest.raises(ValueError, match="NEURONLAB_THREADS must be a whole number of threads ≥ 1"):
            thread_setting()


@pytest.mark.parametrize("engine", ENGINES)
def test_batches_and_row_subsets_read_the_right_rows(engine):
    X, y, s, theta = _data()
    full = NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", sample_weight=s, engine=engine,
                           alpha=0.3)
    batch = np.array([7, 3, 250, 3, 99])
    value, grad = full.loss_and_grad_batch(theta, batch)
    ref_value, ref_grad = _naive(X[batch], y[batch], s[batch], theta, "sigmoid", "log_loss")
    penalty_grad = np.append(0.3 * theta[:-1], 0.0)
    assert value == pytest.approx(ref_value + 0.15 * theta[:-1] @ theta[:-1], rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad + penalty_grad, rtol=1e-11)
    value, grad = full.loss_and_grad_batch(theta, slice(10, 60))
    ref_value, ref_grad = _naive(X[10:60], y[10:60], s[10:60], theta, "sigmoid", "log_loss")
    assert value == pytest.approx(ref_value + 0.15 * theta[:-1] @ theta[:-1], rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad + penalty_grad, rtol=1e-11)
    rows = np.arange(100, 300, 2)
    part = NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", sample_weight=s, rows=rows,
                           engine=engine)
    assert part.n_samples == 100
    ref_value, ref_grad = _naive(X[rows], y[rows], s[rows], theta, "sigmoid", "log_loss")
    value, grad = part.loss_and_grad(theta)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-11)
    # a batch of a row subset counts within the subset: batch [0, 1] is rows 100 and 102
    ref_value, _ = _naive(X[[100, 102]], y[[100, 102]], s[[100, 102]], theta, "sigmoid", "log_loss")
    assert part.loss_and_grad_batch(theta, [0, 1])[0] == pytest.approx(ref_value, rel=1e-12)
    with pytest.raises(ValueError, match="rows must be row numbers"):
        NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", rows=[0, 300])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation, loss", [("sigmoid", "log_loss"), ("identity", "hinge"),
                                              ("tanh", "squared_error")])
def test_labels_of_a_compact_type_give_the_sums_of_float_labels(activation, loss, dtype, engine):
    """0/1 labels as bool or uint8 (one byte a row, no float copy of a long y) are read as the
    numbers 0 and 1: the kernel's sums equal the plain formulas on float labels — the hinge's
    2y − 1 would wrap to 255 if it were computed in uint8."""
    X, y, s, theta = _data(dtype=dtype)
    ref_value, ref_grad = _naive(X, y, s, theta, activation, loss)
    tolerance = 1e-12 if dtype is np.float64 else 1e-5
    neuron_kernel = kernel.NeuronKernel(Neuron(5, activation), loss)
    for labels in (y.astype(bool), y.astype(np.uint8)):
        for rows in (None, np.array([5, 0, 299, 17])):
            loss_sum, weight_sum, grad = neuron_kernel.sums(X, labels, s, theta, rows=rows, engine=engine)
            picked = slice(None) if rows is None else rows
            value, expected = _naive(X[picked], y[picked], s[picked], theta, activation, loss) \
                if rows is not None else (ref_value, ref_grad)
            assert loss_sum / weight_sum == pytest.approx(value, rel=tolerance)
            np.testing.assert_allclose(grad / weight_sum, expected, rtol=tolerance * 10,
                                       atol=tolerance * np.abs(expected).max())


@pytest.mark.parametrize("engine", ENGINES)
def test_a_float64_target_beside_a_float32_x_is_taken_in_float32(engine):
    """A float32 pass takes each target in float32 as it reads it: the same bits as a float32
    copy of y, without making that copy."""
    X, _, s, theta = _data(dtype=np.float32)
    y = np.random.default_rng(3).normal(size=X.shape[0]) / 3.0  # not exact in float32
    neuron_kernel = kernel.NeuronKernel(Neuron(5, "identity"), "squared_error")
    for weights in (None, s.astype(np.float32)):
        given = neuron_kernel.sums(X, y, weights, theta, engine=engine)
        copied = neuron_kernel.sums(X, y.astype(np.float32), weights, theta, engine=engine)
        assert given[:2] == copied[:2]
        np.testing.assert_array_equal(given[2], copied[2])
    value, grad = _naive(X, y.astype(np.float32), np.ones(X.shape[0]), theta, "identity", "squared_error")
    loss_sum, weight_sum, grad_sums = neuron_kernel.sums(X, y, None, theta, engine=engine)
    assert loss_sum / weight_sum == pytest.approx(value, rel=1e-5)
    np.testing.assert_allclose(grad_sums / weight_sum, grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_copy_of_a_contiguous_float_x(engine, monkeypatch):
    monkeypatch.setattr(kernel, "NUMPY_BLOCK_BYTES", 4096)  # blocks far smaller than this X
    X, y, _, theta = _data(n=4000, p=5)
    objective = NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", engine=engine)
    assert objective.source.X is X
    assert validation.check_X(X) is X
    X32 = X.astype(np.float32)
    assert validation.check_X(X32) is X32
    objective.loss_and_grad(theta)  # compile/warm up outside the measurement
    tracemalloc.start()
    objective.loss_and_grad(theta)
    objective.loss_and_grad_batch(theta, np.arange(0, 4000, 3))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < X.nbytes / 4  # a copy of X (or of z, δ for every row in both) would show


def test_finite_check_is_blocked_and_names_the_first_bad_value(monkeypatch):
    monkeypatch.setattr(validation, "FINITE_CHECK_BYTES", 16)  # 5 rows of 3 columns per block
    X = np.zeros((40, 3))
    X[23, 2] = np.nan
    X[31, 0] = np.inf
    with pytest.raises(ValueError, match=r"contains NaN: 2 value\(s\).*row 23, column 2"):
        validation.check_X(X)


@pytest.mark.parametrize("threaded", [False, True])
def test_finite_check_by_block_sums_is_exact(threaded, monkeypatch):
    """A block passes on a finite sum; a sum that is not finite — a NaN, ±∞, or finite values
    whose sum overflows — sends the block to the value-by-value check, which decides."""
    monkeypatch.setattr(validation, "FINITE_CHECK_BYTES", 16)  # 5 rows of 3 columns per block
    if threaded:
        monkeypatch.setattr(validation, "FINITE_CHECK_THREADED_BYTES", 0)
    huge = np.full((40, 3), 1e308)  # every block's sum overflows to inf: all finite all the same
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor a notice of the sum's overflow
        np.testing.assert_array_equal(validation.check_X(huge), huge)  # no error
    X = np.zeros((40, 3))
    X[12, 1], X[13, 1] = np.inf, -np.inf  # a block sum of NaN
    X[37, 2] = np.nan
    with pytest.raises(ValueError, match=r"contains infinity: 3 value\(s\).*row 12, column 1"):
        validation.check_X(X)


def test_numba_constants_match_the_numpy_modules():
    from neuronlab.models import _kernel_numba

    assert _kernel_numba.HUBER_DELTA == losses.HUBER_DELTA
    assert _kernel_numba.LEAKY_SLOPE == activations.LEAKY_SLOPE


def test_engine_choice_is_checked():
    X, y, _, _ = _data()
    with pytest.raises(ValueError, match="engine must be one of"):
        NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", engine="fortran")
    strided = np.repeat(X, 2, axis=0)[::2]  # neither row- nor column-contiguous
    with pytest.raises(ValueError, match="needs a contiguous float32/float64 X"):
        NeuronObjective(Neuron(5, "sigmoid"), strided, y, "log_loss", engine="numba").loss(np.zeros(6))


@pytest.mark.parametrize("engine", ENGINES)
def test_stability_limit_is_two_over_the_largest_curvature(engine):
    X, y, s, _ = _data()
    lam = largest_curvature(X, s)
    linear = NeuronObjective(Neuron(5, "identity"), X, y, "squared_error", sample_weight=s,
                             engine=engine)
    assert linear.stability_limit() == pytest.approx(2.0 / lam, rel=1e-4)
    logistic = NeuronObjective(Neuron(5, "sigmoid"), X, y, "log_loss", sample_weight=s, engine=engine)
    assert logistic.stability_limit() == pytest.approx(2.0 / (lam / 4.0), rel=1e-4)
    other = NeuronObjective(Neuron(5, "tanh"), X, y, "huber")
    assert not other.offers(CURVATURE)
    with pytest.raises(TypeError, match="stability_limit needs an objective that knows its "
                                        "curvature.*curvature of tanh \\+ huber"):
        other.stability_limit()


def test_power_iteration_for_wide_data_agrees_with_the_exact_largest_eigenvalue(monkeypatch):
    # a well-separated top eigenvalue (the bias column adds one), so power iteration converges
    X, _, s, _ = _data(n=400)
    rows = np.arange(0, 400, 3)
    lam = largest_curvature(X[rows], s[rows])

    def parts():  # the rows in three parts: the parts' products add up
        return [(X, s, rows[:40]), (X[rows[40:90]], s[rows[40:90]], None), (X, s, rows[90:])]

    assert kernel.gram_max_eigenvalue(lambda: [(X, s, rows)], 5) == pytest.approx(lam, rel=1e-12)  # formed whole
    assert kernel.gram_max_eigenvalue(parts, 5) == pytest.approx(lam, rel=1e-12)
    monkeypatch.setattr(kernel, "GRAM_EXACT_UP_TO", 3)  # as if X had thousands of columns
    for data in (lambda: [(X, s, rows)], parts):
        estimate = kernel.gram_max_eigenvalue(data, 5, iterations=500, rtol=1e-12)
        assert estimate == pytest.approx(lam, rel=1e-6) and estimate <= lam * (1 + 1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pair", [("identity", "squared_error"), ("sigmoid", "log_loss")])
def test_hessian_matches_finite_differences_of_the_gradient(pair, dtype):
    X, y, s, theta = _data(dtype=dtype)
    rows = np.arange(1, 300, 2)
    objective = NeuronObjective(Neuron(5, pair[0]), X, y, pair[1], sample_weight=s, alpha=0.3,
                                l1_ratio=0.25, rows=rows)
    theta = theta + 0.05  # no wᵢ at 0, where the L1 part has its kink
    H = objective.hessian(theta)
    numeric = central_differences(lambda t: objective.loss_and_grad(t)[1], theta, h=1e-5)
    np.testing.assert_allclose(H, numeric, rtol=1e-5 if dtype is np.float64 else 1e-3,
                               atol=1e-7 if dtype is np.float64 else 1e-4)
    with pytest.raises(TypeError, match="hessian needs an objective that knows its curvature"):
        NeuronObjective(Neuron(5, "tanh"), X, y, "huber").hessian(theta)


def test_compiled_log_loss_sample_by_sample_over_the_whole_range_of_z():
    """The compiled logistic block computes e^−|z| and ln(1 + e) by its own polynomials (so
    they vectorise): each sample's L = ln(1 + e^z) − y·z and ∂L/∂z = σ(z) − y against NumPy's
    libm, from z = ±1e-300 to ±800 (beyond e^−745 underflow), and NaN stays NaN."""
    from neuronlab.models import _kernel_numba

    magnitudes = np.concatenate([np.logspace(-300, np.log10(800), 3000), np.linspace(0, 800, 3001),
                                 [0.5, 1.0, 36.7, 708.4, 709.8, 744.4, 745.2, 746.0]])
    z = np.concatenate([magnitudes, -magnitudes])
    y = (np.arange(z.size) % 2).astype(np.float64)
    sigma = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
    ref_loss, ref_dz = np.logaddexp(0.0, z) - y * z, sigma - y
    no_weights, no_rows = np.empty(0), np.empty(0, dtype=np.int64)
    logistic, scale_bits = np.empty((2, z.size)), np.empty(2 * z.size, dtype=np.int64)

    def block(zbuf, start):  # the compiled per-block step for sigmoid (1) + log loss (3)
        _kernel_numba._logistic_parts(zbuf, zbuf.size, logistic, scale_bits)
        return _kernel_numba._per_sample_block(zbuf, zbuf.size, y, no_weights, no_rows, start, 1, 3, logistic,
                                               np.empty(1))

    dz = z.copy()
    total, count = block(dz, 0)
    np.testing.assert_allclose(dz, ref_dz, rtol=4e-16, atol=1e-300)
    assert count == z.size
    # two sums of the same 12,016 terms in different orders agree to n·ε of Σ|L| (≈ 3e-12),
    # not better: the per-sample checks below are the tight ones
    assert total == pytest.approx(ref_loss.sum(), rel=z.size * np.finfo(float).eps)
    for k in range(0, z.size, 7):  # one sample at a time: no error hides in the sum
        value, _ = block(z[k:k + 1].copy(), k)
        assert value == pytest.approx(ref_loss[k], rel=4e-16, abs=4e-16 * abs(z[k])), z[k]

    nan = np.array([np.nan])
    value, _ = block(nan, 0)
    assert np.isnan(value) and np.isnan(nan[0])


@pytest.mark.parametrize("weighted", [False, True])
def test_the_gram_matrix_is_the_same_on_one_thread_or_two(weighted, monkeypatch):
    """H = X̃ᵀDX̃ / Σs formed block by block: equal to the whole-array product, and the same
    bits whether one thread or two take the blocks (their products are added in block order)."""
    monkeypatch.setattr(kernel, "GRAM_BLOCK_ROWS", 64)  # 47 blocks of this X
    X, _, s, theta = _data(n=3000)
    weights = s if weighted else None
    factor = lambda Xb: 0.25 + 0.1 * np.tanh(Xb @ theta[:-1])  # noqa: E731  (a cᵢ per row)
    runs = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("NEURONLAB_THREADS", threads)
        runs[threads] = [kernel.gram_matrix(lambda: [(X, weights, rows)], row_factor)
                         for rows in (None, np.arange(5, 3000, 7)) for row_factor in (None, factor)]
    for one, two in zip(runs["1"], runs["2"]):
        np.testing.assert_array_equal(one, two)
    Xt = np.column_stack([X, np.ones(len(X))])
    s_used = s if weighted else np.ones(len(X))
    cases = [(rows, row_factor) for rows in (None, np.arange(5, 3000, 7)) for row_factor in (None, factor)]
    for got, (rows, row_factor) in zip(runs["2"], cases):
        picked = np.arange(len(X)) if rows is None else rows
        d = s_used[picked] * (1.0 if row_factor is None else factor(X[picked]))
        expected = Xt[picked].T @ (Xt[picked] * d[:, None]) / s_used[picked].sum()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
