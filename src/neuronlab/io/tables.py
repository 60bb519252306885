"""Reading data for a neuron: files (CSV, TSV, Parquet, gzip CSV), data frames, arrays.

The path from a file to the numbers a neuron learns from is

    file ──pyarrow──▶ table ──prepare──▶ Dataset(X, y, feature_names, labels)

``read_table`` reads a file (or a built-in data set by name) with pyarrow;
``prepare`` picks the target and the feature columns, checks them (missing or
infinite values, text in a feature column, a target with one class) and turns them into a
float64 matrix X and a target vector y.  ``split_rows`` draws the validation rows
and :class:`Standardizer` rescales the features, x′ = (x − μ)/σ, with μ and σ of
the training rows only.

pyarrow (and pandas, when a data frame is passed) are imported inside the
functions that need them, so ``import neuronlab`` stays light.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from . import datasets
from ..core.split import stratified_split
from ..core.validation import classes_of, written_label
# typed-column reading is one idea, shared with the streamed reading of files (sources.files)
from ..sources.files import column_values as _column_values
from ..sources.files import file_format as _file_format
from ..sources.files import PARQUET_MAGIC
from ..sources.files import is_numeric as _is_numeric

__all__ = [
    "Dataset",
    "Standardizer",
    "read_table",
    "read_table_bytes",
    "as_table",
    "prepare",
    "load_dataset",
    "split_rows",
    "infer_task",
    "TASKS",
]

TASKS = ("classify", "regress")


@dataclass
class Dataset:
    """Numbers ready for a neuron.

    ``X`` (n_rows, n_features) float64; ``y`` the target (text labels stay text,
    ``labels`` lists the classes in order: ``labels[0]`` → 0, ``labels[1]`` → 1, …),
    or None when the data has no target column.  ``n_dropped`` rows were dropped
    for missing or infinite values (only with ``drop_missing=True``).
    """

    X: np.ndarray
    y: Optional[np.ndarray]
    feature_names: list[str]
    target: Optional[Union[str, list[str]]]  # several names: a regression with one y column each
    task: Optional[str]
    labels: Optional[list] = None
    source: str = "<data>"
    n_dropped: int = 0
    columns: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1: x′ = (x − μ) / σ.

    μ and σ come from the rows passed to ``fit`` (the training rows only, so the
    validation rows say honestly how the model does on data it has not seen).  A
    constant feature has σ = 0; its σ is taken as 1 so x′ = x − μ = 0.
    """

    def __init__(self, mean=None, scale=None):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    def fit(self, X) -> "Standardizer":
        X = np.asarray(X, dtype=np.float64)
        self.mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale == 0.0] = 1.0
        self.scale = scale
        return self

    def transform(self, X) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    def __repr__(self) -> str:
        return f"Standardizer(mean={self.mean}, scale={self.scale})"


# --- reading ------------------------------------------------------------------------
def _blank(stream_source, limit: int = 1 << 16) -> bool:
    """Whether the (decompressed) data holds nothing but white space: pyarrow calls both that
    and binary data it finds no line in an "Empty CSV file", and only the first is empty."""
    import pyarrow as pa

    with pa.input_stream(stream_source, compression="detect") as stream:
        head = stream.read(limit)
    return not head.strip() and len(head) < limit


#: seconds a pipe or FIFO may take to give its first bytes (a FIFO with no writer gives none)
PIPE_WAIT_SECONDS = 10.0


def _read_pipe(path: Path, source) -> bytes:
    """Everything a pipe or FIFO gives (``train <(zcat data.gz)``), read as a stream.  Nothing
    within PIPE_WAIT_SECONDS (a FIFO no program writes to) is an error, not a hang; a signal
    during the wait interrupts it."""
    import select

    from ..core.interrupt import pending_interrupt

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO with no writer does not wait
    try:
        deadline = time.monotonic() + PIPE_WAIT_SECONDS
        while not select.select([fd], [], [], 0.05)[0]:
            if pending_interrupt():
                raise KeyboardInterrupt
            if time.monotonic() > deadline:
                raise ValueError(f"{source}: a pipe that gave no data within {PIPE_WAIT_SECONDS:g} s (no program "
                                 "writes to it?); start the writer first, or give a file")
        os.set_blocking(fd, True)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            if pending_interrupt():
                raise KeyboardInterrupt
        return b"".join(chunks)
    finally:
        os.close(fd)


