"""``--plot``, ``--explain``, ``--trace`` and ``--animate`` for ``solve`` and ``train``.

Every output path is checked before any work starts (so a typo costs nothing and
never leaves a partial file); the figures, the trace and the animation are drawn
afterwards from the runs' Histories.
"""

from __future__ import annotations

import sys

import numpy as np

from ...io.atomic import check_distinct_files, check_output_path
from ...viz.plots import FIGURE_FORMATS


def add_visual_options(parser, what: str) -> None:
    parser.add_argument("--plot", metavar="FILE", help=f"draw {what} to FILE (.png or .svg)")
    parser.add_argument("--explain", action="store_true",
                        help="write out the first gradient steps with their numbers: z, ŷ, J, "
                             "∂J/∂θᵢ and θᵢ ← θᵢ − η·∂J/∂θᵢ, then a table of every k-th step")
    parser.add_argument("--explain-steps", type=int, default=2, metavar="N",
                        help="how many steps --explain writes out in full (default 2)")
    parser.add_argument("--trace", metavar="FILE.jsonl",
                        help="write every step (parameters, loss, gradient, step size) as JSON lines")
    parser.add_argument("--animate", metavar="FILE.gif",
                        help="animate the descent over the loss surface of two parameters, "
                             "with the loss curve beside it")


def check_visual_paths(args) -> None:
    """Refuse a bad output path or option before any work is done."""
    check_distinct_files([("--plot", args.plot), ("--trace", args.trace), ("--animate", args.animate)])
    if args.plot:
        check_output_path(args.plot, FIGURE_FORMATS, "--plot")
    if args.trace:
        check_output_path(args.trace, (".jsonl",), "--trace")
    if args.animate:
        check_output_path(args.animate, (".gif",), "--animate")
    if args.explain and args.explain_steps < 1:
        raise ValueError(f"--explain-steps needs N ≥ 1 steps to write out, got {args.explain_steps}")


def _note(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, file=sys.stderr)


def _print_explanation(args, objective, result, heading: str) -> None:
    """--explain: the first steps written out, on stdout (on stderr beside a --json document)."""
    from ...viz.explain import explain

    explanation = explain(objective, result, first=args.explain_steps)
    out = sys.stderr if getattr(args, "json", False) else sys.stdout
    print(heading, file=out)
    print(explanation.text(), file=out)


def solve_visuals(args, report) -> None:
    """The figures, explanation, trace and animation of ``neuronlab solve``."""
    objective = report.objective
    results = {run.label: run.result for run in report.runs}
    quiet = getattr(args, "json", False)
    gradient = next((run for run in report.runs if run.method == "gradient"), None)
    # everything that can refuse is decided before anything is printed or written
    if (args.explain or args.animate) and gradient is None:
        raise ValueError("--explain and --animate show the gradient run; use --method gradient or all")
    if args.animate and objective.n_params < 2:
        raise ValueError("--animate draws the descent over two unknowns; this equation has one")
    from ...train.loop import RECORD_PARAMS_UP_TO

    needs_path = [option for option, wanted in (("--explain", args.explain), ("--trace", args.trace),
                                                ("--animate", args.animate)) if wanted]
    if needs_path and not all(run.result.history.record_params for run in report.runs):
        raise ValueError(f"{needs_path[0]} needs θ_t of every step, kept for up to {RECORD_PARAMS_UP_TO} "
                         f"unknowns; this has {objective.n_params} (drop {' '.join(needs_path)})")
    if args.explain:
        _print_explanation(args, objective, gradient.result,
                           f"\nThe gradient run, step by step ({gradient.label}):")
    if args.plot:
        from ...viz.plots import plot_equation_race

        plot_equation_race(objective, results, args.plot, box=(report.low, report.high),
                           title="; ".join(map(str, objective.equations)))
        _note(f"figure written to {args.plot}", quiet)
    if args.trace:
        from ...io.trace import write_trace

        lines = write_trace(args.trace, {run.method: run.result.history for run in report.runs},
                            objective)
        _note(f"trace of {lines} steps written to {args.trace}", quiet)
    if args.animate:
        from ...viz.animation import animate_descent

        frames = animate_descent(objective, gradient.result.history, args.animate)
        _note(f"animation of {frames} frames written to {args.animate}", quiet)


