"""Rows on a Dask cluster: the partitions stay on the workers, θ goes out, p + 2 numbers come back.

The loss of a data set and its gradient are sums over its rows (``objectives.base``, the
partial-sums contract), so each worker sums its own partitions and the client adds the
pieces up:

    client ──θ, rule──▶ worker k: (Σ sᵢLᵢ, Σ sᵢ, Σ δᵢ·(xᵢ, 1)) over its partitions ──▶ client: Σ, finish, step

Each evaluation sends the objective's small picklable ``block_rule`` and θ (p + 1 numbers)
to every partition and gets p + 2 numbers back from each: the traffic of a step does not
depend on the number of rows.  The client adds the pieces in partition order, so the sum —
and so every step — is the same bits whichever worker computed which partition, and after
a worker dies and its partitions are rebuilt elsewhere from their lineage.

The partitions are Dask futures that hold (X, y, s) blocks on the workers:

- :meth:`DaskSource.from_arrays`: the row chunks of a Dask array X and y (rechunked to
  whole rows), computed once on the workers and kept there;
- :meth:`DaskSource.from_dataframe`: the partitions of a Dask DataFrame, each turned into
  numbers on its worker by ``sources.files.TableReader``;
- :meth:`DaskSource.from_files`: each worker reads its own Parquet row groups or CSV
  files (no copy of X ever passes through the client).

Mini-batches and the curvature read the partitions one at a time through the client
(``blocks()``); full-batch strategies (gradient descent, line search, L-BFGS) never
move rows.  dask and distributed are imported only here, and only when used.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..core.validation import label_places
from .base import BlocksSource, RowBlock, add_sums, cut_blocks

__all__ = ["DaskSource", "is_dask_collection", "connect"]


def is_dask_collection(data) -> bool:
    """Whether ``data`` is a Dask array or DataFrame/Series (without importing dask)."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "__dask_graph__")


def connect(address: Optional[str] = None):
    """A ``distributed.Client``: the current one when ``address`` is None and one exists;
    'local' or 'local:N' starts a LocalCluster of N single-threaded worker processes (N
    default 2); anything else is a scheduler address such as tcp://host:8786."""
    from distributed import Client, LocalCluster

    if address is None:
        try:
            from distributed import get_client

            return get_client()
        except ValueError:
            address = "local"
    if address == "local" or address.startswith("local:"):
        count = address.partition(":")[2] or "2"
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--dask {address}: the number of workers must be a whole number ≥ 1, "
                             "as in local:2")
        cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise ValueError(f"--dask {address}: cannot reach the scheduler: {' '.join(str(e).split())}") from None


# --- what runs on a worker (module-level functions: they pickle by name) -------------------------
def class_numbers(y, classes) -> np.ndarray:
    """A classifier's targets: the number of each row's class among the sorted ``classes``, as
    floats — 0.0 and 1.0 for two classes (1 for classes[1]), 0 … k − 1 for k; ValueError for a
    value that is not one of them."""
    y = np.asarray(y)
    places, found = label_places(y, classes)
    if not found.all():
        raise ValueError(f"y has the label {y[~found][0]!r}, which is not among the classes "
                         f"{', '.join(map(str, classes))}")
    return places


def _block_of_arrays(X, y, weight, classes):
    X = np.ascontiguousarray(X, dtype=np.float64) if X.dtype not in (np.float32, np.float64) \
        else np.ascontiguousarray(X)
    y = class_numbers(y, classes).astype(X.dtype, copy=False) if classes is not None else np.asarray(y).astype(X.dtype, copy=False)
    weight = None if weight is None else np.asarray(weight, dtype=X.dtype)
    return X, y, weight


_TARGET = "__neuronlab_target__"


def _block_of_pandas(frame, classes):
    target = frame[_TARGET].to_numpy()
    return _block_of_arrays(frame.drop(columns=[_TARGET]).to_numpy(dtype=np.float64), target, None, classes)


