"""``neuronlab predict``: use a saved model on new data.

Reads MODEL (written by ``neuronlab train --out``) and DATA (a file or built-in
data set with the model's feature columns, in any order; the target column may be
missing), or one row given as --row name=value,…, and writes one prediction per
row as CSV — to stdout, or atomically to --out.  With --proba a classifier also
writes P(class) for both classes.
"""

from __future__ import annotations

import sys


from . import _common

EXAMPLES = """examples:
  neuronlab predict m.json people.csv --out predictions.csv
  neuronlab predict m.json --row height=4,weight=80
  neuronlab predict m.json people.parquet --proba
"""


def register(subparsers):
    p = _common.add_command(subparsers, "predict", "predict with a saved model on a data file or one --row",
                            __doc__, EXAMPLES)
    p.add_argument("model", metavar="MODEL", help=_common.MODEL_HELP)
    p.add_argument("data", metavar="DATA", nargs="?", help=_common.DATA_HELP)
    p.add_argument("--row", metavar="NAME=VALUE,...", help="predict for one row given here instead of DATA")
    p.add_argument("--out", metavar="PREDICTIONS.csv", help="write the predictions here (atomically) instead of stdout")
    p.add_argument("--proba", action="store_true", help="also write the probability of each class (sigmoid classifiers)")
    p.set_defaults(run=run)


def parse_row(text: str, feature_names) -> dict:
    """'height=4,weight=80' → {'height': [4.0], 'weight': [80.0]}, checked against the model's features."""
    values = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--row: {part!r} is not NAME=VALUE; write e.g. --row {'=1,'.join(feature_names)}=1")
        try:
            values[name] = [float(value)]
        except ValueError:
            raise ValueError(f"--row: the value of {name} must be a number, got {value.strip()!r}") from None
    missing = [n for n in feature_names if n not in values]
    if missing:
        raise ValueError(f"--row: no value for feature(s) {', '.join(missing)}; the model needs {', '.join(feature_names)}")
    unknown = [n for n in values if n not in feature_names]
    if unknown:
        raise ValueError(f"--row: the model has no feature(s) {', '.join(unknown)}; it needs {', '.join(feature_names)}")
    return values


def run(args) -> int:
    from ...io.atomic import check_distinct_files, check_output_folder
    from ...io.tables import LARGEST_VALUE, as_table, prepare
    from ...io.model_file import atomic_write_text, load

    if (args.data is None) == (args.row is None):
        raise ValueError("give either DATA or --row NAME=VALUE,… (one of them)")
    check_distinct_files([("--out", args.out)], [("MODEL", args.model), ("DATA", args.data)])
    if args.out:
        check_output_folder(args.out, "--out")
    model = load(args.model)
    if args.proba and (model.task != "classify" or not hasattr(model.estimator, "predict_proba")):
        raise ValueError("--proba needs a classifier with activation 'sigmoid' (only then is ŷ a probability)")
    source = "--row" if args.row else args.data
    table = as_table(parse_row(args.row, model.feature_names) if args.row else args.data)
    X = prepare(table, None, model.feature_names, require_target=False, can_drop=False, source=source,
                largest=LARGEST_VALUE).X
    predicted = model.predict(X)
    if predicted.ndim == 2:  # several targets: a column each, named after its target
        names = model.target_names or [str(j + 1) for j in range(predicted.shape[1])]
        header, columns = [f"prediction_{name}" for name in names], list(predicted.T)
    else:
        header, columns = ["prediction"], [predicted]
    if args.proba:
        proba = model.predict_proba(X)
        header += [f"p({label})" for label in model.labels]
        columns += list(proba.T)
    text = _common.csv_text(header, columns)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"{X.shape[0]} prediction(s) written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
