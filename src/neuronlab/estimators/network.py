"""scikit-learn estimators around a dense network: NetworkClassifier and NetworkRegressor.

The course's next lesson: neurons in layers, trained by the same gradient descent on the
same flat θ, the gradient carried back layer by layer (:mod:`neuronlab.models.network`).
Same contract as the neuron estimators (``fit``/``predict``/``score``, ``get_params``,
fitted attributes ending in ``_``), with scikit-learn's MLP names where they exist:
``hidden_layer_sizes``, ``activation``, ``solver``, ``alpha``, ``batch_size``,
``max_iter`` (epochs), ``early_stopping``, ``warm_start``, ``partial_fit``.

With no hidden layer a network is the neuron (two classes, or a regression) or the softmax
layer (k classes), and it trains exactly as :class:`~neuronlab.estimators.neuron.NeuronClassifier`
and :class:`~neuronlab.estimators.neuron.NeuronRegressor` do with the same settings — the same θ
bit for bit.
"""

from __future__ import annotations

import numpy as np

from ..core.blas import one_blas_thread
from ..core.activations import get_activation, log_softmax, sigmoid
from ..core.losses import get_loss
from ..models.network import NETWORK_INITIALIZERS, Network
from ..models.neuron import Neuron
from ..core.validation import check_sample_weight, check_y
from .neuron import (WARM_START_FIX, _NeuronEstimator, _continuous, _fit_classes, _solver_options, _two_numbers,
                     check_is_fitted)
from .sourced import fit_source, is_dask_collection, lazy_output, takes_source

__all__ = ["NetworkClassifier", "NetworkRegressor"]

#: rows per mini-batch for batch_size='auto', as scikit-learn's MLP: min(200, n)
AUTO_BATCH = 200