class TrainTrace:
    """The --trace of ``train``: a live TraceWriter (or nothing) chained after another callback."""

    def __init__(self, args, objective, then):
        from ...io.trace import TraceWriter

        self.then = then
        self.writer = TraceWriter(args.trace, objective) if args.trace else None

    def __enter__(self):
        if self.writer is not None:
            self.writer.__enter__()
        return self

    def __exit__(self, *exc):
        return self.writer.__exit__(*exc) if self.writer is not None else False

    def __call__(self, step):
        stop = self.then(step)
        if self.writer is not None:
            self.writer(step)
        return stop


def check_train_visuals(args, strategy_name: str, n_params: int, batch_size=None) -> None:
    """Refuse, before training, a visual the run will not be able to give (``n_params``: the
    model's number of weights and biases)."""
    from ...train.loop import RECORD_PARAMS_UP_TO

    if args.explain and strategy_name != "gradient_descent":
        raise ValueError(f"--explain writes out gradient-descent steps; --strategy {strategy_name} "
                         "does not take them (drop --explain or use --strategy gradient_descent)")
    if args.explain and batch_size not in (None, "all"):
        raise ValueError(f"--explain writes out full-batch steps θ ← θ − η·∇J; --batch-size {batch_size} "
                         "makes mini-batch updates (drop one of them, e.g. --batch-size all)")
    if n_params > RECORD_PARAMS_UP_TO:
        for option, wanted in (("--animate", args.animate), ("--explain", args.explain)):
            if wanted:
                raise ValueError(f"{option} needs θ_t of every step, kept for up to {RECORD_PARAMS_UP_TO} "
                                 f"parameters; this model has {n_params} (drop {option})")


def explain_training(args, model, objective) -> None:
    """``--explain`` of ``neuronlab train``: the first steps written out (after the report)."""
    if args.explain:
        _print_explanation(args, objective, model.estimator.result_,
                           "\nTraining, step by step (features standardised: x′ = (x − μ)/σ):"
                           if model.scaler is not None else "\nTraining, step by step:")


def train_figures(args, model, objective, validation_loss, X_train, y_train) -> None:
    """The figure and animation of ``neuronlab train`` (after training, before the model is saved)."""
    estimator = model.estimator
    result = estimator.result_
    quiet = getattr(args, "json", False)
    history = result.history
    two_features = len(model.feature_names) == 2
    if args.plot:
        from ...viz.plots import new_figure, plot_class_regions, plot_decision_boundary, plot_loss, save_figure

        boundary = two_features and model.task == "classify"
        fig, axes = new_figure(13.0, 5.0, ncols=2) if boundary else new_figure()
        axes = axes if boundary else [axes]
        plot_loss(history, validation_loss=validation_loss or None, ax=axes[0],
                  title=f"Loss J during training ({result.strategy}, {result.status})")
        if boundary and len(model.labels) > 2:
            from ._common import class_numbers

            plot_class_regions(model.predict_proba, X_train, class_numbers(y_train, model.labels), ax=axes[1],
                               feature_names=model.feature_names, class_names=model.labels,
                               title="Most probable class over the training rows")
        elif boundary:
            labels = list(model.labels)
            plot_decision_boundary(lambda P: model.predict_proba(P)[:, 1], X_train,
                                   np.asarray(y_train) == labels[1], ax=axes[1],
                                   feature_names=model.feature_names,
                                   class_names=[str(v) for v in labels],
                                   title="Decision boundary over the training rows")
        save_figure(fig, args.plot)
        _note(f"figure written to {args.plot}", quiet)
        network = getattr(estimator, "network_", None)
        if two_features and network is not None and network.n_layers > 1:
            from ...viz.plots import plot_hidden_units

            units_path = _beside(args.plot, "-units")
            plot_hidden_units(lambda P: network.forward_pass(estimator.theta_, model.matrix(P)).inputs[1],
                              X_train, units_path, feature_names=model.feature_names)
            _note(f"hidden units written to {units_path}", quiet)
    if args.animate:
        from ...viz.animation import animate_descent

        frames = animate_descent(objective, history, args.animate, params=(0, 1),
                                 title="Descent over (w₁, w₂)" if objective.n_params > 2
                                 else "Descent over (w, b)")
        _note(f"animation of {frames} frames written to {args.animate}", quiet)


def _beside(path, suffix):
    """``fig.png`` → ``fig-units.png``: a second figure written next to the first."""
    from pathlib import Path

    path = Path(path)
    return path.with_name(path.stem + suffix + path.suffix)
