"""Rows streamed from files: CSV, TSV or Parquet, one file, a folder or a glob of them.

A file larger than memory is read a block of rows at a time (pyarrow's Parquet reader,
row group by row group; a CSV file in ranges of whole rows, each parsed by pyarrow's read_csv,
or by its streaming reader), each block turned into numbers
by :class:`TableReader` — the typed-column reading ``io.tables`` uses for a file read
whole — and handed to the objective as a :class:`~neuronlab.sources.base.RowBlock`, or, for a
full pass of a rule that reads columns where they lie (the neuron's kernel), as a
:class:`~neuronlab.sources.base.ColumnBlock` without that copy.
Memory holds one block at a time, whatever the size of the files.

    file(s) ──pyarrow, block by block──▶ record batch ──TableReader──▶ (X, y) ──▶ J, ∇J sums
                                            │   ▲
          first pass over a piece: written  ▼   │  every later pass: read back, not decoded
                                   cache of decoded blocks on local disk (sources.cache)

:meth:`FileSource.scan` is one streaming pass that finds what training needs before the
first step: the number of rows, the classes of the target, and μ and σ of every feature
(merged block by block, Chan et al.'s parallel formula), so that the standardisation
x′ = (x − μ)/σ of each block is the one of the whole data.

A validation share is drawn row by row from the seed, block by block (the rows of block
j of piece k are held back by ``default_rng([seed, k, j]).random(n) < val_split``):
the same rows whatever order the blocks are read in, with no list of row numbers kept.

pyarrow is imported inside the functions that read, so ``import neuronlab`` stays light.
"""

from __future__ import annotations

import glob as _glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np

from ..core.validation import label_places, written_label
from .base import BlocksSource, ColumnBlock, RowBlock, add_sums, cut_blocks
from .cache import block_cache

__all__ = ["FileSource", "TableReader", "Scan", "data_files", "file_format", "column_values",
           "is_numeric", "DATA_SUFFIXES"]

PARQUET_MAGIC = b"PAR1"
#: the names of the files a folder's data is read from
DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".csv.gz", ".tsv.gz")
#: rows per block: 65,536 rows × 50 float64 features is 26 MB
BLOCK_ROWS = 1 << 16
#: bytes of CSV text per range: an uncompressed CSV/TSV file is cut into ranges of whole rows
#: (at the last newline of each), every range parsed at once on pyarrow's threads — the way its
#: whole-file read_csv parses, at its rate — while the rows of the range before are summed (the
#: read-ahead thread); memory holds a few ranges' text and tables, whatever the file's size.  On
#: the bench's 197 MB CSV, epochs in ranges of 4, 8 and 16 MB made 1.23×, 1.21× and 1.08× the
#: whole-file read_csv's rate at load 4.5, peaking at 171, 204 and 249 MB resident (the 1 MB
#: streaming reader: 182 MB) (BENCHMARKS.md, issue 15)
CSV_RANGE_BYTES = 8 << 20
#: how many ranges of a CSV file are parsed at once (see ``_csv_blocks``): two made an epoch over
#: the bench's CSV 1.06× and 1.07× pyarrow's whole-file read_csv against 0.98× and 0.97× for one
#: (ad hoc, 9 interleaved rounds each, medians; the ranges alone went from 0.82× to 1.00×)
CSV_RANGES_IN_FLIGHT = 2
#: bytes of CSV text per block of pyarrow's streaming reader, parsed on one thread: the route of a
#: compressed file, and of the rest of a file from the first range holding a quote (a quoted value
#: may hold a newline, so a newline there need not end a row); of the streaming routes
#: bench_beyond_memory.py times, 1 MB on one thread was the fastest (BENCHMARKS.md, issue 15)
CSV_BLOCK_BYTES = 1 << 20


# --- typed columns: one idea, used for a file read whole (io.tables) and block by block -----------
def is_numeric(arrow_type) -> bool:
    """Whether a pyarrow column type holds numbers (integers, floats, booleans, or only nulls)."""
    import pyarrow.types as pt

    return pt.is_integer(arrow_type) or pt.is_floating(arrow_type) or pt.is_boolean(arrow_type) \
        or pt.is_null(arrow_type)


def float_values(column) -> np.ndarray:
    """A numeric pyarrow column (integers, floats, booleans, nulls) as float64 values, NaN for
    its nulls, an integer beyond 2⁵³ as the nearest float64 (as NumPy's astype, and as a reader
    parses its digits); a float64 column without nulls is not copied."""
    import pyarrow as pa

    if column.type != pa.float64():  # a cast to its own type still costs a call into pyarrow
        column = column.cast(pa.float64(), safe=False)  # safe: an error for 2⁵³ + 1
    return column.to_numpy(zero_copy_only=False)


