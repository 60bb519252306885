"""The stratified validation split: each class sends the same share of its rows to validation.

One cut for every hold-out of classification rows — the command line's ``--val-split``
(``neuronlab.io.tables.split_rows``) and the estimators' ``early_stopping`` — so that
both keep the classes in the proportions of the data on both sides of the split.

The rows are shuffled once, ``order = rng.permutation(n)``; class k, with n_k rows and
its share s_k = n_validation · n_k / n of the validation rows, sends the first v_k of
its rows in that order to validation, where v_k is s_k rounded down or up (largest
remainders round up first, ties in class order) so that Σ v_k is as close as it can
be to ``n_validation``, and 1 ≤ v_k ≤ n_k − 1 so that every class is on both sides.
"""

from __future__ import annotations

import numpy as np

from .validation import written_label

__all__ = ["stratified_split"]


def stratified_split(y, n_validation: int, random_state, fix: str = "give more rows of it"):
    """Indices (train, validation), both sorted, with about ``n_validation`` validation rows
    taken class by class from the labels ``y`` (see the module docstring for the rule).

    ``random_state`` is a seed or a ``numpy.random.Generator`` (one ``permutation`` is drawn
    from it).  A class with fewer than 2 rows cannot be on both sides: a ValueError names
    it, its row count and ``fix`` (the caller's way out, e.g. "--val-split 0").
    """
    y = np.asarray(y)
    n = y.shape[0]
    order = np.random.default_rng(random_state).permutation(n)
    if n_validation <= 0:
        return np.sort(order), order[:0]
    classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    for label, count in zip(classes, counts):
        if count < 2:
            raise ValueError(
                f"class {written_label(label)!r} has {count} row: it cannot be on both sides of the "
                f"validation split; {fix}"
            )
    share = n_validation * counts / n
    low = np.clip(np.floor(share), 1, counts - 1).astype(int)
    high = np.clip(np.ceil(share), 1, counts - 1).astype(int)
    taken = low.copy()
    # round up where the remainder is largest until the total is as close as it gets
    for k in sorted(np.flatnonzero(high > low), key=lambda k: -(share[k] - np.floor(share[k]))):
        if taken.sum() >= n_validation:
            break
        taken[k] = high[k]
    shuffled_codes = codes[order]
    validation = np.concatenate([order[shuffled_codes == k][:taken[k]] for k in range(classes.shape[0])])
    is_validation = np.zeros(n, dtype=bool)
    is_validation[validation] = True
    return np.flatnonzero(~is_validation), np.flatnonzero(is_validation)
