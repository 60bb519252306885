"""What one page of the playground runs: the library's own runs, stepped on request.

A session is one section of the page — a neuron learning (:class:`NeuronSession`), the
equation race (:class:`RaceSession`) or the learning rates side by side
(:class:`RatesSession`).  It is built from a JSON config the page sends, checked here
(a user's mistake is a ValueError naming the field and the fix), and holds the
:class:`~neuronlab.train.loop.Training` objects of the library: ``advance`` steps them,
``frame`` says what the page draws.  Nothing here computes a loss, a gradient or an
update: the objectives, strategies and monitors do, exactly as ``fit``, ``solve`` and
``neuronlab demo`` run them, so the page shows the library's numbers.

This module has no web code (see ``server.py``): tests and notebooks can drive it directly.
The neuron section's config names its ``model``: "neuron" (one neuron; k > 2 classes: the layer
of k neurons with softmax, as ``NeuronClassifier``), or "network" with ``hidden`` layer sizes and
their ``activation`` (one name, or one per layer), built by ``NetworkClassifier`` as ``neuronlab
train --hidden`` builds it.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ...train.history import Step

#: what the page may ask for, and the bounds of one session
MAX_STEPS = 100_000  # steps (History rows) of one run
MAX_ROWS = 200_000  # rows of an uploaded data set
MAX_EQUATION_CHARS = 200
MAX_BUDGET = 100_000  # evaluations of J per method in the race
GRID = 64  # the heat map's cells per side
#: a hidden unit's own heat map: every UNIT_STRIDE-th point of the heat map's grid each way,
#: read off the same forward pass (63 = 3 × 21 steps: 22 points from edge to edge)
UNIT_STRIDE = 3
UNIT_GRID = (GRID - 1) // UNIT_STRIDE + 1
#: the bounds of a network on the page: hidden layers, units per layer, parameters in all
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 32
MAX_PARAMETERS = 3000
MAX_CLASSES = 10
VALIDATION_PER_FRAME = 50  # validation losses measured per frame, at most
CONTOUR = 64  # the race's loss contour, cells per side
DATASETS_2D = ("linear", "xor", "circles", "moons", "blobs3", "obesity")
MODELS = ("neuron", "network")
PAGE_STRATEGIES = ("gradient_descent", "sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad",
                   "monte_carlo", "error_driven")

NEURON_DEFAULTS = dict(model="neuron", dataset="linear", upload=None, features=None, target=None,
                       activation="sigmoid", loss="log_loss", learning_rate=0.5, strategy="gradient_descent",
                       batch_size=None, alpha=0.0, seed=0, val_split=0.2, max_steps=10_000, tol=1e-6,
                       hidden=None)
#: a network's settings where they differ from the neuron's (filled in when not given)
NETWORK_DEFAULTS = dict(hidden=[4], activation="tanh")
#: settings that may change mid-run: the next step uses them (η directly, the others by going
#: on from the current θ with the new setting)
LIVE_SETTINGS = ("learning_rate", "alpha", "strategy", "batch_size", "activation", "loss", "tol", "max_steps")
RACE_DEFAULTS = dict(equation="256x + 212y = 1492", budget=2000, seed=0, learning_rate="auto", tol=1e-6)
RATES_DEFAULTS = dict(seed=0, steps=100)


def _merged(defaults: dict, config, what: str) -> dict:
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValueError(f"the {what} settings must be a JSON object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(map(repr, unknown))} for {what}; "
                         f"the settings are: {', '.join(defaults)}")
    return {**defaults, **config}


def _number(name, value, *, low=None, high=None, integer=False, positive=False):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ValueError(f"{name} must be a {'whole ' if integer else ''}number, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be from {low:g} to {high:g}, got {value!r}")
    return value


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def _floats(values) -> list:
    """Floats for JSON: NaN and ±inf become None (JSON has no such numbers)."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).ravel()]


def _picture(values, decimals: int) -> list:
    """Values for a picture (a heat map, a contour), rounded: the page only colours them;
    NaN and ±inf become None."""
    values = np.round(np.asarray(values, dtype=np.float64).ravel(), decimals)
    out = values.tolist()
    if not np.all(np.isfinite(values)):
        out = [v if math.isfinite(v) else None for v in out]
    return out


#: a picture's cells as 16-bit integers (base64 of little-endian bytes, a fifth of the JSON
#: of rounded decimals and nothing to parse): ŷ ∈ [0, 1] as round(ŷ·PROBABILITY_STEPS) with
#: PROBABILITY_MISSING for a cell that is not a number; a unit's output a as round(a/s·32767)
#: with s its largest |a| over the plane (sent beside), UNIT_MISSING for not a number
PROBABILITY_STEPS = 65534
PROBABILITY_MISSING = 65535
UNIT_MISSING = -32768