def column_values(column, numeric: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing mask, infinite mask) of a pyarrow column; numbers as float64 with NaN
    for nulls (a text column has no infinite values)."""
    if numeric:
        values = float_values(column)
        return values, np.isnan(values), np.isinf(values)
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return values, missing, np.zeros(len(values), dtype=bool)


def fill_columns(batch, features, X, mean=None, scale=None) -> np.ndarray:
    """Write the ``features`` columns of ``batch`` (a pyarrow RecordBatch or Table of numeric
    columns) into the column-major float64 ``X`` (rows × features), as x′ = (x − μ)/σ when
    ``mean`` and ``scale`` are given (as io.tables.Standardizer: the same bits; nulls become
    NaN); returns one flag per column: True when its sum is not finite — when it holds a NaN or
    ±∞ (or finite values whose sum overflows: the caller looks at a flagged column value by
    value).  Column by column, while the column is in cache: its copy, its scaling, its sum.

    Column-major because it is the cheapest layout to write from Arrow's columns: a row-major
    fill (to feed the kernel's compiled engine) measured 3–5× slower on 65,536 × 50 Parquet
    blocks (BENCHMARKS.md, issue 15).  A full pass of the neuron's kernel needs no such copy
    (``TableReader.column_block``); this one serves the rest — mini-batches, networks, Dask
    partitions, and a block with a missing or infinite value."""
    standardise = mean is not None
    flags = np.zeros(len(features), dtype=bool)
    batch = _one_chunk(batch, features)
    for j, name in enumerate(features):
        values = X[:, j]
        column = float_values(batch.column(name))
        if standardise:
            np.subtract(column, mean[j], out=values)
            values /= scale[j]
        else:
            values[...] = column
        flags[j] = not np.isfinite(values.sum())
    return flags


def _one_chunk(batch, features):
    """``batch`` with each of the ``features`` columns in one chunk (a pyarrow Table's column may
    come in several): one copy inside pyarrow costs less than NumPy's calls chunk by chunk (an
    8 MB CSV range is parsed in 8 chunks)."""
    import pyarrow as pa

    if isinstance(batch, pa.Table) and any(column.num_chunks > 1 for column in batch.columns):
        return batch.select(features).combine_chunks()
    return batch


def file_format(path, head: bytes = None) -> str:
    """'parquet', 'tsv' or 'csv' from the name (and the Parquet magic bytes, read from the file
    or given as ``head``: a pipe's first bytes)."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".tsv", ".tab"):
        return "tsv"
    if head is None:
        with open(path, "rb") as f:
            head = f.read(4)
    return "parquet" if head[:4] == PARQUET_MAGIC else "csv"


def data_files(data) -> list[str]:
    """The files ``data`` names: a file, a folder (its data files, sorted by name; hidden
    files and files that are not CSV/TSV/Parquet are left out) or a glob pattern (sorted).
    ValueError naming ``data`` when it names none."""
    if isinstance(data, (list, tuple)):
        files = [str(f) for f in data]
    elif os.path.isdir(data):
        files = sorted(str(p) for p in Path(data).iterdir()
                       if p.is_file() and not p.name.startswith((".", "_"))
                       and p.name.lower().endswith(DATA_SUFFIXES))
        if not files:
            raise ValueError(f"{data}: the folder holds no CSV, TSV or Parquet files")
    elif any(c in str(data) for c in "*?["):
        files = sorted(f for f in _glob.glob(str(data)) if os.path.isfile(f))
        if not files:
            raise ValueError(f"{data}: the pattern matches no files")
    else:
        if not os.path.exists(data):
            raise ValueError(f"{data}: no such file or folder")
        files = [str(data)]
    formats = {("parquet" if file_format(f) == "parquet" else "text") for f in files}
    if len(formats) > 1:
        raise ValueError(f"{data}: mixes Parquet and CSV/TSV files; keep one format per data set")
    return files


def _one_line(error) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in str(error)).split())