def _check_utf8(table, source):
    """Refuse text that is not UTF-8 — in the header or in a column (pyarrow reads such a
    column as bytes) — naming the column and the first row."""
    import pyarrow.types as pt

    try:
        names = list(table.column_names)
    except UnicodeDecodeError:
        raise ValueError(f"{source}: the header line is not UTF-8 text; save the file as UTF-8") from None
    for name, field in zip(names, table.schema):
        if pt.is_binary(field.type) or pt.is_large_binary(field.type):
            values = table.column(name).to_pylist()
            for row, value in enumerate(values, start=1):
                if value is None:
                    continue
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise ValueError(f"{source}: column {name!r}, row {row} (line {row + 1}): byte "
                                     f"0x{value[e.start]:02x} is not UTF-8 text; save the file as UTF-8") from None
    return table


def read_table(source):
    """Read a CSV, TSV, gzip-compressed CSV/TSV or Parquet file — or a built-in data set
    by name (see ``neuronlab datasets``) — into a ``pyarrow.Table``.

    The format comes from the file name (``.csv``, ``.tsv``, ``.parquet``, with an
    optional ``.gz``); a file that starts with Parquet's magic bytes is Parquet
    whatever its name.  A pipe or FIFO is read as a stream; a device (``/dev/zero``) is
    refused.  Every failure is a ValueError that names the file (and, for text that is
    not UTF-8, the column and the row).
    """
    if isinstance(source, str) and datasets.is_builtin(source) and not os.path.exists(source):
        return datasets.load_table(source)
    path = Path(source)
    if not path.exists():
        raise ValueError(
            f"{source}: no such file; give a CSV, TSV or Parquet file or a built-in data set "
            f"({', '.join(datasets.names())})"
        )
    if path.is_dir():
        raise ValueError(f"{source}: is a folder, not a data file; give a CSV, TSV or Parquet file")
    mode = path.stat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        from .atomic import file_kind

        raise ValueError(f"{source}: is a {file_kind(mode)}, not a data file; give a CSV, TSV or Parquet file")
    import pyarrow as pa

    if stat.S_ISFIFO(mode):  # a pipe (train <(zcat data.gz)): read as a stream, then parsed in memory
        data = _read_pipe(path, source)
        if not data.strip():
            raise ValueError(f"{source}: the pipe gave no data; it needs a header line and rows")
        buffer = pa.py_buffer(data)
        # a pipe's first bytes say whether it is gzip-compressed
        return _parse(source, lambda: _file_format(path, data[:4]),
                      lambda: pa.input_stream(buffer, compression="gzip" if data[:2] == b"\x1f\x8b" else None),
                      lambda: pa.BufferReader(buffer), lambda: False)

    def format_of():
        fmt = _file_format(path)
        if fmt != "parquet" and path.stat().st_size == 0:
            raise ValueError(f"{source}: the file is empty; it needs a header line and rows")
        return fmt

    return _parse(source, format_of, lambda: pa.input_stream(str(path), compression="detect"),
                  lambda: path, lambda: _blank(path))


def _parse(source, format_of, open_stream, parquet_input, is_blank):
    """The table in a file or in memory, read with pyarrow; every failure a ValueError naming
    ``source`` (what ``read_table`` and ``read_table_bytes`` share)."""
    import pyarrow as pa

    try:
        fmt = format_of()
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(parquet_input())
        else:
            import pyarrow.csv as pcsv

            parse = pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            with open_stream() as stream:
                table = pcsv.read_csv(stream, parse_options=parse)
        table = _check_utf8(table, source)
    except ValueError as e:  # pyarrow.ArrowInvalid is a ValueError
        # one line of printable text, even when pyarrow quotes a piece of a binary file
        message = " ".join("".join(c if c.isprintable() else " " for c in str(e)).split())
        if message.startswith(str(source)):
            raise
        if "Empty CSV file" in message and is_blank():
            raise ValueError(f"{source}: the file is empty; it needs a header line and rows") from None
        raise ValueError(f"{source}: cannot be read as {fmt.upper()}: {message[:300]}") from None
    except pa.ArrowCancelled:  # pyarrow stopped reading for a signal (Ctrl-C): not a bad file
        raise KeyboardInterrupt from None
    except (OSError, pa.ArrowException) as e:
        raise ValueError(f"{source}: cannot be read: {' '.join(str(e).split())[:300]}") from None
    return table


