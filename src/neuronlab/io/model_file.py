"""Model files: a trained neuron as JSON, written atomically, read back with checks.

A model file holds everything needed to use the neuron on new data and to tell how
it was made — never a pickle, so reading one runs no code:

    format, schema_version, neuronlab_version, kind (NeuronClassifier|NeuronRegressor|
    NetworkClassifier|NetworkRegressor),
    task, target, feature_names, labels (classifier: labels[0] → 0, labels[1] → 1, …),
    scaler ({mean, scale} or null: x′ = (x − μ)/σ before z = w·x′ + b),
    activation, loss, parameters ({coef: w per feature, intercept: b}; for k > 2
    classes {coef: k lists, one w per class, intercept: k numbers}; for a network
    {layers: [{W: n_{l−1} lists of n_l numbers, b: n_l numbers}, …]}),
    estimator_params, training (data, rows, split, seed, strategy, status, time, …),
    metrics ({train: …, validation: …}), history (steps, first/last/best loss, a few points)

Floats are written with Python's shortest round-trip repr, so w and b read back to
the same bits and a loaded model predicts the same numbers.  Writes go to a
temporary file in the same folder, then ``os.replace`` (atomic): a failed or
interrupted run never leaves a half-written or clobbered file.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .atomic import atomic_output, check_output_folder
from ..core.json_values import jsonable
from ..core.activations import get_activation
from .tables import Standardizer
from ..estimators.network import NetworkClassifier, NetworkRegressor
from ..estimators.neuron import NeuronClassifier, NeuronRegressor, check_is_fitted
from ..core.losses import get_loss

__all__ = ["TrainedModel", "save", "load", "atomic_write_text", "SCHEMA_VERSION", "FORMAT"]

FORMAT = "neuronlab-model"
SCHEMA_VERSION = 1
KINDS = {"NeuronClassifier": NeuronClassifier, "NeuronRegressor": NeuronRegressor,
         "NetworkClassifier": NetworkClassifier, "NetworkRegressor": NetworkRegressor}
NETWORKS = (NetworkClassifier, NetworkRegressor)
HISTORY_POINTS = 20


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` all at once (see :mod:`neuronlab.io.atomic`), flushed to
    disk before the rename: on any failure, even Ctrl-C, an existing ``path`` is untouched."""
    path = check_output_folder(path, "model file" if str(path).endswith(".json") else "output file")
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


