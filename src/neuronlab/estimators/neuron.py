"""scikit-learn estimators around the neuron: NeuronClassifier and NeuronRegressor.

They follow scikit-learn's estimator contract (``fit``/``predict``/``score``,
``get_params``/``set_params``, fitted attributes ending in ``_``) and pass its
``check_estimator`` suite, but do not import scikit-learn: it is needed only to
run those checks or to put the estimators in a Pipeline.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings

import numpy as np

from ..core.activations import get_activation, log_softmax, sigmoid, softmax
from ..core.losses import check_compatible, get_loss
from ..core.split import stratified_split
from ..core.threads import check_n_jobs, run_threads
from ..models.network import Network
from ..models.neuron import INITIALIZERS, Neuron, init_params
from ..objectives.network import NetworkObjective
from ..objectives.neuron import NeuronObjective
from ..core.validation import (
    classes_of,
    label_places,
    ConvergenceWarning,
    NotFittedError,
    check_is_fitted,
    sklearn_flavoured,
    check_random_state,
    check_sample_weight,
    user_stacklevel,
    check_tol,
    check_X,
    check_y,
    feature_names_of,
)
from ..optim.transforms import get_schedule
from ..train.descent import GradientDescent
from ..train.registry import STRATEGIES, get_strategy, strategy_name, strategy_takes
from .sourced import fit_source, is_dask_collection, lazy_output, takes_source

__all__ = ["NeuronClassifier", "NeuronRegressor", "ConvergenceWarning", "NotFittedError", "check_is_fitted"]

PENALTIES = ("l2", "l1", "elasticnet", None)
#: solvers built on GradientDescent: they take a schedule, mini-batches and early stopping
DESCENT_SOLVERS = tuple(name for name, cls in STRATEGIES.items() if issubclass(cls, GradientDescent))
#: every solver that can train a neuron (``_solver_options`` knows its settings); the others in
#: STRATEGIES need more than a loss, e.g. gauss_newton needs the residuals of equations
NEURON_SOLVERS = DESCENT_SOLVERS + ("line_search", "lbfgs", "monte_carlo", "error_driven", "perceptron")


def _training_dtype(dtype):
    """None (keep X's float32/float64), or np.float32/np.float64 from any spelling of them."""
    if dtype is None:
        return None
    try:
        parsed = np.dtype(dtype)
    except TypeError:
        parsed = None
    if parsed not in (np.float32, np.float64):
        raise ValueError(f"dtype must be None, 'float32' or 'float64', got {dtype!r}")
    return parsed.type


def _solver_options(est, rng, n_rows):
    """The estimator's settings that its solver (strategy) has, by their common names."""
    settings = dict(learning_rate=est.learning_rate, max_steps=getattr(est, est._BUDGET), tol=est.tol,
                    schedule=est.schedule, random_state=rng, recover=est.recover,
                    batch_size=est._batch_size(n_rows))
    if settings["batch_size"] is None and strategy_name(est.solver) == "sgd":
        del settings["batch_size"]  # sgd's own default (32): mini-batches are what it is
    return {k: v for k, v in settings.items() if strategy_takes(est.solver, k)}


#: a clause of a budget message that advises more steps/epochs or a larger η
_MORE_STEPS_ADVICE = re.compile(r"\bmore (steps|epochs|iterations)\b|\blarger learning.rate\b")

SEPARABILITY_MAX_SIZE = 2_000_000  # rows × columns; beyond this the check costs more than the fit


def _linearly_separable(X, target) -> bool:
    """Whether some (w, b) puts every row strictly on its own side: sᵢ·(w·xᵢ + b) > 0.

    Decided by a certificate either way, in a few Newton steps (``separability``), for data of
    moderate size (``SEPARABILITY_MAX_SIZE`` values; larger data are not claimed separable).
    """
    from .separability import linearly_separable

    return linearly_separable(X, target, SEPARABILITY_MAX_SIZE)


def _two_numbers(y):
    """[low, high] (y's dtype) when y holds two numbers and every row is one of them, else None:
    its smallest and largest values and two boolean passes, one at a time (a 10,000,000-row y
    is neither sorted nor copied)."""
    if y.dtype.kind in "biuf" and y.size:
        low, high = y.min(), y.max()
        if low != high:  # NaN compares unequal: classes_of names it
            if np.count_nonzero(y == low) + np.count_nonzero(y == high) == y.size:
                return np.array([low, high], dtype=y.dtype)
    return None


def _classes(y, two=None):
    """``classes_of(y)`` without sorting a copy of y when y holds two numbers (``two``, from
    :func:`_two_numbers`, when the caller has it).  Anything else — text, one class, three —
    goes to ``classes_of``."""
    two = _two_numbers(y) if two is None else two
    return two if two is not None else classes_of(y)


def _listed(values, most=10) -> str:
    """Up to ``most`` of ``values`` for a message, comma-separated."""
    values = list(values)
    return ", ".join(map(str, values[:most])) + (f", … ({len(values)} in all)" if len(values) > most else "")


#: the fix for data that a warm start cannot go on with
WARM_START_FIX = ("start afresh with fit and warm_start=False (partial_fit goes on with the fitted model too; on the "
                  "command line: train without --resume)")
#: the fix for a label a warm start (or partial_fit) cannot learn
NEW_LABEL_FIX = ("a warm start (and partial_fit) goes on with the fitted classes: fit with warm_start=False "
                 "(on the command line: train without --resume) to learn others")


def _classes_to_continue(y, classes, fix=NEW_LABEL_FIX):
    """``classes`` (a fitted classifier's, which a warm start or partial_fit goes on with, or
    those given to a first partial_fit), after checking that every label of y is among them
    (without sorting y: only the labels not found are)."""
    _, found = label_places(y, classes)
    if not found.all():
        raise ValueError(f"y has label(s) {_listed(np.unique(np.asarray(y)[~found]), 5)} not among the classes "
                         f"{_listed(classes)} of this classifier; {fix}")
    return classes


def _fit_classes(y, two, fitted=None, given=None):
    """The classes a fit learns: a warm start's ``fitted`` ones (``given`` again, if given, must
    be the same, as in scikit-learn), else those ``given`` to a first partial_fit, else y's own
    (``two``: y's two numbers, found without sorting a copy of y); every label of y must be
    among the first two."""
    labels = y if two is None else two  # y's two numbers hold every label of y
    if given is not None:
        given = classes_of(np.asarray(given), "classes")
    if fitted is not None:
        if given is not None and not np.array_equal(given, fitted):
            raise ValueError(f"classes={_listed(given)} is not what the first partial_fit was given "
                             f"({_listed(fitted)}); later calls may leave classes out, or give the same")
        return _classes_to_continue(labels, fitted)
    if given is not None:
        return _classes_to_continue(labels, given, "list in classes every label y may hold")
    return _classes(y, two)


def _continuous(y, two=None) -> bool:
    """Whether a float y holds a label that is not a whole number.  When y is two numbers
    (``two``, from :func:`_two_numbers`) only those two are looked at: rounding all of y makes
    an n-long copy (about a fifth of a pass over a 1,000,000 × 100 X's time, for nothing)."""
    if y.dtype.kind != "f":
        return False
    values = y if two is None else two
    return bool(np.any(values != np.round(values)))


def _all_on_their_side(estimator, X, target, block=1 << 16, first=1 << 10) -> bool:
    """Whether (2·t − 1)·z > 0 on every row, z = w·x + b, in blocks of rows (no n-long z).

    The blocks start at ``first`` rows and double up to ``block``: data that are not separable
    (the usual case) have a row on the wrong side among the first few, and a fit that asks
    (an unpenalised log loss that spent its steps) then reads a few hundred kB of X, not the
    first 2^16 rows (52 MB of a float64 X with 100 columns, a tenth of a pass)."""
    start, size = 0, max(1, min(first, block))
    while start < X.shape[0]:
        part = slice(start, start + size)
        if not np.all((2 * target[part] - 1) * estimator._z(X[part]) > 0):
            return False
        start, size = start + size, min(block, 2 * size)
    return True


class _NeuronEstimator:
    """What the classifier and the regressor share: parameters, fitting, validation."""

    _estimator_type: str

    def __init__(self, activation, loss, *, solver="gradient_descent", learning_rate=0.1,
                 max_steps=1000, tol=1e-6, penalty="l2", alpha=0.0, l1_ratio=0.15,
                 init="xavier", warm_start=False, random_state=None, schedule=None,
                 batch_size=None, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, dtype=None, recover=False):
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_steps = max_steps
        self.tol = tol
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.init = init
        self.warm_start = warm_start
        self.random_state = random_state
        self.schedule = schedule
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype
        self.recover = recover

    # --- scikit-learn parameter protocol (no scikit-learn import needed) -----------
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            same = default is value or (
                type(default) is type(value) and not isinstance(value, np.ndarray) and default == value
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    #: the attribute a fit sets, by which a fitted estimator is known
    _FITTED = "coef_"

    def __sklearn_is_fitted__(self):
        return hasattr(self, self._FITTED)

    def _batch_size(self, n_rows):
        """The rows per update: None for all of them."""
        return self.batch_size

    def _base_tags(self):
        from sklearn.utils import InputTags, Tags, TargetTags  # only asked for by scikit-learn

        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            input_tags=InputTags(two_d_array=True),
        )

    # --- validation ---------------------------------------------------------------
    #: the setting that bounds the run: steps (epochs with mini-batches)
    _BUDGET = "max_steps"

    def validate_params(self):
        """Check every setting (the CLI asks before it reads any data); return the
        (activation, loss) objects they name.  ValueError/TypeError naming the setting."""
        activation, loss = self._validate_model()
        self._validate_training()
        return activation, loss

    def _validate_model(self):
        """The neuron's own settings: activation, loss (and that they fit), penalty, init."""
        activation = get_activation(self.activation)
        loss = get_loss(self.loss)
        check_compatible(activation, loss)
        if self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {PENALTIES}, got {self.penalty!r}")
        if not (isinstance(self.l1_ratio, (int, float)) and 0 <= self.l1_ratio <= 1):
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        if self.init not in INITIALIZERS:
            raise ValueError(f"unknown init {self.init!r}; choose one of: {', '.join(INITIALIZERS)}")
        return activation, loss

    def _validate_training(self):
        """The settings of the training run, which every estimator here shares."""
        if not isinstance(self.solver, str):
            raise TypeError(f"solver must be a name such as 'gradient_descent', got {self.solver!r}")
        strategy_name(self.solver)
        if isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, (int, float)):
            raise TypeError(f"learning_rate must be a number, got {self.learning_rate!r}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"learning_rate must be > 0, got {self.learning_rate!r}: with η = 0 the weights "
                "never change; try 0.1"
            )
        budget = getattr(self, self._BUDGET)
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)):
            raise TypeError(f"{self._BUDGET} must be a whole number, got {budget!r}")
        if budget < 1:
            raise ValueError(f"{self._BUDGET} must be ≥ 1, got {budget!r}")
        check_tol(self.tol)
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not (
            math.isfinite(self.alpha) and self.alpha >= 0
        ):
            raise ValueError(f"alpha must be a number ≥ 0, got {self.alpha!r}")
        solver = strategy_name(self.solver)
        if solver not in NEURON_SOLVERS:
            raise ValueError(
                f"solver {self.solver!r} cannot train a neuron (it needs more than a loss J, e.g. the "
                f"residuals of equations); choose one of: {', '.join(NEURON_SOLVERS)}"
            )
        descent = solver in DESCENT_SOLVERS
        if self.batch_size is not None and not (self.batch_size == "auto" and self._BUDGET == "max_iter"):
            if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) \
                    or self.batch_size < 1:
                raise ValueError(f"batch_size must be a whole number ≥ 1 or None, got {self.batch_size!r}")
            if not descent:
                raise ValueError(
                    f"batch_size works with the solvers {', '.join(DESCENT_SOLVERS)}, not {self.solver!r}"
                )
        for flag in ("early_stopping", "recover"):
            if getattr(self, flag) not in (True, False):
                raise ValueError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        if self.recover and not descent:
            raise ValueError(f"recover works with the solvers {', '.join(DESCENT_SOLVERS)}, not {self.solver!r}")
        if self.early_stopping and not descent:
            raise ValueError(
                f"early_stopping works with the solvers {', '.join(DESCENT_SOLVERS)}, not {self.solver!r}"
            )
        if not (isinstance(self.validation_fraction, float) and 0 < self.validation_fraction < 1):
            raise ValueError(f"validation_fraction must be a number in (0, 1), got {self.validation_fraction!r}")
        if isinstance(self.n_iter_no_change, bool) or not isinstance(self.n_iter_no_change, (int, np.integer)) \
                or self.n_iter_no_change < 1:
            raise ValueError(f"n_iter_no_change must be a whole number ≥ 1, got {self.n_iter_no_change!r}")
        if self.schedule is not None and not descent:
            raise ValueError(f"schedule works with the solvers {', '.join(DESCENT_SOLVERS)}, not {self.solver!r}")
        if self.schedule is not None:
            get_schedule(self.schedule, self.learning_rate)
        _training_dtype(self.dtype)
        if "n_jobs" in self._get_param_names():
            check_n_jobs(self.n_jobs)

    def _continuing(self) -> bool:
        """Whether this fit goes on from the fitted parameters (``warm_start`` on a fitted estimator)."""
        return bool(self.warm_start) and self.__sklearn_is_fitted__()

    def _check_fit_input(self, X):
        """X for a fit, in the training dtype: the features it sets, or for a warm start those the
        fitted model has (checked as ``predict`` checks them, the fix said on a mismatch)."""
        continuing = self._continuing()
        return self._check_input(X, reset=not continuing, dtype=_training_dtype(self.dtype),
                                 mismatch_fix=WARM_START_FIX if continuing else None)

    def _check_input(self, X, reset, dtype=None, mismatch_fix=None):
        """X checked (``check_X``, as ``dtype``); ``reset``: its features become the estimator's,
        else they must be those it was fitted on (``mismatch_fix``, if given, ends the error when
        they are not)."""
        names = feature_names_of(X)
        X = check_X(X, dtype=dtype)
        if reset:
            self.n_features_in_ = X.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return X
        fitted_names = getattr(self, "feature_names_in_", None)
        if names is None and fitted_names is not None:
            warnings.warn(
                f"X does not have valid feature names, but {type(self).__name__} was fitted "
                "with feature names",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        elif names is not None and fitted_names is None:
            warnings.warn(
                f"X has feature names, but {type(self).__name__} was fitted without feature names",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        elif names is not None and (len(names) != len(fitted_names) or np.any(names != fitted_names)):
            message = "The feature names should match those that were passed during fit.\n"
            unseen = [n for n in names if n not in set(fitted_names)]
            missing = [n for n in fitted_names if n not in set(names)]
            if unseen:
                message += "Feature names unseen at fit time:\n" + "".join(f"- {n}\n" for n in unseen[:5])
            if missing:
                message += "Feature names seen at fit time, yet now missing:\n" + "".join(
                    f"- {n}\n" for n in missing[:5]
                )
            if not unseen and not missing:
                message += "Feature names must be in the same order as they were in fit.\n"
            raise ValueError(message + (f"{mismatch_fix[0].upper()}{mismatch_fix[1:]}.\n" if mismatch_fix else ""))
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input" + (f"; {mismatch_fix}" if mismatch_fix else ".")
            )
        return X

    # --- fitting ------------------------------------------------------------------
    def objective(self, X, target, sample_weight=None, *, rows=None, penalised=True, n_classes=None):
        """The objective J(θ) this estimator minimises, on features X and the neuron's target.

            z = X·w + b,  ŷ = f(z),
            J(θ) = Σᵢ sᵢ·L(ŷᵢ, yᵢ) / Σᵢ sᵢ  +  α·(1 − ρ)/2·‖w‖²  +  α·ρ·‖w‖₁

        with the estimator's activation f, loss L, penalty (ρ = 0 for 'l2', 1 for 'l1',
        ``l1_ratio`` for 'elasticnet'; α = 0 for None) and the precision of ``dtype``.
        ``target`` is what the neuron learns: 0/1 (1 for the second class) for a
        classifier, y itself for a regressor.  ``rows`` restricts J to those row numbers
        of X; ``penalised=False`` leaves the penalty out (the loss a validation split
        reports).  ``fit`` minimises exactly this; the CLI builds its trace, animation,
        validation loss and range test from it, so they all see the same J.

        A classifier of k > 2 classes (``n_classes``, default: as many as it was fitted on, else
        2) minimises the softmax layer's J instead, with target the class number 0 … k − 1.
        """
        activation, loss = self.validate_params()
        X = np.asarray(X)
        dtype = _training_dtype(self.dtype) or (X.dtype.type if X.dtype in (np.float32, np.float64)
                                                else np.float64)
        X = X.astype(dtype, copy=False)  # no copy when fit has already made X this dtype
        alpha, l1_ratio = 0.0, 0.0
        if penalised and self.penalty is not None:
            alpha = float(self.alpha)
            l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": float(self.l1_ratio)}[self.penalty]
        model = self._model(X.shape[1], n_classes)
        if isinstance(model, Network):
            return NetworkObjective(model, X, target, loss, sample_weight=sample_weight, alpha=alpha,
                                    l1_ratio=l1_ratio, rows=rows)
        return NeuronObjective(model, X, target, loss, sample_weight=sample_weight,
                               alpha=alpha, l1_ratio=l1_ratio, rows=rows)

    def _model(self, n_features, n_classes=None):
        """The neuron, or for k > 2 classes (``n_classes``, default: as many as the classifier
        was fitted on) the layer of k neurons with softmax: θ = (W, b), W of shape
        (n_features, k) — multinomial logistic regression."""
        k = n_classes
        if k is None and self._estimator_type == "classifier" and hasattr(self, "classes_"):
            k = len(self.classes_)
        if k is not None and k > 2:
            self._check_multiclass_settings(k)
            return Network(n_features, (), n_outputs=k, output="softmax")
        return Neuron(n_features, self.activation)

    def initial_theta(self, n_features, random_state, n_classes=None):
        """θ0 = (w, b) drawn by ``init`` from ``random_state`` (a seed or a Generator), the first
        thing ``fit`` draws from it: the same seed gives the same θ0 to anything that starts
        where fit starts (lr-find).  For k classes, W (n_features × k) is drawn the same way,
        column by column of the layer (see ``Network.init_params``)."""
        model = self._model(n_features, n_classes)
        if isinstance(model, Network):
            return model.init_params(self.init, random_state)
        return init_params(n_features, self.init, random_state)

    def _pack(self, model):
        """θ of ``model`` from the fitted coef_ and intercept_ (warm start); a ValueError that
        says why when their shapes are not those ``model`` needs."""
        network = isinstance(model, Network)
        needed = (model.n_outputs, model.n_inputs) if network else (model.n_inputs,)
        if np.shape(self.coef_) != needed:
            raise ValueError(f"its coef_ has shape {np.shape(self.coef_)}, and this data needs {needed} "
                             f"({model.n_inputs} feature(s)" + (f", {model.n_outputs} classes)" if network else ")"))
        if network:
            return model.layout.pack(W1=self.coef_.T, b1=self.intercept_)
        return model.layout.pack(w=self.coef_, b=self.intercept_)

    def _unpack(self, model, theta):
        """Set coef_ and intercept_ from θ: (w, b) for the neuron; for k classes coef_ = Wᵀ of
        shape (k, n_features) and intercept_ = b of shape (k,), as scikit-learn lays them out."""
        if isinstance(model, Network):
            W, b = model.layer(theta, 1)
            self.coef_, self.intercept_ = W.T.copy(), b.copy()
        else:
            self.coef_, self.intercept_ = model.weights(theta).copy(), float(model.bias(theta))

    def _fit(self, X, target, sample_weight, callback=None, carried=None):
        """Minimise the neuron's objective (:meth:`objective`) on (X, target); set the fitted
        attributes.

        ``callback(step)`` is called after every step with a :class:`~neuronlab.train.history.Step`
        (progress bars, validation curves); returning True stops the run (status
        ``interrupted``, the best θ so far kept).  ``carried``: the strategy's state at the end
        of the last run (``_optimizer``), for a run that goes on from it (``partial_fit``).
        """
        with self._run_context():
            objective, training = self.start_run(X, target, sample_weight, callback)
            if carried is not None:
                training.rule.go_on_from(carried)
            result = training.run()
        self._optimizer = training.rule.carry()
        self._unpack(objective.model, result.theta)
        self.history_ = result.history
        self.n_iter_ = result.n_steps
        self.status_ = result.status
        self.result_ = result
        return objective

    def _run_context(self):
        """A context the whole run is stepped in: the compiled passes on the threads ``n_jobs``
        asks for (the network estimators, which have no ``n_jobs``, hold BLAS on one thread for
        the run instead)."""
        return run_threads(self.n_jobs)

    def start_run(self, X, target, sample_weight=None, callback=None):
        """The run ``fit`` makes, started but not stepped: (objective, Training).

        ``X`` is a float array as ``fit`` checks it and ``target`` what the neuron learns
        (see :meth:`objective`).  ``fit`` is this, ``training.run()`` and the fitted
        attributes; a caller that steps the run itself (the playground) gets the same
        θ0, the same strategy and the same numbers for the same ``random_state``.
        """
        self.validate_params()
        X = np.asarray(X)
        rng = check_random_state(self.random_state)
        n_features = X.shape[1]
        model = self._model(n_features)
        theta0 = self._warm_theta(model)
        if theta0 is None:
            theta0 = self.initial_theta(n_features, rng)
        options = _solver_options(self, rng, X.shape[0])
        train_rows = None
        if self.early_stopping:
            # hold out a random share of the rows, by row number: X itself is not copied;
            # a classifier holds out that share of each class (stratified)
            n_validation = max(1, int(math.ceil(self.validation_fraction * X.shape[0])))
            if n_validation >= X.shape[0]:
                raise ValueError(
                    f"early_stopping needs at least 2 rows (one to train on, one to validate); "
                    f"got {X.shape[0]}"
                )
            if self._estimator_type == "classifier":
                train_rows, validation_rows = stratified_split(
                    self.classes_[target.astype(int)], n_validation, rng,
                    fix="give more rows of it or set early_stopping=False")
            else:
                order = rng.permutation(X.shape[0])
                train_rows, validation_rows = np.sort(order[n_validation:]), np.sort(order[:n_validation])
            options.update(patience=self.n_iter_no_change, validation=self.objective(
                X, target, sample_weight, rows=validation_rows, penalised=False))
        objective = self.objective(X, target, sample_weight, rows=train_rows)
        strategy = get_strategy(self.solver, **options)
        return objective, strategy.start(objective, theta0, callback=callback)

    def _warn_outcome(self, diagnosis=None):
        """At most one ConvergenceWarning for the fit just made, one line: the status and the fix.

        Derived from the fitted attributes (``result_``, ``history_``), nothing re-run:

        - ``diverged``: "… diverged at step t: set learning_rate ≤ η'" (the suggested η);
        - ``stalled``: "… stalled at step t with ‖∇J‖ = g: set learning_rate ≈ η'" when the
          strategy suggested an η, else where the full reason is;
        - ``max_steps`` with tol > 0: "… stopped at max_steps=T with ‖∇J‖ = g: raise max_steps
          or learning_rate", or ``diagnosis`` (the fix for separable data) in place of that fix.
          With tol = 0 the run was asked for exactly T steps: no warning.

        Converged and interrupted fits say nothing.  The full message stays in ``result_.message``.
        """
        result = self.result_
        status = result.status
        if status not in ("diverged", "stalled", "max_steps"):
            return
        if status == "max_steps" and float(self.tol) == 0.0:
            return  # T steps is what tol = 0 asks for: not news (status_ and result_.message still say it)
        name = type(self).__name__
        history = self.history_
        grad_norm = float(history.grad_norm[-1]) if len(history) else math.nan
        where = f"with ‖∇J‖ = {grad_norm:.3g}" if math.isfinite(grad_norm) else f"with loss {result.loss:.3g}"
        if status == "diverged":
            head = f"{name} diverged at step {self.n_iter_}"
            suggested = result.suggested_learning_rate
            fix = (f"set learning_rate ≤ {suggested:.3g}" if suggested is not None
                   else "standardise X or lower learning_rate (result_.message says why)")
        elif status == "stalled":
            head = f"{name} stalled at step {self.n_iter_} {where}"
            suggested = result.suggested_learning_rate
            fix = (f"set learning_rate ≈ {suggested:.3g}" if suggested is not None
                   else "result_.message says why")
        else:
            head = f"{name} stopped at {self._BUDGET}={getattr(self, self._BUDGET)} {where}"
            if diagnosis is not None:
                fix = diagnosis
            elif not strategy_takes(self.solver, "learning_rate"):
                fix = f"raise {self._BUDGET}"  # the solver has no learning rate
            else:
                fix = f"raise {self._BUDGET} or learning_rate"
        warnings.warn(f"{head}: {fix}", sklearn_flavoured(ConvergenceWarning), stacklevel=user_stacklevel())

    def _warm_theta(self, model, classes=None):
        """θ to start from: the fitted parameters when ``warm_start`` is set and the estimator
        is fitted, else None (a fresh start).  As in scikit-learn, fitted parameters that do not
        fit this data — other features, other ``classes`` (when given), another shape of
        network — are an error, not a silent fresh start."""
        if not self._continuing():
            return None
        fix = WARM_START_FIX
        fitted_classes = getattr(self, "classes_", None)
        if classes is not None and fitted_classes is not None and not np.array_equal(fitted_classes, classes):
            raise ValueError(f"warm_start=True goes on with the fitted model, which learned the classes "
                             f"{_listed(fitted_classes)}; the data's classes are {_listed(classes)} (a data source "
                             f"must have the model's classes); {fix}")
        try:
            return self._pack(model)
        except ValueError as e:
            raise ValueError(f"warm_start=True goes on with the fitted model, but {e}; {fix}") from None

    def _z(self, X):
        """z = X·w + b (one column per class for k > 2 classes: Z = X·coef_ᵀ + intercept_)."""
        # rows in C order: BLAS sums a column-major X in another order, and the same rows
        # must give the same z, from an array or from a table's columns
        coef = self.coef_.astype(X.dtype, copy=False)
        return np.ascontiguousarray(X) @ (coef.T if coef.ndim == 2 else coef) + self.intercept_

    def _output(self, X):
        return get_activation(self.activation)(self._z(X))


class NeuronClassifier(_NeuronEstimator):
    """A single neuron as a classifier: ŷ = f(w·x + b), class 1 when ŷ is past the middle;
    for k > 2 classes, a layer of k neurons with softmax.

    By default f is the sigmoid and the loss is log loss, which makes it logistic
    regression trained by gradient descent:

        J(w, b) = (1/n)·Σᵢ −[yᵢ·ln ŷᵢ + (1 − yᵢ)·ln(1 − ŷᵢ)] + (α/2)·‖w‖²

    Labels of any type are mapped to 0/1 (``classes_[0]`` → 0, ``classes_[1]`` → 1)
    and back.  With ``loss="hinge"`` targets are −1/+1 and the threshold on ŷ is 0;
    otherwise it is 0.5.

    With k > 2 classes the neuron becomes k neurons side by side, one per class, whose
    outputs softmax turns into probabilities — multinomial logistic regression, the
    sigmoid + log loss pair generalised (activation='sigmoid', loss='log_loss' only):

        zₖ = wₖ·x + bₖ,   ŷₖ = e^(zₖ) / Σⱼ e^(zⱼ),   J = (1/n)·Σᵢ −ln ŷ_cᵢ + (α/2)·‖W‖²

    and the predicted class is the one with the largest zₖ.

    Parameters
    ----------
    activation : {'sigmoid', 'tanh', 'identity', 'relu', 'leaky_relu', 'softplus', 'step'}
    loss : {'log_loss', 'squared_error', 'absolute_error', 'huber', 'hinge'}
    solver : {'gradient_descent', 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam',
              'line_search', 'lbfgs', 'monte_carlo', 'error_driven', 'perceptron'}
        The strategy ('perceptron': Rosenblatt's rule, for activation='step').  For the search strategies ``max_steps`` is the budget of loss
        evaluations and ``learning_rate`` the first step (error-driven).
    learning_rate : float, η > 0
    max_steps : int, T ≥ 1
    tol : float ≥ 0, stop when ‖∇J‖ ≤ tol or the loss changes by ≤ tol·max(1, |J|)
    penalty : {'l2', 'l1', 'elasticnet', None}; alpha : float ≥ 0; l1_ratio : float in [0, 1]
        Penalty α·((1 − ρ)/2·‖w‖² + ρ·‖w‖₁) with ρ = 0 (l2), 1 (l1) or l1_ratio.
        ``LogisticRegression(C)`` on n rows is ``alpha = 1/(C·n)``.
    init : {'xavier', 'normal', 'uniform', 'zeros', 'he'}
    warm_start : bool, start from the previous fit's coefficients
    random_state : None, int or numpy Generator
    schedule : None or {'constant', 'step', 'exponential', 'inverse_time', 'cosine'} or a
        function t → η_t (gradient-descent solvers; see ``neuronlab.optim``)
    batch_size : None (all rows per step) or int, mini-batches reshuffled every epoch
        (gradient-descent solvers; then ``max_steps`` counts epochs; 'sgd' defaults to 32)
    early_stopping, validation_fraction, n_iter_no_change : hold out that share of the rows
        (a classifier: that share of each class);
        stop when their loss has not improved for n_iter_no_change steps (epochs) and keep
        the θ with the lowest validation loss
    dtype : None (float32 X stays float32, other X becomes float64), 'float32' or 'float64':
        the precision of the training passes over X
    recover : bool, on divergence roll back to the best θ, halve η and go on (gradient-descent
        solvers; each halving is noted in ``history_.events``)
    n_jobs : None or int, the threads of the compiled passes over X: k, or −1 for every core
        (−2 all but one…); None leaves it to ``NEURONLAB_THREADS``, else every core.  The
        result is the same, bit for bit, on any number of threads.  It holds in this process:
        on a Dask collection the workers' passes follow their own ``NEURONLAB_THREADS``

    Attributes
    ----------
    classes_, coef_ (n_features,) — (k, n_features) for k > 2 classes —, intercept_ (float;
    (k,) for k > 2 classes), n_features_in_,
    feature_names_in_ (when X has string column names), history_ (History),
    n_iter_ (steps taken), status_ ('converged', 'max_steps', 'diverged',
    'interrupted', 'stalled'), result_ (the strategy's Result)
    """

    _estimator_type = "classifier"

    def __init__(self, activation="sigmoid", loss="log_loss", *, solver="gradient_descent",
                 learning_rate=0.1, max_steps=1000, tol=1e-6, penalty="l2", alpha=0.0,
                 l1_ratio=0.15, init="xavier", warm_start=False, random_state=None,
                 schedule=None, batch_size=None, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, dtype=None, recover=False, n_jobs=None):
        super().__init__(activation, loss, solver=solver, learning_rate=learning_rate,
                         max_steps=max_steps, tol=tol, penalty=penalty, alpha=alpha,
                         l1_ratio=l1_ratio, init=init, warm_start=warm_start,
                         random_state=random_state, schedule=schedule, batch_size=batch_size,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, dtype=dtype, recover=recover)
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags

        tags = self._base_tags()
        tags.classifier_tags = ClassifierTags(multi_class=True)
        return tags

    @property
    def _threshold(self):
        return 0.0 if get_loss(self.loss).name == "hinge" else 0.5

    def fit(self, X, y=None, sample_weight=None, callback=None):
        """Learn w and b from X (n_samples, n_features) and labels y (two classes or more).

        ``callback(step)``, if given, is called after every step (see ``_fit``).  X may also be
        a data source (``fit(source)``) or a Dask array/DataFrame: see ``estimators.sourced``.
        """
        if takes_source(X):
            return fit_source(self, X, y, sample_weight, callback, _solver_options)
        self.validate_params()
        X = self._check_fit_input(X)
        y = check_y(y, X.shape[0], numeric=False)
        two = _two_numbers(y)
        if _continuous(y, two):
            raise ValueError(
                "Unknown label type: continuous. NeuronClassifier needs class labels; for "
                "real-valued targets use NeuronRegressor"
            )
        classes = _fit_classes(y, two, self.classes_ if self._continuing() else None)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        self.classes_ = classes
        # 0/1 for two classes (1 for classes_[1]); the class number 0 … k − 1 for more
        if classes.shape[0] == 2:
            # booleans, one byte a row: the kernel takes each label in X's dtype as it reads it
            # (models.kernel), so a long y needs no float copy where the source keeps y's type
            target = y == classes[1]
        else:
            target = np.searchsorted(classes, y).astype(X.dtype)
        objective = self._fit(X, target, sample_weight, callback)
        self._warn_outcome(self._diagnose_separable(X, target, objective) if classes.shape[0] == 2 else None)
        return self

    def _check_multiclass_settings(self, k):
        """k > 2 classes are learnt by softmax with log loss: say what is supported instead."""
        activation, loss = get_activation(self.activation).name, get_loss(self.loss).name
        if (activation, loss) != ("sigmoid", "log_loss"):
            raise ValueError(
                f"y has {k} classes, which NeuronClassifier learns with k neurons and softmax: that "
                f"needs the activation 'sigmoid' and the loss 'log_loss' (softmax is the sigmoid for k "
                f"classes), got {activation!r} and {loss!r}; for another pair, train one classifier per "
                "class against the rest")
        if strategy_name(self.solver) == "perceptron":
            raise ValueError(f"y has {k} classes; the perceptron rule separates two. Use a gradient "
                             "solver such as 'gradient_descent' or 'lbfgs'")

    def _diagnose_separable(self, X, target, objective):
        """With log loss, no penalty and separable data the optimum is at infinity: say so.

        Checked only when the step budget ran out: the data are separable when the
        current w already classifies every row right, or (for data of moderate size)
        when the linear program  sᵢ·(w·xᵢ + b) ≥ 1  for all i is feasible.  The claim
        that ‖w‖ is still growing is checked too: d‖w‖²/dt = −2η·w·∇_wJ > 0.

        The budget message's advice to take more steps (or a larger η) is dropped from
        ``result_.message``: on separable data both only make the weights larger.  Returns
        the fix for the fit's one warning (see ``_warn_outcome``), or None when not separable.
        """
        unpenalised = self.penalty is None or self.alpha == 0
        if not unpenalised or get_loss(self.loss).name != "log_loss" or self.status_ != "max_steps":
            return
        if not (_all_on_their_side(self, X, target) or _linearly_separable(X, target)):
            return
        _, grad = objective.loss_and_grad(self.result_.theta)
        trend = "and still growing" if self.coef_ @ objective.model.weights(grad) < 0 else "and no longer growing"
        fix = "set alpha > 0" if self.penalty is not None else "set penalty='l2' and alpha > 0"
        message = (
            "the training data is linearly separable: with no penalty the log loss only reaches 0 "
            f"as ‖w‖ → ∞ (loss now {self.result_.loss:.3g}, ‖w‖ = {np.linalg.norm(self.coef_):.3g} "
            f"{trend}), so more steps only make the weights larger. {fix.capitalize()} (an L2 "
            "penalty) for a finite answer"
        )
        kept = [clause for clause in self.result_.message.split("; ") if not _MORE_STEPS_ADVICE.search(clause)]
        self.result_.message = "; ".join(kept + [message])
        return f"the training data is linearly separable, so with no penalty ‖w‖ only grows: {fix}"

    @property
    def _multiclass(self):
        return len(self.classes_) > 2

    def decision_function(self, X):
        """Signed score: z = w·x + b for the sigmoid (the logit), ŷ − threshold otherwise;
        for k > 2 classes, the k scores zₖ = wₖ·x + bₖ (n_samples, k)."""
        check_is_fitted(self)
        if is_dask_collection(X):
            return lazy_output(self, "decision_function", X)
        X = self._check_input(X, reset=False)
        if self._multiclass or get_activation(self.activation).name == "sigmoid":
            return self._z(X)
        return self._output(X) - self._threshold

    def predict(self, X):
        """classes_[1] where the decision function is > 0, else classes_[0]; for k > 2
        classes, the class with the largest zₖ (lazy for Dask)."""
        if is_dask_collection(X):
            return lazy_output(self, "predict", X)
        scores = self.decision_function(X)
        if scores.ndim == 2:
            return self.classes_[np.argmax(scores, axis=1)]
        return self.classes_[(scores > 0).astype(int)]

    @property
    def predict_proba(self):
        """P(y = classes_[k] | x), from ŷ = σ(z) (softmax(z) for k > 2 classes); only for
        activation='sigmoid'."""
        if get_activation(self.activation).name != "sigmoid":
            raise AttributeError(
                "predict_proba needs activation='sigmoid' (only then is ŷ a probability)"
            )
        return self._predict_proba

    def _predict_proba(self, X):
        # (σ(−z), σ(z)) rather than (1 − σ(z), σ(z)): 1 − σ(z) rounds to 0 for z ≳ 37
        if is_dask_collection(X):
            return lazy_output(self, "predict_proba", X)
        z = self.decision_function(X)
        if z.ndim == 2:
            return softmax(z)
        return np.column_stack([sigmoid(-z), sigmoid(z)])

    @property
    def predict_log_proba(self):
        self.predict_proba  # raises AttributeError when there are no probabilities
        return self._predict_log_proba

    def _predict_log_proba(self, X):
        z = self.decision_function(X)
        if z.ndim == 2:
            return log_softmax(z)
        # ln σ(z) = −ln(1 + e^(−z)); ln(1 − σ(z)) = −ln(1 + e^z)
        return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])

    def score(self, X, y, sample_weight=None):
        """Accuracy: the (weighted) share of rows whose class is predicted right."""
        correct = self.predict(X) == np.asarray(y).ravel()
        return float(np.average(correct, weights=sample_weight))