def read_table_bytes(content: bytes, name: str):
    """Read a file's bytes held in memory (an upload) into a ``pyarrow.Table``, as
    :func:`read_table` reads the file: the format from ``name`` (``.csv``, ``.tsv``,
    ``.parquet``, an optional ``.gz``) or Parquet's magic bytes, every failure a ValueError
    naming ``name``.  Nothing touches the file system."""
    import pyarrow as pa

    if not isinstance(content, (bytes, bytearray)):
        raise TypeError(f"content must be bytes, got {type(content).__name__}")
    suffixes = [x.lower() for x in Path(name).suffixes]
    gzipped = bool(suffixes) and suffixes[-1] in (".gz", ".gzip")
    last = (suffixes[:-1] if gzipped else suffixes) or [""]
    if content[:4] == PARQUET_MAGIC or last[-1] in (".parquet", ".pq"):
        fmt = "parquet"
    else:
        fmt = "tsv" if last[-1] in (".tsv", ".tab") else "csv"
    if not bytes(content).strip():
        raise ValueError(f"{name}: the file is empty; it needs a header line and rows")
    buffer = pa.py_buffer(bytes(content))
    return _parse(name, lambda: fmt,
                  lambda: pa.input_stream(buffer, compression="gzip" if gzipped else None),
                  lambda: pa.BufferReader(buffer), lambda: False)


def as_table(data, feature_names: Optional[Sequence[str]] = None):
    """Any supported input as a ``pyarrow.Table``: a path or built-in name, a pandas
    DataFrame, a pyarrow Table, a dict of columns, or a 2-D numpy array (its columns
    are named ``feature_names`` or x1, x2, …)."""
    import pyarrow as pa

    if isinstance(data, (str, os.PathLike)):
        return read_table(data)
    if isinstance(data, pa.Table):
        return data
    if hasattr(data, "columns") and hasattr(data, "iloc"):  # pandas DataFrame
        # names as str(c), set on the table rather than on a copy of the whole frame
        table = pa.Table.from_pandas(data, preserve_index=False)
        return table.rename_columns([str(c) for c in data.columns])
    if isinstance(data, dict):
        return pa.table({str(k): np.asarray(v) for k, v in data.items()})
    array = np.asarray(data)
    if array.ndim != 2:
        raise ValueError(f"data must be a table or a 2-D array, got an array of shape {array.shape}")
    names = list(feature_names) if feature_names is not None else [f"x{j + 1}" for j in range(array.shape[1])]
    if len(names) != array.shape[1]:
        raise ValueError(f"{len(names)} feature names for {array.shape[1]} columns")
    return pa.table({name: array[:, j] for j, name in enumerate(names)})


# --- from a table to numbers ----------------------------------------------------------
def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


#: the largest |x| a data file may hold: x² (a standard deviation, a squared error) stays finite
LARGEST_VALUE = 1e150


def _check_magnitude(source, names, X, skip, largest=LARGEST_VALUE) -> None:
    """Refuse a value so large that arithmetic on it overflows (|x| > ``largest``), naming
    the column and the first row; ``skip`` marks rows already known to be missing or infinite."""
    with np.errstate(invalid="ignore"):
        for j, name in enumerate(names):
            big = (np.abs(X[:, j]) > LARGEST_VALUE) & ~skip
            if big.any():
                row = int(np.argmax(big))
                raise ValueError(f"{source}: column {name!r}, row {row + 1} (line {row + 2}) holds {X[row, j]:g}, "
                                 f"too large to compute with (|x| ≤ {largest:g}); rescale the column "
                                 "or correct the value")


def _stray_text(column, limit: int = 1_000_000):
    """(row, text) of the first cell of a text column that is not a number when most of its cells
    are numbers (a typo in a numeric column), else None."""
    values = column.slice(0, limit).to_pylist()
    numbers = 0
    first = None
    for row, value in enumerate(values, start=1):
        if value is None or not str(value).strip():
            continue
        try:
            float(value)
            numbers += 1
        except (TypeError, ValueError):
            if first is None:
                first = (row, str(value)[:40])
    if first is not None and numbers > 2 and numbers >= len(values) // 2:
        return first
    return None


