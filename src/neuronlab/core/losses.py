"""Loss functions L(ŷ, y) per sample, with their derivatives ∂L/∂ŷ.

The neuron's objective is the (weighted) mean J = Σᵢ sᵢ·L(ŷᵢ, yᵢ) / Σᵢ sᵢ.
Classification targets y are 0 or 1.  Log loss also has a *logit form*: computed
from z rather than from ŷ = σ(z), it never takes log(0) and stays finite for any z
(|z| up to 1e6 and far beyond):

    L = ln(1 + e^z) − y·z,        ∂L/∂z = σ(z) − y.

This module is part of the core: it imports numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .activations import log_softmax, sigmoid

__all__ = ["Loss", "LOSSES", "get_loss", "HUBER_DELTA", "LOG_LOSS_EPS", "multinomial_log_loss"]

HUBER_DELTA = 1.0
# ŷ is clipped to [ε, 1 − ε] when log loss is computed from ŷ (as scikit-learn does);
# the logit form below needs no clipping.
LOG_LOSS_EPS = 1e-15


def _squared(y_hat, y):
    r = y_hat - y
    return 0.5 * r * r


def _squared_prime(y_hat, y):
    return y_hat - y


def _absolute(y_hat, y):
    return np.abs(y_hat - y)


def _absolute_prime(y_hat, y):
    return np.sign(y_hat - y)


def _huber(y_hat, y):
    a = np.abs(y_hat - y)
    return np.where(a <= HUBER_DELTA, 0.5 * a * a, HUBER_DELTA * (a - 0.5 * HUBER_DELTA))


def _huber_prime(y_hat, y):
    return np.clip(y_hat - y, -HUBER_DELTA, HUBER_DELTA)


def _log(y_hat, y):
    p = np.clip(y_hat, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def _log_prime(y_hat, y):
    p = np.clip(y_hat, LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
    inside = (y_hat > LOG_LOSS_EPS) & (y_hat < 1.0 - LOG_LOSS_EPS)
    return np.where(inside, (p - y) / (p * (1.0 - p)), 0.0)


def _log_from_logit(z, y):
    return np.logaddexp(0.0, z) - y * z


def _log_from_logit_prime(z, y):
    return sigmoid(z) - y


def _hinge(y_hat, y):
    s = 2.0 * y - 1.0  # targets 0/1 become −1/+1
    return np.maximum(0.0, 1.0 - s * y_hat)


def _hinge_prime(y_hat, y):
    s = 2.0 * y - 1.0
    return np.where(s * y_hat < 1.0, -s, 0.0)


def multinomial_log_loss(Z, classes, want_delta=True, out=None):
    """Log loss of k classes from the logits z of a softmax layer, per row, and ∂L/∂z.

    With ŷ = softmax(z) and the true class c (an index 0 … k − 1):

        L = −ln ŷ_c = ln Σⱼ e^(zⱼ) − z_c,        ∂L/∂zₖ = ŷₖ − [k = c]

    (for k = 2 this is the binary log loss of z₂ − z₁).  Computed from z, so it never
    takes ln 0.  Returns (L per row, ∂L/∂Z or None).  With ``out`` (an array of Z's shape
    and dtype, Z itself allowed) ∂L/∂Z is written into it, as e^(z − m)/Σⱼe^(zⱼ − m) − [k = c]
    with m = maxⱼ zⱼ: no array of Z's size is allocated.
    """
    classes = np.asarray(classes).astype(np.intp, copy=False)
    if out is not None:
        rows = np.arange(Z.shape[0])
        shifted = np.subtract(Z, Z.max(axis=-1, keepdims=True), out=out)
        picked = shifted[rows, classes]  # z_c − m
        e = np.exp(shifted, out=out)
        total = e.sum(axis=-1, keepdims=True)
        losses = np.log(total[:, 0]) - picked
        if not want_delta:
            return losses, None
        e /= total
        e[rows, classes] -= 1.0
        return losses, e
    log_p = log_softmax(Z)
    rows = np.arange(Z.shape[0])
    losses = -log_p[rows, classes]
    if not want_delta:
        return losses, None
    delta = np.exp(log_p)
    delta[rows, classes] -= 1.0
    return losses, delta


@dataclass(frozen=True)
class Loss:
    """A per-sample loss L(ŷ, y) and its derivative ∂L/∂ŷ.

    ``needs_output_in`` is the interval ŷ must lie in for the loss to mean anything
    (log loss: [0, 1]); ``targets`` says what y may be: "real" or "binary" (0/1).
    ``from_logit``/``from_logit_derivative`` give the loss and ∂L/∂z directly from
    z when ŷ = σ(z): the stable fused form used with the sigmoid activation.
    """

    name: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]
    formula: str
    targets: str = "real"
    needs_output_in: tuple[float, float] = (-np.inf, np.inf)
    from_logit: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None
    from_logit_derivative: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None

    def __call__(self, y_hat, y):
        return self.value(y_hat, y)


LOSSES: dict[str, Loss] = {
    l.name: l
    for l in (
        Loss("squared_error", _squared, _squared_prime, "L = ½(ŷ − y)²"),
        Loss("absolute_error", _absolute, _absolute_prime, "L = |ŷ − y|"),
        Loss(
            "huber",
            _huber,
            _huber_prime,
            f"L = ½(ŷ − y)² if |ŷ − y| ≤ {HUBER_DELTA:g} else {HUBER_DELTA:g}·(|ŷ − y| − {HUBER_DELTA / 2:g})",
        ),
        Loss(
            "log_loss",
            _log,
            _log_prime,
            "L = −[y·ln ŷ + (1 − y)·ln(1 − ŷ)]",
            targets="binary",
            needs_output_in=(0.0, 1.0),
            from_logit=_log_from_logit,
            from_logit_derivative=_log_from_logit_prime,
        ),
        Loss("hinge", _hinge, _hinge_prime, "L = max(0, 1 − s·ŷ) with s = 2y − 1 ∈ {−1, +1}", targets="binary"),
    )
}

ALIASES = {
    "mse": "squared_error",
    "mae": "absolute_error",
    "binary_crossentropy": "log_loss",
    "cross_entropy": "log_loss",
    "logistic": "log_loss",
}


def get_loss(loss) -> Loss:
    """Return the :class:`Loss` named ``loss`` (aliases: mse, mae, cross_entropy)."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name such as 'log_loss', got {type(loss).__name__}")
    try:
        return LOSSES[ALIASES.get(loss, loss)]
    except KeyError:
        names = list(LOSSES) + list(ALIASES)
        raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(names)}") from None


def check_compatible(activation, loss) -> None:
    """Refuse an activation whose outputs ŷ cannot feed ``loss`` (e.g. relu + log loss)."""
    lo, hi = loss.needs_output_in
    a_lo, a_hi = activation.output_range
    if a_lo < lo or a_hi > hi:
        raise ValueError(
            f"loss {loss.name!r} needs ŷ in [{lo:g}, {hi:g}] but activation "
            f"{activation.name!r} gives ŷ in [{a_lo:g}, {a_hi:g}]; use activation='sigmoid' "
            f"with {loss.name!r}, or a loss such as 'squared_error' or 'hinge'"
        )