class NeuronRegressor(_NeuronEstimator):
    """A single neuron as a regressor: ŷ = f(w·x + b), by default f(z) = z.

    With the identity activation and squared error it is linear least squares
    trained by gradient descent:

        J(w, b) = (1/n)·Σᵢ ½(w·xᵢ + b − yᵢ)²  + penalty

    Parameters and attributes are those of :class:`NeuronClassifier` (without
    ``classes_``); losses: 'squared_error', 'absolute_error', 'huber'.
    """

    _estimator_type = "regressor"

    def __init__(self, activation="identity", loss="squared_error", *, solver="gradient_descent",
                 learning_rate=0.1, max_steps=1000, tol=1e-6, penalty="l2", alpha=0.0,
                 l1_ratio=0.15, init="xavier", warm_start=False, random_state=None,
                 schedule=None, batch_size=None, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, dtype=None, recover=False, n_jobs=None):
        super().__init__(activation, loss, solver=solver, learning_rate=learning_rate,
                         max_steps=max_steps, tol=tol, penalty=penalty, alpha=alpha,
                         l1_ratio=l1_ratio, init=init, warm_start=warm_start,
                         random_state=random_state, schedule=schedule, batch_size=batch_size,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, dtype=dtype, recover=recover)
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        from sklearn.utils import RegressorTags

        tags = self._base_tags()
        tags.regressor_tags = RegressorTags()
        return tags

    def fit(self, X, y=None, sample_weight=None, callback=None):
        """Learn w and b from X (n_samples, n_features) and real targets y.

        ``callback(step)``, if given, is called after every step (see ``_fit``).  X may also be
        a data source (``fit(source)``) or a Dask array/DataFrame: see ``estimators.sourced``.
        """
        if takes_source(X):
            return fit_source(self, X, y, sample_weight, callback, _solver_options)
        _, loss = self.validate_params()
        if loss.targets == "binary":
            raise ValueError(
                f"loss {loss.name!r} is for classification; NeuronRegressor takes "
                "'squared_error', 'absolute_error' or 'huber'"
            )
        X = self._check_fit_input(X)
        # y as checked (float64): the kernel rounds each target to X's dtype as it reads it, so
        # a float32 X needs no float32 copy of y where the source keeps y's type
        y = check_y(y, X.shape[0], numeric=True)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        self._fit(X, y, sample_weight, callback)
        self._warn_outcome()
        return self

    def predict(self, X):
        """ŷ = f(w·x + b) for every row (lazy for a Dask collection)."""
        check_is_fitted(self)
        if is_dask_collection(X):
            return lazy_output(self, "predict", X)
        return self._output(self._check_input(X, reset=False))

    def score(self, X, y, sample_weight=None):
        """R² = 1 − Σ s(y − ŷ)² / Σ s(y − ȳ)²."""
        y = np.asarray(y, dtype=np.float64).ravel()
        y_pred = self.predict(X)
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        mean = np.average(y, weights=w)
        ss_res = float(w @ (y - y_pred) ** 2)
        ss_tot = float(w @ (y - mean) ** 2)
        if ss_tot == 0.0:
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot
