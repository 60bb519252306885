"""Data sources: the rows of one data set held as one array or as uneven blocks (a list, or a
stream read block by block) give the same J, ∇J and ∇²J, the same optimum, and mini-batches
that cover every row once per epoch; the array source cuts its epochs exactly as the training
loop always did."""

import zlib

import numpy as np
import pytest
from numeric_checks import TRAINABLE_PAIRS as PAIRS

from neuronlab import Neuron, NeuronObjective, minimize
from neuronlab.core.losses import LOSSES
from neuronlab.objectives.base import CURVATURE, GRADIENT, LABELLED_ROWS, MINI_BATCHES, PARTIAL_SUMS
from neuronlab.sources.array import ArraySource
from neuronlab.sources.base import RowBlock
from neuronlab.sources.blocks import BlockSource

#: uneven cuts of 300 rows into blocks: one row, a few, many, the rest
CUTS = [1, 8, 9, 130, 200]


def _data(loss="log_loss", n=300, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 2.0, 0.5, 3.0][:p]
    y = (rng.random(n) < 0.5).astype(float) if LOSSES[loss].targets == "binary" else rng.normal(size=n)
    weights = rng.uniform(0.2, 2.0, n)
    theta = rng.normal(0.0, 0.4, p + 1)
    return X, y, weights, theta


def _blocks(X, y, weights=None, cuts=CUTS):
    """The rows cut into blocks at ``cuts``; each block a view of X (no copy)."""
    parts = zip(np.split(X, cuts), np.split(y, cuts),
                np.split(weights, cuts) if weights is not None else [None] * (len(cuts) + 1))
    return [(Xb, yb) if wb is None else (Xb, yb, wb) for Xb, yb, wb in parts]


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize("activation, loss", PAIRS)
def test_blocks_give_the_same_loss_and_gradient_as_one_array(activation, loss, engine):
    X, y, s, theta = _data(loss, seed=zlib.crc32(f"{activation} {loss}".encode()))
    for weights, alpha in ((None, 0.0), (s, 0.3)):
        kwargs = dict(loss=loss, alpha=alpha, l1_ratio=0.25, engine=engine)
        whole = NeuronObjective(Neuron(4, activation), X, y, sample_weight=weights, **kwargs)
        blocked = NeuronObjective.from_source(Neuron(4, activation), BlockSource(_blocks(X, y, weights)),
                                              **kwargs)
        value, grad = whole.loss_and_grad(theta)
        block_value, block_grad = blocked.loss_and_grad(theta)
        assert block_value == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(block_grad, grad, rtol=1e-12, atol=1e-14 * np.abs(grad).max())
        assert blocked.loss(theta) == pytest.approx(whole.loss(theta), rel=1e-12)
        assert blocked.n_samples == whole.n_samples == len(y)


@pytest.mark.parametrize("pair", [("identity", "squared_error"), ("sigmoid", "log_loss")])
def test_blocks_give_the_same_curvature_as_one_array(pair):
    X, y, s, theta = _data(pair[1])
    whole = NeuronObjective(Neuron(4, pair[0]), X, y, pair[1], sample_weight=s, alpha=0.3)
    blocked = NeuronObjective.from_source(Neuron(4, pair[0]), BlockSource(_blocks(X, y, s)), pair[1],
                                          alpha=0.3)
    assert blocked.offers(CURVATURE)
    np.testing.assert_allclose(blocked.hessian(theta), whole.hessian(theta), rtol=1e-12)
    assert blocked.stability_limit() == pytest.approx(whole.stability_limit(), rel=1e-12)