def _bad_values_error(source, bad_by_column: dict, n_bad: int, can_drop: bool) -> ValueError:
    """The error for missing (NaN, empty) or infinite values: each column with its row count."""
    kinds = [kind for kind in ("missing", "infinite") if any(counts[kind] for counts in bad_by_column.values())]
    details = []
    for name, counts in bad_by_column.items():
        present = [kind for kind in kinds if counts[kind]]
        if len(present) == 1:
            details.append(f"{name} ({_plural(counts[present[0]], 'row')})")
        else:
            both = ", ".join(_plural(counts[kind], "row") + " " + kind for kind in present)
            details.append(f"{name} ({both})")
    fix = "fill them in" if kinds == ["missing"] else "fill in or correct them"
    first = min(((name, counts["first"]) for name, counts in bad_by_column.items()), key=lambda item: item[1])
    advice = (f"{fix}, or drop those rows with drop_missing=True" if can_drop
              else f"remove those rows or {fix} (every row gets a prediction, so none is dropped)")
    return ValueError(
        f"{source}: {' or '.join(kinds)} values in column(s) {', '.join(details)}, "
        f"{_plural(n_bad, 'row')} in all (the first: row {first[1]}, column {first[0]!r}); {advice}"
    )


def _check_known_labels(y, labels, source, target):
    """(y, labels) for a classifier trained before: y must hold only its ``labels`` (one of
    them is enough, e.g. a test set of one class); a label it does not know is an error."""
    known = {written_label(label) for label in labels}
    # each distinct value written once (a per-row loop took seconds on a million rows)
    values, row_value = np.unique(y, return_inverse=True)
    written = [written_label(value) for value in values]
    unknown = sorted(set(written) - known)
    if unknown:
        raise ValueError(
            f"{source}: the target {target!r} has label(s) {', '.join(unknown)} that the model does not "
            f"know; its classes are {', '.join(written_label(label) for label in labels)}"
        )
    if all(isinstance(label, str) for label in labels):
        y = np.asarray(written, dtype=str)[row_value.ravel()]
    elif all(isinstance(label, (int, np.integer)) and not isinstance(label, bool) for label in labels):
        y = np.asarray(y, dtype=np.float64).astype(np.int64)
    return y, list(labels)


def infer_task(y: np.ndarray, is_text: bool) -> str:
    """'classify' for a text target or one with at most two distinct values, else 'regress'."""
    if is_text:
        return "classify"
    return "classify" if np.unique(y).shape[0] <= 2 else "regress"


