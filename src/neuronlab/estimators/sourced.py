"""The estimators on data that is not one array in memory: a data source, or a Dask collection.

``NeuronClassifier().fit(X)`` (or a NeuronRegressor's, a NetworkClassifier's, a
NetworkRegressor's) with X a :class:`~neuronlab.sources.base.Source` (a
:class:`~neuronlab.sources.files.FileSource` streaming files, a
:class:`~neuronlab.sources.dask.DaskSource`, a BlockSource), or ``fit(X, y)`` with X and y
Dask arrays or a Dask DataFrame and Series, minimises the same objective as ``fit`` on
arrays — the same model (two classes or k, a neuron or a network), strategy, monitors and
stopping rules — with the sums taken where the rows are.  ``predict`` (and
``decision_function``, ``predict_proba``) of a Dask collection is lazy: a Dask array computed
partition by partition on the workers.

What is not offered on a source: several target columns (a network regressor's y is one), and
``early_stopping`` (it holds out rows by number; give the held-out rows as their own source and
watch their loss instead).
"""

from __future__ import annotations

import numpy as np

from ..core.validation import check_is_fitted, check_random_state, classes_of
from ..models.network import Network
from ..objectives.network import NetworkObjective
from ..objectives.neuron import NeuronObjective
from ..sources.base import Source
from ..sources.dask import DaskSource, is_dask_collection
from ..train.registry import get_strategy

__all__ = ["takes_source", "fit_source", "source_objective", "lazy_output", "is_dask_collection"]


def takes_source(X) -> bool:
    """Whether ``fit`` should go through a data source: X is a Source or a Dask collection."""
    return isinstance(X, Source) or is_dask_collection(X)


def _as_source(est, X, y, sample_weight, classifier):
    """(source, classes or None, feature names or None) for X (and y): a classifier's targets
    are class numbers, 0.0 and 1.0 for two classes (1 for classes[1]), 0 … k − 1 for k."""
    if isinstance(X, Source):
        if y is not None or sample_weight is not None:
            raise ValueError("a data source carries its own targets (and weights): call fit(source) "
                             "without y and sample_weight")
        classes = getattr(X, "labels", None)  # a FileSource (or a DaskSource read from one) knows its classes
        if classifier:
            classes = np.array([0, 1]) if classes is None else np.asarray(classes)
        return X, classes, getattr(X, "feature_names", None)
    if y is None:
        raise ValueError("fit(X, y) with a Dask X needs the targets y (a Dask array or Series)")
    if getattr(y, "ndim", 1) != 1:
        raise ValueError(f"y must hold one target per row of X (a 1-D Dask array or Series), got "
                         f"{y.ndim} dimensions; fit several outputs in memory")
    names, frame = None, hasattr(X, "columns")
    if frame:  # a Dask DataFrame: its columns are the features
        names = np.asarray([str(c) for c in X.columns], dtype=object)
    classes = None
    if classifier:
        import dask.array as da

        values = y.unique().compute().to_numpy() if hasattr(y, "unique") and frame else da.unique(da.asarray(y)).compute()
        classes = classes_of(values, "y")
    if frame:
        if sample_weight is not None:
            raise ValueError("sample_weight with a Dask DataFrame is not supported; give X and y as Dask "
                             "arrays to weigh the rows")
        return DaskSource.from_frames(X, y, classes=classes), classes, names
    return DaskSource.from_arrays(X, y, sample_weight, classes=classes), classes, names


#: deprecation notices that Dask's own code raises with newer pandas, not the user's to act on
DEPENDENCY_NOTICES = (r"The inplace keyword in DataFrame\.reset_index",)


def fit_source(est, X, y, sample_weight, callback, solver_options):
    """``est.fit`` on a data source or a Dask collection, without the deprecation notices that
    Dask's internals raise under newer pandas (the user can do nothing about them)."""
    import warnings

    with warnings.catch_warnings():
        for notice in DEPENDENCY_NOTICES:
            warnings.filterwarnings("ignore", message=notice)
        return _fit_source(est, X, y, sample_weight, callback, solver_options)