# --- from a table (or record batch) to numbers ----------------------------------------------------
class TableReader:
    """Turns a block of a table (a pyarrow RecordBatch or Table, or a pandas DataFrame) into
    the numbers a neuron trains on: (X float64 C-order, y, rows kept), small and picklable
    (a Dask worker converts its own partitions with it).

    - ``features``, ``target``: the columns; text in a feature column is an error naming it.
    - ``labels``: the two classes of a classifier: y = 1.0 for ``labels[1]``, 0.0 for
      ``labels[0]``, an error for any other value; None keeps y as numbers (regression) —
      or, with ``raw_target``, as it is, text or numbers (the first pass, that finds the classes).
    - ``mean``, ``scale``: x′ = (x − μ)/σ on every block, when given.
    - ``drop_missing``: rows with a missing or infinite value are dropped (else an error
      that names the columns).
    """

    def __init__(self, features: Sequence[str], target: Optional[str], *, labels=None, mean=None,
                 scale=None, drop_missing=False, raw_target=False):
        self.features, self.target = list(features), target
        self.labels = None if labels is None else list(labels)
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)
        self.drop_missing, self.raw_target = bool(drop_missing), bool(raw_target)
        self._schema_checked = None  # the last schema that passed _checked (every block has it)

    def columns(self) -> list[str]:
        return self.features + ([self.target] if self.target is not None else [])

    def __call__(self, batch, where: str, out: Optional[np.ndarray] = None):
        """(X, y, kept) of ``batch``: X (rows × features, float64, column-major: each column is
        one contiguous copy of the file's column — the cheapest layout to write from Arrow's
        columns, see :func:`fill_columns`), y, and ``kept`` — None when every row is kept, else
        the mask of the rows kept (``drop_missing``).  ``where`` names the file (and block) in
        errors.  ``out``: a flat float64 buffer of at least rows × features values, reused block
        after block (X is then a column-major view of its first values — itself contiguous, as
        the compiled kernel needs — valid until the next block is written into it): a fresh
        array of a block's size would cost its page faults at every block."""
        batch = self._checked(batch, where)
        n = batch.num_rows
        p = len(self.features)
        if out is not None and out.ndim == 1 and out.shape[0] >= n * p:
            X = out[:n * p].reshape((n, p), order="F")
        else:
            X = np.empty((n, len(self.features)), dtype=np.float64, order="F")
        # each column written in one pass as x′ = (x − μ)/σ (as io.tables.Standardizer: the same
        # bits) while noting whether it holds a NaN or ±∞: p flags instead of a mask of n × p;
        # only a flagged column is looked at value by value
        flags = fill_columns(batch, self.features, X, self.mean, self.scale)
        bad, bad_columns = None, []
        for j in np.flatnonzero(flags):
            finite = np.isfinite(X[:, j])
            if not finite.all():
                bad = ~finite if bad is None else bad | ~finite
                bad_columns.append(self.features[j])
        y = None
        if self.target is not None:
            column = batch.column(self.target)
            y, missing, infinite = column_values(column, numeric=is_numeric(column.type))
            if missing.any() or infinite.any():
                bad = (missing | infinite) if bad is None else bad | missing | infinite
                bad_columns.append(self.target)
        kept = None
        if bad_columns:
            if not self.drop_missing:
                raise ValueError(f"{where}: missing or infinite values in column(s) {', '.join(bad_columns)} "
                                 f"({int(bad.sum())} rows); fill them in, or drop those rows with "
                                 "drop_missing=True")
            kept = ~bad
            X = np.asfortranarray(X[kept])
            y = None if y is None else y[kept]
        if y is not None and not self.raw_target:
            y = self._target(y, where)
        return X, y, kept

    def column_block(self, batch, where: str) -> Optional[ColumnBlock]:
        """``batch`` as a :class:`ColumnBlock`: its feature columns as pyarrow decoded them (a
        float64 column without nulls is not copied), to be read as x′ = (x − μ)/σ, and y as
        :meth:`__call__` gives it — or None when the rows need :meth:`__call__`: a missing or
        infinite target, or no learned target yet.  (A missing or infinite feature value is
        found by whoever sums the block, which then calls :meth:`__call__`.)"""
        if self.target is None or self.raw_target:
            return None
        batch = self._checked(batch, where)
        column = batch.column(self.target)
        if column.null_count:
            return None
        numeric = is_numeric(column.type)
        y = float_values(column) if numeric else column_values(column, numeric=False)[0]
        if numeric and not np.isfinite(y).all():
            return None
        batch = _one_chunk(batch, self.features)
        columns = [np.ascontiguousarray(float_values(batch.column(name))) for name in self.features]
        return ColumnBlock(columns, self.mean, self.scale, self._target(y, where))

    def _checked(self, batch, where):
        """``batch`` as a pyarrow RecordBatch or Table (a pandas partition converted) with every
        column named, the features numeric; else a ValueError naming ``where`` and the column."""
        import pyarrow as pa

        if not isinstance(batch, (pa.RecordBatch, pa.Table)):  # a pandas partition (Dask)
            batch = pa.Table.from_pandas(batch, preserve_index=False)
        schema = batch.schema
        if self._schema_checked is not None and schema.equals(self._schema_checked):
            return batch
        names = schema.names
        missing_columns = [c for c in self.columns() if c not in names]
        if missing_columns:
            raise ValueError(f"{where}: no column(s) {', '.join(missing_columns)}; its columns are "
                             f"{', '.join(names)}")
        for name in self.features:
            column_type = schema.field(name).type
            if not is_numeric(column_type):
                raise ValueError(f"{where}: feature column {name} is not numeric ({column_type}); encode "
                                 "it as numbers or leave it out of --features")
        self._schema_checked = schema
        return batch

    def _target(self, y, where):
        """y as the objective learns it: numbers as they are (regression), or each class's
        position in ``labels`` — 0.0 or 1.0 for two classes, 0 … k − 1 for k (the hook a
        softmax objective reads)."""
        if self.labels is None:
            if y.dtype == object:
                raise ValueError(f"{where}: the target {self.target!r} holds text; it can only be classified")
            return y
        text = y.dtype == object
        known = np.asarray([str(label) for label in self.labels] if text else
                           [float(label) for label in self.labels])
        values = y.astype(str) if text else y
        index, found = label_places(values, known)
        if not found.all():
            other = values[~found][0]
            shown = " and ".join(written_label(label) for label in self.labels)
            extra = "a third class" if len(known) == 2 else "a class"
            raise ValueError(f"{where}: the target {self.target!r} has {extra} {written_label(other)} besides "
                             f"{shown}" + ("; a single neuron separates two" if len(known) == 2 else ""))
        return index


# --- the first pass: rows, classes, μ and σ ------------------------------------------------------
#: the scan keeps at most this many distinct target values (a model file holds at most as many
#: classes); one more means "more than that": a number to regress on, not classes
MAX_CLASSES = 10_000


