"""Pieces the data commands share: argparse types for option values, the preparation of the
training rows, JSON output, tables, output paths, CSV writing."""

from __future__ import annotations

import argparse
import ast
import csv
import io as _io
import json
import math
import re
import shlex
import sys
from dataclasses import dataclass
from typing import Optional

import numpy as np


MODEL_HELP = "model file written by 'neuronlab train --out'"

#: the command line's option for each Python parameter that a library message may name.  The
#: library speaks Python (``drop_missing=True``); what reaches the command line is rewritten by
#: ``in_cli_terms``, the one place that knows both spellings.
CLI_OPTIONS = {
    "learning_rate": "--lr", "max_steps": "--steps", "random_state": "--seed", "solver": "--strategy",
    "drop_missing": "--drop-missing", "val_split": "--val-split", "batch_size": "--batch-size",
    "features": "--features", "task": "--task", "alpha": "--alpha", "tol": "--tol",
    "schedule": "--schedule", "recover": "--recover", "standardize": "--standardize",
    "activation": "--activation", "loss": "--loss", "dtype": "--dtype", "target": "--target",
    "min_lr": "--min-lr", "max_lr": "--max-lr", "steps": "--steps",
}
#: names that are also a run's status ("status: max_steps after …"), so never rewritten alone
_STATUS_NAMES = {"max_steps"}
_VALUE = r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]|[^\s,;)\]]+"
_NAMES = "|".join(sorted(CLI_OPTIONS, key=len, reverse=True))
_SPACED = "|".join(sorted((n for n in CLI_OPTIONS if "_" in n), key=len, reverse=True))
# name=value (any name), name = value (names with an underscore: no English word has one)
_ASSIGNED = re.compile(rf"\b(?:({_NAMES})=|({_SPACED}) = )({_VALUE})")
_BARE = re.compile(rf"\b({'|'.join(n for n in CLI_OPTIONS if '_' in n and n not in _STATUS_NAMES)})\b")


def _as_option(name: str, text: str) -> str:
    """``name=text`` as the command line spells it: --drop-missing, --lr 0.5, --features 'a b,c'."""
    option = CLI_OPTIONS[name]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    if value is True:
        return option
    if value is False:
        return f"--no-{option[2:]}"
    if isinstance(value, (list, tuple)):
        return f"{option} {shlex.quote(','.join(str(v) for v in value))}"
    if isinstance(value, str):
        return f"{option} {shlex.quote(value)}"
    return f"{option} {text}"


def in_cli_terms(text: str) -> str:
    """A library message with its Python parameters named as command-line options:
    ``drop_missing=True`` → ``--drop-missing``, ``features=['body mass', 'h']`` → ``--features
    'body mass,h'``, ``task='regress'`` → ``--task regress``, ``max_steps = 1000`` → ``--steps
    1000``, ``learning_rate ≈ 2.6`` → ``--lr ≈ 2.6``.  Everything else is left as it is."""
    text = _ASSIGNED.sub(lambda m: _as_option(m.group(1) or m.group(2), m.group(3)), text)
    return _BARE.sub(lambda m: CLI_OPTIONS[m.group(1)], text)
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


def layer_sizes_type(text) -> tuple:
    """--hidden: the widths of the hidden layers, e.g. '16' or '16,8' ('none': no hidden layer)."""
    if text.strip().lower() == "none":
        return ()
    sizes = tuple(_checked(part.strip(), int, lambda v: v >= 1, "whole numbers ≥ 1 separated by commas, "
                           "e.g. 16,8 (or 'none')") for part in text.split(","))
    return sizes


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
    parser.add_argument("--target", metavar="COL", help="column to learn (built-in data sets know theirs); "
                        "several numeric columns A,B are regressed together, one output each")
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
        first — the class number 0 … k − 1 for k > 2 classes — (classify, as the classifier's
        ``fit`` encodes them), y itself (regress)."""
        if self.dataset.task == "classify":
            return class_numbers(y, self.dataset.labels).astype(float)
        return y

    @property
    def n_classes(self):
        """k, the number of classes of a classification, or of targets of a regression with
        several (one output each); None for one target regressed."""
        if self.dataset.task == "classify":
            return len(self.dataset.labels)
        return self.dataset.y.shape[1] if self.dataset.y.ndim == 2 else None

    def estimator(self, hidden=None, **options):
        """The estimator for this data's task and target(s): see ``make_estimator``."""
        return make_estimator(self.dataset.task, hidden, several_targets=self.dataset.y.ndim == 2, **options)

    def training_objective(self, estimator):
        """The J(θ) ``estimator.fit(X_fit, y_train)`` minimises (penalty included)."""
        return estimator.objective(self.X_fit, self.target(self.y_train), n_classes=self.n_classes)

    def validation_objective(self, estimator):
        """The loss on the validation rows (no penalty), or None when none were held back."""
        if not len(self.val_rows):
            return None
        return estimator.objective(self.scaled(self.X_val), self.target(self.y_val), penalised=False,
                                   n_classes=self.n_classes)


def estimator_options(s) -> dict:
    """The estimator's settings from the train command's settings ``s`` (see ``train._settings``):
    only those given, and batch size 'all' — full batches — said as None to a network, whose
    default is mini-batches."""
    options = dict(solver=s["strategy"], learning_rate=s["lr"], alpha=s["alpha"], tol=s["tol"],
                   random_state=s["seed"], recover=bool(s["recover"]))
    options.update({k: s[k] for k in ("activation", "loss", "batch_size", "schedule", "dtype")
                    if s[k] not in (None, "all")})
    if s["hidden"] is not None and s["batch_size"] == "all":
        options["batch_size"] = None
    return options


def step_budget(s, previous) -> tuple[int, int]:
    """(steps taken before, steps left) of a run with budget --steps that continues ``previous``
    (a model file, or None); an error when none is left."""
    steps_done = int(previous.training.get("steps_done", 0)) if previous is not None else 0
    remaining = s["steps"] - steps_done
    if remaining < 1:
        raise ValueError(f"the model already took {steps_done} of its {s['steps']} steps; "
                         f"give a larger budget with --steps (e.g. --steps {2 * s['steps']})")
    return steps_done, remaining


def continue_from(estimator, previous) -> None:
    """Start ``estimator`` from the fitted parameters of ``previous`` (a model file): warm_start."""
    estimator.set_params(warm_start=True)
    for name in ("coef_", "intercept_", "theta_", "classes_", "n_features_in_", "n_outputs_"):
        if hasattr(previous.estimator, name):
            setattr(estimator, name, getattr(previous.estimator, name))


def training_record(args, s, estimator, previous, steps_done, *, target, features, task, standardize, rows,
                    rows_dropped, train_rows, validation_rows, **more) -> dict:
    """What a model file says of its training: the command's settings, the run's outcome, the
    facts about the data, and ``more`` (a streamed run's), in that order."""
    return {
        "data": args.data, "target": target, "features": features, "task": task,
        "activation": estimator.activation, "loss": estimator.loss, "strategy": s["strategy"],
        "learning_rate": s["lr"], "steps": s["steps"], "steps_done": steps_done, "seed": s["seed"],
        "val_split": s["val_split"], "alpha": s["alpha"], "tol": s["tol"], "batch_size": s["batch_size"],
        "schedule": s["schedule"], "dtype": s["dtype"], "recover": bool(s["recover"]),
        "hidden": None if s["hidden"] is None else list(s["hidden"]),
        "standardize": standardize, "drop_missing": bool(s["drop_missing"]), "rows": rows,
        "rows_dropped": rows_dropped, "train_rows": train_rows, "validation_rows": validation_rows,
        "status": estimator.status_, "message": estimator.result_.message,
        "resumed_from": args.resume, "runs": (int(previous.training.get("runs", 1)) + 1) if previous else 1,
        **more,
    }


def make_estimator(task, hidden=None, *, several_targets=False, **options):
    """A NeuronClassifier or NeuronRegressor, by the ``task``, with these settings — or with
    ``hidden`` layer sizes a NetworkClassifier or NetworkRegressor (``max_steps`` is then its
    ``max_iter``; a network classifier always learns with log loss).  Several targets
    without ``hidden`` are one neuron per target: a NetworkRegressor with no hidden layer,
    ŷ = W·x + b, stepped on every row at once unless a batch size is given."""
    classify = task == "classify"
    if hidden is None and several_targets:
        if options.get("activation", "identity") != "identity":
            raise ValueError(f"--activation {options['activation']}: several targets are regressed with "
                             "ŷ = W·x + b (identity); add hidden layers with --hidden for a curved fit")
        options["activation"] = "identity"  # no hidden layer: recorded as what ŷ = W·x + b applies
        options.setdefault("batch_size", None)
        hidden = ()
    if hidden is None:
        from ...estimators.neuron import NeuronClassifier, NeuronRegressor

        return (NeuronClassifier if classify else NeuronRegressor)(**options)
    from ...estimators.network import NetworkClassifier, NetworkRegressor

    if "max_steps" in options:
        options["max_iter"] = options.pop("max_steps")
    if classify:
        from ...core.losses import get_loss

        loss = options.pop("loss", "log_loss")
        if get_loss(loss).name != "log_loss":  # log_loss or one of its aliases
            raise ValueError(f"--loss {loss}: a network classifier learns with log_loss (a sigmoid "
                             "output for two classes, softmax for more); leave --loss out")
    return (NetworkClassifier if classify else NetworkRegressor)(hidden_layer_sizes=hidden, **options)


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
    # k > 2 classes: precision, recall, F1 and AUC are means over the classes, each against the rest
    macro = any(r is not None and r.get("average") == "macro" for r in reports.values())
    averaged = ("precision", "recall", "f1", "roc_auc") if macro else ()
    return [[f"{name} (macro)" if name in averaged else name] + [None if r is None else r.get(name) for r in reports.values()]
            for name in names]


def print_per_target(targets, reports: dict):
    """With several targets, each one's scores: a row per target and metric, a column per report."""
    if len(targets) < 2:
        return
    rows = [[target, name] + [None if r is None else r["per_target"][j][name] for r in reports.values()]
            for j, target in enumerate(targets) for name in ("mse", "mae", "r2")]
    print_table("each target", ["target", "metric", *reports], rows)


def print_confusion_matrix(labels, counts):
    """The confusion matrix as a table, one row per true class, one column per predicted class."""
    written = [str(label) for label in labels]
    print_table("confusion matrix (rows: true, columns: predicted)", [""] + written,
                [[label] + list(row) for label, row in zip(written, counts)])


def class_numbers(y, labels) -> np.ndarray:
    """The number of each row's class in ``labels`` (0 … k − 1), as the classifier counts them;
    labels compare as written (0 and "0" are one class: a CSV column may read either way)."""
    from ...core.validation import label_places

    written = np.asarray([str(label) for label in labels])
    y_written = np.asarray(y).astype(str)
    places, found = label_places(y_written, written)
    if not found.all():
        unknown = sorted(set(y_written[~found]))[:5]
        raise ValueError(f"label(s) {', '.join(unknown)} are not among the classes {', '.join(written)}")
    return places.astype(np.int64)


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
    score = model.decision_function(X)
    if len(labels) > 2:
        # k scores per row: the class is the largest, the probabilities their softmax
        proba = model.predict_proba(X) if hasattr(model.estimator, "predict_proba") else None
        return metrics.multiclass_report(class_numbers(y, labels), np.argmax(score, axis=1), proba, len(labels))
    positive = class_numbers(y, labels) == 1
    # predict_proba exists only for a sigmoid neuron (the attribute raises otherwise), whose
    # decision score is z
    proba = sigmoid(score) if hasattr(model.estimator, "predict_proba") else None
    return metrics.classification_report(positive.astype(int), (score > 0).astype(int), proba=proba,
                                         score=score)