def test_a_stream_of_blocks_gives_the_same_sums_and_is_read_once_per_pass():
    X, y, s, theta = _data()
    passes = []

    def stream():  # as a reader of a file would: a fresh pass at every call
        passes.append(1)
        yield from _blocks(X, y, s)

    source = BlockSource(stream)
    assert len(passes) == 1  # the first block, to learn the columns
    blocked = NeuronObjective.from_source(Neuron(4, "sigmoid"), source, "log_loss")
    whole = NeuronObjective(Neuron(4, "sigmoid"), X, y, "log_loss", sample_weight=s)
    value, grad = blocked.loss_and_grad(theta)
    assert len(passes) == 2
    assert value == pytest.approx(whole.loss_and_grad(theta)[0], rel=1e-12)
    np.testing.assert_allclose(grad, whole.loss_and_grad(theta)[1], rtol=1e-12)
    assert blocked.n_samples == 300 and len(passes) == 3  # one pass counts the rows
    assert blocked.n_samples == 300 and len(passes) == 3  # and the count is kept


def test_blocks_are_used_where_they_are():
    X, y, _, _ = _data()
    for block in BlockSource(_blocks(X, y)).blocks():
        assert block.X.base is X  # a view of X, as the block was given


def test_mini_batches_of_blocks_cover_every_row_once_and_repeat_for_a_seed():
    X, y, _, _ = _data()
    X[:, 0] = np.arange(len(y))  # each row names itself
    source = BlockSource(_blocks(X, y))
    block_arrays = [block.X for block in source.blocks()]

    def epoch(seed, shuffle=True):
        rng = np.random.default_rng(seed)
        return [source.batches(16, rng, shuffle) for _ in range(2)]  # two epochs from one rng

    for first, second in zip(*(epoch(7), epoch(7))):
        first, second = list(first), list(second)
        seen = []
        for (batch, size), (again, _) in zip(first, second):
            rows = batch.X[batch.rows if batch.rows is not None else slice(batch.lo, batch.hi), 0]
            assert size == len(rows) <= 16
            assert np.array_equal(rows, again.X[again.rows, 0])  # the same seed, the same batches
            seen.extend(rows)
        assert sorted(seen) == list(range(len(y)))  # every row once per epoch
    # batches never cross a block: each batch is rows of one block's own X
    for batch, _ in epoch(3)[0]:
        assert sum(batch.X is Xb for Xb in block_arrays) == 1 and batch.rows.max() < batch.X.shape[0]
    one, other = (np.concatenate([b.X[b.rows, 0] for b, _ in epoch(seed)[0]]) for seed in (1, 2))
    assert not np.array_equal(one, other)  # another seed, another order
    in_order = [(b.lo, b.hi) for b, _ in source.batches(100, np.random.default_rng(0), shuffle=False)]
    assert in_order == [(0, 1), (0, 7), (0, 1), (0, 100), (100, 121), (0, 70), (0, 100)]


def test_a_mini_batch_of_blocks_is_the_batch_loss_of_its_rows():
    X, y, s, theta = _data()
    blocked = NeuronObjective.from_source(Neuron(4, "sigmoid"), BlockSource(_blocks(X, y, s)), "log_loss",
                                          alpha=0.1)
    for batch, size in blocked.batches(32, np.random.default_rng(0)):
        rows = np.flatnonzero(np.isin(X[:, 0], batch.X[batch.rows, 0]))
        assert len(rows) == size
        alone = NeuronObjective(Neuron(4, "sigmoid"), X[rows], y[rows], "log_loss", sample_weight=s[rows],
                                alpha=0.1)
        value, grad = blocked.loss_and_grad_batch(theta, batch)
        ref_value, ref_grad = alone.loss_and_grad(theta)
        assert value == pytest.approx(ref_value, rel=1e-12)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-11, atol=1e-15)
    with pytest.raises(TypeError, match="rows are not numbered across blocks"):
        blocked.loss_and_grad_batch(theta, slice(0, 10))