@dataclass
class Scan:
    """What one pass over the (training) rows found: ``n_rows`` kept, ``n_dropped``, the
    feature means ``mean`` and population standard deviations ``std`` (σ of a constant
    feature is 0), the distinct target values ``classes`` (sorted; at most ``MAX_CLASSES`` + 1,
    the last meaning "more than that"), ``target_is_text``; ``sizes``, the rows of each
    block in the order a full pass reads them, and ``n_held``, the rows held back for
    validation (the other part of a split), so that neither has to be counted again;
    ``target_mean``, the mean of a numeric target (None for text)."""

    n_rows: int
    n_dropped: int
    mean: np.ndarray
    std: np.ndarray
    classes: list
    target_is_text: bool
    sizes: tuple = ()
    n_held: int = 0
    target_mean: Optional[float] = None

    @staticmethod
    def merge(parts: Sequence["Scan"], n_features: Optional[int] = None) -> "Scan":
        """The scan of the union of disjoint row sets, given in reading order (Chan, Golub &
        LeVeque's pairwise update of the mean and of M2 = Σ(x − μ)²): what every worker's or
        block's scan adds up to.  With no rows at all: an empty scan of ``n_features`` columns
        when given, else an error."""
        n, mean, m2, target = 0, None, None, None
        dropped, held, values, text, sizes = 0, 0, set(), False, []
        for part in parts:
            dropped += part.n_dropped
            held += part.n_held
            sizes.extend(part.sizes)
            values.update(part.classes)
            text = text or part.target_is_text
            if part.n_rows == 0:
                continue
            part_m2 = part.std ** 2 * part.n_rows
            if mean is None:
                n, mean, m2 = part.n_rows, part.mean.copy(), part_m2
                target = part.target_mean
                continue
            total = n + part.n_rows
            delta = part.mean - mean
            mean = mean + delta * (part.n_rows / total)
            m2 = m2 + part_m2 + delta ** 2 * (n * part.n_rows / total)
            if target is not None and part.target_mean is not None:
                target += (part.target_mean - target) * (part.n_rows / total)
            n = total
        classes = sorted(values, key=_label_key)[:MAX_CLASSES + 1]
        if mean is None:
            if n_features is None:
                raise ValueError("no rows are left to train on")
            return Scan(0, dropped, np.zeros(n_features), np.zeros(n_features), classes, text, tuple(sizes), held)
        return Scan(n, dropped, mean, np.sqrt(m2 / n), classes, text, tuple(sizes), held,
                    None if text else target)

    @staticmethod
    def of_block(X, y, n_dropped, n_held=0) -> "Scan":
        text = y is not None and y.dtype == object
        if y is None:
            classes = []
        else:
            distinct = np.unique(y.astype(str) if text else y)[:MAX_CLASSES + 1]
            classes = [str(v) if text else float(v) for v in distinct]
        n = X.shape[0]
        if n == 0:
            return Scan(0, n_dropped, np.zeros(X.shape[1]), np.zeros(X.shape[1]), classes, text, (0,), n_held)
        target_mean = None if y is None or text else float(np.mean(y))
        return Scan(n, n_dropped, X.mean(axis=0), X.std(axis=0), classes, text, (n,), n_held, target_mean)


def _label_key(value):
    return (isinstance(value, str), value)


# --- the pieces of a data set: a Parquet row group, or a whole CSV file ---------------------------
@dataclass(frozen=True)
class Piece:
    """One independently readable part of the data: row group ``row_group`` of a Parquet file,
    or a whole CSV/TSV file (``row_group`` None).  ``number`` orders the pieces."""

    number: int
    path: str
    fmt: str
    row_group: Optional[int] = None
    n_rows: Optional[int] = None


def _pieces(files, where) -> list[Piece]:
    """The pieces of every file; a Parquet file whose footer cannot be read is an error that
    names it, before any row is read."""
    pieces = []
    for path in files:
        fmt = file_format(path)
        if fmt != "parquet":
            if os.path.getsize(path) == 0:
                raise ValueError(f"{path}: the file is empty; it needs a header line and rows")
            pieces.append(Piece(len(pieces), path, fmt))
            continue
        import pyarrow.parquet as pq

        try:
            metadata = pq.ParquetFile(path).metadata
        except Exception as e:  # ArrowInvalid, OSError: a truncated or corrupt file
            raise ValueError(f"{path}: cannot be read as Parquet: {_one_line(e)}") from None
        for group in range(metadata.num_row_groups):
            pieces.append(Piece(len(pieces), path, fmt, group, metadata.row_group(group).num_rows))
    if not pieces:
        raise ValueError(f"{where}: holds no rows")
    return pieces


def _schema_names(piece: Piece) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    try:
        if piece.fmt == "parquet":
            return list(pq.ParquetFile(piece.path).schema_arrow.names)
        parse = pcsv.ParseOptions(delimiter="\t" if piece.fmt == "tsv" else ",")
        with pa.input_stream(piece.path, compression="detect") as stream:
            reader = pcsv.open_csv(stream, parse_options=parse)
            return list(reader.schema.names)
    except ValueError as e:
        raise ValueError(f"{piece.path}: cannot be read as {piece.fmt.upper()}: {_one_line(e)}") from None


def read_piece(piece: Piece, columns, block_rows=BLOCK_ROWS, target=None, target_is_text=None, opened=None):
    """The record batches of one piece — a Parquet row group in batches of at most ``block_rows``
    rows, a CSV file in ranges of whole rows (see :func:`_csv_blocks`) —, only ``columns``
    (typed: the features as float64; the target as text when ``target_is_text``).  Any
    failure to read is a ValueError that names the file.  ``opened``: a dict that keeps the
    last Parquet file opened, for the next row group of the same file (opening one reads and
    parses its footer again: 0.35 ms for 51 columns)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    try:
        if piece.fmt == "parquet":
            reader = None if opened is None else opened.get(piece.path)
            if reader is None:
                reader = pq.ParquetFile(piece.path)
                if opened is not None:
                    opened.clear()  # one file open at a time
                    opened[piece.path] = reader
            if piece.n_rows is not None and piece.n_rows <= block_rows:
                # the row group whole, in one call: the route of least CPU per row (BENCHMARKS.md, issue 15)
                yield reader.read_row_group(piece.row_group, columns=list(columns))
            else:
                yield from reader.iter_batches(batch_size=block_rows, row_groups=[piece.row_group],
                                               columns=list(columns))
            return
        types = {c: pa.float64() for c in columns if c != target}
        if target is not None and target_is_text is not None:
            types[target] = pa.string() if target_is_text else pa.float64()
        convert = pcsv.ConvertOptions(include_columns=list(columns), column_types=types)
        yield from _csv_blocks(piece.path, "\t" if piece.fmt == "tsv" else ",", convert, block_rows)
    except pa.ArrowCancelled:
        raise KeyboardInterrupt from None
    except (ValueError, OSError, pa.ArrowException) as e:  # ArrowInvalid is a ValueError
        message = _one_line(e)
        if message.startswith(piece.path):
            raise ValueError(message) from None
        raise ValueError(f"{piece.path}: cannot be read as {piece.fmt.upper()}: {message}") from None


def _compressed(path) -> bool:
    """Whether pyarrow reads ``path`` through a decompressor (.gz, .bz2, .zst, .lz4, …)."""
    import pyarrow as pa

    try:
        pa.Codec.detect(str(path))
    except (TypeError, ValueError):
        return False
    return True


def _header_end(data: bytes) -> int:
    """Where the first row of ``data`` ends: after its first newline outside quotes (an even
    number of quote characters before it); the end of ``data`` when it has no newline and no
    open quote; −1 when a quote is still open at its end."""
    at, quotes = 0, 0
    while True:
        newline = data.find(b"\n", at)
        end = len(data) if newline < 0 else newline + 1
        quotes += data.count(b'"', at, end)
        if quotes % 2 == 0:
            return end
        if newline < 0:
            return -1
        at = end


def _csv_blocks(path, delimiter, convert, block_rows):
    """The record batches (or tables) of a CSV/TSV file: ranges of ``CSV_RANGE_BYTES`` cut at
    their last newline, each parsed whole with pyarrow's threads and handed out in blocks of
    at most ``block_rows`` rows.  A newline ends a row unless it is inside quotes, so the ranges
    stop at the first range that holds a quote character after the header (or no newline at
    all: a row longer than a range): from that row on, which begins a row since no quote came
    before it, the file is read by pyarrow's streaming reader, which allows newlines in quoted
    values.  A compressed file is read by that reader from the start.  The cuts depend on the
    bytes of the file only, so the blocks are the same at every pass.  After the first range
    (whose types hold for the rest), ``CSV_RANGES_IN_FLIGHT`` ranges are parsed at once, and
    handed out in file order."""
    import collections
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.csv as pcsv

    parse = pcsv.ParseOptions(delimiter=delimiter)
    names, start = None, 0

    def parsed(data, cut, read, convert):
        return pcsv.read_csv(pa.py_buffer(memoryview(data)[:cut]), read_options=read, parse_options=parse,
                             convert_options=convert)

    def sliced(table):
        for first in range(0, table.num_rows, block_rows):
            yield table.slice(first, block_rows)

    if not _compressed(path):
        # after the first range, ranges are parsed CSV_RANGES_IN_FLIGHT at a time (each by
        # pyarrow's threads): a parse that ends on one thread leaves the other core to the next
        # range's parse, as a single read of the whole file keeps both busy
        pool = ThreadPoolExecutor(CSV_RANGES_IN_FLIGHT, thread_name_prefix="neuronlab-csv")
        in_flight = collections.deque()
        ended = False  # at the end of the file: no rows left for the streaming reader
        try:
            with open(path, "rb") as f:
                while True:
                    data = f.read(CSV_RANGE_BYTES)
                    if not data:
                        ended = True
                        break
                    cut = len(data) if len(data) < CSV_RANGE_BYTES else data.rfind(b"\n") + 1
                    body = 0
                    if names is None:  # the header (quoted or not: pyarrow's writer quotes names)
                        body = _header_end(data)
                        if body < 0 or not data[:body].strip():
                            break
                        names = pcsv.read_csv(pa.py_buffer(memoryview(data)[:body]),
                                              parse_options=parse).column_names
                        read = pcsv.ReadOptions(use_threads=True)
                    else:
                        read = pcsv.ReadOptions(use_threads=True, column_names=names)
                    if cut <= body or data.find(b'"', body) >= 0:
                        break
                    if start == 0:  # the types inferred from the first range hold for the rest, as
                        # the streaming reader's from its first block (a later value of another type
                        # is an error, not a column of two types)
                        table = parsed(data, cut, read, convert)
                        convert = pcsv.ConvertOptions(include_columns=convert.include_columns, column_types={
                            field.name: field.type for field in table.schema})
                        yield from sliced(table)
                    else:
                        in_flight.append(pool.submit(parsed, data, cut, read, convert))
                        if len(in_flight) == CSV_RANGES_IN_FLIGHT:
                            yield from sliced(in_flight.popleft().result())
                    del data
                    start += cut
                    f.seek(start)
            while in_flight:  # every range before the end, or before the first quote, in order
                yield from sliced(in_flight.popleft().result())
        finally:
            for future in in_flight:
                future.cancel()
            pool.shutdown(wait=True)
        if ended:
            return
    # from the start (the header read again) or from the row at ``start`` (the header's names given)
    read = pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False,
                            column_names=names if start else None)
    parse = pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    if start == 0:
        stream = pa.input_stream(path, compression="detect")
    else:
        stream = pa.OSFile(path)
        stream.seek(start)
    with stream:
        yield from pcsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)


def _read_ahead(blocks, depth: int = 1):
    """The items of the iterator ``blocks``, produced by a second thread at most ``depth``
    items ahead; an error there is raised here, and leaving early stops the thread."""
    import queue
    import threading

    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in blocks:
                while not stop.is_set():
                    try:
                        ahead.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put((done, None))
        except BaseException as error:  # handed to the consumer, raised there
            ahead.put((done, error))

    thread = threading.Thread(target=produce, name="neuronlab-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ahead.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let a producer blocked on a full queue see the stop
            try:
                ahead.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)


class _BlockSettings(NamedTuple):
    """What decides a piece's blocks, as a cache entry records it."""

    columns: tuple
    block_rows: int
    target: Optional[str]
    target_is_text: Optional[bool]


