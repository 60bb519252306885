"""``neuronlab lr-find``: which learning rate η should training use?

Runs the learning-rate range test on the same training rows, features and starting
weights that ``neuronlab train`` would use with the same options: gradient descent
with η growing geometrically from --min-lr to --max-lr over --steps steps, recording
the loss.  Prints the suggested η with the reason (the curvature where the loss got
lowest, the largest η before the loss stopped falling, or the steepest fall) and,
with --plot, draws the loss against η.
"""

from __future__ import annotations

import math

from . import _common

EXAMPLES = """examples:
  neuronlab lr-find obesity
  neuronlab lr-find people.csv --target condition --features height,weight --plot lr.png
  neuronlab lr-find obesity --rule steepest --json
"""


def register(subparsers):
    from ..lr_find import RULES

    p = _common.add_command(subparsers, "lr-find", "suggest a learning rate η with a range test",
                            __doc__, EXAMPLES)
    _common.add_data_arguments(p)
    p.add_argument("--task", choices=("classify", "regress"), help="as for train")
    p.add_argument("--activation", help="f in ŷ = f(z) (as for train)")
    p.add_argument("--loss", help="J (as for train)")
    p.add_argument("--alpha", type=_common.non_negative_float, default=0.0, help="L2 penalty strength α ≥ 0 (default 0)")
    p.add_argument("--seed", type=_common.seed_type, default=0,
                   help="seed of the split and starting weights, 0 … 2**32−1 (default 0)")
    p.add_argument("--val-split", type=_common.share_type, default=0.2,
                   help="share of rows held back, as for train, 0 ≤ x < 1 (default 0.2)")
    p.add_argument("--min-lr", type=_common.positive_float, default=1e-4, help="first η > 0 of the range (default 1e-4)")
    p.add_argument("--max-lr", type=_common.positive_float, default=1e3, help="last η of the range (default 1e3)")
    p.add_argument("--steps", type=_common.positive_int, default=100, help="steps of the range test (default 100)")
    p.add_argument("--rule", choices=RULES, default="auto",
                   help="how to read the curve (default auto: curvature, else before_rise, else steepest)")
    p.add_argument("--plot", metavar="FILE", help="draw the loss against η to FILE (.png or .svg)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import datasets
    from .._atomic import check_output_path
    from .._validation import check_random_state
    from ..data import Standardizer, load_dataset, split_rows
    from ..estimators import NeuronClassifier, NeuronRegressor
    from ..lr_find import lr_find, plot_lr_find
    from ..neuron import init_params
    from ..plots import FIGURE_FORMATS
    from ._visuals import training_objective

    if args.plot:
        check_output_path(args.plot, FIGURE_FORMATS, "--plot")
    if args.target is None and not datasets.is_builtin(args.data):
        raise ValueError("--target COL is required: name the column to learn")
    dataset = load_dataset(args.data, args.target, args.features, task=args.task)
    train_rows, _ = split_rows(dataset.n_rows, args.val_split, args.seed)
    X, y = dataset.X[train_rows], dataset.y[train_rows]
    X = Standardizer().fit(X).transform(X)
    estimator_cls = NeuronClassifier if dataset.task == "classify" else NeuronRegressor
    options = {k: getattr(args, k) for k in ("activation", "loss") if getattr(args, k) is not None}
    estimator = estimator_cls(alpha=args.alpha, random_state=args.seed, **options)
    positive = dataset.labels[1] if dataset.task == "classify" else None
    objective = training_objective(estimator, X, y, positive)
    theta0 = init_params(X.shape[1], estimator.init, check_random_state(args.seed))
    found = lr_find(objective, theta0, min_lr=args.min_lr, max_lr=args.max_lr, steps=args.steps,
                    rule=args.rule)
    if args.plot:
        plot_lr_find(found, args.plot, title=f"Learning-rate range test on {args.data}")
    if args.json:
        _common.emit_json({"data": args.data, "target": dataset.target, "features": dataset.feature_names,
                           "train_rows": len(train_rows), "seed": args.seed, **found.as_dict(),
                           "plot": args.plot})
        return 0
    shown = sorted(set(range(0, len(found.losses), max(1, len(found.losses) // 12))) | {len(found.losses) - 1})
    _common.print_table(f"Range test on {args.data} → {dataset.target} ({len(train_rows)} training rows)",
                        ["step", "η", "loss J"],
                        [[k + 1, f"{found.learning_rates[k]:.3g}", f"{found.losses[k]:.6g}"] for k in shown])
    print(f"suggested learning rate: η = {found.suggestion:.3g} (rule: {found.rule})")
    print(f"why: {found.reason}")
    if math.isfinite(found.before_rise):
        print(f"the recorded loss last fell at η = {found.before_rise:.3g}; it fell fastest at "
              f"η = {found.steepest:.3g}")
    print(f"try: neuronlab train {args.data} --lr {found.suggestion:.3g} --seed {args.seed}")
    if args.plot:
        print(f"figure written to {args.plot}")
    return 0
