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
import os
import stat
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from . import schema
from .atomic import atomic_output, check_output_folder, file_kind
from ..core.json_values import jsonable
from ..core.activations import get_activation
from .tables import Standardizer, target_names
from ..estimators.network import NetworkClassifier, NetworkRegressor
from ..estimators.neuron import NeuronClassifier, NeuronRegressor, check_is_fitted
from ..core.losses import get_loss

__all__ = ["TrainedModel", "save", "load", "atomic_write_text", "SCHEMA_VERSION", "FORMAT"]

FORMAT = schema.FORMAT
SCHEMA_VERSION = schema.SCHEMA_VERSION
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
                 target: Optional[Union[str, list[str]]] = None, training: Optional[dict] = None,
                 metrics: Optional[dict] = None, history: Optional[dict] = None):
        self.estimator = estimator
        self.feature_names = [str(n) for n in feature_names]
        self.scaler = scaler
        self.target = target
        self.training = dict(training or {})
        self.metrics = dict(metrics or {})
        self.history = history if history is not None else summarize_history(estimator)

    @property
    def target_names(self) -> list[str]:
        """The target column(s): one, several (a regression with one output each), or none."""
        return target_names(self.target)

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
    document = model.to_dict()
    schema.check_model_document(document, path)  # what is written can be read back
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_text(path, text)


# --- loading, with a check of every field ------------------------------------------------
def _read_bounded(path: Path) -> bytes:
    """The bytes of the model file, refused before reading when it is not a regular file or
    larger than any model file (``schema.MAX_FILE_BYTES``)."""
    try:
        st = os.stat(path)
    except OSError:
        raise ValueError(f"{path}: no such model file; train one with: neuronlab train DATA --target COL "
                         f"--out {path}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{path}: is a folder, not a model file; give the file written by "
                         "'neuronlab train --out MODEL.json'")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: is a {file_kind(st.st_mode)}, not a model file; give the file written by "
                         "'neuronlab train --out MODEL.json'")
    if st.st_size > schema.MAX_FILE_BYTES:
        raise ValueError(f"{path}: {st.st_size / 2**20:.0f} MiB is larger than any neuronlab model file "
                         f"(at most {schema.MAX_FILE_BYTES // 2**20} MiB); not a model file")
    with open(path, "rb") as f:
        data = f.read(schema.MAX_FILE_BYTES + 1)
    if len(data) > schema.MAX_FILE_BYTES:  # it grew while being read
        raise ValueError(f"{path}: larger than any neuronlab model file; not a model file")
    return data


def load(path) -> TrainedModel:
    """Read a model file written by ``save`` (or ``neuronlab train --out``).

    The file is bounded before it is parsed (size, then nesting depth) and every field is
    checked against the schema (:mod:`neuronlab.io.schema`: types, ranges, lengths that agree
    with the feature names and labels, finite numbers, distinct labels) before any is used;
    a truncated, edited or wrong-version file raises ValueError naming the file and the field.
    """
    path = Path(path)
    doc = schema.read_json_bounded(path, _read_bounded(path))
    ctx = schema.check_model_document(doc, path)
    kind = doc["kind"]
    names = list(doc["feature_names"])
    estimator_cls = KINDS[kind]
    params = dict(doc["estimator_params"])
    unknown = set(params) - set(estimator_cls._get_param_names())
    if unknown:
        ctx.fail("estimator_params", f"has unknown setting(s) {schema.quote(sorted(unknown))}")
    network = estimator_cls in NETWORKS
    for key in ("activation", "loss") if not network else ():  # a network's are in estimator_params
        try:
            (get_activation if key == "activation" else get_loss)(doc[key])
        except ValueError:
            ctx.fail(key, f"names no known {key}: {schema.quote(doc[key])}")
        params[key] = doc[key]
    estimator = estimator_cls(**params)
    try:
        estimator.validate_params()
    except (TypeError, ValueError) as e:
        ctx.fail("estimator_params", f"is invalid: {e}")
    parameters = doc["parameters"]
    n_features = len(names)
    estimator.n_features_in_ = n_features
    n_classes = len(doc["labels"]) if doc["labels"] is not None else None
    if n_classes is not None:
        estimator.classes_ = np.asarray(doc["labels"])
    if network:
        _load_layers(ctx, estimator, parameters["layers"], n_features, n_classes)
    elif n_classes is not None and n_classes > 2:
        # k neurons with softmax: one row of weights and one bias per class (shapes: the schema's)
        estimator.coef_ = np.asarray(parameters["coef"], dtype=np.float64)
        estimator.intercept_ = np.asarray(parameters["intercept"], dtype=np.float64)
        if (get_activation(estimator.activation).name, get_loss(estimator.loss).name) != ("sigmoid", "log_loss"):
            ctx.fail("activation", f"must be 'sigmoid' with loss 'log_loss' for {n_classes} classes (softmax)")
    else:
        estimator.coef_ = np.asarray(parameters["coef"], dtype=np.float64)
        estimator.intercept_ = float(parameters["intercept"])
    target = doc["target"]
    outputs = estimator.n_outputs_ if kind == "NetworkRegressor" else 1
    if target is not None and (len(target) if isinstance(target, list) else 1) != outputs:
        ctx.fail("target", f"must name {outputs} column(s), one per output of the model, got {schema.quote(target)}")
    scaler = doc["scaler"]
    if scaler is not None:
        scaler = Standardizer(np.asarray(scaler["mean"], dtype=np.float64),
                              np.asarray(scaler["scale"], dtype=np.float64))
    training = doc["training"]
    estimator.status_ = training.get("status")
    estimator.n_iter_ = training.get("steps_done")
    return TrainedModel(estimator, names, scaler, target=target, training=training,
                        metrics=doc["metrics"], history=doc["history"])


def _load_layers(ctx, estimator, layers, n_features, n_classes):
    """A network's θ from its layers (numbers checked by the schema), each W and b of the shape
    that hidden_layer_sizes, the features and the outputs give."""
    if estimator._estimator_type == "regressor":
        estimator.n_outputs_ = len(layers[-1]["b"])
    network = estimator._network(n_features, n_classes)
    if len(layers) != network.n_layers:
        ctx.fail("parameters.layers", f"must hold {network.n_layers} layers (hidden_layer_sizes "
                 f"{list(network.hidden_layer_sizes)} and the output), got {len(layers)}")
    blocks = {}
    for l, layer in enumerate(layers, start=1):
        where = f"parameters.layers[{l - 1}]"
        n_in, n_out = network.sizes[l - 1], network.sizes[l]
        W = layer["W"]
        if len(W) != n_in or any(len(row) != n_out for row in W):
            ctx.fail(f"{where}.W", f"must be {n_in} lists of {n_out} numbers (layer {l}: {n_in} inputs, "
                     f"{n_out} units)")
        if len(layer["b"]) != n_out:
            ctx.fail(f"{where}.b", f"must hold {n_out} numbers (one per unit of layer {l}), got {len(layer['b'])}")
        blocks[f"W{l}"] = np.asarray(W, dtype=np.float64)
        blocks[f"b{l}"] = np.asarray(layer["b"], dtype=np.float64)
    estimator.theta_ = network.layout.pack(**blocks)
    estimator._unpack(None, estimator.theta_)  # coefs_ and intercepts_ as views of θ