def _base64(values: np.ndarray) -> str:
    import base64

    return base64.b64encode(np.ascontiguousarray(values).astype(values.dtype.newbyteorder("<")).tobytes()).decode()


def probability_picture(p) -> str:
    """ŷ over the plane, each cell to 1/65534 (see PROBABILITY_STEPS)."""
    p = np.asarray(p, dtype=np.float64).ravel()
    finite = np.isfinite(p)
    q = np.where(finite, np.rint(np.clip(np.where(finite, p, 0.0), 0.0, 1.0) * PROBABILITY_STEPS), PROBABILITY_MISSING)
    return _base64(q.astype(np.uint16))


def unit_pictures(a) -> dict:
    """Each column of ``a`` (one hidden unit's output over the plane) scaled by its largest
    |a|: ``scales`` (one per unit) and ``values`` (unit after unit, see UNIT_MISSING)."""
    a = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(a)
    clean = np.where(finite, a, 0.0)
    scales = np.abs(clean).max(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    q = np.where(finite, np.rint(clean / scales * 32767), UNIT_MISSING).astype(np.int16)
    return {"scales": _floats(scales), "values": _base64(q.T)}


def _finite(value) -> Optional[float]:
    value = float(value)
    return value if math.isfinite(value) else None


# --- a neuron learns -------------------------------------------------------------------------
def check_neuron_config(config) -> dict:
    """The neuron section's settings, defaults filled in and each checked."""
    from ...core.activations import get_activation
    from ...core.losses import get_loss

    c = _merged(NEURON_DEFAULTS, config, "a neuron")
    _choice("model", c["model"], MODELS)
    if c["model"] == "network":
        c = {**c, **{k: v for k, v in NETWORK_DEFAULTS.items() if k not in (config or {}) or config[k] is None}}
        _check_network(c)
    elif c["hidden"] is not None:
        raise ValueError("hidden layers belong to a network: set model to 'network' (or leave hidden out)")
    if c["upload"] is None:
        _choice("dataset", c["dataset"], DATASETS_2D)
        if c["features"] is not None or c["target"] is not None:
            raise ValueError("features and target are chosen for an uploaded file only; a built-in "
                             "data set knows its own")
    else:
        if not isinstance(c["upload"], str):
            raise ValueError(f"upload must be the id the upload returned, got {c['upload']!r}")
        features = c["features"]
        if (not isinstance(features, list) or len(features) != 2
                or not all(isinstance(f, str) for f in features) or features[0] == features[1]):
            raise ValueError("features must name two different columns of the uploaded file, "
                             f"got {features!r}")
        if not isinstance(c["target"], str) or c["target"] in features:
            raise ValueError(f"target must name the uploaded file's column to learn (not a feature), "
                             f"got {c['target']!r}")
    checked = [("loss", c["loss"], "log_loss", get_loss)]
    if c["model"] == "neuron":
        checked.append(("activation", c["activation"], "sigmoid", get_activation))
    for name, value, example, get in checked:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a name such as {example!r}, got {value!r}")
        get(value)  # an unknown name: the library's own message lists the known ones
    _number("learning_rate", c["learning_rate"], positive=True, high=1e6)
    _choice("strategy", c["strategy"], PAGE_STRATEGIES)
    if c["batch_size"] is not None:
        _number("batch_size", c["batch_size"], integer=True, low=1, high=MAX_ROWS)
    _number("alpha", c["alpha"], low=0, high=1e6)
    _number("seed", c["seed"], integer=True, low=0, high=2**32 - 1)
    _number("val_split", c["val_split"], low=0, high=0.9)
    _number("max_steps", c["max_steps"], integer=True, low=1, high=MAX_STEPS)
    _number("tol", c["tol"], low=0, high=1)
    if c["model"] == "network" and get_loss(c["loss"]).name != "log_loss":
        raise ValueError(f"loss {c['loss']!r}: a network classifier learns with log_loss (a sigmoid output "
                         "for two classes, softmax for more); choose log_loss")
    return c


def _check_network(c) -> None:
    """hidden: 1 … MAX_HIDDEN_LAYERS layers of 1 … MAX_UNITS units; activation: one name or one
    per hidden layer.  The whole network's size is checked once the data say how many classes."""
    from ...core.activations import get_activation

    hidden = c["hidden"]
    if (not isinstance(hidden, list) or not hidden
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in hidden)):
        raise ValueError(f"hidden must list the widths of the hidden layers, e.g. [8, 8], got {hidden!r}")
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"a network on the page has at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(hidden)}")
    for n in hidden:
        if not 1 <= n <= MAX_UNITS:
            raise ValueError(f"a hidden layer on the page has 1 to {MAX_UNITS} units, got {n}")
    activation = c["activation"]
    names = activation if isinstance(activation, list) else [activation]
    if isinstance(activation, list) and len(activation) != len(hidden):
        raise ValueError(f"activation names one f for every hidden layer, or one for all: {len(hidden)} "
                         f"layer(s), {len(activation)} name(s)")
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"activation must be a name such as 'tanh', got {name!r}")
        get_activation(name)  # an unknown name: the library's own message lists the known ones