class TrainedModel:
    """A fitted NeuronClassifier/NeuronRegressor with what it needs for new data.

    ŷ = f(w·x′ + b) with x′ = (x − μ)/σ when a scaler is kept (``scaler``), else x′ = x.
    ``predict`` accepts a data frame / table / dict with the model's feature
    columns (in any order; extra columns are ignored) or an array whose columns
    are already in ``feature_names`` order.
    """

    def __init__(self, estimator, feature_names: Sequence[str], scaler: Optional[Standardizer] = None,
                 target: Optional[str] = None, training: Optional[dict] = None,
                 metrics: Optional[dict] = None, history: Optional[dict] = None):
        self.estimator = estimator
        self.feature_names = [str(n) for n in feature_names]
        self.scaler = scaler
        self.target = target
        self.training = dict(training or {})
        self.metrics = dict(metrics or {})
        self.history = history if history is not None else summarize_history(estimator)

    @property
    def task(self) -> str:
        return "classify" if self.estimator._estimator_type == "classifier" else "regress"

    @property
    def labels(self):
        return self.estimator.classes_.tolist() if self.task == "classify" else None

    def matrix(self, X) -> np.ndarray:
        """The model's input x′: columns picked by name (or taken in order) and standardised."""
        if hasattr(X, "columns") or isinstance(X, dict) or hasattr(X, "schema"):
            from .tables import as_table, prepare

            X = prepare(as_table(X), None, self.feature_names, require_target=False, source="data").X
        else:
            X = np.asarray(X, dtype=np.float64)
            if X.ndim != 2 or X.shape[1] != len(self.feature_names):
                raise ValueError(
                    f"X must have shape (n_rows, {len(self.feature_names)}) with columns "
                    f"{', '.join(self.feature_names)}; got shape {X.shape}"
                )
        return X if self.scaler is None else self.scaler.transform(X)

    def predict(self, X) -> np.ndarray:
        return self.estimator.predict(self.matrix(X))

    def predict_proba(self, X) -> np.ndarray:
        return self.estimator.predict_proba(self.matrix(X))

    def decision_function(self, X) -> np.ndarray:
        return self.estimator.decision_function(self.matrix(X))

    def weights_in_original_units(self):
        """(w, b) acting on the raw features: with x′ = (x − μ)/σ,
        w·x′ + b = (w/σ)·x + (b − Σ wμ/σ).  For k classes, one row of w and one b per class."""
        w, b = self.estimator.coef_, np.asarray(self.estimator.intercept_, dtype=np.float64)
        if self.scaler is not None:
            w = w / self.scaler.scale
            b = b - w @ self.scaler.mean
        return w.copy(), (float(b) if b.ndim == 0 else b)

    def to_dict(self) -> dict:
        from .._version import __version__

        est = self.estimator
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "neuronlab_version": __version__,
            "kind": type(est).__name__,
            "task": self.task,
            "target": self.target,
            "feature_names": self.feature_names,
            "labels": self.labels,
            "scaler": None if self.scaler is None else self.scaler.to_dict(),
            "activation": (jsonable(est.activation) if isinstance(est, NETWORKS)
                           else get_activation(est.activation).name),
            "loss": get_loss(est.loss).name,
            "parameters": _parameters(est),
            "estimator_params": {k: jsonable(v) for k, v in est.get_params().items()},
            "training": jsonable(self.training),
            "metrics": jsonable(self.metrics),
            "history": jsonable(self.history),
        }

    def __repr__(self) -> str:
        return f"TrainedModel({self.estimator!r}, features={self.feature_names})"


def _parameters(est) -> dict:
    """The fitted numbers: w and b (one row of w and one b per class for k > 2 classes), or
    each layer's W and b for a network."""
    if isinstance(est, NETWORKS):
        return {"layers": [{"W": W.tolist(), "b": b.tolist()} for W, b in zip(est.coefs_, est.intercepts_)]}
    return {"coef": np.asarray(est.coef_, dtype=np.float64).tolist(),
            "intercept": np.asarray(est.intercept_, dtype=np.float64).tolist()}


def summarize_history(estimator, validation_loss: Optional[dict] = None) -> dict:
    """A short account of the run: first, last and best loss, and ≤ 20 points of the curve.

    ``validation_loss`` maps steps to the validation loss measured there; the points
    are then picked among those steps, so each carries both losses.
    """
    h = getattr(estimator, "history_", None)
    if h is None or not len(h):
        return {"n_steps": 0, "points": []}
    candidates = np.array(sorted(validation_loss), dtype=int) if validation_loss else np.arange(len(h))
    picks = np.unique(np.linspace(0, len(candidates) - 1, min(HISTORY_POINTS, len(candidates))).round().astype(int))
    points = []
    for t in candidates[picks].tolist():
        point = {"step": t, "loss": float(h.loss[t])}
        if validation_loss:
            point["val_loss"] = validation_loss[t]
        points.append(point)
    return {"n_steps": len(h) - 1, "loss_start": float(h.loss[0]), "loss_end": float(h.loss[-1]),
            "loss_best": float(np.nanmin(h.loss)) if np.isfinite(h.loss).any() else None, "points": points}


