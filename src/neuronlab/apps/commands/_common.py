"""Pieces the data commands share: argparse types for option values, the preparation of the
training rows, JSON output, tables, output paths, CSV writing."""

from __future__ import annotations

import argparse
import csv
import io as _io
import json
import math
import sys
from dataclasses import dataclass
from typing import Optional

import numpy as np


MODEL_HELP = "model file written by 'neuronlab train --out'"
DATA_HELP = "CSV/TSV/Parquet file (.gz ok) or built-in data set name"
SEED_MAX = 2**32 - 1  # the largest seed numpy's legacy seeding takes; default_rng takes these too


# --- argparse types: a bad value is a usage error naming the option, one line, exit 2 ------------
def _checked(text, kind, ok, rule):
    """``kind(text)`` when it parses and passes ``ok``; else argparse's error 'must be <rule>'."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
    return value


def seed_type(text) -> int:
    """A --seed: a whole number 0 … 2**32 − 1 (what numpy's generators accept)."""
    return _checked(text, int, lambda v: 0 <= v <= SEED_MAX, f"a whole number from 0 to {SEED_MAX}")


def positive_int(text) -> int:
    """A count such as --steps: a whole number ≥ 1."""
    return _checked(text, int, lambda v: v >= 1, "a whole number ≥ 1")


def batch_size_type(text):
    """--batch-size: a whole number ≥ 1, or 'all' (every row in each step)."""
    if text == "all":
        return text
    return _checked(text, int, lambda v: v >= 1, "a whole number ≥ 1 or 'all'")


def positive_float(text) -> float:
    """A size such as --lr (η): a finite number > 0."""
    return _checked(text, float, lambda v: math.isfinite(v) and v > 0, "a number > 0")


def non_negative_float(text) -> float:
    """A strength or tolerance such as --alpha, --tol: a finite number ≥ 0."""
    return _checked(text, float, lambda v: math.isfinite(v) and v >= 0, "a number ≥ 0")


def share_type(text) -> float:
    """--val-split: the share of rows held back, 0 ≤ x < 1 (0 holds back none)."""
    return _checked(text, float, lambda v: 0 <= v < 1, "a share 0 ≤ x < 1 of the rows")


def feature_list(text) -> list[str]:
    """--features A,B,…: the column names, which must name at least one column."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(
            f"named no columns ({text!r}); give them as --features A,B or leave --features out to learn "
            "from every column but the target")
    return names


def add_data_arguments(parser) -> None:
    """DATA, --target and --features: how every training command names its data."""
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--target", metavar="COL", help="column to learn (built-in data sets know theirs)")
    parser.add_argument("--features", metavar="A,B,...", type=feature_list,
                        help="feature columns (default: every other column)")


#: defaults of the options that say how DATA becomes the rows a neuron trains on (train, lr-find)
PREPARATION_DEFAULTS = dict(task=None, seed=0, val_split=0.2, standardize=None, drop_missing=False)


def add_preparation_arguments(parser, *, resumable=False) -> None:
    """--task, --seed, --val-split, --standardize, --drop-missing: how a training command turns
    DATA into the rows its neuron sees (see ``training_data``).  With ``resumable`` every default
    is None, "not given", so that ``train --resume`` can take the saved value instead."""
    def default(key):
        return None if resumable else PREPARATION_DEFAULTS[key]

    parser.add_argument("--task", choices=("classify", "regress"), default=default("task"),
                        help="default: classify a text target or one with two values, else regress")
    parser.add_argument("--seed", type=seed_type, default=default("seed"),
                        help="seed of the validation split and the starting weights, 0 … 2**32−1 (default 0)")
    parser.add_argument("--val-split", type=share_type, default=default("val_split"),
                        help="share of rows held back for validation, 0 ≤ x < 1 (default 0.2)")
    parser.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=default("standardize"),
                        help="rescale features to mean 0, sd 1 on the training rows "
                        "(default: on for gradient strategies)")
    parser.add_argument("--drop-missing", action="store_true", default=default("drop_missing"),
                        help="drop rows with missing or infinite values (and say how many)")


@dataclass
class TrainingData:
    """The rows a training command's neuron sees: the data set, its training/validation split
    (raw features and targets) and the scaling x′ = (x − μ)/σ fitted on the training rows
    (``scaler`` None when the features stay as they are).  ``X_fit`` is the scaled training X."""

    dataset: object  # neuronlab.io.tables.Dataset
    train_rows: np.ndarray
    val_rows: np.ndarray
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    scaler: Optional[object]  # neuronlab.io.tables.Standardizer
    X_fit: np.ndarray

    def scaled(self, X) -> np.ndarray:
        """Raw feature rows as the neuron sees them."""
        return X if self.scaler is None else self.scaler.transform(X)

    def target(self, y) -> np.ndarray:
        """What the neuron learns from y: 1.0 for the second class ``labels[1]`` and 0.0 for the
        first (classify, as the classifier's ``fit`` encodes them), y itself (regress)."""
        if self.dataset.task == "classify":
            return (np.asarray(y) == self.dataset.labels[1]).astype(float)
        return y

    def estimator(self, **options):
        """A NeuronClassifier or NeuronRegressor, by the data's task, with these settings."""
        from ...estimators.neuron import NeuronClassifier, NeuronRegressor

        return (NeuronClassifier if self.dataset.task == "classify" else NeuronRegressor)(**options)

    def training_objective(self, estimator):
        """The J(θ) ``estimator.fit(X_fit, y_train)`` minimises (penalty included)."""
        return estimator.objective(self.X_fit, self.target(self.y_train))

    def validation_objective(self, estimator):
        """The loss on the validation rows (no penalty), or None when none were held back."""
        if not len(self.val_rows):
            return None
        return estimator.objective(self.scaled(self.X_val), self.target(self.y_val), penalised=False)


def training_data(data, target=None, features=None, *, task=None, seed=0, val_split=0.2, standardize=None,
                  drop_missing=False, needs_gradient=True, previous=None, quiet=False) -> TrainingData:
    """Read DATA and make the rows a neuron trains on — the one preparation every training
    command uses, so that the same options give the same X:

    1. load the table and take the ``target`` column and the ``features`` (a built-in data set
       knows its target); ``drop_missing`` drops rows with missing or infinite values (said on
       stderr unless ``quiet``);
    2. hold back a random ``val_split`` share of the rows for validation, drawn from ``seed``
       (for classification the same share of each class: the split is stratified);
    3. standardise x′ = (x − μ)/σ with μ and σ of the training rows when ``standardize`` is
       True, or — when it is None — when the strategy ``needs_gradient`` (a gradient step is
       only as even as the scales of the features).  A resumed model (``previous``) keeps the
       scaling it learned with (or its lack of one).
    """
    from ...io import datasets
    from ...io.tables import LARGEST_VALUE, Standardizer, load_dataset, split_rows

    if target is None and not datasets.is_builtin(data):
        raise ValueError("--target COL is required: name the column to learn")
    dataset = load_dataset(data, target, features, task=task, drop_missing=bool(drop_missing),
                           largest=LARGEST_VALUE)
    if dataset.n_dropped and not quiet:
        print(f"dropped {dataset.n_dropped} row(s) with missing or infinite values", file=sys.stderr)
    train_rows, val_rows = split_rows(dataset.n_rows, val_split, seed,
                                      stratify=dataset.y if dataset.task == "classify" else None)
    X_train = dataset.X[train_rows]
    if previous is not None:
        scaler = previous.scaler
    elif standardize if standardize is not None else needs_gradient:
        scaler = Standardizer().fit(X_train)
    else:
        scaler = None
    return TrainingData(dataset, train_rows, val_rows, X_train, dataset.y[train_rows], dataset.X[val_rows],
                        dataset.y[val_rows], scaler, X_train if scaler is None else scaler.transform(X_train))


def add_command(subparsers, name, summary, module_doc, examples):
    """A sub-command parser: one-line ``summary`` for ``neuronlab --help``, the module
    docstring's second paragraph as its description, and its examples below the options."""
    return subparsers.add_parser(
        name, help=summary, description=module_doc.split("\n\n")[1], epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def emit_json(document) -> None:
    """Exactly one JSON document on stdout."""
    from ...core.json_values import jsonable

    sys.stdout.write(json.dumps(jsonable(document), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def print_table(title, header, rows) -> None:
    """A table on stdout (rich: boxed on a terminal, plain characters in a pipe)."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAVY, pad_edge=False)
    rows = [list(r) for r in rows]
    for j, name in enumerate(header):
        text = all(isinstance(r[j], str) for r in rows)  # words read from the left, numbers from the right
        table.add_column(name, justify="left" if j == 0 or text else "right")
    for row in rows:
        table.add_row(*[_cell(v) for v in row])
    out = console()
    if title:
        out.print(title)
    out.print(table)


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.4e}"
    return str(value)


def csv_text(header, columns) -> str:
    """CSV text from column arrays.  tolist() gives Python floats, which the csv module
    writes with repr: they read back exactly."""
    buffer = _io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*[np.asarray(c).tolist() for c in columns]))
    return buffer.getvalue()


def metric_rows(task, reports: dict):
    """Rows (metric, value per report) for a summary table; the confusion matrix goes apart."""
    names = ("accuracy", "precision", "recall", "f1", "log_loss", "roc_auc") if task == "classify" else ("mse", "mae", "r2")
    return [[name] + [None if r is None else r.get(name) for r in reports.values()] for name in names]


def model_metrics(model, X, y) -> dict:
    """Scores of a TrainedModel on raw features X with true targets y (see neuronlab.metrics).

    One pass over X, through the estimator's own methods: a regressor's ŷ = f(z); a
    classifier's decision score s (z = w·x′ + b for the sigmoid, ŷ − threshold
    otherwise), from which its ``predict`` takes the class — classes_[1] where s > 0 —
    and its ``predict_proba`` takes P(y = classes_[1]) = σ(z).  Both are derived here
    from s the same way, rather than by two more passes.
    """
    from ...estimators import metrics

    if model.task == "regress":
        return metrics.regression_report(y, model.predict(X))
    from ...core.activations import sigmoid

    labels = model.labels  # y holds only these: load_dataset(..., labels=model.labels) checked it
    positive = np.asarray(y).astype(str) == str(labels[1])
    score = model.decision_function(X)
    # predict_proba exists only for a sigmoid neuron (the attribute raises otherwise), whose
    # decision score is z
    proba = sigmoid(score) if hasattr(model.estimator, "predict_proba") else None
    return metrics.classification_report(positive.astype(int), (score > 0).astype(int), proba=proba,
                                         score=score)