def test_array_batches_are_the_training_loops_cut():
    """One rng.permutation(n) per epoch cut in order (slices without shuffling), counted among
    the covered rows: the draws the descent loop has always made, so runs stay bit for bit."""
    X, y, _, theta = _data()
    rows = np.arange(3, 300, 2)
    objective = NeuronObjective(Neuron(4, "sigmoid"), X, y, "log_loss", rows=rows)
    rng, reference = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(2):
        batches = list(objective.batches(40, rng))
        order = reference.permutation(len(rows))
        assert [size for _, size in batches] == [40, 40, 40, 29]
        for (batch, _), begin in zip(batches, range(0, len(rows), 40)):
            assert np.array_equal(batch, order[begin:begin + 40])
    assert [b for b, _ in objective.batches(100, rng, shuffle=False)] == [slice(0, 100), slice(100, 149)]
    # a batch counts among the covered rows: batch [0, 1] is rows 3 and 5 of X
    alone = NeuronObjective(Neuron(4, "sigmoid"), X[[3, 5]], y[[3, 5]], "log_loss")
    assert objective.loss_and_grad_batch(theta, [0, 1])[0] == pytest.approx(alone.loss(theta), rel=1e-14)


@pytest.mark.parametrize("strategy, options", [
    ("gradient_descent", dict(learning_rate=0.5, max_steps=300, tol=0)),
    ("lbfgs", dict(max_steps=500, tol=1e-12)),
])
def test_descent_reaches_the_same_optimum_on_blocks_and_on_one_array(strategy, options):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=300)
    s = rng.uniform(0.5, 2.0, size=300)
    whole = NeuronObjective(Neuron(3, "identity"), X, y, "squared_error", sample_weight=s)
    blocked = NeuronObjective.from_source(Neuron(3, "identity"), BlockSource(_blocks(X, y, s)),
                                          "squared_error")
    results = [minimize(objective, np.zeros(4), strategy=strategy, **options) for objective in (whole, blocked)]
    # the optimum, independently: weighted least squares on [X, 1]
    A = np.column_stack([X, np.ones(300)]) * np.sqrt(s)[:, None]
    optimum = np.linalg.lstsq(A, y * np.sqrt(s), rcond=None)[0]
    for result in results:
        assert result.status == ("max_steps" if strategy == "gradient_descent" else "converged")
        np.testing.assert_allclose(result.theta, optimum, atol=1e-8)
    np.testing.assert_allclose(results[1].theta, results[0].theta, atol=1e-8)


