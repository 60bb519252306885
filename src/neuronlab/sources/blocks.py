"""Rows in blocks: a list of arrays, or a stream of them read one block at a time.

Every sum the objective needs adds up block by block — Σ sᵢLᵢ, Σ sᵢ, Σ δᵢ·(xᵢ, 1) and
the curvature X̃ᵀDX̃ — so a data set held as blocks gives the same J, ∇J and ∇²J as one
array of all its rows (up to the order in which floating-point sums are added).  This is
the seam for data that does not fit in memory: a function that reads a file batch by
batch, or the partitions of a Dask array, is a stream of blocks.
"""

from __future__ import annotations

from typing import Callable, Iterable, Union

import numpy as np

from .base import BlocksSource, cut_block, cut_blocks

__all__ = ["BlockSource"]


def _checked_block(number, block, n_features=None, weighted=None):
    """(X, y, s) of one block, X a 2-D float array used as it is (anything else becomes
    float64), y and s in X's dtype; ValueError naming the block when it is malformed."""
    if not isinstance(block, tuple) or len(block) not in (2, 3):
        raise ValueError(f"block {number} must be a tuple (X, y) or (X, y, sample_weight), "
                         f"got {type(block).__name__}")
    X, y, weight = block if len(block) == 3 else (*block, None)
    X = X if isinstance(X, np.ndarray) and X.dtype.kind == "f" else np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"block {number}: X must be a 2-D array of rows, got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"block {number}: X has {X.shape[1]} column(s), the blocks before it "
                         f"{n_features}; every block needs the same features")
    y = np.asarray(y, dtype=X.dtype)
    if y.shape != (X.shape[0],):
        raise ValueError(f"block {number}: y must hold one target per row of X ({X.shape[0]}), "
                         f"got shape {y.shape}")
    if weight is not None:
        weight = np.asarray(weight, dtype=X.dtype)
        if weight.shape != (X.shape[0],):
            raise ValueError(f"block {number}: sample_weight must hold one weight per row of X "
                             f"({X.shape[0]}), got shape {weight.shape}")
    if weighted is not None and (weight is not None) != weighted:
        raise ValueError(f"block {number}: either every block has sample weights or none has")
    return X, y, weight


class BlockSource(BlocksSource):
    """Rows given as blocks (X_b, y_b) or (X_b, y_b, s_b), all with the same columns.

    ``blocks`` is either

    - a sequence of such tuples (arrays in memory; each is used as it is, never copied), or
    - a function that returns a fresh iterator over them each time it is called (a stream:
      a file read batch by batch, the partitions of a Dask array).  Every full pass calls it
      once; the first call, at construction, reads the first block to learn the columns,
      and the first time the number of rows is needed, one pass counts them.

    A full pass gives the blocks in order, and each is summed by the training kernel on
    its own.  Mini-batches never cross a block: each epoch visits the blocks — in an
    order drawn from ``rng`` for a sequence, in the stream's order for a stream — and
    cuts each one's rows, shuffled by ``rng``, into batches of at most ``batch_size``.
    """

    def __init__(self, blocks: Union[Iterable[tuple], Callable[[], Iterable[tuple]]]):
        if callable(blocks):
            self._stream, self._blocks, self._n_samples = blocks, None, None
            first = next(iter(blocks()), None)
            if first is None:
                raise ValueError("the stream of blocks is empty: it must give at least one block")
            X, _, weight = _checked_block(0, first)
        else:
            self._stream, self._blocks = None, []
            n_features = weighted = None
            for number, block in enumerate(blocks):
                X, y, weight = _checked_block(number, block, n_features, weighted)
                n_features, weighted = X.shape[1], weight is not None
                self._blocks.append((X, y, weight))
            if not self._blocks:
                raise ValueError("blocks is empty: give at least one block (X, y)")
            if weighted and not sum(float(s.sum()) for _, _, s in self._blocks) > 0:
                raise ValueError("sample_weight must have a positive sum")
            self._n_samples = sum(X.shape[0] for X, _, _ in self._blocks)
        self.n_features = X.shape[1]
        self.weighted = weight is not None

    def _each(self):
        """(X, y, s) of every block, in order, each checked as it arrives from a stream."""
        if self._blocks is not None:
            yield from self._blocks
            return
        for number, block in enumerate(self._stream()):
            yield _checked_block(number, block, self.n_features, self.weighted)

    @property
    def n_samples(self) -> int:
        if self._n_samples is None:
            self._n_samples = sum(X.shape[0] for X, _, _ in self._each())
        return self._n_samples

    def batches(self, batch_size, rng, shuffle=True):
        """The mini-batches of one epoch, as (RowBlock, size) pairs; see the class docstring.
        For a sequence of blocks every draw of the epoch (the order of the blocks, then each
        block's permutation of its rows) is made when this is called."""
        size = int(batch_size)
        if self._blocks is None:
            return cut_blocks(self._each(), size, rng if shuffle else None)
        order = rng.permutation(len(self._blocks)) if shuffle else range(len(self._blocks))
        plan = [(self._blocks[k], rng.permutation(self._blocks[k][0].shape[0]) if shuffle else None)
                for k in order]
        return self._cut(plan, size)

    @staticmethod
    def _cut(plan, size):
        for (X, y, weight), order in plan:
            yield from cut_block(X, y, weight, size, order)
