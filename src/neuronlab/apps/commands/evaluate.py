"""``neuronlab evaluate``: score a saved model on data with the true targets.

Classifiers: accuracy, precision, recall, F1, log loss, ROC AUC and the confusion
matrix (rows: true class, columns: predicted).  Regressors: MSE, MAE and R².
The positive class (the one precision, recall and F1 are about) is the model's second
label (labels[1]); the table's first row names it, and so does ``positive_class`` in --json.
"""

from __future__ import annotations


from . import _common

EXAMPLES = """examples:
  neuronlab evaluate m.json test.csv
  neuronlab evaluate m.json obesity --json
"""


def register(subparsers):
    p = _common.add_command(subparsers, "evaluate", "score a saved model on data with known targets", __doc__, EXAMPLES)
    p.add_argument("model", metavar="MODEL", help=_common.MODEL_HELP)
    p.add_argument("data", metavar="DATA", help=_common.DATA_HELP + ", with the target column")
    p.add_argument("--drop-missing", action="store_true", help="drop rows with missing or infinite values (and say how many)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ...io.tables import LARGEST_VALUE, load_dataset
    from ...io.model_file import load

    model = load(args.model)
    if model.target is None:
        raise ValueError(f"{args.model}: the model does not name its target column, so the data's truth is unknown")
    # the model's labels, not the two-class check of training: a test set may hold one class
    # (its ROC AUC is then undefined: null in JSON, — in the table)
    dataset = load_dataset(args.data, model.target, model.feature_names, task=model.task,
                           labels=model.labels if model.task == "classify" else None,
                           drop_missing=args.drop_missing, largest=LARGEST_VALUE)
    report = _common.model_metrics(model, dataset.X, dataset.y)
    if args.json:
        _common.emit_json({"model": args.model, "data": args.data, "rows": dataset.n_rows,
                           "rows_dropped": dataset.n_dropped, "task": model.task, "labels": model.labels,
                           **({"positive_class": model.labels[1]} if _binary(model) else {}),
                           "metrics": report})
        return 0
    rows = _common.metric_rows(model.task, {"value": report})
    if _binary(model):  # precision, recall and F1 are about this class
        rows.insert(0, ["positive class", str(model.labels[1])])
    _common.print_table(f"{args.model} on {args.data} ({dataset.n_rows} rows)", ["metric", "value"], rows)
    _common.print_per_target(model.target_names, {"value": report})
    if model.task == "classify" and not _binary(model):
        _common.print_table("each class against the rest", ["class", "precision", "recall", "f1", "rows"],
                            [[str(label), c["precision"], c["recall"], c["f1"], c["support"]]
                             for label, c in zip(model.labels, report["per_class"])])
    if model.task == "classify":
        _common.print_confusion_matrix(model.labels, report["confusion_matrix"])
    if dataset.n_dropped:
        print(f"dropped {dataset.n_dropped} row(s) with missing or infinite values")
    return 0


def _binary(model) -> bool:
    return model.task == "classify" and len(model.labels) == 2
