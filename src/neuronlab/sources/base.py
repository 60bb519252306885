"""What a data source is: rows (xᵢ, yᵢ, sᵢ) that an objective reads block by block.

The loss of a data set and its gradient are sums over its rows,

    J = Σᵢ sᵢ·L(ŷᵢ, yᵢ) / Σᵢ sᵢ,    ∇J = Σᵢ δᵢ·(xᵢ, 1) / Σᵢ sᵢ,

so they can be computed block by block and added up.  A source hands out its rows as
:class:`RowBlock`s: all of them for a full pass (``blocks()``), a few at a time for
mini-batches (``batches()`` and ``select()``).  The objective never knows whether
they come from one array in memory (:class:`~neuronlab.sources.array.ArraySource`) or
from a sequence or stream of blocks (:class:`~neuronlab.sources.blocks.BlockSource`).
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Optional

import numpy as np

__all__ = ["RowBlock", "ColumnBlock", "Source", "BlocksSource", "add_sums", "cut_block", "cut_blocks"]


def add_sums(a, b):
    """Two tuples of additive pieces (floats, arrays, None for a piece not computed) added
    entry by entry; None (nothing yet) leaves the other.  See ``objectives.base``."""
    if a is None:
        return b
    return tuple(None if x is None else x + y for x, y in zip(a, b))


class RowBlock(NamedTuple):
    """Some rows of one array X, with their targets y and sample weights (None: sᵢ = 1).

    The rows are ``rows`` (int64 row numbers of X) when it is not None, else
    ``lo … hi − 1`` (``hi`` None: to the end of X): exactly what the training kernel
    takes, so that X is never copied.
    """

    X: np.ndarray
    y: np.ndarray
    weight: Optional[np.ndarray]
    rows: Optional[np.ndarray] = None
    lo: int = 0
    hi: Optional[int] = None


class ColumnBlock(NamedTuple):
    """Some rows of a table's columns as a file was decoded into them, before any copy:
    ``columns`` are p contiguous float64 arrays of the block's n rows, each read as
    x′ = (x − μ)/σ (``mean``, ``scale``; None: as it is); ``y`` and ``weight`` (None:
    sᵢ = 1) hold one value per row of the block; the rows are ``rows`` (int64 row numbers)
    when it is not None, else all n.  A rule that can sum such a block where it lies offers
    ``rule.column_sums(θ, block, want_grad)`` (see ``Source.sum_blocks``)."""

    columns: list
    mean: Optional[np.ndarray]
    scale: Optional[np.ndarray]
    y: np.ndarray
    weight: Optional[np.ndarray] = None
    rows: Optional[np.ndarray] = None


class Source:
    """The interface every data source implements.

    - ``n_features``: the number of columns of every X.
    - ``n_samples``: how many rows the source covers.
    - ``weighted``: True when its rows carry sample weights sᵢ.
    - ``blocks()``: the :class:`RowBlock`s of one full pass, in order.
    - ``batches(batch_size, rng, shuffle)``: the mini-batches of one epoch, as pairs
      (batch, number of rows); ``select(batch)`` turns a batch into its RowBlock.
    - ``head(k)``: (X, y) of the first k rows, as float64 arrays (to show them).
    - ``labelled_rows()``: (X, y) of every row, in order.
    - ``sum_blocks(rule, θ, want_grad)``: Σ over ``blocks()`` of ``rule(θ, block,
      want_grad)`` (the partial-sums contract of ``objectives.base``), added in block order.
      Here the blocks are read and summed in this process one at a time; a source whose
      rows live elsewhere (``sources.dask.DaskSource``) runs ``rule`` where they are.  A
      source that reads files may first offer a block as it was decoded, a
      :class:`ColumnBlock`, to ``rule.column_sums`` when the rule has one: its sums, or None
      for "make the RowBlock" (the rule cannot take it, or a value needs looking at).
    """

    n_features: int
    weighted: bool

    @property
    def n_samples(self) -> int:
        raise NotImplementedError

    def blocks(self) -> Iterator[RowBlock]:
        raise NotImplementedError

    def batches(self, batch_size: int, rng: np.random.Generator, shuffle: bool = True):
        raise NotImplementedError

    def batches_per_epoch(self, batch_size: int) -> int:
        """How many mini-batches ``batches(batch_size, …)`` deals in one epoch."""
        counts = (len(b.rows) if b.rows is not None else (b.X.shape[0] if b.hi is None else b.hi) - b.lo
                  for b in self.blocks())
        return sum(-(-n // int(batch_size)) for n in counts)

    def sum_blocks(self, rule, theta, want_grad=True):
        total = None
        for block in self.blocks():
            total = add_sums(total, rule(theta, block, want_grad))
        if total is None:
            raise ValueError("the source gave no rows")
        return total

    def select(self, batch) -> RowBlock:
        raise NotImplementedError

    def head(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def labelled_rows(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


# --- what every source of blocks (a list, a stream, files, Dask partitions) does the same way ------
def cut_block(X, y, weight, size: int, order=None):
    """The mini-batches of one block (X, y, s), as (RowBlock, rows) pairs: its rows in ``order``
    (a permutation of them) or, without, in their own order, cut into pieces of at most
    ``size`` rows — a batch never crosses a block."""
    n = X.shape[0]
    for begin in range(0, n, size):
        end = min(n, begin + size)
        if order is None:
            yield RowBlock(X, y, weight, lo=begin, hi=end), end - begin
        else:
            yield RowBlock(X, y, weight, order[begin:end]), end - begin


def cut_blocks(blocks, size: int, rng=None):
    """The mini-batches of the blocks (X, y, s), in their order: each block's rows shuffled by
    ``rng`` (None: in their own order), the permutation drawn when the block is reached."""
    for X, y, weight in blocks:
        yield from cut_block(X, y, weight, size, None if rng is None else rng.permutation(X.shape[0]))


class BlocksSource(Source):
    """A source whose rows come as blocks (X, y, s) from ``_each()``, in order, and whose
    batches are RowBlocks cut from one block (rows are not numbered across blocks)."""

    def _each(self):
        raise NotImplementedError

    def blocks(self):
        for X, y, weight in self._each():
            yield RowBlock(X, y, weight)

    def select(self, batch) -> RowBlock:
        """A batch of a source of blocks is the RowBlock its ``batches()`` gave."""
        if not isinstance(batch, RowBlock):
            raise TypeError(f"a batch of a {type(self).__name__} is one that its batches() gives, got "
                            f"{type(batch).__name__}; rows are not numbered across blocks")
        return batch

    def head(self, k):
        """(X, y) of the first k rows, as float64 copies."""
        X_parts, y_parts, left = [], [], k
        for X, y, _ in self._each():
            if left <= 0:
                break
            X_parts.append(np.array(X[:left], dtype=np.float64))
            y_parts.append(np.array(y[:left], dtype=np.float64))
            left -= X_parts[-1].shape[0]
        return np.concatenate(X_parts), np.concatenate(y_parts)

    def labelled_rows(self):
        """(X, y) of every row, the blocks joined in order (a copy)."""
        parts = list(self._each())
        return np.concatenate([X for X, _, _ in parts]), np.concatenate([y for _, y, _ in parts])
