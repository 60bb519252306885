"""History.tail(start): the rows from ``start`` on, as the whole columns hold them."""

from __future__ import annotations

import numpy as np
import pytest

from neuronlab.train.history import History


def filled(record_params, rows=7):
    h = History(record_params=record_params)
    rng = np.random.default_rng(0)
    for t in range(rows):
        h.append(rng.normal(size=3), loss=float(rng.uniform()), grad_norm=float(rng.uniform()),
                 step_size=0.1 * t, learning_rate=0.5 / (t + 1), evaluations=2 * t + 1, elapsed=0.01 * t)
    return h


@pytest.mark.parametrize("record_params", [True, False])
@pytest.mark.parametrize("start", [0, 3, 6, 7, 12, -2])
def test_a_tail_is_the_columns_from_start_on(record_params, start):
    h = filled(record_params)
    tail = h.tail(start)
    begin = min(max(start, 0), len(h))
    assert tail.start == begin
    for name in ("loss", "grad_norm", "step_size", "learning_rate", "evaluations", "elapsed"):
        column = getattr(h, name)
        assert getattr(tail, name).dtype == column.dtype
        assert np.array_equal(getattr(tail, name), column[begin:])
    if record_params:
        assert np.array_equal(tail.params, h.params[begin:]) or (len(h) == begin and tail.params.size == 0)
    else:
        assert tail.params is None


def test_a_tail_follows_new_rows_and_the_columns_stay_whole():
    h = filled(True, rows=3)
    first = h.tail(0)
    h.append(np.ones(3), 9.0, 1.0, 0.0, 0.5, 11, 1.0)
    assert len(first.loss) == 3  # a tail already taken does not change
    assert h.tail(3).loss.tolist() == [9.0] and np.array_equal(h.tail(3).params, [np.ones(3)])
    assert len(h.loss) == 4 and h.loss[-1] == 9.0
