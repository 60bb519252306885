"""The model file's schema: each field's rule stated once, checked before anything is used.

A rule is a small object with ``check(value, name, ctx)``; ``Obj`` holds the rules of an
object's fields, in the order they are checked.  Sizes that other fields must agree
with are *named* when they are first read (``List(..., sets="n_features")``) and then
*used* by name (``List(Num(), length="n_features")``): the number of weights, means
and scales agrees with ``feature_names`` without a line of code per field.  ``When``
picks a rule by the value of a field read before (``labels`` by ``kind``).  A new shape
(k classes: ``coef`` as k lists of n numbers; a network's list of layers) is a new rule
in ``MODEL_SCHEMA``, not a new check in the loader.

Reading the file is bounded before the JSON is parsed: its size (``MAX_FILE_BYTES``),
then the nesting depth of its brackets (``MAX_DEPTH``, by a scan that skips strings),
so neither a 200 MB array nor 100,000 nested brackets is built into Python objects.
Every message names the file and the field, quotes at most a few characters of a
value, and is at most ``MAX_MESSAGE`` characters long.
"""

from __future__ import annotations

import json
import math
import re
from typing import Optional

import numpy as np

from ..core.validation import written_label

__all__ = ["SchemaError", "Ctx", "MODEL_SCHEMA", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_FEATURES",
           "MAX_MESSAGE", "read_json_bounded", "check_model_document", "quote"]

MAX_FILE_BYTES = 64 * 2**20  # a 100,000-feature model file is about 12 MB
MAX_DEPTH = 32               # today's files nest 4 deep
MAX_FEATURES = 100_000
MAX_NAME = 1_000             # characters of a feature name, label, target or other text
MAX_TEXT = 20_000            # characters of a free text (the run's message, a data path)
MAX_POINTS = 10_000          # points of the loss history summary
MAX_MESSAGE = 300            # characters of an error message
SEED_MAX = 2**32 - 1


class SchemaError(ValueError):
    """A model file that breaks its schema (a ValueError: a user's mistake, one line)."""