def prepare(table, target: Optional[Union[str, Sequence[str]]] = None, features: Optional[Sequence[str]] = None, *,
            task: Optional[str] = None, drop_missing: bool = False, require_target: bool = True,
            labels: Optional[Sequence] = None, can_drop: bool = True, source: str = "<data>",
            largest: Optional[float] = None) -> Dataset:
    """Pick the target and feature columns of ``table`` and turn them into numbers.

    - ``target``: the column to learn; text targets are labels (two classes or more).  A
      list of several numeric columns is a regression with several outputs: y gets one
      column per target.
    - ``features``: the columns to learn from; default every other column (all must
      be numeric: a text column is an error that names it, never silently dropped).
    - ``task``: 'classify' or 'regress'; default: classify a text target or one with
      two distinct values, regress otherwise.
    - ``drop_missing``: drop the rows with a missing (NaN, empty) or infinite value
      (else it is an error that names the columns and counts the rows).
    - ``require_target=False``: the target column may be absent (for predicting).
    - ``labels``: the classes of a classifier trained before (for scoring it): the
      target may hold one or both of them, and any other label is an error naming it.
    - ``can_drop=False``: the caller cannot drop rows (predicting), so the error for a
      missing value advises removing or filling in the rows instead of drop_missing=True.
    - ``largest``: refuse a value with |x| > largest, naming its column and row (the command
      line passes LARGEST_VALUE: beyond it x² overflows and training or scaling gives NaN).
    """
    if table.num_columns == 0:
        raise ValueError(f"{source}: has no columns")
    columns = list(table.column_names)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        where = "; ".join(f"{name!r} is columns {', '.join(str(j + 1) for j, c in enumerate(columns) if c == name)}"
                          for name in repeated[:3])
        raise ValueError(f"{source}: the header names a column twice ({where}); give each column its own name")
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    targets = _target_names(target, columns)
    if targets:
        target = targets[0] if len(targets) == 1 else targets
    absent = [t for t in targets if t not in columns]
    has_target = bool(targets) and not absent
    if absent and require_target:
        raise ValueError(
            f"{source}: no column {absent[0]!r} to use as the target; the columns are: {', '.join(columns)}"
        )
    if features is None:
        features = [c for c in columns if c not in targets]
        if not features:
            raise ValueError(f"{source}: no feature columns besides the target {target!r}")
    else:
        features = list(features)
        if not features:
            raise ValueError(f"{source}: features names no columns; name at least one, or pass None "
                             "to learn from every column but the target")
        missing = [c for c in features if c not in columns]
        if missing:
            raise ValueError(
                f"{source}: missing feature column(s) {', '.join(missing)}; the columns are: {', '.join(columns)}"
            )
        both = [t for t in targets if t in features]
        if both:
            raise ValueError(f"{both[0]!r} is the target; it cannot also be a feature")
        if len(set(features)) != len(features):
            raise ValueError(f"features={features!r} lists a column twice")
    text = [c for c in features if not _is_numeric(table.schema.field(c).type)]
    if text:
        numeric = [c for c in features if c not in text]
        cell = _stray_text(table.column(text[0]))
        where = f" (column {text[0]!r}, row {cell[0]} (line {cell[0] + 1}) holds {cell[1]!r} among numbers)" if cell else ""
        raise ValueError(
            f"{source}: feature column(s) {', '.join(text)} are not numeric{where}; encode them as numbers, "
            f"correct the cell, or choose the features, e.g. features={numeric or ['A', 'B']!r}"
        )
    if table.num_rows == 0:
        raise ValueError(f"{source}: has a header but no rows of data")

    X = np.empty((table.num_rows, len(features)), dtype=np.float64, order="F")
    # missing (NaN, empty) and infinite values are found here, before any arithmetic on them
    bad_by_column = {}
    any_bad = np.zeros(table.num_rows, dtype=bool)

    def note_bad(name, missing, infinite):
        nonlocal any_bad
        if missing.any() or infinite.any():
            bad_by_column[name] = {"missing": int(missing.sum()), "infinite": int(infinite.sum()),
                                   "first": int(np.argmax(missing | infinite)) + 1}
            any_bad |= missing | infinite

    for j, name in enumerate(features):
        values, missing, infinite = _column_values(table.column(name), numeric=True)
        X[:, j] = values
        note_bad(name, missing, infinite)
    y = None
    target_is_text = False
    if has_target and len(targets) > 1:
        y = _several_targets(table, targets, task, source, note_bad)
        task = "regress"
    elif has_target:
        target_is_text = not _is_numeric(table.schema.field(target).type)
        cell = _stray_text(table.column(target)) if target_is_text else None
        if cell is not None:
            raise ValueError(f"{source}: the target {target!r} holds numbers but row {cell[0]} (line {cell[0] + 1}) "
                             f"holds {cell[1]!r}; correct or remove that row")
        y, missing, infinite = _column_values(table.column(target), numeric=not target_is_text)
        note_bad(target, missing, infinite)
    if largest is not None:
        _check_magnitude(source, features, X, any_bad, largest)
        if y is not None and not target_is_text:
            _check_magnitude(source, targets, y.reshape(len(y), -1), any_bad, largest)
    n_dropped = 0
    if bad_by_column:
        n_bad = int(any_bad.sum())
        if not drop_missing:
            raise _bad_values_error(source, bad_by_column, n_bad, can_drop)
        keep = ~any_bad
        X = np.asfortranarray(X[keep])
        y = None if y is None else y[keep]
        n_dropped = n_bad
        if X.shape[0] == 0:
            raise ValueError(f"{source}: every row has a missing or infinite value; nothing is left to learn from")

    known_labels, labels = labels, None
    if y is not None and y.ndim == 1:
        if target_is_text:
            y = y.astype(str)
        task = task or ("classify" if known_labels is not None else infer_task(y, target_is_text))
        if task == "regress" and target_is_text:
            raise ValueError(f"the target {target!r} holds text; it can only be classified (task='classify')")
        if task == "classify" and known_labels is not None:
            y, labels = _check_known_labels(y, known_labels, source, target)
        elif task == "classify":
            classes = classes_of(y, f"{source}: the target {target!r}")
            labels = classes.tolist()  # plain Python values: "Obese", 0, 2.5
            if not target_is_text and all(float(c) == int(c) for c in labels):
                labels = [int(c) for c in labels]
                y = y.astype(np.int64)
    return Dataset(X=X, y=y, feature_names=features, target=target if has_target else None, task=task,
                   labels=labels, source=source, n_dropped=n_dropped, columns=columns)


