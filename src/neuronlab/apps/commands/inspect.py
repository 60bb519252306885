"""``neuronlab inspect``: what a saved model is, its weights and how it was trained.

Shows the neuron (ŷ = f(w·x′ + b), x′ = (x − μ)/σ when the features were
standardised), w per feature name — on the standardised scale it learned on and
converted to the raw units of the data — the training settings and outcome, and
the stored scores.
"""

from __future__ import annotations

import numpy as np

from . import _common


def register(subparsers):
    p = _common.add_command(subparsers, "inspect", "show what a saved model is, its weights and how it was trained",
                            __doc__, "examples:\n  neuronlab inspect m.json\n  neuronlab inspect m.json --json\n")
    p.add_argument("model", metavar="MODEL", help=_common.MODEL_HELP)
    p.add_argument("--json", action="store_true", help="print the checked model as one JSON document")
    p.set_defaults(run=run)


def run(args) -> int:
    from ...io.model_file import load

    model = load(args.model)
    if args.json:
        _common.emit_json(model.to_dict())
        return 0
    est, t = model.estimator, model.training
    scaled = model.scaler is not None
    standardised = ", x′ = (x − μ)/σ (standardised on the training rows)" if scaled else ""
    multiclass = model.task == "classify" and len(model.labels) > 2
    network = getattr(est, "network_", None)
    if network is not None:
        print(f"{type(est).__name__}: {network!r}, loss {est.loss}{standardised}")
    elif multiclass:
        print(f"{type(est).__name__}: {len(model.labels)} neurons, one per class, zₖ = wₖ·x{'′' if scaled else ''} + bₖ, "
              f"ŷ = softmax(z), loss {est.loss}{standardised}")
    else:
        print(f"{type(est).__name__}: ŷ = {est.activation}(w·x{'′' if scaled else ''} + b), loss {est.loss}{standardised}")
    if model.task == "classify":
        print(f"target {model.target!r}: " + ", ".join(f"{label} → {k}" for k, label in enumerate(model.labels)))
    elif len(model.target_names) > 1:
        print("targets " + ", ".join(map(repr, model.target_names)) + " (a number each: one output per target)")
    else:
        print(f"target {model.target!r} (a number)")
    if network is not None:
        _print_layers(network, est)
    else:
        _print_weights(model, multiclass)
    _print_training(model)
    return 0


def _print_weights(model, multiclass):
    est, scaled = model.estimator, model.scaler is not None
    w_raw, b_raw = model.weights_in_original_units()
    names = _feature_labels(model.feature_names)
    if multiclass:
        _print_class_weights(model, names, w_raw, b_raw)
    else:
        rows = [[name, float(w), float(wr)] + ([float(model.scaler.mean[j]), float(model.scaler.scale[j])] if scaled else [])
                for j, (name, w, wr) in enumerate(zip(names, est.coef_, w_raw))]
        if len(rows) > TABLE_ROWS:  # a wide model: the first rows, and where to find the others
            hidden = len(rows) - TABLE_ROWS
            rows = rows[:TABLE_ROWS] + [[f"… {hidden} more (--json)", None, None] + ([None, None] if scaled else [])]
        rows.append([BIAS_LABEL, float(est.intercept_), b_raw] + ([None, None] if scaled else []))
        header = ["feature", "w" + (" (standardised)" if scaled else ""), "w (raw units)"] + (["μ", "σ"] if scaled else [])
        _common.print_table("weights", header, rows)


def _print_layers(network, est):
    """A network's weights, a row per layer: its shape, activation and the size of its numbers."""
    rows = []
    for l, (W, b) in enumerate(zip(est.coefs_, est.intercepts_), start=1):
        f = network.output if l == network.n_layers else network.activations[l - 1].name
        rows.append([l, f"{W.shape[0]} × {W.shape[1]}", f, W.size + b.size, float(np.linalg.norm(W)),
                     float(np.abs(W).max()), float(b.min()), float(b.max())])
    _common.print_table(f"layers (z_l = a_(l−1)·W_l + b_l; {est.theta_.size} numbers in θ)",
                        ["layer", "W", "f", "numbers", "‖W‖", "max |w|", "min b", "max b"], rows)


def _print_training(model):
    t = model.training
    if t:
        settings = ["data", "rows", "rows_dropped", "train_rows", "validation_rows", "seed", "hidden", "strategy",
                    "learning_rate", "alpha", "steps", "steps_done", "runs", "status", "time_seconds"]
        _common.print_table("training", ["setting", "value"], [[k, t.get(k)] for k in settings if k in t and (k != "hidden" or t[k] is not None)])
        print(f"outcome: {_common.in_cli_terms(str(t.get('message')))}")
    if model.metrics:
        _common.print_table("scores", ["metric"] + list(model.metrics), _common.metric_rows(model.task, model.metrics))
    h = model.history
    if h.get("n_steps"):
        print(f"loss {_loss(h.get('loss_start'))} → {_loss(h.get('loss_end'))} over {h['n_steps']} steps "
              f"(best {_loss(h.get('loss_best'))})")


def _print_class_weights(model, names, w_raw, b_raw):
    """One column of weights per class (the neuron wₖ of class k), standardised then raw."""
    est, scaled = model.estimator, model.scaler is not None
    labels = [str(label) for label in model.labels]
    tables = [("weights" + (" (standardised)" if scaled else ""), est.coef_, est.intercept_)]
    if scaled:
        tables.append(("weights (raw units)", w_raw, b_raw))
    for title, W, b in tables:
        rows = [[name] + [float(v) for v in W[:, j]] for j, name in enumerate(names)]
        if len(rows) > TABLE_ROWS:  # a wide model: the first rows, and where to find the others
            rows = rows[:TABLE_ROWS] + [[f"… {len(rows) - TABLE_ROWS} more (--json)"] + [None] * len(labels)]
        rows.append([BIAS_LABEL] + [float(v) for v in b])
        _common.print_table(title, ["feature"] + [f"w ({label})" for label in labels], rows)


#: features the weights table shows (``--json`` gives every one)
TABLE_ROWS = 40

#: the weights table's row for b; a feature may have any name, so see _feature_labels
BIAS_LABEL = "bias b"


def _feature_labels(names) -> list[str]:
    """The feature names as the weights table shows them: as they are, unless one would read
    like the bias row (equal to BIAS_LABEL but for spaces); then every name is quoted (its
    repr), and a quoted name never equals the unquoted BIAS_LABEL."""
    names = [str(name) for name in names]
    if any(name.strip() == BIAS_LABEL for name in names):
        return [repr(name) for name in names]
    return names


def _loss(value) -> str:
    """A loss of the model file's history; null there stands for an infinite or NaN loss (a diverged run)."""
    return "not finite" if value is None else f"{value:.6g}"
