"""Scores of a trained neuron, with numpy only.

Binary classification (y ∈ {0, 1}, ŷ = predicted class, p = predicted P(y = 1)):

    confusion matrix  [[TN, FP], [FN, TP]]        (rows: true class, columns: predicted)
    accuracy  = (TP + TN) / n
    precision = TP / (TP + FP),   recall = TP / (TP + FN),   F1 = 2·P·R / (P + R)
    log loss  = −(1/n)·Σ [y·ln p + (1 − y)·ln(1 − p)],   p clipped to [ε, 1 − ε]
    ROC AUC   = P(score of a random positive > score of a random negative), ties count ½

k > 2 classes (y ∈ {0, …, k − 1}, P the k predicted probabilities per row):

    confusion matrix  C[t, p] = rows of true class t predicted p
    precision_c = C[c, c] / Σ_t C[t, c],   recall_c = C[c, c] / Σ_p C[c, p]   (one class
    against the rest), and their macro averages (the plain mean over the k classes)
    log loss  = −(1/n)·Σ ln P[i, yᵢ]
    ROC AUC   = the macro average of each class's AUC against the rest (scikit-learn's
                ``multi_class="ovr", average="macro"``)

Regression:

    MSE = (1/n)·Σ (y − ŷ)²,   MAE = (1/n)·Σ |y − ŷ|,   R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²

Precision, recall and F1 are 0 when their denominator is 0 (as scikit-learn's
``zero_division=0``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "confusion_matrix",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "log_loss",
    "roc_auc",
    "mse",
    "mae",
    "r2",
    "classification_report",
    "multiclass_report",
    "regression_report",
]

_EPS = np.finfo(np.float64).eps


def _binary(y) -> np.ndarray:
    y = np.asarray(y).ravel()
    if not np.isin(y, (0, 1)).all():
        raise ValueError("binary metrics need y made of 0 and 1")
    return y.astype(np.int64)


def confusion_matrix(y_true, y_pred, n_classes=2) -> np.ndarray:
    """C[t, p] = the rows of true class t predicted as p, for classes 0 … k − 1: for 0/1
    labels [[TN, FP], [FN, TP]]."""
    if n_classes == 2:
        t, p = _binary(y_true), _binary(y_pred)
    else:
        t, p = (np.asarray(v).ravel().astype(np.int64) for v in (y_true, y_pred))
    return np.bincount(n_classes * t + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true).ravel() == np.asarray(y_pred).ravel()))


def _ratio(numerator, denominator) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _scores(counts) -> dict:
    """Accuracy, precision, recall and F1 from the confusion matrix [[TN, FP], [FN, TP]]."""
    (tn, fp), (fn, tp) = counts
    return {
        "accuracy": _ratio(tn + tp, tn + fp + fn + tp),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),  # = 2PR/(P + R), and 0 when TP = 0
    }


def precision(y_true, y_pred) -> float:
    return _scores(confusion_matrix(y_true, y_pred))["precision"]


def recall(y_true, y_pred) -> float:
    return _scores(confusion_matrix(y_true, y_pred))["recall"]


def f1(y_true, y_pred) -> float:
    return _scores(confusion_matrix(y_true, y_pred))["f1"]


def log_loss(y_true, p) -> float:
    y = _binary(y_true)
    p = np.clip(np.asarray(p, dtype=np.float64).ravel(), _EPS, 1.0 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def multiclass_log_loss(y_true, proba) -> float:
    """−(1/n)·Σᵢ ln Pᵢ,yᵢ for class numbers y in 0 … k − 1 and ``proba`` (n, k), each P clipped
    to [ε, 1] as :func:`log_loss` clips p."""
    y = np.asarray(y_true).ravel().astype(np.int64)
    P = np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0)
    return float(-np.mean(np.log(P[np.arange(y.shape[0]), y])))


def _average_ranks(values) -> np.ndarray:
    """Ranks 1…n of ``values``; tied values share the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0  # ranks starts+1 … ends, averaged
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve by the Mann–Whitney rank formula:
    AUC = (Σ ranks of positives − n₊(n₊ + 1)/2) / (n₊·n₋)."""
    y = _binary(y_true)
    score = np.asarray(score, dtype=np.float64).ravel()
    n_pos = int(y.sum())
    n_neg = y.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs examples of both classes in y")
    ranks = _average_ranks(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def mse(y_true, y_pred) -> float:
    d = np.asarray(y_true, dtype=np.float64).ravel() - np.asarray(y_pred, dtype=np.float64).ravel()
    return float(np.mean(d * d))


def mae(y_true, y_pred) -> float:
    d = np.asarray(y_true, dtype=np.float64).ravel() - np.asarray(y_pred, dtype=np.float64).ravel()
    return float(np.mean(np.abs(d)))


def r2(y_true, y_pred) -> float:
    """R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)²; for a constant y: 1 if every ŷ = y, else 0 (as scikit-learn).
    Several targets (one column each): the mean of their R²s (scikit-learn's 'uniform_average')."""
    y = np.asarray(y_true, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] > 1:
        y_pred = np.asarray(y_pred, dtype=np.float64)
        return float(np.mean([r2(y[:, j], y_pred[:, j]) for j in range(y.shape[1])]))
    y = y.ravel()
    ss_res = float(np.sum((y - np.asarray(y_pred, dtype=np.float64).ravel()) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def macro_scores(counts, **more) -> dict:
    """The counting scores of k classes from their confusion matrix ``counts`` (rows: true):
    accuracy, each class's precision/recall/F1 against the rest (``per_class``, from its binary
    matrix [[TN, FP], [FN, TP]]) and their macro means, then the scores in ``more`` (log loss…),
    then the per-class scores and the matrix itself."""
    counts = np.asarray(counts)
    n = counts.sum()
    per_class = []
    for c in range(counts.shape[0]):
        tp = counts[c, c]
        fp, fn = counts[:, c].sum() - tp, counts[c, :].sum() - tp
        scores = _scores(((n - tp - fp - fn, fp), (fn, tp)))
        per_class.append({name: scores[name] for name in ("precision", "recall", "f1")}
                         | {"support": int(counts[c].sum())})
    report = {"accuracy": _ratio(np.trace(counts), n), "average": "macro"}
    for name in ("precision", "recall", "f1"):
        report[name] = float(np.mean([scores[name] for scores in per_class]))
    return report | more | {"per_class": per_class, "confusion_matrix": counts.tolist()}


def multiclass_report(y_true, y_pred, proba, n_classes) -> dict:
    """Accuracy, macro precision/recall/F1 (with each class's own in ``per_class``), log loss
    and macro one-against-the-rest ROC AUC for class numbers 0 … k − 1 (``proba`` (n, k) or
    None); one confusion matrix gives all the counting ones."""
    counts = confusion_matrix(y_true, y_pred, n_classes)
    y = np.asarray(y_true).ravel().astype(np.int64)
    log_loss = auc = None
    if proba is not None:
        P = np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0)  # the AUC ranks the clipped P too
        log_loss = multiclass_log_loss(y, P)
        if all(0 < support < y.shape[0] for support in counts.sum(axis=1)):
            auc = float(np.mean([roc_auc((y == c).astype(int), P[:, c]) for c in range(n_classes)]))
    return macro_scores(counts, log_loss=log_loss, roc_auc=auc)


def classification_report(y_true, y_pred, proba=None, score=None) -> dict:
    """Every binary classification metric above as a dict (log loss needs ``proba``, AUC a
    score); the counting ones all come from one confusion matrix."""
    counts = confusion_matrix(y_true, y_pred)
    report = _scores(counts)
    report["log_loss"] = None if proba is None else log_loss(y_true, proba)
    ranking = proba if score is None else score
    both_classes = counts[0].sum() > 0 and counts[1].sum() > 0  # rows: the true class
    report["roc_auc"] = roc_auc(y_true, ranking) if ranking is not None and both_classes else None
    report["confusion_matrix"] = counts.tolist()
    return report


def regression_report(y_true, y_pred) -> dict:
    """MSE, MAE and R²; with several targets (one column each) the means over them, and each
    target's own in ``per_target``."""
    report = {"mse": mse(y_true, y_pred), "mae": mae(y_true, y_pred), "r2": r2(y_true, y_pred)}
    y_true = np.asarray(y_true)
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        y_pred = np.asarray(y_pred)
        report["per_target"] = [regression_report(y_true[:, j], y_pred[:, j]) for j in range(y_true.shape[1])]
    return report
