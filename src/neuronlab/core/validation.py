"""Input checks for the estimators: every message names the input and the fix.

The rules and wording follow scikit-learn's ``check_array``/``validate_data`` so
that the estimators behave like any other scikit-learn estimator, without
importing scikit-learn (it is not a run-time dependency).
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import sys
import warnings

import numpy as np

from .threads import pool_threads

__all__ = [
    "DataConversionWarning",
    "NotFittedError",
    "ConvergenceWarning",
    "sklearn_flavoured",
    "check_is_fitted",
    "check_X",
    "check_y",
    "classes_of",
    "label_places",
    "check_sample_weight",
    "check_random_state",
    "feature_names_of",
    "check_positive",
    "check_tol",
    "user_stacklevel",
]

#: the folder of the neuronlab package: frames whose code lies under it are the library's
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn``, called in the function that warns, that points
    the warning at the first line outside neuronlab — the user's call — however many of the
    library's functions lie between (a fit in memory, on a data source, through partial_fit…)."""
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def check_positive(name, value, integer=False):
    """A setting that must be a finite number > 0 (a whole one with ``integer``): η, a budget,
    a patience, ε…  TypeError for a non-number, ValueError for one out of range."""
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be a {'whole ' if integer else ''}number, got {value!r}")
    if not (value > 0) or not math.isfinite(value):
        raise ValueError(f"{name} must be > 0, got {value!r}")


def check_tol(tol):
    """A stopping tolerance: a number ≥ 0 (``not tol >= 0`` also refuses NaN)."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)) or not tol >= 0:
        raise ValueError(f"tol must be a number ≥ 0, got {tol!r}")


class DataConversionWarning(UserWarning):
    """Input was converted (e.g. a column-vector y raveled to 1-D)."""


class NotFittedError(ValueError, AttributeError):
    """The estimator was used before ``fit``."""


class ConvergenceWarning(UserWarning):
    """A fit ended without converging (budget spent, diverged, or separable data)."""


@functools.lru_cache(maxsize=None)
def _with_sklearn_base(cls, sklearn_cls):
    return type(cls.__name__, (cls, sklearn_cls), {"__module__": cls.__module__})


def sklearn_flavoured(cls):
    """``cls``, or — when scikit-learn is already imported — a subclass of both ``cls``
    and scikit-learn's class of the same name, so that code catching or filtering
    scikit-learn's NotFittedError, ConvergenceWarning or DataConversionWarning also
    sees ours.  scikit-learn is never imported for this."""
    module = sys.modules.get("sklearn.exceptions")
    sklearn_cls = getattr(module, cls.__name__, None) if module is not None else None
    return cls if sklearn_cls is None else _with_sklearn_base(cls, sklearn_cls)


def feature_names_of(X):
    """Column names of a data frame as an object array, or None (all names must be strings)."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc") and not hasattr(X, "schema"):
        return None
    names = np.asarray(list(columns), dtype=object)
    kinds = {type(n) is str or isinstance(n, str) for n in names}
    if kinds == {True}:
        return names
    if True in kinds:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {sorted({type(n).__name__ for n in names})} as feature name / "
            "column name types; convert them all to str, e.g. X.columns = X.columns.astype(str)"
        )
    return None


def check_X(X, name="X", ensure_min_samples=1, dtype=None):
    """Return X as a 2-D float array (float32 kept, everything else float64), or as
    ``dtype`` when given; values are checked finite after that one conversion (a
    float64 1e300 becomes inf in float32).

    No copy is made when X already is a float array of the dtype wanted.
    """
    if X is None:
        raise ValueError(f"{name} is None; pass a 2-D array of shape (n_samples, n_features)")
    if hasattr(X, "tocsr") or hasattr(X, "tocoo"):  # scipy.sparse, without importing it
        raise TypeError(
            f"{name} is a sparse matrix, which is not supported: pass a dense array "
            "(for example X.toarray())"
        )
    if hasattr(X, "columns") and hasattr(X, "dtypes"):  # data frame: look at each column
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            bad = [str(c) for c, t in zip(X.columns, X.dtypes) if getattr(t, "kind", "O") not in "biuf"]
            raise ValueError(
                f"{name} has non-numeric columns {bad}; encode them as numbers or drop them"
            ) from None
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported in {name}; pass real numbers")
    if X.dtype.kind not in "biuf":
        try:
            X = X.astype(np.float64)
        except TypeError as e:
            raise TypeError(f"{name} must hold numbers only: {e}") from None
        except ValueError as e:
            raise ValueError(f"{name} must hold numbers only ({e}); encode text columns as numbers") from None
    if X.ndim != 2:
        if X.ndim == 1:
            raise ValueError(
                f"Expected 2D array, got 1D array instead for {name} (shape {X.shape}). Reshape "
                "your data either using array.reshape(-1, 1) if your data has a single feature "
                "or array.reshape(1, -1) if it contains a single sample."
            )
        raise ValueError(f"Expected 2D array for {name}, got an array with {X.ndim} dimensions (shape {X.shape})")
    if X.shape[0] < ensure_min_samples:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) while a minimum of "
            f"{ensure_min_samples} is required: {name} is empty"
        )
    if X.shape[1] < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required: "
            f"{name} has no columns"
        )
    if dtype is not None:
        with np.errstate(over="ignore"):  # an overflow becomes inf, which the check below names
            X = X.astype(dtype, copy=False)
    elif X.dtype not in (np.float64, np.float32):
        X = X.astype(np.float64)
    _check_finite(X, name)
    return X


#: rows of X checked at a time for NaN/inf: np.isfinite makes one bool per value, and a
#: whole-array check would add n×p bytes (1/8 of a float64 X) to the peak memory of a fit
FINITE_CHECK_BYTES = 1 << 22


