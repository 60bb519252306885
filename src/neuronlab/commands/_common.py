"""Pieces the data commands share: JSON output, tables, output paths, CSV writing."""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from pathlib import Path

import numpy as np


MODEL_HELP = "model file written by 'neuronlab train --out'"
DATA_HELP = "CSV/TSV/Parquet file (.gz ok) or built-in data set name"



def add_data_arguments(parser) -> None:
    """DATA, --target and --features: how every training command names its data."""
    parser.add_argument("data", metavar="DATA", help=DATA_HELP)
    parser.add_argument("--target", metavar="COL", help="column to learn (built-in data sets know theirs)")
    parser.add_argument("--features", metavar="A,B,...", help="feature columns (default: every other column)")

def add_command(subparsers, name, summary, module_doc, examples):
    """A sub-command parser: one-line ``summary`` for ``neuronlab --help``, the module
    docstring's second paragraph as its description, and its examples below the options."""
    import argparse

    return subparsers.add_parser(
        name, help=summary, description=module_doc.split("\n\n")[1], epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def emit_json(document) -> None:
    """Exactly one JSON document on stdout."""
    from ..io import _jsonable

    sys.stdout.write(json.dumps(_jsonable(document), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def check_out_path(path, what="--out") -> Path:
    """Fail before any work when the output folder does not exist (nothing is written yet)."""
    from .._atomic import check_output_folder

    return check_output_folder(path, what)


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
    """CSV text from column arrays; floats written with repr so they read back exactly."""
    buffer = _io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    converted = [[repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in np.asarray(c).tolist()]
                 for c in columns]
    writer.writerows(zip(*converted))
    return buffer.getvalue()


def metric_rows(task, reports: dict):
    """Rows (metric, value per report) for a summary table; the confusion matrix goes apart."""
    names = ("accuracy", "precision", "recall", "f1", "log_loss", "roc_auc") if task == "classify" else ("mse", "mae", "r2")
    return [[name] + [None if r is None else r.get(name) for r in reports.values()] for name in names]


def model_metrics(model, X, y) -> dict:
    """Scores of a TrainedModel on raw features X with true targets y (see neuronlab.metrics)."""
    from .. import metrics

    if model.task == "regress":
        return metrics.regression_report(y, model.predict(X))
    labels = model.labels
    unknown = sorted({str(v) for v in np.unique(y)} - {str(v) for v in labels})
    if unknown:
        raise ValueError(
            f"the data has label(s) {', '.join(unknown)} that the model does not know; its classes are "
            f"{', '.join(map(str, labels))}"
        )
    positive = np.asarray(y).astype(str) == str(labels[1])
    predicted = np.asarray(model.predict(X)).astype(str) == str(labels[1])
    # predict_proba exists only for a sigmoid neuron (the attribute raises otherwise)
    proba = model.predict_proba(X)[:, 1] if hasattr(model.estimator, "predict_proba") else None
    return metrics.classification_report(positive.astype(int), predicted.astype(int), proba=proba,
                                         score=model.decision_function(X))