def quote(value, width: int = 40) -> str:
    """``value`` as JSON, cut to ``width`` characters: a message never repeats a huge value."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text


def capped(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


class Ctx:
    """What a check knows: the file (for messages) and the sizes named so far."""

    def __init__(self, path, sizes: Optional[dict] = None):
        self.path = str(path)
        self.sizes = dict(sizes or {})
        self.values: dict = {}  # top-level fields read so far (for When)

    def fail(self, name, what):
        path = self.path if len(self.path) <= 80 else "…" + self.path[-79:]
        raise SchemaError(capped(f"{path}: field '{name}' {what}; the file is not a valid neuronlab model "
                                 "(re-train it or restore the original)"))


# --- rules ---------------------------------------------------------------------------------------
class Rule:
    nullable = False

    def check(self, value, name, ctx):  # pragma: no cover - every rule defines it
        raise NotImplementedError

    def __call__(self, value, name, ctx):
        if value is None:
            if self.nullable:
                return None
            ctx.fail(name, f"must be {self.describe()}, got null")
        return self.check(value, name, ctx)

    def describe(self) -> str:
        return type(self).__name__.lower()


class Opt(Rule):
    """``rule`` or null."""

    nullable = True

    def __init__(self, rule):
        self.rule = rule

    def check(self, value, name, ctx):
        return self.rule(value, name, ctx)

    def describe(self):
        return f"{self.rule.describe()} or null"


class Const(Rule):
    def __init__(self, value, why=""):
        self.value, self.why = value, why
        self.nullable = value is None

    def check(self, value, name, ctx):
        if type(value) is not type(self.value) or value != self.value:
            ctx.fail(name, f"must be {quote(self.value)}{self.why}, got {quote(value)}")
        return value

    def describe(self):
        return quote(self.value)


class Str(Rule):
    def __init__(self, choices=None, max_len=MAX_NAME, non_empty=False):
        self.choices, self.max_len, self.non_empty = choices, max_len, non_empty

    def check(self, value, name, ctx):
        if not isinstance(value, str):
            ctx.fail(name, f"must be {self.describe()}, got {quote(value)}")
        if len(value) > self.max_len:
            ctx.fail(name, f"is {len(value)} characters long; at most {self.max_len} are allowed")
        if self.non_empty and not value.strip():
            ctx.fail(name, "must not be empty")
        if self.choices is not None and value not in self.choices:
            ctx.fail(name, f"must be one of {', '.join(self.choices)}, got {quote(value)}")
        return value

    def describe(self):
        return "text" if self.choices is None else "one of " + ", ".join(self.choices)


class Bool(Rule):
    def check(self, value, name, ctx):
        if not isinstance(value, bool):
            ctx.fail(name, f"must be true or false, got {quote(value)}")
        return value

    def describe(self):
        return "true or false"


def _bounds(low, high, low_open=False, high_open=False) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '≥'} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '≤'} {high:g}")
    return " and ".join(parts)


class Num(Rule):
    """A finite number (an integer is a number; true/false is not) in [low, high]."""

    kind = "a finite number"

    def __init__(self, low=None, high=None, low_open=False, high_open=False):
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open

    def accepts(self, value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def check(self, value, name, ctx):
        if not self.accepts(value):
            ctx.fail(name, f"must be {self.describe()}, got {quote(value)}")
        low_bad = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        high_bad = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if low_bad or high_bad:
            ctx.fail(name, f"must be {self.describe()}, got {quote(value)}")
        return value

    def describe(self):
        bounds = _bounds(self.low, self.high, self.low_open, self.high_open)
        return self.kind + (f" {bounds}" if bounds else "")


class Int(Num):
    kind = "a whole number"

    def accepts(self, value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)


class Label(Rule):
    """A class label: text, or a finite number (as a CSV holds them)."""

    def check(self, value, name, ctx):
        if isinstance(value, str):
            return Str().check(value, name, ctx)
        if not Num().accepts(value):
            ctx.fail(name, f"must be text or a finite number, got {quote(value)}")
        return value

    def describe(self):
        return "a label (text or a finite number)"


class Scalar(Rule):
    """Any JSON value that is not a list or an object (numbers finite)."""

    nullable = True

    def check(self, value, name, ctx):
        if isinstance(value, str):
            return Str(max_len=MAX_TEXT).check(value, name, ctx)
        if isinstance(value, bool) or Num().accepts(value):
            return value
        ctx.fail(name, f"must be text, a finite number, true, false or null, got {quote(value)}")

    def describe(self):
        return "a plain value"


class Either(Rule):
    """The first of ``rules`` whose type fits (they differ in type: a number or a list, …)."""

    def __init__(self, *rules, fits=None):
        self.rules = rules
        self.fits = fits

    def check(self, value, name, ctx):
        for rule in self.rules:
            if _fits(rule, value):
                return rule(value, name, ctx)
        ctx.fail(name, f"must be {self.describe()}, got {quote(value)}")

    def describe(self):
        return " or ".join(rule.describe() for rule in self.rules)


def _fits(rule, value) -> bool:
    """Whether ``value`` is of the JSON type ``rule`` checks (its contents are not looked at)."""
    kinds = {Str: str, Bool: bool, Int: int, Num: (int, float), List: list, Obj: dict}
    if isinstance(rule, Opt):
        return value is None or _fits(rule.rule, value)
    if isinstance(rule, Const):
        return type(value) is type(rule.value)
    for cls in (Int, Num, Str, Bool, List, Obj):  # Int before Num
        if isinstance(rule, cls):
            return isinstance(value, kinds[cls]) and (cls is Bool or not isinstance(value, bool))
    return True


class List(Rule):
    """A list of ``item``; its length is ``length`` (a number, or a size named before), or in
    [min_len, max_len]; ``sets`` names its length for later fields; ``unique`` refuses two
    items with the same ``key`` (for labels: as they are written, so 1 and 1.0 are one)."""

    def __init__(self, item, length=None, min_len=0, max_len=None, sets=None, unique=False, key=None,
                 what="items"):
        self.item, self.length, self.min_len, self.max_len = item, length, min_len, max_len
        self.sets, self.unique, self.key, self.what = sets, unique, key, what

    def check(self, value, name, ctx):
        if not isinstance(value, list):
            ctx.fail(name, f"must be a list of {self.what}, got {quote(value)}")
        n = len(value)
        if self.length is not None:
            expected = ctx.sizes.get(self.length) if isinstance(self.length, str) else self.length
            if expected is None:
                ctx.fail(name, "does not belong in this kind of model")
            if n != expected:
                why = f" (one per {self.length[2:].rstrip('s')}: {expected})" if isinstance(self.length, str) \
                    else ""
                ctx.fail(name, f"must hold {expected} {self.what}{why}, got {n}")
        if n < self.min_len:
            ctx.fail(name, f"must hold at least {self.min_len} {self.what}, got {n}")
        if self.max_len is not None and n > self.max_len:
            ctx.fail(name, f"holds {n} {self.what}; at most {self.max_len} are allowed")
        if n and isinstance(self.item, Num) and not isinstance(self.item, Int):
            out = self._numbers(value, name, ctx)
        else:
            out = [self.item(v, f"{name}[{i}]", ctx) for i, v in enumerate(value)]
        if self.unique:
            seen = {}
            for i, v in enumerate(out):
                k = (self.key or (lambda x: x))(v)
                if k in seen:
                    ctx.fail(name, f"lists {quote(v)} twice (items {seen[k]} and {i}); each must be distinct")
                seen[k] = i
        if self.sets:
            ctx.sizes[self.sets] = n
        return out

    def _numbers(self, value, name, ctx):
        """A list of numbers, checked in one pass of NumPy (a model may hold 100,000 of them)."""
        bad = next((i for i, v in enumerate(value) if isinstance(v, bool) or not isinstance(v, (int, float))), None)
        if bad is None:
            array = np.asarray(value, dtype=np.float64)
            finite = np.isfinite(array)
            bad = None if finite.all() else int(np.argmin(finite))
        if bad is not None:
            ctx.fail(f"{name}[{bad}]", f"must be {self.item.describe()}, got {quote(value[bad])}")
        for i in (int(np.argmin(array)), int(np.argmax(array))):
            self.item(value[i], f"{name}[{i}]", ctx)  # the bounds, at the extremes
        return value

    def describe(self):
        return f"a list of {self.what}"


class Obj(Rule):
    """An object with these fields, checked in this order: ``fields`` maps a key to its rule,
    ``optional`` lists the keys that may be absent; ``extra`` is the rule of any other key
    (None: no other key is allowed)."""

    def __init__(self, fields: dict, optional=(), extra=None, what="an object"):
        self.fields, self.optional, self.extra, self.what = fields, set(optional), extra, what

    def check(self, value, name, ctx):
        if not isinstance(value, dict):
            ctx.fail(name, f"must be {self.what}, got {quote(value)}")
        prefix = f"{name}." if name else ""
        for key, rule in self.fields.items():
            if key not in value:
                if key not in self.optional:
                    ctx.fail(prefix + key, "is missing")
                continue
            checked = rule(value[key], prefix + key, ctx)
            if not name:
                ctx.values[key] = checked
        for key in value:
            if key not in self.fields:
                if self.extra is None:
                    ctx.fail(prefix + str(key)[:40], f"is not a field of {name or 'a model file'}")
                self.extra(value[key], prefix + str(key)[:40], ctx)
        return value

    def describe(self):
        return self.what


class ByClasses(Rule):
    """``two`` for a model of two classes (or none), ``many`` for k > 2 (``n_labels`` read before)."""

    def __init__(self, two, many):
        self.two, self.many = two, many

    def check(self, value, name, ctx):
        return (self.many if ctx.sizes.get("n_labels", 2) > 2 else self.two)(value, name, ctx)

    def describe(self):
        return self.two.describe()


class When(Rule):
    """The rule in ``rules`` for the value of the top-level field ``field`` (read before)."""

    def __init__(self, field, rules: dict):
        self.field, self.rules = field, rules

    def check(self, value, name, ctx):
        return self.rules[ctx.values[self.field]](value, name, ctx)

    def __call__(self, value, name, ctx):
        return self.rules[ctx.values[self.field]](value, name, ctx)


# --- the model file, version 1 -----------------------------------------------------------------------
FORMAT = "neuronlab-model"
SCHEMA_VERSION = 1
KINDS = ("NeuronClassifier", "NeuronRegressor", "NetworkClassifier", "NetworkRegressor")
CLASSIFIERS = ("NeuronClassifier", "NetworkClassifier")
MAX_CLASSES = 10_000
MAX_LAYERS = 100
MAX_TARGETS = 10_000
#: the target column, or several (a regression with one output per target)
TARGET = Opt(Either(Str(), List(Str(non_empty=True), min_len=2, max_len=MAX_TARGETS, unique=True,
                                what="column names")))
TASKS = ("classify", "regress")
STATUSES = ("converged", "max_steps", "diverged", "interrupted", "stalled")
DTYPES = ("float32", "float64")
METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "log_loss", "roc_auc", "mse", "mae", "r2")

NUMBERS = dict(what="numbers")
PER_CLASS = Obj({"precision": Num(0, 1), "recall": Num(0, 1), "f1": Num(0, 1), "support": Int(0)},
                what="an object {precision, recall, f1, support}")
#: a regression with several targets: each one's scores
PER_TARGET = Obj({"mse": Opt(Num(0)), "mae": Opt(Num(0)), "r2": Opt(Num())}, what="an object {mse, mae, r2}")
METRICS = Obj({name: Opt(Num()) for name in METRIC_NAMES}
              | {"confusion_matrix": List(List(Int(0), length="n_labels", what="counts"),
                                          length="n_labels", what="rows"),
                 "average": Str(("macro",)),  # k > 2 classes: precision, recall, F1, AUC are means
                 "per_class": List(PER_CLASS, length="n_labels", what="scores"),
                 "per_target": List(PER_TARGET, min_len=2, max_len=MAX_TARGETS, what="scores")},
              optional=(*METRIC_NAMES, "confusion_matrix", "average", "per_class", "per_target"),
              what="an object of scores")
#: an activation: one name, or (a network's hidden layers) one name per layer
ACTIVATION = When("kind", {kind: Either(Str(), List(Str(), max_len=MAX_LAYERS, what="names"))
                           if kind.startswith("Network") else Str() for kind in KINDS})
TRAINING_FIELDS = {
    "data": Str(max_len=MAX_TEXT),
    "target": TARGET,
    "features": Opt(List(Str(), length="n_features", what="column names")),
    "task": Str(TASKS),
    "activation": ACTIVATION, "loss": Str(), "strategy": Str(),
    "hidden": Opt(List(Int(1), max_len=MAX_LAYERS, what="layer sizes")),
    "learning_rate": Num(0, low_open=True),
    "steps": Int(1),
    "steps_done": Int(0),
    "seed": Int(0, SEED_MAX),
    "val_split": Num(0, 1, high_open=True),
    "alpha": Num(0), "tol": Num(0),
    "batch_size": Opt(Either(Int(1), Str(("all", "auto")))),
    "schedule": Opt(Str()),
    "dtype": Opt(Str(DTYPES)),
    "recover": Bool(), "standardize": Bool(), "drop_missing": Bool(),
    "rows": Int(0), "rows_dropped": Int(0), "train_rows": Int(0), "validation_rows": Int(0),
    "status": Opt(Str(STATUSES)),
    "message": Opt(Str(max_len=MAX_TEXT)),
    "time_seconds": Num(0),  # files written before timings were left out of them
    "resumed_from": Opt(Str(max_len=MAX_TEXT)),
    "runs": Int(1),
}
# every one optional: a model saved from Python has no training record
TRAINING = Obj(TRAINING_FIELDS, optional=TRAINING_FIELDS, extra=Scalar(), what="an object of training settings")
HISTORY = Obj({
    "n_steps": Int(0),
    "loss_start": Opt(Num()), "loss_end": Opt(Num()), "loss_best": Opt(Num()),
    "points": List(Obj({"step": Int(0), "loss": Opt(Num()), "val_loss": Opt(Num())}, optional=("val_loss",),
                       what="an object {step, loss}"), max_len=MAX_POINTS, what="points"),
}, optional=("loss_start", "loss_end", "loss_best"), what="an object (the loss history)")

#: the neuron: w (one per feature) and b
NEURON = Obj({"coef": List(Num(), length="n_features", **NUMBERS), "intercept": Num()},
             what="an object {coef, intercept}")
#: k > 2 classes: one row of w and one b per class
SOFTMAX_LAYER = Obj({"coef": List(List(Num(), length="n_features", **NUMBERS), length="n_labels",
                                  what="rows"),
                     "intercept": List(Num(), length="n_labels", **NUMBERS)},
                    what="an object {coef: k rows, intercept: k numbers}")
#: a network: each layer's W (n_in rows of n_out numbers) and b (n_out numbers); that the
#: shapes chain from the features through hidden_layer_sizes to the outputs, the loader checks
LAYERS = Obj({"layers": List(Obj({"W": List(List(Num(), min_len=1, **NUMBERS), min_len=1, what="rows"),
                                  "b": List(Num(), min_len=1, **NUMBERS)}, what="an object {W, b}"),
                             min_len=1, max_len=MAX_LAYERS, what="layers")},
             what="an object {layers}")

MODEL_SCHEMA = Obj({
    "format": Const(FORMAT),
    "schema_version": Const(SCHEMA_VERSION, f" (this neuronlab reads version {SCHEMA_VERSION})"),
    "neuronlab_version": Str(),
    "kind": Str(KINDS),
    "task": When("kind", {kind: Const("classify" if kind in CLASSIFIERS else "regress") for kind in KINDS}),
    "target": TARGET,
    "feature_names": List(Str(non_empty=True), min_len=1, max_len=MAX_FEATURES, sets="n_features", unique=True,
                          what="column names"),
    # a label is what the data's target column holds; 1 and 1.0 are one label, NaN none
    "labels": When("kind", {kind: List(Label(), min_len=2, max_len=MAX_CLASSES, sets="n_labels", unique=True,
                                       key=written_label, what="labels") if kind in CLASSIFIERS else Const(None)
                            for kind in KINDS}),
    "scaler": Opt(Obj({"mean": List(Num(), length="n_features", **NUMBERS),
                       "scale": List(Num(0, low_open=True), length="n_features", **NUMBERS)},
                      what="an object {mean, scale}")),
    "activation": ACTIVATION, "loss": Str(),
    "parameters": When("kind", {
        "NeuronRegressor": NEURON, "NeuronClassifier": ByClasses(NEURON, SOFTMAX_LAYER),
        "NetworkClassifier": LAYERS, "NetworkRegressor": LAYERS}),
    "estimator_params": Obj({}, extra=Opt(Either(List(Scalar(), max_len=MAX_LAYERS, what="values"), Scalar())),
                            what="an object of settings"),
    "training": TRAINING,
    "metrics": Obj({"train": Opt(METRICS), "validation": Opt(METRICS)}, optional=("train", "validation"),
                   what="an object {train, validation}"),
    "history": HISTORY,
}, optional=("neuronlab_version",), what="an object")


def check_model_document(doc, path) -> Ctx:
    """Check a parsed model file against ``MODEL_SCHEMA``; the context holds the sizes read."""
    ctx = Ctx(path)
    if not isinstance(doc, dict):
        raise SchemaError(capped(f"{path}: not a neuronlab model file (the JSON is not an object)"))
    if doc.get("format") != FORMAT:
        ctx.fail("format", f"must be {quote(FORMAT)}, got {quote(doc.get('format'))}")
    MODEL_SCHEMA(doc, "", ctx)
    return ctx


# --- reading, bounded ------------------------------------------------------------------------------
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


def nesting_depth(data: bytes, chunk: int = 1 << 22) -> int:
    """The deepest nesting of [ ] and { } in JSON text, brackets inside strings skipped: one
    pass of a regular expression and NumPy, with no Python object per value."""
    text = _STRING.sub(b'""', data)
    array = np.frombuffer(text, dtype=np.uint8)
    depth = deepest = 0
    for start in range(0, len(array), chunk):
        part = array[start:start + chunk]
        delta = np.isin(part, _OPEN).astype(np.int32) - np.isin(part, _CLOSE).astype(np.int32)
        where = np.flatnonzero(delta)
        if where.size:
            running = depth + np.cumsum(delta[where])
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
    return deepest


def read_json_bounded(path, data: bytes, what="model file"):
    """Parse ``data`` (the bytes of ``path``) as JSON after the depth check."""
    depth = nesting_depth(data)
    if depth > MAX_DEPTH:
        raise SchemaError(capped(f"{path}: nests {depth} levels deep; a {what} nests at most {MAX_DEPTH} "
                                 "(not a neuronlab model file)"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SchemaError(capped(f"{path}: not a neuronlab {what} (not UTF-8 text)")) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SchemaError(capped(f"{path}: not valid JSON (truncated or edited?): {e.msg} at line {e.lineno} "
                                 f"column {e.colno}")) from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of more than 4,300 digits
        raise SchemaError(capped(f"{path}: not a valid {what}: {e}")) from None
