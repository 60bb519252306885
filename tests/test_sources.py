"""Data sources: an array source reads X where it is and cuts its epochs exactly as the
training loop always did; a neuron objective says what it offers and gives its labelled rows."""

import numpy as np
import pytest

from neuronlab import Neuron, NeuronObjective
from neuronlab.core.losses import LOSSES
from neuronlab.objectives.base import CURVATURE, GRADIENT, LABELLED_ROWS, MINI_BATCHES
from neuronlab.sources.array import ArraySource
from neuronlab.sources.base import RowBlock


def _data(loss="log_loss", n=300, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 2.0, 0.5, 3.0][:p]
    y = (rng.random(n) < 0.5).astype(float) if LOSSES[loss].targets == "binary" else rng.normal(size=n)
    weights = rng.uniform(0.2, 2.0, n)
    theta = rng.normal(0.0, 0.4, p + 1)
    return X, y, weights, theta


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


def test_capabilities_of_a_neuron_objective():
    X, y, _, _ = _data()
    logistic = NeuronObjective(Neuron(4, "sigmoid"), X, y, "log_loss")
    assert logistic.capabilities == {GRADIENT, MINI_BATCHES, CURVATURE, LABELLED_ROWS}
    assert NeuronObjective(Neuron(4, "tanh"), X, y, "huber").capabilities == {GRADIENT, MINI_BATCHES,
                                                                              LABELLED_ROWS}
    step = NeuronObjective(Neuron(4, "step"), X, y, "squared_error")
    assert step.capabilities == {MINI_BATCHES, LABELLED_ROWS}
    with pytest.raises(ValueError, match="unknown capability 'hessian'"):
        logistic.offers("hessian")


def test_labelled_rows_are_the_covered_rows_and_refuse_weights():
    X, y, s, _ = _data()
    rows = np.array([4, 2, 9])
    model, X_rows, y_rows = NeuronObjective(Neuron(4, "step"), X, y, "squared_error", rows=rows).labelled_rows()
    assert model.n_inputs == 4 and np.array_equal(X_rows, X[rows]) and np.array_equal(y_rows, y[rows])
    with pytest.raises(ValueError, match="sample weights.*drop sample_weight"):
        NeuronObjective(Neuron(4, "step"), X, y, "squared_error", sample_weight=s).labelled_rows()


def test_an_array_source_reads_x_where_it_is():
    X, y, s, _ = _data()
    X32 = X.astype(np.float32)
    source = ArraySource(X32, y, s)
    block = next(source.blocks())
    assert isinstance(block, RowBlock) and block.X is X32 and block.y.dtype == np.float32
    assert ArraySource([[1, 2], [3, 4]], [0, 1]).X.dtype == np.float64
    with pytest.raises(ValueError, match="X must be a 2-D array of rows"):
        ArraySource(np.zeros(3), np.zeros(3))