def save(model, path) -> None:
    """Write ``model`` (a TrainedModel, or a fitted NeuronClassifier/NeuronRegressor) to
    ``path`` as JSON, atomically."""
    if isinstance(model, (NeuronClassifier, NeuronRegressor) + NETWORKS):
        check_is_fitted(model)
        names = getattr(model, "feature_names_in_", None)
        names = list(names) if names is not None else [f"x{j + 1}" for j in range(model.n_features_in_)]
        model = TrainedModel(model, names)
    if not isinstance(model, TrainedModel):
        raise TypeError(f"save() takes a fitted estimator of neuronlab (NeuronClassifier, NetworkClassifier, …) "
                        f"or a TrainedModel, got {type(model).__name__}")
    text = json.dumps(model.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_text(path, text)


# --- loading, with a check of every field ------------------------------------------------
class _Fields:
    def __init__(self, path):
        self.path = path

    def fail(self, name, what):
        raise ValueError(f"{self.path}: field '{name}' {what}; the file is not a valid neuronlab model "
                         "(re-train it or restore the original)")

    def get(self, doc, name, kinds, *, nullable=False):
        key = name.split(".")[-1]
        if not isinstance(doc, dict) or key not in doc:
            self.fail(name, "is missing")
        value = doc[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.fail(name, f"must be {' or '.join(k.__name__ for k in kinds)}, got {json.dumps(value)[:40]}")
        return value

    def numbers(self, doc, name, length, positive=False, what="one per feature"):
        if isinstance(doc, list):  # the k-th row of a list of lists, named name = "….k"
            index = int(name.rsplit(".", 1)[1])
            values = doc[index]
            if not isinstance(values, list):
                self.fail(name, f"must be a list of numbers, got {json.dumps(values)[:40]}")
        else:
            values = self.get(doc, name, (list,))
        if len(values) != length:
            self.fail(name, f"must hold {length} numbers ({what}), got {len(values)}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (positive and v <= 0):
                self.fail(name, f"must hold finite{' positive' if positive else ''} numbers, got {json.dumps(v)}")
        return np.asarray(values, dtype=np.float64)


def load(path) -> TrainedModel:
    """Read a model file written by ``save`` (or ``neuronlab train --out``).

    Every field is checked; a truncated, edited or wrong-version file raises
    ValueError naming the field that is wrong.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a model file; give the file written by "
                         "'neuronlab train --out MODEL.json'")
    if not path.is_file():
        raise ValueError(f"{path}: no such model file; train one with: neuronlab train DATA --target COL --out {path}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a neuronlab model file (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (truncated or edited?): {e.msg} at line {e.lineno} column {e.colno}") from None
    f = _Fields(path)
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a neuronlab model file (the JSON is not an object)")
    if doc.get("format") != FORMAT:
        f.fail("format", f"must be {FORMAT!r}, got {json.dumps(doc.get('format'))}")
    version = f.get(doc, "schema_version", (int,))
    if version != SCHEMA_VERSION:
        f.fail("schema_version", f"is {version}, but this neuronlab reads version {SCHEMA_VERSION} only")
    kind = f.get(doc, "kind", (str,))
    if kind not in KINDS:
        f.fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    names = f.get(doc, "feature_names", (list,))
    if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        f.fail("feature_names", "must be a non-empty list of distinct column names")
    n = len(names)
    params = f.get(doc, "estimator_params", (dict,))
    estimator_cls = KINDS[kind]
    valid = set(estimator_cls._get_param_names())
    unknown = set(params) - valid
    if unknown:
        f.fail("estimator_params", f"has unknown setting(s) {', '.join(sorted(unknown))}")
    network = estimator_cls in NETWORKS
    for key in ("activation", "loss") if not network else ():  # a network's are in estimator_params
        name = f.get(doc, key, (str,))
        try:
            (get_activation if key == "activation" else get_loss)(name)
        except ValueError:
            f.fail(key, f"names no known {key}: {name!r}")
        params[key] = name
    estimator = estimator_cls(**params)
    try:
        estimator.validate_params()
    except (TypeError, ValueError) as e:
        f.fail("estimator_params", f"is invalid: {e}")
    n_classes = 2
    if estimator._estimator_type == "classifier":
        labels = f.get(doc, "labels", (list,))
        if len(labels) < 2 or len(set(map(str, labels))) != len(labels) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in labels
        ):
            f.fail("labels", "must list two or more distinct classes")
        estimator.classes_ = np.asarray(labels)
        n_classes = len(labels)
    parameters = f.get(doc, "parameters", (dict,))
    if network:
        _load_layers(f, estimator, parameters, n, n_classes)
    elif n_classes > 2:
        # k neurons with softmax: one row of weights and one bias per class
        coef = f.get(parameters, "parameters.coef", (list,))
        if len(coef) != n_classes:
            f.fail("parameters.coef", f"must hold {n_classes} lists (one per class in labels), got {len(coef)}")
        estimator.coef_ = np.stack([f.numbers(coef, f"parameters.coef.{k}", n) for k in range(n_classes)])
        estimator.intercept_ = f.numbers(parameters, "parameters.intercept", n_classes, what="one per class")
        if (get_activation(estimator.activation).name, get_loss(estimator.loss).name) != ("sigmoid", "log_loss"):
            f.fail("activation", f"must be 'sigmoid' with loss 'log_loss' for {n_classes} classes (softmax)")
    else:
        estimator.coef_ = f.numbers(parameters, "parameters.coef", n)
        intercept = f.get(parameters, "parameters.intercept", (int, float))
        if not math.isfinite(intercept):
            f.fail("parameters.intercept", "must be a finite number")
        estimator.intercept_ = float(intercept)
    estimator.n_features_in_ = n
    if network:
        estimator._unpack(None, estimator.theta_)  # coefs_ and intercepts_ as views of θ
    scaler_doc = f.get(doc, "scaler", (dict,), nullable=True)
    scaler = None
    if scaler_doc is not None:
        scaler = Standardizer(f.numbers(scaler_doc, "scaler.mean", n), f.numbers(scaler_doc, "scaler.scale", n, positive=True))
    training = f.get(doc, "training", (dict,))
    estimator.status_ = training.get("status")
    estimator.n_iter_ = training.get("steps_done")
    return TrainedModel(
        estimator, names, scaler,
        target=f.get(doc, "target", (str,), nullable=True),
        training=training,
        metrics=f.get(doc, "metrics", (dict,)),
        history=f.get(doc, "history", (dict,)),
    )


def _load_layers(f, estimator, parameters, n_features, n_classes):
    """A network's θ from ``parameters.layers``, each W and b of the shape its settings give."""
    layers = f.get(parameters, "parameters.layers", (list,))
    if estimator._estimator_type == "regressor":
        last = layers[-1] if layers and isinstance(layers[-1], dict) else {}
        outputs = last.get("b")
        if not isinstance(outputs, list) or not outputs:
            f.fail(f"parameters.layers.{len(layers) - 1}.b", "must list one bias per output")
        estimator.n_outputs_ = len(outputs)
    network = estimator._network(n_features, n_classes)
    if len(layers) != network.n_layers:
        f.fail("parameters.layers", f"must hold {network.n_layers} layers (hidden_layer_sizes "
               f"{list(network.hidden_layer_sizes)} and the output), got {len(layers)}")
    blocks = {}
    for l, layer in enumerate(layers, start=1):
        where = f"parameters.layers.{l - 1}"
        n_in, n_out = network.sizes[l - 1], network.sizes[l]
        rows = f.get(layer, f"{where}.W", (list,))
        if len(rows) != n_in:
            f.fail(f"{where}.W", f"must hold {n_in} lists (one per input of layer {l}), got {len(rows)}")
        blocks[f"W{l}"] = np.stack([f.numbers(rows, f"{where}.W.{i}", n_out, what=f"one per unit of layer {l}")
                                    for i in range(n_in)])
        blocks[f"b{l}"] = f.numbers(layer, f"{where}.b", n_out, what=f"one per unit of layer {l}")
    estimator.theta_ = network.layout.pack(**blocks)