def test_mini_batch_descent_runs_on_blocks_reproducibly_and_reaches_the_optimum():
    """SGD over a blocked source: every epoch takes each row once, in batches that stay
    inside their block; the same seed gives the same bits; with a decaying η the run ends
    near the weighted least-squares optimum of all the rows."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=300)
    blocked = NeuronObjective.from_source(Neuron(3, "identity"), BlockSource(_blocks(X, y)), "squared_error")
    runs = [minimize(blocked, np.zeros(4), "sgd", learning_rate=0.05, batch_size=16, max_steps=60,
                     schedule="cosine", tol=0, random_state=3) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)
    updates = runs[0].history.updates
    # one epoch's updates: ⌈rows/16⌉ per block, since no batch crosses a block
    per_epoch = sum(-(-len(yb) // 16) for _, yb in _blocks(X, y))
    assert runs[0].history.updates_per_epoch == per_epoch == np.count_nonzero(updates.row == 1)
    optimum = np.linalg.lstsq(np.column_stack([X, np.ones(300)]), y, rcond=None)[0]
    np.testing.assert_allclose(runs[0].theta, optimum, atol=0.02)


def test_capabilities_of_a_neuron_objective():
    X, y, _, _ = _data()
    logistic = NeuronObjective(Neuron(4, "sigmoid"), X, y, "log_loss")
    assert logistic.capabilities == {GRADIENT, MINI_BATCHES, CURVATURE, LABELLED_ROWS, PARTIAL_SUMS}
    assert NeuronObjective(Neuron(4, "tanh"), X, y, "huber").capabilities == {GRADIENT, MINI_BATCHES,
                                                                              LABELLED_ROWS, PARTIAL_SUMS}
    step = NeuronObjective(Neuron(4, "step"), X, y, "squared_error")
    assert step.capabilities == {MINI_BATCHES, LABELLED_ROWS, PARTIAL_SUMS}
    with pytest.raises(ValueError, match="unknown capability 'hessian'"):
        logistic.offers("hessian")


def test_labelled_rows_are_the_covered_rows_and_refuse_weights():
    X, y, s, _ = _data()
    rows = np.array([4, 2, 9])
    model, X_rows, y_rows = NeuronObjective(Neuron(4, "step"), X, y, "squared_error", rows=rows).labelled_rows()
    assert model.n_inputs == 4 and np.array_equal(X_rows, X[rows]) and np.array_equal(y_rows, y[rows])
    _, X_all, y_all = NeuronObjective.from_source(Neuron(4, "step"), BlockSource(_blocks(X, y)),
                                                  "squared_error").labelled_rows()
    assert np.array_equal(X_all, X) and np.array_equal(y_all, y)
    with pytest.raises(ValueError, match="sample weights.*drop sample_weight"):
        NeuronObjective(Neuron(4, "step"), X, y, "squared_error", sample_weight=s).labelled_rows()


def test_malformed_blocks_are_refused_by_number():
    X, y, s, _ = _data()
    with pytest.raises(ValueError, match="block 1: X has 3 column"):
        BlockSource([(X, y), (X[:, :3], y)])
    with pytest.raises(ValueError, match=r"block 0: y must hold one target per row of X \(300\)"):
        BlockSource([(X, y[:10])])
    with pytest.raises(ValueError, match="block 1: either every block has sample weights or none"):
        BlockSource([(X, y, s), (X, y)])
    with pytest.raises(ValueError, match="blocks is empty"):
        BlockSource([])
    with pytest.raises(ValueError, match="block 0 must be a tuple"):
        BlockSource([X])
    stream = BlockSource(lambda: iter([(X, y), (X[:, :2], y)]))
    with pytest.raises(ValueError, match="block 1: X has 2 column"):
        stream.n_samples
    with pytest.raises(ValueError, match="with 5 feature.*got rows of 4"):
        NeuronObjective.from_source(Neuron(5, "sigmoid"), BlockSource([(X, y)]), "log_loss")
    with pytest.raises(TypeError, match="source must be a data source"):
        NeuronObjective.from_source(Neuron(4, "sigmoid"), [(X, y)], "log_loss")


def test_an_array_source_reads_x_where_it_is():
    X, y, s, _ = _data()
    X32 = X.astype(np.float32)
    source = ArraySource(X32, y, s)
    block = next(source.blocks())
    # X and y where they are: a numeric y keeps its own type (the passes take each target in
    # X's dtype as they read it), the weights take X's
    assert isinstance(block, RowBlock) and block.X is X32 and block.y is y and block.weight.dtype == np.float32
    labels = y > 0.5
    assert next(ArraySource(X32, labels).blocks()).y is labels
    assert ArraySource([[1, 2], [3, 4]], [0, 1]).X.dtype == np.float64
    with pytest.raises(ValueError, match="X must be a 2-D array of rows"):
        ArraySource(np.zeros(3), np.zeros(3))


def test_partial_sums_of_disjoint_blocks_add_up_to_the_whole_and_the_rule_pickles():
    """The data-parallel contract: pieces per block, added (in any grouping), then finished,
    are J and ∇J of the whole; the rule sent to workers survives pickling."""
    import pickle

    from neuronlab.sources.base import add_sums

    X, y, s, theta = _data()
    whole = NeuronObjective(Neuron(4, "sigmoid"), X, y, "log_loss", sample_weight=s, alpha=0.2)
    assert whole.offers(PARTIAL_SUMS)
    rule = pickle.loads(pickle.dumps(whole.block_rule()))
    pieces = [rule(theta, RowBlock(*block), True) for block in _blocks(X, y, s)]
    assert len(pieces[0]) == 3 and pieces[0][2].shape == (5,)  # p + 2 numbers
    total = None
    for piece in reversed(pieces):
        total = add_sums(total, piece)
    value, grad = whole.finish(theta, total)
    expected_value, expected_grad = whole.loss_and_grad(theta)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-11)
    assert whole.finish(theta, whole.partial_sums(theta, RowBlock(X, y, s), want_grad=False)) == \
        pytest.approx(whole.loss(theta), rel=1e-12)