def target_names(target) -> list[str]:
    """A Dataset's or model's target as a list: [] (none), [name], or the several names."""
    return [] if target is None else [target] if isinstance(target, str) else list(target)


def _target_names(target, columns) -> list[str]:
    """The target column(s) as a list: none, one name, or several distinct names — given as a
    list, or as the command line writes them, "A,B" (unless a column is named "A,B")."""
    if target is None:
        return []
    if isinstance(target, str):
        several = target not in columns and "," in target
        names = [name.strip() for name in target.split(",")] if several else [target]
    else:
        names = list(target)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"target must name a column, or a list of columns, got {target!r}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"target={names!r} names the column {twice[0]!r} twice")
    return names


def _several_targets(table, targets, task, source, note_bad) -> np.ndarray:
    """y with one float64 column per target: several targets are regressed together (each a
    number per row), with each column's missing and infinite values noted as a feature's are."""
    if task == "classify":
        raise ValueError(f"several targets ({', '.join(targets)}) can only be regressed (task='regress'); "
                         "to classify, name one target")
    y = np.empty((table.num_rows, len(targets)), dtype=np.float64)
    for j, name in enumerate(targets):
        if not _is_numeric(table.schema.field(name).type):
            cell = _stray_text(table.column(name))
            where = f": row {cell[0]} (line {cell[0] + 1}) holds {cell[1]!r}" if cell else ""
            raise ValueError(f"{source}: the target {name!r} is not numeric{where}; several targets are "
                             "regressed together, so each must hold numbers (classify one target at a time)")
        values, missing, infinite = _column_values(table.column(name), numeric=True)
        y[:, j] = values
        note_bad(name, missing, infinite)
    return y


def load_dataset(data, target: Optional[str] = None, features: Optional[Sequence[str]] = None, *,
                 task: Optional[str] = None, drop_missing: bool = False, require_target: bool = True,
                 labels: Optional[Sequence] = None, can_drop: bool = True,
                 largest: Optional[float] = None) -> Dataset:
    """Read ``data`` (path, built-in name, DataFrame, Table, dict or array) and ``prepare`` it.

    A built-in data set knows its own target, so ``target`` may be left out for it.
    """
    if target is None and isinstance(data, str) and datasets.is_builtin(data) and not os.path.exists(data):
        target = datasets.info(data).target
    source = str(data) if isinstance(data, (str, os.PathLike)) else "data"
    return prepare(as_table(data), target, features, task=task, drop_missing=drop_missing,
                   require_target=require_target, labels=labels, can_drop=can_drop, source=source,
                   largest=largest)


def split_rows(n_rows: int, val_split: float, random_state, stratify=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): a random ``val_split`` share of the rows for validation.

    The rows are shuffled with ``numpy.random.default_rng(random_state).permutation``;
    the first round(val_split · n) of the shuffled indices are the validation rows.
    With ``stratify`` (the class of each row, for a classifier) the cut is made class by
    class, each sending about val_split of its rows (``core.split.stratified_split``), so
    training and validation keep the classes in the data's proportions; a class with one
    row is an error that names it.  Both index arrays are returned sorted, so rows keep
    their file order.
    """
    if isinstance(val_split, bool) or not isinstance(val_split, (int, float)) or not 0.0 <= val_split < 1.0:
        raise ValueError(f"val_split must be a number in [0, 1), got {val_split!r}")
    n_val = int(round(val_split * n_rows))
    if stratify is not None and n_val > 0:
        train, val = stratified_split(stratify, n_val, random_state,
                                      fix="give more rows of it or val_split=0")
    else:
        order = np.random.default_rng(random_state).permutation(n_rows)
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    if len(train) < 2:
        raise ValueError(f"only {len(train)} training row(s) are left after the validation split; "
                         "use more data or a smaller val_split")
    return train, val
