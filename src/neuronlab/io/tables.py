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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import datasets
from ..core.split import stratified_split
from ..core.validation import binary_classes, written_label
# typed-column reading is one idea, shared with the streamed reading of files (sources.files)
from ..sources.files import column_values as _column_values
from ..sources.files import file_format as _file_format
from ..sources.files import is_numeric as _is_numeric

__all__ = [
    "Dataset",
    "Standardizer",
    "read_table",
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
    ``labels`` lists the two classes in order: ``labels[0]`` → 0, ``labels[1]`` → 1),
    or None when the data has no target column.  ``n_dropped`` rows were dropped
    for missing or infinite values (only with ``drop_missing=True``).
    """

    X: np.ndarray
    y: Optional[np.ndarray]
    feature_names: list[str]
    target: Optional[str]
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
def _blank(path: Path, limit: int = 1 << 16) -> bool:
    """Whether the (decompressed) file holds nothing but white space: pyarrow calls both that
    and binary data it finds no line in an "Empty CSV file", and only the first is empty."""
    import pyarrow as pa

    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(limit)
    return not head.strip() and len(head) < limit


def read_table(source):
    """Read a CSV, TSV, gzip-compressed CSV/TSV or Parquet file — or a built-in data set
    by name (see ``neuronlab datasets``) — into a ``pyarrow.Table``.

    The format comes from the file name (``.csv``, ``.tsv``, ``.parquet``, with an
    optional ``.gz``); a file that starts with Parquet's magic bytes is Parquet
    whatever its name.  Every failure is a ValueError that names the file.
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
    import pyarrow as pa

    try:
        fmt = _file_format(path)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        else:
            import pyarrow.csv as pcsv

            if path.stat().st_size == 0:
                raise ValueError(f"{source}: the file is empty; it needs a header line and rows")
            parse = pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            with pa.input_stream(str(path), compression="detect") as stream:
                table = pcsv.read_csv(stream, parse_options=parse)
    except ValueError as e:  # pyarrow.ArrowInvalid is a ValueError
        # one line of printable text, even when pyarrow quotes a piece of a binary file
        message = " ".join("".join(c if c.isprintable() else " " for c in str(e)).split())
        if message.startswith(str(source)):
            raise
        if "Empty CSV file" in message and _blank(path):
            raise ValueError(f"{source}: the file is empty; it needs a header line and rows") from None
        raise ValueError(f"{source}: cannot be read as {fmt.upper()}: {message}") from None
    except pa.ArrowCancelled:  # pyarrow stopped reading for a signal (Ctrl-C): not a bad file
        raise KeyboardInterrupt from None
    except (OSError, pa.ArrowException) as e:
        raise ValueError(f"{source}: cannot be read: {' '.join(str(e).split())}") from None
    return table


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
    advice = (f"{fix}, or drop those rows with --drop-missing (drop_missing=True)" if can_drop
              else f"remove those rows or {fix} (every row gets a prediction, so none is dropped)")
    return ValueError(
        f"{source}: {' or '.join(kinds)} values in column(s) {', '.join(details)}, "
        f"{_plural(n_bad, 'row')} in all; {advice}"
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


def prepare(table, target: Optional[str] = None, features: Optional[Sequence[str]] = None, *,
            task: Optional[str] = None, drop_missing: bool = False, require_target: bool = True,
            labels: Optional[Sequence] = None, can_drop: bool = True, source: str = "<data>") -> Dataset:
    """Pick the target and feature columns of ``table`` and turn them into numbers.

    - ``target``: the column to learn; text targets are labels (two classes).
    - ``features``: the columns to learn from; default every other column (all must
      be numeric: a text column is an error that names it, never silently dropped).
    - ``task``: 'classify' or 'regress'; default: classify a text target or one with
      two distinct values, regress otherwise.
    - ``drop_missing``: drop the rows with a missing (NaN, empty) or infinite value
      (else it is an error that names the columns and counts the rows).
    - ``require_target=False``: the target column may be absent (for predicting).
    - ``labels``: the two classes of a classifier trained before (for scoring it): the
      target may hold one or both of them, and any other label is an error naming it.
    - ``can_drop=False``: the caller cannot drop rows (predicting), so the error for a
      missing value advises removing or filling in the rows instead of --drop-missing.
    """
    if table.num_columns == 0:
        raise ValueError(f"{source}: has no columns")
    columns = list(table.column_names)
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    has_target = target is not None and target in columns
    if target is not None and not has_target and require_target:
        raise ValueError(
            f"{source}: no column {target!r} to use as the target; the columns are: {', '.join(columns)}"
        )
    if features is None:
        features = [c for c in columns if c != target]
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
        if target in features:
            raise ValueError(f"{target!r} is the target; it cannot also be a feature")
        if len(set(features)) != len(features):
            raise ValueError(f"features lists a column twice: {', '.join(features)}")
    text = [c for c in features if not _is_numeric(table.schema.field(c).type)]
    if text:
        numeric = [c for c in features if c not in text]
        raise ValueError(
            f"{source}: feature column(s) {', '.join(text)} are not numeric; encode them as numbers "
            f"or choose the features, e.g. --features {','.join(numeric) or 'A,B'}"
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
            bad_by_column[name] = {"missing": int(missing.sum()), "infinite": int(infinite.sum())}
            any_bad |= missing | infinite

    for j, name in enumerate(features):
        values, missing, infinite = _column_values(table.column(name), numeric=True)
        X[:, j] = values
        note_bad(name, missing, infinite)
    y = None
    target_is_text = False
    if has_target:
        target_is_text = not _is_numeric(table.schema.field(target).type)
        y, missing, infinite = _column_values(table.column(target), numeric=not target_is_text)
        note_bad(target, missing, infinite)
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
    if y is not None:
        if target_is_text:
            y = y.astype(str)
        task = task or ("classify" if known_labels is not None else infer_task(y, target_is_text))
        if task == "regress" and target_is_text:
            raise ValueError(f"the target {target!r} holds text; it can only be classified (--task classify)")
        if task == "classify" and known_labels is not None:
            y, labels = _check_known_labels(y, known_labels, source, target)
        elif task == "classify":
            classes = binary_classes(
                y, f"{source}: the target {target!r}", " — use --task regress for a number"
            )
            labels = classes.tolist()  # plain Python values: "Obese", 0, 2.5
            if not target_is_text and all(float(c) == int(c) for c in labels):
                labels = [int(c) for c in labels]
                y = y.astype(np.int64)
    return Dataset(X=X, y=y, feature_names=features, target=target if has_target else None, task=task,
                   labels=labels, source=source, n_dropped=n_dropped, columns=columns)


def load_dataset(data, target: Optional[str] = None, features: Optional[Sequence[str]] = None, *,
                 task: Optional[str] = None, drop_missing: bool = False, require_target: bool = True,
                 labels: Optional[Sequence] = None, can_drop: bool = True) -> Dataset:
    """Read ``data`` (path, built-in name, DataFrame, Table, dict or array) and ``prepare`` it.

    A built-in data set knows its own target, so ``target`` may be left out for it.
    """
    if target is None and isinstance(data, str) and datasets.is_builtin(data) and not os.path.exists(data):
        target = datasets.info(data).target
    source = str(data) if isinstance(data, (str, os.PathLike)) else "data"
    return prepare(as_table(data), target, features, task=task, drop_missing=drop_missing,
                   require_target=require_target, labels=labels, can_drop=can_drop, source=source)


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
                                      fix="give more rows of it or --val-split 0")
    else:
        order = np.random.default_rng(random_state).permutation(n_rows)
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    if len(train) < 2:
        raise ValueError(f"only {len(train)} training row(s) are left after the validation split; "
                         "use more data or a smaller --val-split")
    return train, val