class _NetworkEstimator(_NeuronEstimator):
    """What the network classifier and regressor share."""

    _BUDGET = "max_iter"
    _FITTED = "theta_"
    #: the weight penalty of a network: α/2·Σ‖W_l‖² (biases free), as scikit-learn's MLP
    penalty = "l2"
    l1_ratio = 0.0

    def __init__(self, hidden_layer_sizes=(100,), activation="tanh", *, loss, solver="adam",
                 learning_rate=0.02, max_iter=2000, tol=1e-6, alpha=1e-4, batch_size="auto",
                 init="xavier", warm_start=False, random_state=None, schedule=None,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, dtype=None,
                 recover=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.batch_size = batch_size
        self.init = init
        self.warm_start = warm_start
        self.random_state = random_state
        self.schedule = schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype
        self.recover = recover

    # --- settings -------------------------------------------------------------------------
    @property
    def _hidden(self) -> tuple:
        sizes = self.hidden_layer_sizes
        return (sizes,) if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool) else tuple(sizes)

    def _validate_model(self):
        """hidden_layer_sizes, activation(s), loss, init: checked by building the network."""
        try:
            hidden = self._hidden
        except TypeError:
            raise ValueError(f"hidden_layer_sizes must be a tuple of whole numbers ≥ 1, got "
                             f"{self.hidden_layer_sizes!r}") from None
        Network(1, hidden, self.activation)  # ValueError naming what is wrong
        loss = get_loss(self.loss)
        if self.init not in NETWORK_INITIALIZERS:
            raise ValueError(f"unknown init {self.init!r}; choose one of: {', '.join(NETWORK_INITIALIZERS)}")
        return self._output_activation(), loss

    def fit(self, X, y=None, sample_weight=None, callback=None):
        """Learn every layer's W and b from X (n_samples, n_features) and y: class labels (two
        classes or more) for the classifier, real targets ((n,) or (n, k)) for the regressor.
        ``callback(step)`` is called after every epoch (or step).  X may also be a data source
        (``fit(source)``) or a Dask array/DataFrame: see ``estimators.sourced``."""
        if takes_source(X):
            return fit_source(self, X, y, sample_weight, callback, _solver_options)
        return self._fit_data(X, y, sample_weight, callback)

    def _run_context(self):
        # every pass runs BLAS on one thread (core.blas): held for the run, each pass's own
        # request is then a counter, not four calls into the BLAS libraries
        return one_blas_thread()

    def _batch_size(self, n_rows):
        """'auto': min(200, n) rows per update (scikit-learn's MLP default); None: every row."""
        return min(AUTO_BATCH, n_rows) if self.batch_size == "auto" else self.batch_size

    # --- the model ------------------------------------------------------------------------
    def _n_outputs(self, n_classes):
        raise NotImplementedError

    def _output(self, n_outputs):
        raise NotImplementedError

    def _output_activation(self):
        raise NotImplementedError

    def _network(self, n_features, n_classes=None) -> Network:
        n_outputs = self._n_outputs(n_classes)
        return Network(n_features, self._hidden, self.activation, n_outputs, self._output(n_outputs))

    def _model(self, n_features, n_classes=None):
        """The network; with no hidden layer and one output, the neuron itself (the same θ
        layout, and the neuron's own fast kernel, so the same numbers as the neuron estimators)."""
        network = self._network(n_features, n_classes)
        if network.n_layers == 1 and network.output != "softmax" and network.n_outputs == 1:
            return Neuron(n_features, network.output)
        return network

    def initial_theta(self, n_features, random_state, n_classes=None):
        """θ0 drawn by ``init`` from ``random_state``, layer by layer (``Network.init_params``)."""
        return self._network(n_features, n_classes).init_params(self.init, random_state)

    def _pack(self, model):
        if self.theta_.shape != (model.layout.size,):
            raise ValueError(f"its theta_ has {self.theta_.size} parameters, and this network needs "
                             f"{model.layout.size} ({model.n_inputs} input(s), hidden_layer_sizes "
                             f"{tuple(self._hidden)}, {model.n_outputs} output(s))")
        return self.theta_.copy()

    def _unpack(self, model, theta):
        """theta_, and coefs_/intercepts_: each layer's W_l and b_l, views of theta_."""
        self.__dict__.pop("_loss_curve", None)  # a fit starts its own curve (partial_fit extends it after)
        self.theta_ = np.array(theta, dtype=np.float64)
        network = self._network(self.n_features_in_, self._fitted_classes())
        self.network_ = network
        layers = network.layers(self.theta_)
        self.coefs_ = [W for W, _ in layers]
        self.intercepts_ = [b for _, b in layers]

    def _fitted_classes(self):
        return None

    @property
    def loss_curve_(self) -> np.ndarray:
        """J on the training rows after each epoch (row 0: the start), from ``history_`` (and
        across ``partial_fit`` calls)."""
        check_is_fitted(self)
        return self.__dict__.get("_loss_curve", self.history_.loss)

    @property
    def validation_loss_curve_(self):
        """The loss on the held-out rows at each epoch (with ``early_stopping``), else None."""
        check_is_fitted(self)
        return self.result_.info.get("validation_loss")

    def _forward(self, X):
        """(z, ŷ) of the last layer for rows X, in X's dtype."""
        check_is_fitted(self)
        X = self._check_input(X, reset=False)
        return self.network_.forward(self.theta_, np.ascontiguousarray(X))

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One more epoch over (X, y), from where the last fit or partial_fit ended (the first
        call starts from the seed's θ0).  A classifier's first call needs ``classes``, every
        class it will ever see (as scikit-learn's ``partial_fit``).  ``n_iter_`` and
        ``loss_curve_`` count on across calls, and so does the optimiser: Adam's moments, the
        schedule's t and the shuffling of the batches go on from the last call."""
        continuing = hasattr(self, "theta_")
        settings = self.max_iter, self.warm_start, self.tol
        before = (self.n_iter_, self.loss_curve_) if continuing else (0, None)
        # one epoch asked for is one epoch done: no stopping rule, no warning about the budget
        self.max_iter, self.warm_start, self.tol = 1, True, 0.0
        try:
            self._fit_data(X, y, sample_weight, classes=classes,
                           carried=getattr(self, "_optimizer", None) if continuing else None)
        finally:
            self.max_iter, self.warm_start, self.tol = settings
        # the epoch's last θ, which the carried optimiser state belongs to (a fit's θ is the best
        # row's, and an epoch of one batch records the loss before its update: a tie with row 0
        # that kept θ0, so that calls made no progress)
        self._unpack(None, self.result_.theta_last)
        n_iter, curve = before
        self.n_iter_ += n_iter
        if curve is not None:
            self._loss_curve = np.concatenate([curve, self.history_.loss[1:]])
        return self


class NetworkClassifier(_NetworkEstimator):
    """Dense layers, then a sigmoid output (two classes) or softmax outputs (k classes).

        a₀ = x,  z_l = a_{l−1}·W_l + b_l,  a_l = f(z_l) for the hidden layers,
        ŷ = σ(z_L) or softmax(z_L),   J = mean log loss + (α/2)·Σ_l ‖W_l‖²

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, the width of each hidden layer (() for none)
    activation : str or list of str, the hidden layers' f (one for all, or one per layer):
        'identity', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'softplus'
    solver : 'adam' (default), 'sgd', 'momentum', 'nesterov', 'rmsprop', 'adagrad',
        'gradient_descent', 'line_search', 'lbfgs', 'monte_carlo'
    learning_rate : η; max_iter : epochs (with mini-batches) or steps; tol; alpha : L2 strength
    batch_size : 'auto' (min(200, n)), an int, or None (all rows per step)
    init : 'xavier' (Glorot), 'he', 'normal', 'uniform', 'zeros'
    early_stopping, validation_fraction, n_iter_no_change : hold out that share of each class
        and keep the θ with the lowest held-out loss
    warm_start : start from the previous fit's θ; schedule, dtype, recover : as the neuron's

    Attributes
    ----------
    classes_, theta_ (every weight, one flat vector), coefs_ and intercepts_ (W_l and b_l per
    layer, views of theta_), network_, loss_curve_, validation_loss_curve_, history_, n_iter_,
    status_, result_, n_features_in_, feature_names_in_
    """

    _estimator_type = "classifier"

    def __init__(self, hidden_layer_sizes=(100,), activation="tanh", *, solver="adam",
                 learning_rate=0.02, max_iter=2000, tol=1e-6, alpha=1e-4, batch_size="auto",
                 init="xavier", warm_start=False, random_state=None, schedule=None,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, dtype=None,
                 recover=False):
        super().__init__(hidden_layer_sizes, activation, loss="log_loss", solver=solver,
                         learning_rate=learning_rate, max_iter=max_iter, tol=tol, alpha=alpha,
                         batch_size=batch_size, init=init, warm_start=warm_start,
                         random_state=random_state, schedule=schedule, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
                         dtype=dtype, recover=recover)

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags

        tags = self._base_tags()
        tags.classifier_tags = ClassifierTags(multi_class=True)
        return tags

    def _n_outputs(self, n_classes):
        k = n_classes if n_classes is not None else (len(self.classes_) if hasattr(self, "classes_") else 2)
        return 1 if k == 2 else k

    def _output(self, n_outputs):
        return "sigmoid" if n_outputs == 1 else "softmax"

    def _output_activation(self):
        return get_activation("sigmoid")

    def _fitted_classes(self):
        return len(self.classes_)

    def _fit_data(self, X, y, sample_weight=None, callback=None, *, classes=None, carried=None):
        """``fit``, and ``partial_fit``'s epoch: with the ``classes`` it was given and the
        optimiser's state ``carried`` from the last call."""
        self.validate_params()
        continuing = self._continuing()
        X = self._check_fit_input(X)
        y = check_y(y, X.shape[0], numeric=False)
        two = _two_numbers(y)
        if _continuous(y, two):
            raise ValueError("Unknown label type: continuous. NetworkClassifier needs class labels; for "
                             "real-valued targets use NetworkRegressor")
        classes = _fit_classes(y, two, self.classes_ if continuing else None, classes)
        self.classes_ = classes
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        target = np.searchsorted(classes, y).astype(X.dtype)
        self._fit(X, target, sample_weight, callback, carried)
        self._warn_outcome()
        return self

    def decision_function(self, X):
        """z of the output layer: the logit (n_samples,) for two classes, the k scores
        (n_samples, k) for more."""
        if is_dask_collection(X):  # lazy: computed partition by partition on the workers
            return lazy_output(self, "decision_function", X)
        z, _ = self._forward(X)
        return z[:, 0] if z.shape[1] == 1 else z

    def predict(self, X):
        """The class with the largest ŷ (for two classes: classes_[1] where σ(z) > 0.5)."""
        if is_dask_collection(X):  # lazy: computed partition by partition on the workers
            return lazy_output(self, "predict", X)
        z = self.decision_function(X)
        return self.classes_[np.argmax(z, axis=1)] if z.ndim == 2 else self.classes_[(z > 0).astype(int)]

    def predict_proba(self, X):
        """P(y = classes_[k] | x): (σ(−z), σ(z)) for two classes, softmax(z) for more."""
        if is_dask_collection(X):  # lazy: computed partition by partition on the workers
            return lazy_output(self, "predict_proba", X)
        z, y_hat = self._forward(X)
        if z.shape[1] == 1:
            return np.column_stack([sigmoid(-z[:, 0]), sigmoid(z[:, 0])])
        return y_hat

    def predict_log_proba(self, X):
        z = self.decision_function(X)
        if z.ndim == 2:
            return log_softmax(z)
        return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])

    def score(self, X, y, sample_weight=None):
        """Accuracy: the (weighted) share of rows whose class is predicted right."""
        return float(np.average(self.predict(X) == np.asarray(y).ravel(), weights=sample_weight))


