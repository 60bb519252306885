"""``neuronlab train``: train a neuron on a data file or a built-in data set.

Reads DATA (CSV, TSV, Parquet, gzip CSV, or a built-in data set by name), holds
back --val-split of the rows for validation (drawn from --seed), standardises the
features with the mean and standard deviation of the training rows, and learns
z = w·x + b, ŷ = f(z) by minimising the loss J with the chosen strategy
(gradient descent θ ← θ − η·∇J by default).  It shows the step, the loss, the
validation loss and the time left while it learns, then a summary table, and
saves the model to --out.  Ctrl-C stops cleanly: the best θ so far is saved with
status 'interrupted', and --resume MODEL continues from it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

from ...estimators.neuron import DESCENT_SOLVERS, NEURON_SOLVERS
from ...optim.transforms import SCHEDULES
from . import _common, _streamed
from ._visuals import (
    TrainTrace,
    add_visual_options,
    check_train_visuals,
    check_visual_paths,
    explain_training,
    train_figures,
)

EXAMPLES = """examples:
  neuronlab train obesity --out m.json
  neuronlab train people.csv --target condition --features height,weight --lr 0.5 --steps 2000
  neuronlab train houses.parquet --target price --task regress --json > run.json
  neuronlab train obesity --steps 1000000 --out m.json     # Ctrl-C, then:
  neuronlab train obesity --resume m.json
  neuronlab train big/ --target y --stream --strategy lbfgs --out m.json   # a folder of Parquet files
  neuronlab train 'big/*.parquet' --target y --dask local:2 --out m.json  # on 2 worker processes