def _fit_source(est, X, y, sample_weight, callback, solver_options):
    """``est.fit`` on a data source or a Dask collection (see the module docstring);
    ``solver_options(est, rng, n_rows)`` gives the estimator's settings by its strategy's names."""
    _, loss = est.validate_params()
    classifier = est._estimator_type == "classifier"
    if not classifier and loss.targets == "binary":
        raise ValueError(f"loss {loss.name!r} is for classification; {type(est).__name__} takes "
                         "'squared_error', 'absolute_error' or 'huber'")
    if est.early_stopping:
        raise ValueError("early_stopping holds out rows of an array in memory; on a data source set "
                         "early_stopping=False (and score a held-out source of its own)")
    source, classes, names = _as_source(est, X, y, sample_weight, classifier)
    rng = check_random_state(est.random_state)
    n_features = source.n_features
    n_classes = len(classes) if classifier else None
    # a network regressor's model is built for one output (a source's y is one column): asked for
    # with "one class", and n_outputs_ set only once the warm start is taken (a refused one leaves
    # the fitted model as it was)
    one_output = not classifier and hasattr(type(est), "_n_outputs")
    objective = source_objective(est, source, 1 if one_output else n_classes)
    model = objective.model
    theta0 = est._warm_theta(model, classes if classifier else None)
    if one_output:
        est.n_outputs_ = 1
    if theta0 is None:
        theta0 = est.initial_theta(n_features, rng, n_classes)
    options = solver_options(est, rng, source.n_samples)
    with est._run_context():
        result = get_strategy(est.solver, **options).minimize(objective, theta0, callback=callback)
    est.n_features_in_ = n_features
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    if classifier:
        est.classes_ = classes
    est._unpack(model, result.theta)
    est.history_, est.n_iter_, est.status_, est.result_ = result.history, result.n_steps, result.status, result
    est._warn_outcome()
    return est


def source_objective(est, source, n_classes=None, penalised=True):
    """The objective ``est`` minimises, on the rows of ``source``: its model for ``n_classes``
    classes (None: a regressor) — a neuron, the softmax layer of k classes, or a network — its
    loss and (unless ``penalised`` is False: the loss a validation part reports) its penalty."""
    _, loss = est.validate_params()
    model = est._model(source.n_features, n_classes)
    alpha, l1_ratio = 0.0, 0.0
    if penalised and est.penalty is not None:
        alpha = float(est.alpha)
        l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": float(est.l1_ratio)}[est.penalty]
    build = NetworkObjective if isinstance(model, Network) else NeuronObjective
    return build.from_source(model, source, loss, alpha=alpha, l1_ratio=l1_ratio)


def _on_block(est, method, block, columns):
    if columns is not None:
        import pandas as pd

        block = pd.DataFrame(block, columns=columns)
    return getattr(est, method)(block)


def lazy_output(est, method: str, X):
    """``est.<method>(X)`` for a Dask array or DataFrame X, lazily: a Dask array whose chunks are
    computed on the workers from X's partitions (one row of output per row of X: a number, or
    one per class for probabilities and a k-class decision function).  An unfitted ``est`` is
    refused here, before any graph is built."""
    check_is_fitted(est)
    columns = None
    if hasattr(X, "columns"):
        columns = list(X.columns)
        X = X.to_dask_array()
    X = X.rechunk({1: -1})
    n_classes = len(est.classes_) if hasattr(est, "classes_") else 0
    per_class = method in ("predict_proba", "predict_log_proba") or (method == "decision_function" and n_classes > 2)
    dtype = est.classes_.dtype if method == "predict" and hasattr(est, "classes_") else np.float64
    if per_class:
        return X.map_blocks(lambda b: _on_block(est, method, b, columns), dtype=np.float64,
                            chunks=(X.chunks[0], (n_classes,)))
    return X.map_blocks(lambda b: _on_block(est, method, b, columns), dtype=dtype, drop_axis=1)