class NetworkRegressor(_NetworkEstimator):
    """Dense layers, then identity outputs (one per target column):

        ŷ = z_L,   J = mean over rows of (1/k)·Σⱼ L(ŷⱼ, yⱼ) + (α/2)·Σ_l ‖W_l‖²

    with loss L 'squared_error' (½(ŷ − y)²), 'absolute_error' or 'huber'.  Parameters and
    attributes as :class:`NetworkClassifier` (without ``classes_``); y may be (n,) or (n, k).
    """

    _estimator_type = "regressor"

    def __init__(self, hidden_layer_sizes=(100,), activation="tanh", *, loss="squared_error",
                 solver="adam", learning_rate=0.02, max_iter=2000, tol=1e-6, alpha=1e-4,
                 batch_size="auto", init="xavier", warm_start=False, random_state=None, schedule=None,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, dtype=None,
                 recover=False):
        super().__init__(hidden_layer_sizes, activation, loss=loss, solver=solver,
                         learning_rate=learning_rate, max_iter=max_iter, tol=tol, alpha=alpha,
                         batch_size=batch_size, init=init, warm_start=warm_start,
                         random_state=random_state, schedule=schedule, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
                         dtype=dtype, recover=recover)

    def __sklearn_tags__(self):
        from sklearn.utils import RegressorTags

        tags = self._base_tags()
        tags.regressor_tags = RegressorTags()
        tags.target_tags.multi_output = True
        return tags

    def _validate_model(self):
        activation, loss = super()._validate_model()
        if loss.targets == "binary":
            raise ValueError(f"loss {loss.name!r} is for classification; NetworkRegressor takes "
                             "'squared_error', 'absolute_error' or 'huber'")
        return activation, loss

    def _n_outputs(self, n_classes):
        # a regressor has no classes: its second count is the number of outputs, when known
        return n_classes or getattr(self, "n_outputs_", 1)

    def objective(self, X, target, sample_weight=None, **options):
        """J(θ) as for the neuron estimators; a target of k columns (several targets) gives the
        network k outputs, ŷ = (ŷ₁ … ŷ_k), and J the mean of their losses."""
        target = np.asarray(target)
        if target.ndim == 2 and options.get("n_classes") is None:
            options["n_classes"] = target.shape[1]
        return super().objective(X, target, sample_weight, **options)

    def _output(self, n_outputs):
        return "identity"

    def _output_activation(self):
        return get_activation("identity")

    def _fit_data(self, X, y, sample_weight=None, callback=None, *, classes=None, carried=None):
        """``fit``, and ``partial_fit``'s epoch (``classes`` unused: a regressor has none) with
        the optimiser's state ``carried`` from the last call."""
        self.validate_params()
        X = self._check_fit_input(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim == 2:
            y = np.asarray(y, dtype=np.float64)
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"y has {y.shape[0]} rows, X has {X.shape[0]}")
            if not np.isfinite(y).all():
                raise ValueError("Input y contains NaN or infinity")
        else:
            y = check_y(y, X.shape[0], numeric=True)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if self._continuing() and n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} column(s); the fitted network has {self.n_outputs_} output(s): "
                             f"{WARM_START_FIX}")
        self.n_outputs_ = n_outputs
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        self._fit(X, y.astype(X.dtype, copy=False), sample_weight, callback, carried)
        self._warn_outcome()
        return self

    def predict(self, X):
        """ŷ = z_L for every row: (n,) for one output, (n, k) for k."""
        if is_dask_collection(X):  # lazy: computed partition by partition on the workers
            return lazy_output(self, "predict", X)
        _, y_hat = self._forward(X)
        return y_hat[:, 0] if y_hat.shape[1] == 1 else y_hat

    def score(self, X, y, sample_weight=None):
        """R² = 1 − Σ s(y − ŷ)² / Σ s(y − ȳ)² (averaged over the outputs, as scikit-learn)."""
        y = np.asarray(y, dtype=np.float64)
        y_pred = self.predict(X)
        y, y_pred = y.reshape(y.shape[0], -1), y_pred.reshape(y.shape[0], -1)
        w = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        mean = np.average(y, axis=0, weights=w)
        ss_res = w @ (y - y_pred) ** 2
        ss_tot = w @ (y - mean) ** 2
        scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                          np.where(ss_res == 0, 1.0, 0.0))
        return float(np.mean(scores))