"""

#: defaults of the options (None on the command line means "not given", so that
#: --resume can take the saved value instead)
DEFAULTS = dict(activation=None, loss=None, lr=0.5, steps=1000, strategy="gradient_descent", alpha=0.0, tol=1e-6,
                batch_size=None, schedule=None, dtype=None, recover=False, features=None, target=None,
                hidden=None, **_common.PREPARATION_DEFAULTS)
#: the defaults that differ for a network (--hidden): NetworkClassifier's own (Adam, mini-batches
#: of min(200, n) rows, epochs for steps, tanh hidden units)
NETWORK_DEFAULTS = dict(activation="tanh", lr=0.02, steps=2000, strategy="adam", alpha=1e-4, batch_size="auto")
PLAIN_LINES = 10  # progress lines when the output is not a terminal


def register(subparsers):
    p = _common.add_command(subparsers, "train", "train a neuron on a data file or built-in data set, save the model",
                            __doc__, EXAMPLES)
    _common.add_data_arguments(p)
    _common.add_preparation_arguments(p, resumable=True)
    p.add_argument("--hidden", type=_common.layer_sizes_type, metavar="N[,N…]",
                   help="train a network with hidden layers of these widths (e.g. 16,8) instead of one "
                   "neuron; then --activation is the hidden layers' f (one, or one per layer), --steps "
                   "counts epochs, and the defaults are --strategy adam --lr 0.02 --steps 2000 "
                   "--activation tanh --alpha 1e-4, mini-batches of min(200, n) rows")
    p.add_argument("--activation", help="f in ŷ = f(z): sigmoid, tanh, identity, relu, … "
                   "(default sigmoid to classify, identity to regress)")
    p.add_argument("--loss", help="J: log_loss, squared_error, absolute_error, huber, hinge "
                   "(default log_loss to classify, squared_error to regress)")
    p.add_argument("--lr", type=_common.positive_float, help=f"learning rate η > 0 (default {DEFAULTS['lr']})")
    p.add_argument("--steps", type=_common.positive_int,
                   help=f"step budget T ≥ 1, counted over resumed runs too (default {DEFAULTS['steps']})")
    p.add_argument("--strategy", help=f"how to minimise J: {', '.join(NEURON_SOLVERS)} (gd is short for "
                   "gradient_descent; default gradient_descent)")
    p.add_argument("--tol", type=_common.non_negative_float,
                   help="stop when ‖∇J‖ ≤ tol or J changes by ≤ tol·max(1, |J|); 0 runs every step (default 1e-6)")
    p.add_argument("--alpha", type=_common.non_negative_float, help="L2 penalty strength α ≥ 0 (default 0)")
    p.add_argument("--batch-size", type=_common.batch_size_type, metavar="N|all",
                   help="mini-batches of N rows, reshuffled every epoch from --seed; --steps then counts "
                   "epochs (gradient strategies; default all: every row in each step, but 32 for sgd)")
    p.add_argument("--schedule", help=f"learning-rate schedule η_t: {', '.join(SCHEDULES)} "
                   "(gradient strategies; default constant)")
    p.add_argument("--dtype", choices=("float32", "float64"),
                   help="precision of the passes over the data (default float64)")
    p.add_argument("--recover", action=argparse.BooleanOptionalAction, default=None,
                   help="on divergence roll back to the best θ, halve η and go on (gradient strategies; "
                   "default off)")
    p.add_argument("--out", metavar="MODEL.json", help="where to save the model (written atomically)")
    p.add_argument("--resume", metavar="MODEL.json", help="continue training the model in this file (and save back to it)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout (progress on stderr)")
    _streamed.add_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress display")
    add_visual_options(p, "the loss curve with the validation loss (and, for two features, the decision boundary; "
                       "for a network, also each hidden unit's output in FIG-units.png)")
    p.set_defaults(run=run)


# --- settings ------------------------------------------------------------------------------
def _settings(args, previous) -> dict:
    """Each setting from the command line, else from the resumed model, else the default."""
    saved = previous.training if previous is not None else {}
    keys = {"lr": "learning_rate"}
    settings = {}
    for key, default in DEFAULTS.items():
        given = getattr(args, key, None)
        if given is not None:
            settings[key] = given
        elif keys.get(key, key) in saved and saved[keys.get(key, key)] is not None:
            settings[key] = saved[keys.get(key, key)]
        else:
            settings[key] = default
    if settings["hidden"] is not None:
        settings["hidden"] = tuple(settings["hidden"])
        for key, default in NETWORK_DEFAULTS.items():
            if getattr(args, key, None) is None and saved.get(keys.get(key, key)) is None:
                settings[key] = default
        if isinstance(settings["activation"], str) and "," in settings["activation"]:
            settings["activation"] = [name.strip() for name in settings["activation"].split(",")]
    return settings


#: settings only the gradient-descent strategies take, with the flag that turns each off
DESCENT_ONLY = {"batch_size": ("--batch-size", "--batch-size all"), "schedule": ("--schedule", "--schedule constant"),
                "recover": ("--recover", "--no-recover")}


def _check_descent_only(args, settings, strategy_name):
    """Refuse a mini-batch/schedule/recovery setting for a strategy that has none, naming where
    it came from (the command line or the resumed model) and how to turn it off."""
    if strategy_name in DESCENT_SOLVERS:
        return
    for key, (flag, off) in DESCENT_ONLY.items():
        value = settings[key]
        if value in (None, False, "all") or (key == "schedule" and value == "constant"):
            continue
        given = flag if value is True else f"{flag} {value}"
        origin = "" if getattr(args, key) is not None else " (kept from the resumed model)"
        raise ValueError(f"{given}{origin} works only with the gradient strategies "
                         f"({', '.join(DESCENT_SOLVERS)}), not {strategy_name}; turn it off with {off}")


def _strategy_class(name):
    """The strategy class named ``name``, refused early when it cannot train a neuron."""
    from ...train.registry import get_strategy

    strategy_cls = type(get_strategy(name))
    if strategy_cls.name not in NEURON_SOLVERS:
        raise ValueError(f"--strategy {name} cannot train a neuron; choose one of: {', '.join(NEURON_SOLVERS)}")
    return strategy_cls


# --- progress ---------------------------------------------------------------------------------
class Progress:
    """Shows the run: a rich progress bar on a terminal, plain lines otherwise, nothing with --quiet.

    Called after every step with the Step; the validation loss is computed every
    ``every`` steps (and kept for the model file's history summary).
    """

    def __init__(self, total, offset, validation_objective, quiet):
        self.total, self.offset = total, offset
        self.validation = validation_objective
        self.every = max(1, total // 100)
        self.line_every = max(1, total // PLAIN_LINES)
        self.val_loss: dict[int, float] = {}
        self.bar = None
        self.quiet = quiet
        self.last_draw = 0.0
        if not quiet and sys.stderr.isatty():
            from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn

            self.bar = RichProgress(
                TextColumn("training"), BarColumn(),
                TextColumn("step {task.completed:.0f}/{task.total:.0f}"),
                TextColumn("loss {task.fields[loss]}"), TextColumn("val loss {task.fields[val]}"),
                TextColumn("ETA"), TimeRemainingColumn(),
                console=_common.console(stderr=True), transient=False,
            )
            self.task = self.bar.add_task("train", total=offset + total, completed=offset, loss="…", val="…")

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, step):
        t = step.step
        if self.validation is not None and t % self.every == 0:
            self.val_loss[t] = self.validation.loss(step.theta)
        if self.quiet:
            return False
        val = self.val_loss.get(t - t % self.every, math.nan)
        if self.bar is not None:
            now = time.perf_counter()
            if now - self.last_draw > 0.05 or t == self.total:
                self.last_draw = now
                self.bar.update(self.task, completed=self.offset + t, loss=f"{step.loss:.5g}", val=f"{val:.5g}")
        elif t % self.line_every == 0 or t == self.total:
            print(f"step {self.offset + t}/{self.offset + self.total}  loss {step.loss:.6g}  "
                  f"val_loss {val:.6g}  elapsed {step.elapsed:.2f}s", file=sys.stderr, flush=True)
        return False


# --- the command --------------------------------------------------------------------------------
def run(args) -> int:
    from ...core.interrupt import deferred_signals, take_interrupt

    # a signal at any moment of training only asks it to stop (it never lands inside compiled
    # code or a half-written file): before the run starts nothing is written, during the run
    # the best θ is saved as interrupted, after it the finished model is saved first
    with deferred_signals():
        status = _train(args)
    late = take_interrupt()
    if late is not None:
        saved = status == 0 and (args.out or args.resume)
        print(f"neuronlab: {late}" + ("; the finished model was saved first" if saved else ""),
              file=sys.stderr)
        return 130
    return status


def _train(args) -> int:
    from ..cli import _one_line
    from ...io.atomic import check_distinct_files, check_output_folder
    from ...core.interrupt import pending_interrupt
    from ...io.model_file import TrainedModel, load, save, summarize_history

    out = args.out or args.resume
    out_flag = "--out" if args.out else "--resume"
    # before any work, nothing written yet: no output is an input or another output, and each
    # can be written (the model is written last, only when every other output was)
    check_distinct_files([(out_flag, out), ("--plot", args.plot), ("--trace", args.trace),
                          ("--animate", args.animate)],
                         [("DATA", args.data), ("--resume", args.resume)],
                         may_replace=[("--out", "--resume"), ("--resume", "--resume")])
    if out:
        check_output_folder(out, out_flag)
    check_visual_paths(args)
    previous = load(args.resume) if args.resume else None
    s = _settings(args, previous)
    strategy_cls = _strategy_class(s["strategy"])
    _check_descent_only(args, s, strategy_cls.name)
    if _streamed.wanted(args):  # beyond memory (block by block) or beyond this machine (Dask)
        return _streamed.train(args, s, strategy_cls, previous, out, _report, _check_same_problem)
    data = _common.training_data(
        args.data, s["target"], s["features"], task=s["task"], seed=s["seed"], val_split=s["val_split"],
        standardize=s["standardize"], drop_missing=s["drop_missing"], needs_gradient="gradient" in strategy_cls.needs,
        previous=previous, quiet=args.quiet)
    dataset, train_rows, val_rows = data.dataset, data.train_rows, data.val_rows
    X_train, X_val, y_train, y_val = data.X_train, data.X_val, data.y_train, data.y_val
    if previous is not None:
        _check_same_problem(previous, dataset, dataset.labels if dataset.task == "classify" else None)
    steps_done, remaining = _common.step_budget(s, previous)
    estimator = data.estimator(hidden=s["hidden"], max_steps=remaining, **_common.estimator_options(s))
    estimator.validate_params()  # a bad --activation/--loss is refused before any work
    n_params = estimator.initial_theta(dataset.X.shape[1], 0, data.n_classes).size
    check_train_visuals(args, strategy_cls.name, n_params, s["batch_size"])
    if previous is not None:
        _common.continue_from(estimator, previous)

    if pending_interrupt():  # stopped before training began: nothing to save
        return 130
    validation = data.validation_objective(estimator)
    started = time.perf_counter()
    objective = data.training_objective(estimator) if args.trace or args.explain or args.animate else None
    with Progress(remaining, steps_done, validation, args.quiet) as progress, warnings.catch_warnings(), \
            TrainTrace(args, objective, progress) as callback:
        warnings.simplefilter("ignore")  # the summary says how the run ended
        estimator.fit(data.X_fit, y_train, callback=callback)  # the model file's scaler maps raw rows to X_fit
    # the time is reported, never saved: the same command and seed give the same model file, byte
    # for byte, which can then be checked by its hash
    seconds = time.perf_counter() - started
    steps_done += int(estimator.n_iter_)
    if validation is not None:
        progress.val_loss[len(estimator.history_) - 1] = validation.loss(estimator.result_.theta)

    training = _common.training_record(
        args, s, estimator, previous, steps_done, target=dataset.target, features=dataset.feature_names,
        task=dataset.task, standardize=data.scaler is not None, rows=dataset.n_rows, rows_dropped=dataset.n_dropped,
        train_rows=len(train_rows), validation_rows=len(val_rows))
    model = TrainedModel(estimator, dataset.feature_names, data.scaler, target=dataset.target, training=training,
                         history=summarize_history(estimator, progress.val_loss))
    model.metrics = {"train": _common.model_metrics(model, X_train, y_train),
                     "validation": _common.model_metrics(model, X_val, y_val) if len(val_rows) else None}
    late = pending_interrupt()  # a signal after the run ended: no pictures, the model is saved
    if not late:
        try:
            train_figures(args, model, objective, progress.val_loss, X_train, y_train)
        except (OSError, ValueError) as e:
            if not out:
                raise
            raise ValueError(f"{_one_line(e)}; the model was not saved to {out} (it is written "
                             "only when every other output was)") from None
    if out:
        save(model, out)
    _report(args, model, out, seconds)
    if late:
        return 0
    explain_training(args, model, objective)
    if estimator.status_ == "interrupted":
        saved = f"; the model so far was saved to {out} (continue with --resume {out})" if out else ""
        print(f"neuronlab: interrupted at step {steps_done}{saved}", file=sys.stderr)
        return 130
    return 0


def _check_same_problem(previous, dataset, labels=None):
    """--resume: the data must be the model's problem — its features, target(s), task, and (``labels``,
    the data's classes) its classes."""
    import numpy as np

    from ...io.tables import target_names

    if list(previous.feature_names) != list(dataset.feature_names):
        raise ValueError(
            f"--resume: the model was trained on features {', '.join(previous.feature_names)}, "
            f"but the data gives {', '.join(dataset.feature_names)}"
        )
    targets = target_names(dataset.target)
    if previous.target is not None and previous.target_names != targets:
        raise ValueError(f"--resume: the model learned {', '.join(previous.target_names)}, but --target "
                         f"names {', '.join(targets)}; resume with the model's target, or train a new model")
    if previous.task != dataset.task:
        raise ValueError(f"--resume: the model is for task {previous.task!r}, the data for {dataset.task!r}")
    learned = getattr(previous.estimator, "classes_", None)
    if labels is not None and learned is not None and not np.array_equal(np.asarray(learned), np.asarray(labels)):
        raise ValueError(f"--resume: the model learned the classes {', '.join(map(str, learned))}, but the data's "
                         f"are {', '.join(map(str, labels))}; resume on data of the same classes, or train a new "
                         "model (without --resume)")


def _report(args, model, out, seconds):
    t = model.training
    if args.json:
        _common.emit_json({
            "status": t["status"], "message": t["message"], "steps_done": t["steps_done"],
            "time_seconds": seconds, "model": out, "metrics": model.metrics,
            "training": t, "history": model.history,
        })
        return
    reports = {"train": model.metrics["train"], "validation": model.metrics["validation"]}
    rows = _common.metric_rows(model.task, reports)
    rows.insert(0, ["rows", t["train_rows"], t["validation_rows"]])
    _common.print_table(f"{model.estimator.__class__.__name__} on {t['data']} → {', '.join(model.target_names)}",
                        ["", "train", "validation"], rows)
    _common.print_per_target(model.target_names, reports)
    print(f"status: {t['status']} after {t['steps_done']} steps in {seconds:.2f}s — {_common.in_cli_terms(t['message'])}")
    if out:
        print(f"model saved to {out}" + (" (resume with --resume)" if t["status"] == "interrupted" else ""))
    else:
        print("model not saved (give --out MODEL.json to keep it)")