def network_size(hidden, n_inputs: int, n_outputs: int) -> int:
    """Parameters of a dense network n_inputs → hidden… → n_outputs (weights and biases)."""
    sizes = [n_inputs, *hidden, n_outputs]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


class NeuronSession:
    """A neuron (or a network) learning a 2-D data set: the run ``NeuronClassifier.fit``
    (``NetworkClassifier.fit``) makes, stepped.

    The data are prepared as ``neuronlab train`` prepares them (``training_data``: the
    stratified validation split drawn from ``seed``, features standardised on the
    training rows); the run is ``estimator.start_run`` — the same θ0, strategy and
    monitors as ``fit`` with the same ``random_state``.  Two classes or more: k > 2 are
    learnt by softmax outputs (the neuron: the layer of k neurons).
    """

    @property
    def section(self) -> str:
        return "network" if self.config["model"] == "network" else "neuron"

    def __init__(self, config, tables: Optional[dict] = None):
        self.config = check_neuron_config(config)
        self.tables = tables or {}
        self._prepare()
        self._start(theta=None)

    # --- building ---------------------------------------------------------------------------
    def _prepare(self):
        from ..commands._common import training_data

        c = self.config
        if c["upload"] is not None:
            if c["upload"] not in self.tables:
                raise ValueError("the uploaded file is gone (uploads are kept while the server runs, "
                                 "a few at a time); upload it again")
            data, target, features = self.tables[c["upload"]], c["target"], c["features"]
        else:
            data, target, features = c["dataset"], None, None
        # prepared as `neuronlab train` prepares it; features standardised for every strategy
        # (the picture's axes stay in the data's own units)
        self.data = training_data(data, target, features, task="classify", seed=c["seed"], val_split=c["val_split"],
                                  standardize=True, quiet=True)
        if self.data.dataset.n_rows > MAX_ROWS:
            raise ValueError(f"the data have {self.data.dataset.n_rows} rows; the page takes at most {MAX_ROWS}")
        if self.data.dataset.task != "classify":
            raise ValueError(f"the page classifies; {target!r} holds numbers of many values (a "
                             "regression target): choose a column of classes")
        if self.data.dataset.X.shape[1] != 2:
            raise ValueError("the neuron section draws 2-D data: choose exactly two feature columns")
        self.n_classes = len(self.data.dataset.labels)
        if self.n_classes > MAX_CLASSES:
            raise ValueError(f"{target!r} has {self.n_classes} classes; the page colours at most {MAX_CLASSES}")
        if self.config["model"] == "network":
            size = network_size(self.config["hidden"], 2, 1 if self.n_classes == 2 else self.n_classes)
            if size > MAX_PARAMETERS:
                raise ValueError(f"the network has {size} parameters; the page trains at most "
                                 f"{MAX_PARAMETERS}: use fewer layers or units")
        X = self.data.dataset.X
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = 0.1 * np.where(hi > lo, hi - lo, 1.0)
        self.bounds = (lo - pad, hi + pad)
        xs = np.linspace(self.bounds[0][0], self.bounds[1][0], GRID)
        ys = np.linspace(self.bounds[0][1], self.bounds[1][1], GRID)
        gx, gy = np.meshgrid(xs, ys)  # row r of the grid is y = ys[r]
        self.grid_X = self.data.scaled(np.column_stack([gx.ravel(), gy.ravel()]))
        # a network's pictures are computed in float32: they are sent to 1/65534 anyway, and
        # float32 tanh is several times faster than float64's (the largest part of a frame)
        self.picture_X = self.grid_X.astype(np.float32)

    def estimator(self):
        c = self.config
        options = dict(activation=c["activation"], loss=c["loss"], solver=c["strategy"],
                       learning_rate=c["learning_rate"], alpha=c["alpha"], random_state=c["seed"],
                       max_steps=c["max_steps"], tol=c["tol"])
        if c["model"] == "network":
            # as `neuronlab train --hidden … --batch-size all`: the page's "all" is every row per step
            options["batch_size"] = c["batch_size"]
            if isinstance(c["activation"], list):
                options["activation"] = tuple(c["activation"])
            return self.data.estimator(hidden=tuple(c["hidden"]), **options)
        if c["batch_size"] is not None:
            options["batch_size"] = c["batch_size"]
        return self.data.estimator(**options)

    def _fitted(self, estimator, theta) -> None:
        """``estimator``'s fitted attributes as ``fit`` leaves them, for this θ (the classes, and
        θ unpacked by the run's own model: coef_/intercept_, or theta_/coefs_/intercepts_)."""
        estimator.classes_ = np.asarray(self.data.dataset.labels)
        estimator.n_features_in_ = 2
        estimator._unpack(self.objective.model, np.array(theta, dtype=np.float64))

    def _start(self, theta):
        """Start the run: from fit's θ0, or — after a setting changed mid-run — from ``theta``."""
        estimator = self.estimator()
        # the classes, as fit sets them before its run (k > 2: softmax outputs)
        estimator.classes_ = np.asarray(self.data.dataset.labels)
        if theta is not None:
            estimator.set_params(warm_start=True)
            self._fitted(estimator, theta)  # fit's warm start: θ0 packed back from these
        if self.n_classes > 2 and self.config["model"] == "neuron":
            estimator._check_multiclass_settings(self.n_classes)  # as fit: sigmoid + log_loss only
        target = self.data.target(self.data.y_train)
        self.objective, self.training = estimator.start_run(self.data.X_fit, target)
        # named once per run: a network's names are made when asked, every time (0.7 ms a frame)
        self.param_names = list(self.objective.param_names)
        self.validation = self.data.validation_objective(estimator)
        self.estimator_ = estimator
        self.stability_limit = None
        if self.objective.offers("curvature"):
            self.stability_limit = self.objective.stability_limit()
        self.pending = [0]  # History rows not yet sent to the page
        self.before = None  # (t, θ_t) of the last step, when the History does not keep θ
        self.sent_end = False

    def reset(self):
        self.offset = 0
        self._start(theta=None)

    offset = 0  # steps of earlier runs of this session (before a setting changed mid-run)

    def change(self, settings: dict) -> None:
        """Change settings mid-run: they take effect at the next step.  η is set on the run
        itself; any other live setting goes on from the current θ with the new setting."""
        if not isinstance(settings, dict):
            raise ValueError("the settings to change must be a JSON object")
        fixed = sorted(set(settings) - set(LIVE_SETTINGS))
        if fixed:
            raise ValueError(f"{', '.join(fixed)} cannot change mid-run (the data would change): "
                             "reset with the new settings instead")
        config = check_neuron_config({**self.config, **settings})
        if set(settings) == {"learning_rate"} and self.training.learning_rate is not None \
                and not self.training.finished:
            self.training.learning_rate = float(settings["learning_rate"])
            self.config = config
            return
        theta = np.array(self.training.theta, copy=True)
        old_config = self.config
        self.config = config
        self.offset += self.training.n_rows - 1
        try:
            self._start(theta=theta)
        except (ValueError, TypeError):
            self.config = old_config
            raise
        self.pending = []  # row 0 of the new run is the θ the page already shows

    # --- stepping ---------------------------------------------------------------------------
    def advance(self, n: int) -> None:
        """Up to ``n`` updates (fewer when the run ends)."""
        keep = not self.training.history.record_params  # θ_t for "explain this step", kept here
        for _ in range(int(n)):
            if self.training.finished:
                break
            if keep:
                self.before = (len(self.training.history) - 1, np.array(self.training.theta, copy=True))
            record = self.training.step()
            if isinstance(record, Step):  # a new History row (an UpdateRecord is a mini-batch inside one)
                self.pending.append(record.step)

    @property
    def finished(self) -> bool:
        return self.training.finished

    def frame(self, with_grid: bool = True) -> dict:
        """The rows made since the last frame and where the run stands (JSON-ready)."""
        # only the new rows are read (History.tail): the whole columns are rebuilt after every
        # append, which at 100k rows would cost more than the steps of a frame
        tail = self.training.history.tail(self.pending[0] if self.pending else len(self.training.history))
        losses, rates, params = tail.loss, tail.learning_rate, tail.params
        rows = []
        # the validation loss of at most VALIDATION_PER_FRAME rows of a frame (always its last),
        # as the CLI measures it every few steps
        stride = -(-len(self.pending) // VALIDATION_PER_FRAME) or 1
        for k, t in enumerate(self.pending):
            last = k == len(self.pending) - 1
            i = t - tail.start
            theta = params[i] if params is not None else self.training.theta
            # θ_t of each row is known when the History keeps it (small models); else only the last
            # row's θ (the current one) is, and only its validation loss is measured
            measured = self.validation is not None and (last or (params is not None and k % stride == 0))
            rows.append({"t": self.offset + t, "loss": _finite(losses[i]),
                         "val_loss": _finite(self.validation.loss(theta)) if measured else None,
                         "learning_rate": _finite(rates[i])})
        self.pending = []
        theta = np.asarray(self.training.theta, dtype=np.float64)
        names = self.param_names
        frame = {"type": "frame", "rows": rows, "step": self.offset + self.training.n_rows - 1,
                 "theta": dict(zip(names, _floats(theta))),
                 "learning_rate": self.training.learning_rate,
                 "stability_limit": self.stability_limit, "status": self.training.status}
        if with_grid:
            frame.update(self.pictures(theta))
        return frame

    def pictures(self, theta) -> dict:
        """What the page colours: ``grid``, ŷ over the plane (two classes: P(second class);
        k classes: the largest softmax output, with ``grid_class`` the class it belongs to;
        see ``probability_picture``); for a network each hidden unit's own output over the
        plane (``units``, layer by layer, see ``unit_pictures``: every UNIT_STRIDE-th point of
        the same forward pass) and every layer's weights (``layers``: W as rows of inputs, b)."""
        model = self.objective.model
        out = {}
        if self.config["model"] == "network":
            trace = model.forward_pass(theta, self.picture_X)
            y_hat = trace.output
            coarse = (a.reshape(GRID, GRID, -1)[::UNIT_STRIDE, ::UNIT_STRIDE] for a in trace.inputs[1:])
            out["units"] = [unit_pictures(a.reshape(UNIT_GRID * UNIT_GRID, -1)) for a in coarse]
            out["layers"] = [{"W": [_floats(row) for row in W], "b": _floats(b)}
                             for W, b in (model.layer(theta, l) for l in range(1, model.n_layers + 1))]
        else:
            y_hat = model.forward(theta, self.grid_X)[1]
        y_hat = np.asarray(y_hat, dtype=np.float64)
        if y_hat.ndim == 2 and y_hat.shape[1] > 1:
            out["grid"] = probability_picture(y_hat.max(axis=1))
            out["grid_class"] = np.argmax(y_hat, axis=1).tolist()
        else:
            out["grid"] = probability_picture(y_hat)
        return out

    def ending(self) -> Optional[dict]:
        """Once, when the run has ended: its status, message (for a divergence: why, and the
        η to try) and the suggested learning rate."""
        if not self.training.finished or self.sent_end:
            return None
        self.sent_end = True
        result = self.training.result()
        return {"type": "ended", "status": result.status, "message": result.message,
                "suggested_learning_rate": result.suggested_learning_rate}

    def explain(self) -> dict:
        """The last step made, written out as ``--explain`` writes it (viz.explain)."""
        from ...viz.explain import explain_step

        h = self.training.history
        if len(h) < 2:
            raise ValueError("no step to explain yet: press 'one step' (or play) first")
        params = None
        if not h.record_params:  # a network too large to keep θ of every step: θ_t kept by advance
            before = self.before
            if before is None or before[0] != len(h) - 2:
                raise ValueError("no step to explain yet: press 'one step' (or play) first")
            params = (before[1], self.training.theta)
        step = explain_step(self.objective, h, self.training.strategy, len(h) - 2, params=params)
        return {"type": "explain", "step": self.offset + step.step, "lines": step.lines}

    def info(self) -> dict:
        d = self.data
        from ..commands._common import class_numbers

        X = d.dataset.X
        y = class_numbers(d.dataset.y, d.dataset.labels).astype(int)
        model = self.objective.model
        sizes = [2, *self.config["hidden"], getattr(model, "n_outputs", 1)] if self.section == "network" else None
        return {"section": self.section, "config": self.config,
                "n_classes": self.n_classes, "sizes": sizes, "unit_grid_size": UNIT_GRID,
                "features": list(d.dataset.feature_names), "target": d.dataset.target,
                "labels": [str(v) for v in d.dataset.labels],
                "points": {"x": _floats(X[:, 0]), "y": _floats(X[:, 1]), "label": y.tolist(),
                           "train": np.isin(np.arange(len(y)), d.train_rows).astype(int).tolist()},
                "bounds": {"low": _floats(self.bounds[0]), "high": _floats(self.bounds[1])}, "grid_size": GRID,
                "param_names": self.param_names,
                "stability_limit": self.stability_limit,
                "row_counts": {"train": int(len(d.train_rows)), "validation": int(len(d.val_rows))},
                **self.frame(), "type": "ready"}

    def export(self) -> dict:
        """The model as ``neuronlab train --out`` writes it (the same JSON file format)."""
        import json

        from ...io.model_file import TrainedModel, summarize_history

        est = self.estimator_
        result = self.training.result() if self.training.finished else None
        theta = self.training.best_theta if result is None else result.theta
        self._fitted(est, theta)
        est.history_ = self.training.history
        est.n_iter_ = self.training.n_rows - 1
        est.status_ = self.training.status or "interrupted"
        c = self.config
        d = self.data
        training = {"data": c["dataset"] if c["upload"] is None else "upload", "target": d.dataset.target,
                    "features": d.dataset.feature_names, "task": d.dataset.task,
                    "activation": c["activation"], "loss": c["loss"], "strategy": c["strategy"],
                    "learning_rate": self.training.learning_rate or c["learning_rate"],
                    "steps": c["max_steps"], "steps_done": self.offset + self.training.n_rows - 1,
                    "seed": c["seed"], "val_split": c["val_split"], "alpha": c["alpha"], "tol": c["tol"],
                    "batch_size": c["batch_size"], "standardize": d.scaler is not None,
                    "hidden": c["hidden"],
                    "status": est.status_, "source": "neuronlab playground"}
        model = TrainedModel(est, d.dataset.feature_names, d.scaler, target=d.dataset.target, training=training,
                             history=summarize_history(est, {}))
        return {"type": "export", "filename": "neuronlab-model.json",
                "text": json.dumps(model.to_dict(), indent=2, ensure_ascii=False) + "\n"}


# --- three ways to solve an equation -----------------------------------------------------------
def check_race_config(config) -> dict:
    c = _merged(RACE_DEFAULTS, config, "the equation race")
    if not isinstance(c["equation"], str) or not c["equation"].strip():
        raise ValueError("equation must be text such as '256x + 212y = 1492'")
    if len(c["equation"]) > MAX_EQUATION_CHARS:
        raise ValueError(f"equation is too long ({len(c['equation'])} characters; at most "
                         f"{MAX_EQUATION_CHARS})")
    _number("budget", c["budget"], integer=True, low=1, high=MAX_BUDGET)
    _number("seed", c["seed"], integer=True, low=0, high=2**32 - 1)
    if c["learning_rate"] != "auto":
        _number("learning_rate", c["learning_rate"], positive=True, high=1e6)
    _number("tol", c["tol"], positive=True, high=1e6)
    return c


def _of_current(name):
    """A read-only attribute that is the current run's own ``name``."""
    return property(lambda self: getattr(self.current, name))


class _RestartingGradient:
    """The race's gradient method as ``solve`` runs it, stepped: gradient descent from the
    common start and, when a run ends stuck at its start (undefined or stationary there), a
    new run from the next seeded random point of the box (``restart_points``) with the rest
    of the budget — ``solve``'s own rule (``should_restart``).  Looks like one run to the race."""

    def __init__(self, objective, theta0, c, low, high):
        from ...train.solving import restart_points

        self.objective, self.config = objective, c
        self.points = restart_points(c["seed"], low, high)
        self.spent, self.restarts, self.first = 0, 0, None
        self.best = None  # the best (loss, θ) of the runs before the current one
        self.current = self._start(theta0)
        self._restart_if_stuck()

    def _start(self, point):
        from ...train.solving import UndefinedIsInfinite, method_strategy

        c = self.config
        strategy = method_strategy("gradient", tol=c["tol"], budget=c["budget"] - self.spent,
                                   learning_rate=c["learning_rate"])
        return strategy.start(UndefinedIsInfinite(self.objective), point)

    def step(self):
        record = self.current.step()
        self._restart_if_stuck()
        return record

    def _restart_if_stuck(self):
        from ...train.solving import should_restart

        while self.current.finished:  # a run may end where it starts: stationary there
            result = self.current.result()
            if not should_restart(result, self.config["tol"], self.config["budget"] - self.spent - result.n_evals):
                return
            self.first = self.first or result
            self.spent += result.n_evals
            if self.best is None or result.loss < self.best[0]:
                self.best = (result.loss, result.theta)
            self.restarts += 1
            self.current = self._start(next(self.points))

    finished = _of_current("finished")
    history = _of_current("history")
    strategy = _of_current("strategy")
    status = _of_current("status")
    theta = _of_current("theta")

    @property
    def evaluations(self):
        return self.spent + self.current.evaluations

    def _best(self):
        here = (self.current.best_loss, self.current.best_theta)
        return here if self.best is None or not self.best[0] < here[0] else self.best

    @property
    def best_loss(self):
        return self._best()[0]

    @property
    def best_theta(self):
        return self._best()[1]

    @property
    def message(self):
        from ...train.solving import restart_note

        message = self.current.outcome.message
        if self.restarts:
            message = restart_note(self.first, self.restarts, self.evaluations, message)
        return message


class _RunsSideBySide:
    """A section of several runs stepped together (``self.runs``, built by ``__init__`` from
    ``self.config``): it has ended when every run has, and reset builds it again."""

    runs: dict

    def reset(self):
        self.__init__(self.config)

    @property
    def finished(self) -> bool:
        return all(t.finished for t in self.runs.values())


class RaceSession(_RunsSideBySide):
    """Monte-Carlo, error-driven search and gradient descent on one equation, as ``solve``
    runs them (``method_strategy``, the same start and box), stepped side by side: each
    advance brings every method to the same count of evaluations of J."""

    section = "race"
    LABELS = {"monte-carlo": "Monte-Carlo", "error-driven": "error-driven", "gradient": "gradient descent"}

    def __init__(self, config):
        from ...train.solving import METHODS, UndefinedIsInfinite, method_strategy, race_setup

        self.config = c = check_race_config(config)
        self.objective, self.low, self.high, self.theta0 = race_setup(c["equation"])
        self.runs = {}
        for method in METHODS:
            if method == "gradient":  # with solve's restarts from random points when stuck at its start
                self.runs[method] = _RestartingGradient(self.objective, self.theta0, c, self.low, self.high)
                continue
            strategy = method_strategy(method, tol=c["tol"], budget=c["budget"], low=self.low, high=self.high,
                                       random_state=c["seed"], learning_rate=c["learning_rate"])
            self.runs[method] = strategy.start(UndefinedIsInfinite(self.objective), self.theta0)
        self.evaluations = 1
        self.sent = {m: 0 for m in self.runs}
        self.sent_history = {m: None for m in self.runs}
        self.sent_end = False

    def advance(self, n: int) -> None:
        """``n`` more evaluations of J for every method still running."""
        self.evaluations = min(self.evaluations + int(n), self.config["budget"])
        for training in self.runs.values():
            while not training.finished and training.evaluations < self.evaluations:
                training.step()

    def frame(self, with_grid: bool = False) -> dict:
        from ...train.solving import residual_norm  # the race's own import, as its other solving names

        runs = {}
        for method, training in self.runs.items():
            h = training.history
            if self.sent_history[method] is not h:  # a restart: a new run, its rows from 0
                self.sent_history[method], self.sent[method] = h, 0
            params = h.tail(self.sent[method]).params if h.record_params else None
            self.sent[method] = len(h)
            runs[method] = {
                "label": self.LABELS[method], "evaluations": training.evaluations,
                "residual": _finite(residual_norm(training.best_loss)),
                "theta": _floats(training.theta), "best": _floats(training.best_theta),
                "points": [_floats(p) for p in params] if params is not None else [],
                "status": training.status,
                "message": self._message(training) if training.finished else None,
                "restarts": getattr(training, "restarts", 0),
            }
        return {"type": "frame", "evaluations": self.evaluations, "runs": runs}

    @staticmethod
    def _message(training) -> str:
        return training.message if isinstance(training, _RestartingGradient) else training.outcome.message

    def ending(self) -> Optional[dict]:
        if not self.finished or self.sent_end:
            return None
        self.sent_end = True
        return {"type": "ended", "status": "finished",
                "message": "; ".join(f"{self.LABELS[m]}: {self._message(t)}" for m, t in self.runs.items()),
                "suggested_learning_rate": None}

    def explain(self) -> dict:
        from ...viz.explain import explain_step

        training = self.runs["gradient"]
        h = training.history
        if len(h) < 2:
            raise ValueError("no gradient step to explain yet: press 'one step' (or play) first")
        step = explain_step(self.objective, h, training.strategy, len(h) - 2)
        return {"type": "explain", "step": step.step, "lines": step.lines}

    def contour(self) -> Optional[dict]:
        """log₁₀ J over the search box (two unknowns only), for the picture behind the points."""
        if self.objective.n_params != 2:
            return None
        xs = np.linspace(self.low[0], self.high[0], CONTOUR)
        ys = np.linspace(self.low[1], self.high[1], CONTOUR)
        gx, gy = np.meshgrid(xs, ys)
        from ...train.solving import UndefinedIsInfinite

        with np.errstate(all="ignore"):
            J = UndefinedIsInfinite(self.objective).losses(np.column_stack([gx.ravel(), gy.ravel()]))
            values = np.log10(np.asarray(J) + 1e-12)
        return {"n": CONTOUR, "low": _floats(self.low), "high": _floats(self.high),
                "log10_loss": _picture(values, 3)}

    def info(self) -> dict:
        from ...train.solving import describe_solutions

        solutions, _ = describe_solutions(self.objective, self.theta0)
        return {"section": self.section, "config": self.config,
                "unknowns": list(self.objective.param_names), "start": _floats(self.theta0),
                "solutions": solutions, "contour": self.contour(), **self.frame(), "type": "ready"}


# --- learning rates side by side --------------------------------------------------------------
class RatesSession(_RunsSideBySide):
    """``neuronlab demo``'s act 3, live: the obesity neuron from the same random weights with
    η too small, about right, too large and far too large (around the range test's
    suggestion), stepped together; each run's verdict read off its loss curve at the end."""

    section = "rates"

    def __init__(self, config):
        from ...train.lr_find import lr_find
        from ..commands.demo import fixed_rate_run, learning_rates, obesity_problem

        self.config = c = _merged(RATES_DEFAULTS, config, "the learning rates")
        _number("seed", c["seed"], integer=True, low=0, high=2**32 - 1)
        _number("steps", c["steps"], integer=True, low=1, high=10_000)
        self.problem = obesity_problem(c["seed"])
        self.found = lr_find(self.problem.objective, self.problem.theta0)
        self.rates = learning_rates(self.found.suggestion)
        self.runs = {name: fixed_rate_run(lr, c["steps"]).start(self.problem.objective, self.problem.theta0)
                     for name, lr in self.rates.items()}
        self.sent = {name: 0 for name in self.runs}
        self.sent_end = False

    def advance(self, n: int) -> None:
        for _ in range(int(n)):
            for training in self.runs.values():
                if not training.finished:
                    training.step()

    def frame(self, with_grid: bool = False) -> dict:
        runs = {}
        for name, training in self.runs.items():
            h = training.history
            runs[name] = {"learning_rate": self.rates[name], "losses": _floats(h.tail(self.sent[name]).loss),
                          "from": self.sent[name], "status": training.status}
            self.sent[name] = len(h)
        return {"type": "frame", "runs": runs}

    def ending(self) -> Optional[dict]:
        from ..commands.demo import VERDICTS, verdict_of

        if not self.finished or self.sent_end:
            return None
        self.sent_end = True
        results = {name: t.result() for name, t in self.runs.items()}
        best = min(r.loss for r in results.values())
        verdicts = {name: verdict_of(r.history, best) for name, r in results.items()}
        return {"type": "ended", "status": "finished", "suggested_learning_rate": self.found.suggestion,
                "verdicts": {name: {"verdict": v, "why": VERDICTS[v]} for name, v in verdicts.items()},
                "message": "; ".join(f"η {name} ({self.rates[name]:.3g}) {v}" for name, v in verdicts.items())}

    def explain(self) -> dict:
        from ...viz.explain import explain_step

        training = self.runs["about right"]
        h = training.history
        if len(h) < 2:
            raise ValueError("no step to explain yet: press 'one step' (or play) first")
        step = explain_step(self.problem.objective, h, training.strategy, len(h) - 2)
        return {"type": "explain", "step": step.step, "lines": step.lines}

    def info(self) -> dict:
        return {"section": self.section, "config": self.config,
                "suggestion": self.found.suggestion, "reason": self.found.reason,
                "rates": self.rates, **self.frame(), "type": "ready"}


SECTIONS = {"neuron": NeuronSession, "network": NeuronSession, "race": RaceSession, "rates": RatesSession}


def open_section(section, config, tables=None):
    """The session of ``section`` built from the page's ``config`` ("network" is the neuron
    section with ``model`` "network")."""
    _choice("section", section, tuple(SECTIONS))
    if section == "network":
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise ValueError(f"the network settings must be a JSON object, got {type(config).__name__}")
        return NeuronSession({**config, "model": "network"}, tables)
    if section == "neuron":
        return NeuronSession(config, tables)
    return SECTIONS[section](config)
