"""``neuronlab lr-find``: which learning rate η should training use?

Runs the learning-rate range test on the same training rows, features (standardised or
not, as --standardize says) and starting weights that ``neuronlab train`` would use
with the same options: gradient descent with η growing geometrically from --min-lr to
--max-lr over --steps steps, recording the loss.  Prints the suggested η with the reason (the curvature where the loss got
lowest, or the largest η before the loss stopped falling, capped by that curvature) and,
with --plot, draws the loss against η.
"""

from __future__ import annotations

import math
import shlex

from . import _common

EXAMPLES = """examples:
  neuronlab lr-find obesity
  neuronlab lr-find people.csv --target condition --features height,weight --plot lr.png
  neuronlab lr-find obesity --rule before_rise --json
"""


def register(subparsers):
    from ...train.lr_find import RULES

    p = _common.add_command(subparsers, "lr-find", "suggest a learning rate η with a range test",
                            __doc__, EXAMPLES)
    _common.add_data_arguments(p)
    _common.add_preparation_arguments(p)
    p.add_argument("--activation", help="f in ŷ = f(z) (as for train)")
    p.add_argument("--loss", help="J (as for train)")
    p.add_argument("--alpha", type=_common.non_negative_float, default=0.0, help="L2 penalty strength α ≥ 0 (default 0)")
    p.add_argument("--min-lr", type=_common.positive_float, default=1e-4, help="first η > 0 of the range (default 1e-4)")
    p.add_argument("--max-lr", type=_common.positive_float, default=1e3, help="last η of the range (default 1e3)")
    p.add_argument("--steps", type=_common.positive_int, default=100, help="steps of the range test (default 100)")
    p.add_argument("--rule", choices=RULES, default="auto",
                   help="how to read the curve (default auto: curvature, else before_rise)")
    p.add_argument("--plot", metavar="FILE", help="draw the loss against η to FILE (.png or .svg)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ...io.atomic import check_distinct_files, check_output_path
    from ...core.validation import check_random_state
    from ...train.lr_find import LearningRateRangeTest, lr_find
    from ...viz.plots import plot_lr_find
    from ...viz.plots import FIGURE_FORMATS

    check_distinct_files([("--plot", args.plot)], [("DATA", args.data)])
    if args.plot:
        check_output_path(args.plot, FIGURE_FORMATS, "--plot")
    # the range test is gradient descent: its features are standardised by default, as train's are
    data = _common.training_data(
        args.data, args.target, args.features, task=args.task, seed=args.seed, val_split=args.val_split,
        standardize=args.standardize, drop_missing=args.drop_missing,
        needs_gradient="gradient" in LearningRateRangeTest.needs)
    dataset, train_rows = data.dataset, data.train_rows
    options = {k: getattr(args, k) for k in ("activation", "loss") if getattr(args, k) is not None}
    estimator = data.estimator(alpha=args.alpha, random_state=args.seed, **options)
    objective = data.training_objective(estimator)
    theta0 = estimator.initial_theta(data.X_fit.shape[1], check_random_state(args.seed), data.n_classes)  # as train's fit
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
    print(f"try: {_train_command(args, found.suggestion)}")
    if args.plot:
        print(f"figure written to {args.plot}")
    return 0


def _train_command(args, learning_rate) -> str:
    """The ``neuronlab train`` command line that trains on the X and J this range test measured."""
    words = ["neuronlab", "train", args.data]
    given = [("--target", args.target), ("--features", ",".join(args.features) if args.features else None),
             ("--task", args.task), ("--activation", args.activation), ("--loss", args.loss)]
    words += [word for flag, value in given if value is not None for word in (flag, value)]
    if args.val_split != _common.PREPARATION_DEFAULTS["val_split"]:
        words += ["--val-split", f"{args.val_split:g}"]
    if args.standardize is not None:
        words.append("--standardize" if args.standardize else "--no-standardize")
    if args.drop_missing:
        words.append("--drop-missing")
    if args.alpha:
        words += ["--alpha", f"{args.alpha:g}"]
    words += ["--lr", f"{learning_rate:.3g}", "--seed", str(args.seed)]
    return " ".join(shlex.quote(word) for word in words)