class _Summed(NamedTuple):
    """A block already summed where pyarrow decoded it: its ``sums`` and its ``n`` rows."""

    sums: tuple
    n: int


def validation_mask(seed, piece_number, block_number, n, val_split):
    """Which rows of block ``block_number`` of piece ``piece_number`` are held back."""
    return np.random.default_rng([int(seed), int(piece_number), int(block_number)]).random(n) < val_split


class FileSource(BlocksSource):
    """The rows of CSV/TSV/Parquet files, streamed: never more than one block in memory.

    ``data``: a file, a folder of files, a glob pattern, or a list of paths (one format).
    ``target`` and ``features`` (default: every other column) name the columns; ``labels``,
    ``mean``/``scale`` and ``drop_missing`` say how a block becomes numbers (see
    :class:`TableReader`; :meth:`scan` finds them).  ``part`` is None (every row),
    'train' or 'validation', with ``val_split`` and ``seed`` choosing the held-back rows
    (see the module docstring).  ``block_rows`` bounds a block.

    A full pass reads the pieces (Parquet row groups, CSV files) in order, block by block.
    Mini-batches: each epoch visits the pieces in an order drawn from ``rng`` and cuts
    each block's rows, shuffled by ``rng``, into batches of at most ``batch_size`` — so a
    batch never crosses a block, and the same seed gives the same batches.
    ``rows_read`` counts the rows every pass has read (for a rate).

    ``cache``: where passes after a piece's first read its blocks from (see
    :mod:`~neuronlab.sources.cache`): True (the default) a cache in
    :func:`~neuronlab.sources.cache.default_folder` ($NEURONLAB_CACHE_DIR, else the temporary
    folder unless it is held in memory), a folder a cache there, False none (every pass decodes
    the files), or a :class:`~neuronlab.sources.cache.BlockCache` to share.  :meth:`configured`
    shares its cache.
    """

    def __init__(self, data, target: Optional[str], features: Optional[Sequence[str]] = None, *,
                 labels=None, mean=None, scale=None, drop_missing=False, part=None, val_split=0.0, seed=0,
                 block_rows: int = BLOCK_ROWS, target_is_text=None, cache=True):
        if part not in (None, "train", "validation"):
            raise ValueError(f"part must be None, 'train' or 'validation', got {part!r}")
        if not 0.0 <= float(val_split) < 1.0:
            raise ValueError(f"val_split must be in [0, 1), got {val_split!r}")
        self.data = data
        self.files = data_files(data)
        self.pieces = _pieces(self.files, data)
        names = _schema_names(self.pieces[0])
        if target is not None and target not in names:
            raise ValueError(f"{self.files[0]}: no column {target!r} to use as the target; the columns are: "
                             f"{', '.join(names)}")
        if features is None:
            features = [c for c in names if c != target]
        else:
            features = list(features)
            absent = [c for c in features if c not in names]
            if absent:
                raise ValueError(f"{self.files[0]}: missing feature column(s) {', '.join(absent)}; the columns "
                                 f"are: {', '.join(names)}")
            if target in features:
                raise ValueError(f"{target!r} is the target; it cannot also be a feature")
        if not features:
            raise ValueError(f"{data}: no feature columns besides the target {target!r}")
        self.target, self.feature_names = target, features
        # until the classes are known (target_is_text None: before the scan) the target is read as it is
        self.reader = TableReader(features, target, labels=labels, mean=mean, scale=scale,
                                  drop_missing=drop_missing, raw_target=labels is None and target_is_text is None)
        self.target_is_text = target_is_text
        self.part, self.val_split, self.seed = part, float(val_split), int(seed)
        self.block_rows = int(block_rows)
        self.cache = block_cache(cache)
        self.n_features = len(features)
        self.weighted = False
        self.rows_read = 0
        # counted by a pass (the scan, or a full pass): the rows, the rows of each block, and the rows
        # of the other part of the split — so that n_samples never costs a pass of its own
        self._n_samples, self._sizes, self._n_held = None, None, None

    #: the settings that choose which rows a pass gives (and how they fall into blocks)
    ROW_SETTINGS = ("target", "features", "drop_missing", "part", "val_split", "seed", "block_rows")

    def configured(self, **changes) -> "FileSource":
        """The same files with other settings (``labels``, ``mean``, ``scale``, ``part``, …).
        What a pass has counted carries over when the rows stay the same (other classes or
        scaling), and to the other part of the same split (train ↔ validation)."""
        settings = dict(target=self.target, features=self.feature_names, labels=self.reader.labels,
                        mean=self.reader.mean, scale=self.reader.scale, drop_missing=self.reader.drop_missing,
                        part=self.part, val_split=self.val_split, seed=self.seed, block_rows=self.block_rows,
                        target_is_text=self.target_is_text, cache=self.cache)
        changed = {name for name in self.ROW_SETTINGS if name in changes and changes[name] != settings[name]}
        settings.update(changes)
        source = FileSource(self.files, settings.pop("target"), settings.pop("features"), **settings)
        if not changed:
            source._n_samples, source._sizes, source._n_held = self._n_samples, self._sizes, self._n_held
        elif changed == {"part"} and {self.part, source.part} == {"train", "validation"} and self.val_split > 0:
            source._n_samples, source._n_held = self._n_held, self._n_samples
        return source

    @property
    def labels(self):
        """The classes (``labels[k]`` is learned as k: 0.0 and 1.0 for two), or None for a
        regression target."""
        return self.reader.labels

    def __getstate__(self):  # a Dask worker reads its pieces once: the cache's files stay here
        state = dict(self.__dict__)
        state["cache"] = None
        return state

    # --- reading ------------------------------------------------------------------------------
    def _read(self, pieces):
        """(piece, block number, record batch) of every block of ``pieces``, as pyarrow reads them
        (or, after a piece's first pass, as the cache gives them back)."""
        columns = self.reader.columns()
        opened = {}
        for piece in pieces:
            def read(piece=piece):
                return read_piece(piece, columns, self.block_rows, self.target, self.target_is_text, opened)

            if self.cache is None:
                batches = read()
            else:  # a Parquet file's types are its own, a CSV file's the reader's
                text = None if piece.fmt == "parquet" else self.target_is_text
                batches = self.cache.blocks(piece, _BlockSettings(tuple(columns), self.block_rows, self.target, text),
                                            read, self._target_typed)
            for number, batch in enumerate(batches):
                yield piece, number, batch

    @staticmethod
    def _target_typed(settings_then, settings, schema):
        """For a CSV piece cached by a pass that read its target as pyarrow inferred it (the scan,
        before the target's kind is known), a function that turns those blocks into the ones read
        now with the target typed — or None (read the file again).  Text read as inferred is
        already text; integers become float64 rounded to the nearest, as the reader parses their
        digits; any other difference is not adapted."""
        import pyarrow as pa
        import pyarrow.types as pt

        target, text = settings.target, settings.target_is_text
        if (settings_then._replace(target_is_text=text) != settings or settings_then.target_is_text is not None
                or text is None or target is None):
            return None
        typed = schema.field(target).type
        if text:
            return (lambda batch: batch) if pt.is_string(typed) else None
        if pt.is_float64(typed):
            return lambda batch: batch
        if not pt.is_integer(typed):
            return None
        place = schema.get_field_index(target)
        fields = [schema.field(k).with_type(pa.float64()) if k == place else schema.field(k)
                  for k in range(len(schema))]
        as_floats = pa.schema(fields, metadata=schema.metadata)

        def as_float(batch):  # RecordBatch.set_column needs pyarrow 16
            columns = [batch.column(k).cast(pa.float64(), safe=False) if k == place else batch.column(k)
                       for k in range(batch.num_columns)]
            return pa.RecordBatch.from_arrays(columns, schema=as_floats)

        return as_float

    def _convert(self, piece, number, batch, out=None):
        """(X, y, n_dropped, n_held) of block ``number`` of ``piece``: its numbers (``TableReader``,
        into ``out`` when given), then only the rows of this ``part``; ``n_held`` counts the rows
        of the other part."""
        X, y, kept = self.reader(batch, self._where(piece), out)
        dropped = 0 if kept is None else int(kept.size - kept.sum())
        keep = self._part_rows(piece, number, batch.num_rows, kept)
        held_back = 0
        if keep is not None:
            held_back = int(X.shape[0] - keep.sum())
            X, y = X[keep], None if y is None else y[keep]
        self.rows_read += X.shape[0]
        return X, y, dropped, held_back

    @staticmethod
    def _where(piece):
        return piece.path if piece.row_group is None else f"{piece.path} (row group {piece.row_group})"

    def _part_rows(self, piece, number, n_read, kept=None):
        """Which of block ``number``'s rows (those ``kept`` of the ``n_read`` read) are in this
        ``part``: a mask over the kept rows, or None for all of them."""
        if self.part is not None and self.val_split > 0:
            held = validation_mask(self.seed, piece.number, number, n_read, self.val_split)
            if kept is not None:  # the mask is drawn over the rows as read; keep those still there
                held = held[kept]
            return ~held if self.part == "train" else held
        if self.part == "validation":
            return np.zeros(n_read if kept is None else int(kept.sum()), dtype=bool)
        return None

    def _column_block(self, piece, number, batch) -> Optional[ColumnBlock]:
        """Block ``number`` of ``piece`` as a :class:`ColumnBlock` of this part's rows, or None
        (see ``TableReader.column_block``)."""
        block = self.reader.column_block(batch, self._where(piece))
        if block is None:
            return None
        keep = self._part_rows(piece, number, batch.num_rows)
        return block if keep is None else block._replace(rows=np.flatnonzero(keep).astype(np.int64))

    def piece_blocks(self, piece: Piece):
        """(X, y, n_dropped, n_held) of every block of one piece, the rows of this ``part`` only."""
        for _, number, batch in self._read([piece]):
            yield self._convert(piece, number, batch)

    def _each(self, order=None, reuse=False, summing=None):
        """(X, y, None) of every non-empty block, the pieces in ``order``.  A second thread reads the
        next blocks with pyarrow (which lets go of the interpreter while it decodes) while this
        one turns a block into numbers and sums it, so that reading overlaps arithmetic on two
        cores.  ``reuse``: every X is written into one buffer, valid until the next block is
        asked for (for a caller that is done with a block when it asks for the next).

        ``summing``: (rule, θ, want_grad) of a rule with ``column_sums``, which sums a
        :class:`ColumnBlock` where pyarrow decoded it (without the copy X is), or returns None,
        and ``takes_columns(n_rows, p)``, asked before the block is built; a block it sums is
        given as a :class:`_Summed` (its sums and its number of rows) instead."""
        pieces = self.pieces if order is None else [self.pieces[k] for k in order]
        buffer = None
        for piece, number, batch in _read_ahead(self._read(pieces), depth=2):
            if summing is not None and summing[0].takes_columns(batch.num_rows, self.n_features):
                rule, theta, want_grad = summing
                block = self._column_block(piece, number, batch)
                n = batch.num_rows if block is None or block.rows is None else block.rows.shape[0]
                sums = None if block is None or not n else rule.column_sums(theta, block, want_grad)
                if sums is not None:
                    self.rows_read += n
                    yield _Summed(sums, n)
                    continue
            if reuse and (buffer is None or buffer.shape[0] < batch.num_rows * self.n_features):
                buffer = np.empty(batch.num_rows * self.n_features)
            X, y, _, _ = self._convert(piece, number, batch, buffer)
            if X.shape[0]:
                yield X, y, None

    def scan(self) -> Scan:
        """One pass over this part's rows: their count, dropped rows, μ and σ of each feature,
        the target's distinct values and the rows of each block (see :class:`Scan`).  Each
        piece is scanned on its own and the scans merged, as Dask workers would.  The count is
        kept: ``n_samples`` (and that of the other part, see :meth:`configured`) needs no pass."""
        return self.counted(Scan.merge([self.scan_piece(piece) for piece in self.pieces]))

    def counted(self, scan: Scan) -> Scan:
        """Keep what ``scan`` (of this source's rows) counted; returns it."""
        self._n_samples, self._sizes, self._n_held = scan.n_rows, [n for n in scan.sizes if n], scan.n_held
        return scan

    def scan_piece(self, piece: Piece) -> Scan:
        return Scan.merge([Scan.of_block(X, y, dropped, held) for X, y, dropped, held in self.piece_blocks(piece)],
                          self.n_features)

    # --- the Source interface -----------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        if self._n_samples is None:
            for _ in self._count(self._each()):  # one counting pass
                pass
        return self._n_samples

    def _count(self, blocks):
        """The blocks of a full pass (of :meth:`_each`), counted on the way."""
        sizes = []
        for block in blocks:
            sizes.append(block.n if isinstance(block, _Summed) else block[0].shape[0])
            yield block
        self._sizes, self._n_samples = sizes, sum(sizes)

    def blocks(self):
        for X, y, weight in self._count(self._each()):
            yield RowBlock(X, y, weight)

    def sum_blocks(self, rule, theta, want_grad=True):
        """Σ over a full pass of ``rule(θ, block, want_grad)``, in block order.  A block goes
        first, as pyarrow decoded it, to ``rule.column_sums`` when the rule has one (the
        neuron's kernel reads the columns where they are, standardising as it reads); else,
        or when that returns None, it is written into a buffer reused for every block (the
        rule is done with one before the next is read)."""
        summing = (rule, theta, want_grad) if hasattr(rule, "column_sums") else None
        total = None
        for block in self._count(self._each(reuse=True, summing=summing)):
            total = add_sums(total, block.sums if isinstance(block, _Summed) else
                             rule(theta, RowBlock(*block), want_grad))
        if total is None:
            raise ValueError(f"{self.data}: no rows to sum")
        return total

    def batches_per_epoch(self, batch_size):
        if self._sizes is None:
            self._n_samples = None
            self.n_samples  # one counting pass
        return sum(-(-n // int(batch_size)) for n in self._sizes)

    def batches(self, batch_size, rng, shuffle=True):
        """The mini-batches of one epoch (see the class docstring); the order of the pieces is
        drawn when this is called, each block's permutation when the block is read."""
        size = int(batch_size)
        order = rng.permutation(len(self.pieces)) if shuffle else None
        return cut_blocks(self._each(order), size, rng if shuffle else None)