#: from this size on (bytes of X) the blocks are checked on threads (NumPy's sum lets go of
#: the interpreter): as many as the compiled passes may use (``core.threads.pool_threads``)
FINITE_CHECK_THREADED_BYTES = 1 << 26


def _block_is_finite(block):
    """True when no value of ``block`` is NaN or ±∞: its sum is finite (one read, no n×p array
    of bools), or, when the sum is not (NaN/∞ — or finite values whose sum overflows),
    every value is.  The sum's own overflow and NaN notices are not the user's concern."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = block.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(block).all())


def _check_finite(X, name):
    block = max(1, FINITE_CHECK_BYTES // max(1, X.shape[1]))
    starts = range(0, X.shape[0], block)
    threads = pool_threads()
    if X.nbytes >= FINITE_CHECK_THREADED_BYTES and len(starts) > 1 and threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            finite = list(pool.map(lambda start: _block_is_finite(X[start:start + block]), starts))
    else:
        finite = [_block_is_finite(X[start:start + block]) for start in starts]
    for start, ok in zip(starts, finite):
        if ok:
            continue
        count = sum(
            int((~np.isfinite(X[s:s + block])).sum()) for s in range(start, X.shape[0], block)
        )
        rows, cols = np.nonzero(~np.isfinite(X[start:start + block]))
        row, col = start + rows[0], cols[0]
        what = "NaN" if np.isnan(X[row, col]) else "infinity"
        raise ValueError(
            f"Input {name} contains {what}: {count} value(s) are NaN or infinite, the first at "
            f"row {row}, column {col}; remove or impute them"
        )


def check_y(y, n_samples, numeric=True, name="y"):
    """Return y as a 1-D array of length ``n_samples`` (a column vector is raveled with a warning)."""
    if y is None:
        raise ValueError(
            "this estimator requires y to be passed, but the target y is None"
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            sklearn_flavoured(DataConversionWarning)(
                "A column-vector y was passed when a 1d array was expected. Please change the "
                "shape of y to (n_samples,), for example using ravel()."
            ),
            stacklevel=user_stacklevel(),
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{n_samples}, "
            f"{y.shape[0]}]: X has {n_samples} rows but {name} has {y.shape[0]}"
        )
    if numeric:
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must hold numbers for regression, got dtype {y.dtype}") from None
        y = y.astype(np.float64, copy=False)
        if not np.isfinite(y).all():
            raise ValueError(
                f"Input {name} contains NaN or infinity ({int((~np.isfinite(y)).sum())} values); "
                "remove those rows"
            )
    elif y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"Input {name} contains NaN or infinity; remove those rows")
    elif y.dtype.kind == "O" and any(v is None or (isinstance(v, float) and v != v) for v in y):
        raise ValueError(f"Input {name} contains missing labels (None/NaN); remove those rows")
    return y


def written_label(value) -> str:
    """A class as a person writes it: 'Obese', 0, 2.5 — not np.str_('Obese') or np.float64(0.0)."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def classes_of(y, what="y"):
    """The sorted classes of ``y``; an error naming ``what`` when there is only one."""
    classes = np.unique(y)
    if classes.shape[0] < 2:
        raise ValueError(
            f"{what} has only one class ({written_label(classes[0])}): a classifier needs examples of two "
            "classes to learn where one ends and the other begins"
        )
    return classes


#: up to this many labels, :func:`label_places` compares each value with each label; above, it
#: searches the sorted labels
FEW_LABELS = 16


def label_places(values, labels):
    """(places, found) for each of ``values``: its label's position k in ``labels`` (float64,
    0.0 … len(labels) − 1; 0.0 where not found) and whether it is one of ``labels`` at all.
    Values and labels compare as they are (numbers with numbers, text with text).

    Up to ``FEW_LABELS`` labels: places = Σₖ k·[value = labelₖ], one vectorised comparison per
    label and no branch per row — a binary search per row, or a write through a mask,
    mispredicts its branches on shuffled labels (about 1 ms per 65,536 rows for two labels,
    against 0.1 ms).  Above that, a binary search in the sorted labels (log k comparisons per
    row, not k)."""
    values = np.asarray(values)
    labels = np.asarray(labels)
    if len(labels) <= FEW_LABELS:
        places = np.zeros(values.shape)
        found = np.zeros(values.shape, dtype=bool)
        for number, label in enumerate(labels):
            equal = values == label
            found |= equal
            if number:
                places += equal * float(number)
        return places, found
    order = np.argsort(labels, kind="stable")
    index = order[np.minimum(np.searchsorted(labels, values, sorter=order), len(labels) - 1)]
    found = labels[index] == values
    return np.where(found, index, 0).astype(np.float64), found


def check_sample_weight(sample_weight, n_samples, dtype=np.float64):
    """Return sample weights as a 1-D float array (None means all ones)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, float(sample_weight))
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected ({n_samples},): one "
            "weight per row of X"
        )
    if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
        raise ValueError("sample_weight must be finite and ≥ 0")
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight sums to zero; at least one sample needs a positive weight")
    return sample_weight.astype(dtype, copy=False)


def check_random_state(random_state) -> np.random.Generator:
    """A numpy Generator from None, an int seed, a Generator or a legacy RandomState."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.Generator)):
        if isinstance(random_state, bool):
            raise TypeError("random_state must be None, an int or a numpy Generator, got a bool")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    raise TypeError(
        f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}"
    )


def check_is_fitted(estimator) -> None:
    """Raise NotFittedError unless ``estimator`` has been fitted (it has ``coef_``, or the
    attribute its class names in ``_FITTED``)."""
    if not hasattr(estimator, getattr(type(estimator), "_FITTED", "coef_")):
        raise sklearn_flavoured(NotFittedError)(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )
