"""Rows from arrays in memory, read where they are (never copied)."""

from __future__ import annotations

import numpy as np

from .base import RowBlock, Source

__all__ = ["ArraySource"]


class ArraySource(Source):
    """The rows of an in-memory X (n_rows × n_features), targets y and sample weights.

    A float X is used as it is — float32 or float64, never copied; anything else (a
    list, integers) becomes float64.  A numeric y keeps its type (bool labels, a float64 y
    beside a float32 X: the passes take each target in X's dtype as they read it, so a long y
    is never copied); ``sample_weight`` takes X's dtype.  ``rows``
    restricts the source to those row numbers of X (a training or validation split of
    one X), named by index so that X itself is not copied.

    A full pass is one block, the whole X: J and ∇J come from one call of the training
    kernel.  A mini-batch is a slice ``begin:end`` or an array of row numbers, both
    counted among the rows the source covers (with ``rows``, batch [0, 1] is rows[0]
    and rows[1] of X).
    """

    def __init__(self, X, y, sample_weight=None, rows=None):
        X = X if isinstance(X, np.ndarray) and X.dtype.kind == "f" else np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array of rows (one row per sample), got shape {X.shape}")
        self.X = X
        self.n_features = X.shape[1]
        # a numeric y keeps its type (bool labels, a float64 y beside a float32 X): the training
        # kernel takes each target in X's dtype as it reads it, so a long y is never copied
        y = np.asarray(y)
        self.y = y if y.dtype.kind in "buif" else np.asarray(y, dtype=X.dtype)
        if self.y.ndim not in (1, 2) or self.y.shape[0] != X.shape[0]:
            raise ValueError(f"y must hold one target per row of X ({X.shape[0]}) — or one row of "
                             f"targets per row, for several outputs —, got shape {self.y.shape}")
        if rows is not None:
            rows = np.asarray(rows)
            if rows.ndim != 1 or rows.dtype.kind not in "iu" or rows.size == 0:
                raise ValueError("rows must be a non-empty 1-D array of row numbers")
            if rows.min() < 0 or rows.max() >= X.shape[0]:
                raise ValueError(f"rows must be row numbers in 0…{X.shape[0] - 1}")
            rows = rows.astype(np.int64, copy=False)
        self.rows = rows
        if sample_weight is None:
            self.sample_weight = None
        else:
            self.sample_weight = np.asarray(sample_weight, dtype=X.dtype)
            if self.sample_weight.shape != (X.shape[0],):
                raise ValueError(f"sample_weight must hold one weight per row of X ({X.shape[0]}), "
                                 f"got shape {self.sample_weight.shape}")
            covered = self.sample_weight if rows is None else self.sample_weight[rows]
            if not float(covered.sum()) > 0:
                raise ValueError("sample_weight must have a positive sum")
        self.weighted = self.sample_weight is not None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0] if self.rows is None else int(self.rows.shape[0])

    def blocks(self):
        """One block: every row the source covers."""
        yield RowBlock(self.X, self.y, self.sample_weight, self.rows)

    def batches(self, batch_size, rng, shuffle=True):
        """The mini-batches of one epoch: with ``shuffle``, ``rng.permutation(n)`` cut into
        consecutive pieces of ``batch_size`` (the last may be smaller); without, the
        slices ``0:batch_size``, ``batch_size:2·batch_size``, … .  Yields (batch, size).
        The permutation is drawn when this is called, one draw of ``rng`` per epoch."""
        n = self.n_samples
        order = rng.permutation(n) if shuffle else None
        return self._cut(n, int(batch_size), order)

    def batches_per_epoch(self, batch_size):
        return -(-self.n_samples // int(batch_size))

    @staticmethod
    def _cut(n, size, order):
        for begin in range(0, n, size):
            end = min(n, begin + size)
            yield (slice(begin, end) if order is None else order[begin:end]), end - begin

    def select(self, batch) -> RowBlock:
        """The RowBlock of a batch: a slice (step 1) or an array of row numbers among the
        covered rows."""
        rows, lo, hi = self.rows, 0, None
        if isinstance(batch, slice):
            lo, hi, step = batch.indices(self.n_samples)
            if step != 1:
                raise ValueError("a batch slice must have step 1")
            if rows is not None:
                rows, lo, hi = rows[lo:hi], 0, None
        else:
            batch = np.asarray(batch, dtype=np.int64)
            rows = batch if rows is None else rows[batch]
        return RowBlock(self.X, self.y, self.sample_weight, rows, lo, hi)

    def head(self, k):
        shown = slice(0, k) if self.rows is None else self.rows[:k]
        return np.asarray(self.X[shown], dtype=np.float64), np.asarray(self.y[shown], dtype=np.float64)

    def labelled_rows(self):
        """(X, y) of the covered rows: X and y themselves without ``rows``, else a copy of
        those rows."""
        if self.rows is None:
            return self.X, self.y
        return self.X[self.rows], self.y[self.rows]