def _block_of_frame(frame, reader, where):
    X, y, _ = reader(frame, where)
    return X, y, None  # column-major, as the kernel reads it


def _block_of_piece(source, piece):
    parts = [(X, y) for X, y, _, _ in source.piece_blocks(piece)]
    if not parts:
        return np.empty((0, source.n_features)), np.empty(0), None
    # the blocks from the files are column-major, and so is their concatenation: the kernel reads
    # it column by column (made row-major, it would be a second copy of the partition)
    X = np.concatenate([X for X, _ in parts])
    return X, np.concatenate([y for _, y in parts]), None


def _scan_of_piece(source, piece):
    return source.scan_piece(piece)


def _apply(part, rule, theta, want_grad):
    X, y, weight = part
    if X.shape[0] == 0:
        return None
    return rule(theta, RowBlock(X, y, weight), want_grad)


def _rows(part):
    return part[0].shape[0]


class DaskSource(BlocksSource):
    """Rows held as blocks (X, y, s) on the workers of a Dask cluster (see the module docstring).

    ``parts`` are futures of such blocks, in order; ``client`` the ``distributed.Client``;
    ``labels`` and ``feature_names`` as the files or frame they were read from say.
    ``sum_blocks`` runs the rule on the workers and adds the pieces on the client in
    partition order.
    """

    def __init__(self, parts: Sequence, client, n_features: int, weighted: bool = False, labels=None,
                 feature_names=None):
        if not parts:
            raise ValueError("the Dask collection has no partitions")
        self.parts, self.client = list(parts), client
        self.n_features, self.weighted = int(n_features), bool(weighted)
        #: the classes the targets number (``labels[k]`` is k), as a FileSource's; None for numbers
        self.labels = None if labels is None else list(labels)
        self.feature_names = None if feature_names is None else list(feature_names)
        self._counts = None

    # --- building ---------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, X, y, sample_weight=None, *, classes=None, client=None) -> "DaskSource":
        """The rows of a 2-D Dask array X with targets y (a Dask or NumPy array) and optional
        weights: X is rechunked to whole rows and y to X's row chunks; each chunk becomes a
        block on a worker.  ``classes`` (sorted; a classifier's): y becomes each row's class
        number (see :func:`class_numbers`)."""
        import dask.array as da

        client = client or connect()
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array of rows, got {X.ndim} dimension(s)")
        X = X.rechunk({1: -1})
        y = da.asarray(y)
        if y.ndim != 1 or (not np.isnan(X.shape[0]) and y.shape[0] != X.shape[0]):
            raise ValueError(f"y must hold one target per row of X ({X.shape[0]}), got shape {y.shape}")
        y = y.rechunk((X.chunks[0],))
        weights = [None] * len(X.chunks[0])
        if sample_weight is not None:
            weights = da.asarray(sample_weight).rechunk((X.chunks[0],)).to_delayed().ravel().tolist()
        from dask import delayed

        blocks = [delayed(_block_of_arrays)(xb, yb, wb, classes)
                  for xb, yb, wb in zip(X.to_delayed().ravel(), y.to_delayed().ravel(), weights)]
        parts = client.compute(blocks)
        return cls(parts, client, X.shape[1], sample_weight is not None)

    @classmethod
    def from_frames(cls, X, y, *, classes=None, client=None) -> "DaskSource":
        """The rows of a Dask DataFrame X (numeric feature columns) and Series y, partition by
        partition: y joins X as one more column first (``X.assign``), so that each partition
        holds its rows' features and targets together — taking ``X.to_delayed()`` and
        ``y.to_delayed()`` apart would not do: dask may fuse a thin column's partitions
        differently from a wide frame's.  No partition sizes are computed beforehand and no
        row passes through the client."""
        from dask import delayed

        client = client or connect()
        text = [str(c) for c, kind in X.dtypes.items() if kind.kind not in "iufb"]
        if text:
            raise ValueError(f"feature column(s) {', '.join(text)} are not numeric; encode them as numbers or "
                             "leave them out")
        try:
            joined = X.assign(**{_TARGET: y})
        except (ValueError, TypeError, NotImplementedError) as e:
            raise ValueError(f"y must be a Dask Series with the rows of X, such as frame[target] beside "
                             f"frame[features]: {' '.join(str(e).split())}") from None
        blocks = [delayed(_block_of_pandas)(part, classes) for part in joined.to_delayed()]
        return cls(client.compute(blocks), client, len(X.columns))

    @classmethod
    def from_dataframe(cls, frame, reader, *, client=None) -> "DaskSource":
        """The partitions of a Dask DataFrame, each turned into (X, y) on its worker by
        ``reader`` (a ``sources.files.TableReader``: columns, classes, scaling)."""
        from dask import delayed

        client = client or connect()
        blocks = [delayed(_block_of_frame)(part, reader, f"partition {k}")
                  for k, part in enumerate(frame.to_delayed())]
        return cls(client.compute(blocks), client, len(reader.features), labels=reader.labels,
                   feature_names=reader.features)

    @classmethod
    def from_files(cls, source, *, client=None) -> "DaskSource":
        """The pieces of a ``sources.files.FileSource`` (Parquet row groups, CSV files), each
        read by a worker from the path: the files must be where every worker can read them
        (one machine, or a shared file system).  ``source``'s settings (columns, classes,
        scaling, part of a split) are those the workers read with."""
        client = client or connect()
        parts = client.map(_block_of_piece, [source] * len(source.pieces), source.pieces, pure=False)
        return cls(parts, client, source.n_features, labels=source.labels, feature_names=source.feature_names)

    @staticmethod
    def scan_files(source, *, client=None):
        """``source.scan()`` with each piece scanned on a worker and the scans merged here (and,
        as ``scan``, what it counted kept by ``source``)."""
        from .files import Scan

        client = client or connect()
        futures = client.map(_scan_of_piece, [source] * len(source.pieces), source.pieces, pure=False)
        return source.counted(Scan.merge(client.gather(futures)))

    # --- the Source interface -----------------------------------------------------------------
    def sum_blocks(self, rule, theta, want_grad=True):
        """Σ over the partitions of ``rule(θ, block, want_grad)``, each computed on the worker that
        holds the partition; the pieces come back and are added here in partition order."""
        theta = np.asarray(theta, dtype=np.float64)
        futures = self.client.map(_apply, self.parts, rule=rule, theta=theta, want_grad=want_grad, pure=False)
        total = None
        for piece in self.client.gather(futures):
            if piece is not None:
                total = add_sums(total, piece)
        if total is None:
            raise ValueError("the Dask collection has no rows")
        return total

    def _row_counts(self):
        if self._counts is None:
            self._counts = self.client.gather(self.client.map(_rows, self.parts, pure=False))
        return self._counts

    @property
    def n_samples(self) -> int:
        return int(sum(self._row_counts()))

    def _each(self, order=None):
        """(X, y, s) of every non-empty partition, brought to the client one at a time (what
        ``blocks()`` gives, for the curvature)."""
        for k in (range(len(self.parts)) if order is None else order):
            X, y, weight = self.parts[k].result()
            if X.shape[0]:
                yield X, y, weight

    def batches_per_epoch(self, batch_size):
        return sum(-(-n // int(batch_size)) for n in self._row_counts())

    def batches(self, batch_size, rng, shuffle=True):
        """Mini-batches: the partitions in an order drawn from ``rng``, each brought to the
        client and cut into batches of its rows shuffled by ``rng``."""
        size = int(batch_size)
        order = rng.permutation(len(self.parts)) if shuffle else None
        yield from cut_blocks(self._each(order), size, rng if shuffle else None)
