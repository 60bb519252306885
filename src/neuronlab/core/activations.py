"""Activation functions f and their derivatives f'.

A neuron computes z = w·x + b and ŷ = f(z).  Each activation here gives f(z) and
f'(z) for arrays z, vectorised, numerically safe for any finite z (|z| up to 1e300
does not overflow).  ``derivative`` receives both z and the already computed
ŷ = f(z), because for several activations (sigmoid, tanh) f' is cheapest in terms
of ŷ.

This module is part of the core: it imports numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "sigmoid", "softmax", "log_softmax"]


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), evaluated without overflow for any z.

    For z ≥ 0 it uses 1/(1 + e^(−z)); for z < 0 the equal form e^z/(1 + e^z), so
    exp never sees a large positive argument.
    """
    z = np.asarray(z)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(Z):
    """ln softmax(z) for every row z of Z: zₖ − ln Σⱼ e^(zⱼ), computed as
    (zₖ − m) − ln Σⱼ e^(zⱼ − m) with m = maxⱼ zⱼ, so exp never overflows."""
    Z = np.asarray(Z)
    shifted = Z - Z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(Z):
    """softmax(z)ₖ = e^(zₖ) / Σⱼ e^(zⱼ) for every row z of Z: the k outputs of a layer turned
    into probabilities that sum to 1 — the sigmoid's generalisation to k classes
    (for k = 2, softmax(z)₂ = σ(z₂ − z₁)).  Shifted by the row's maximum: no overflow."""
    Z = np.asarray(Z)
    e = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _identity(z):
    return z


def _identity_prime(z, y_hat):
    return np.ones_like(z)


def _sigmoid_prime(z, y_hat):
    # σ'(z) = σ(z)(1 − σ(z))
    return y_hat * (1.0 - y_hat)


def _tanh(z):
    return np.tanh(z)


def _tanh_prime(z, y_hat):
    # tanh'(z) = 1 − tanh²(z)
    return 1.0 - y_hat * y_hat


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_prime(z, y_hat):
    # The derivative at exactly z = 0 is taken as 0 (a subgradient), as in PyTorch.
    return (z > 0).astype(z.dtype)


LEAKY_SLOPE = 0.01


def _leaky_relu(z):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_relu_prime(z, y_hat):
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype, copy=False)


def _softplus(z):
    # softplus(z) = ln(1 + e^z) = max(z, 0) + ln(1 + e^(−|z|)): no overflow.
    return np.logaddexp(0.0, z).astype(np.result_type(z, np.float32), copy=False)


def _softplus_prime(z, y_hat):
    # d/dz ln(1 + e^z) = σ(z)
    return sigmoid(z).astype(z.dtype, copy=False)


# In-place forms for the network's buffers (see ``Activation.apply`` / ``derivative_into``):
# the same formulas, written into a preallocated ``out`` of z's shape and dtype.

def _identity_into(z, out):
    np.copyto(out, z)
    return out


def _identity_prime_into(z, y_hat, out):
    out.fill(1.0)
    return out


def _sigmoid_prime_into(z, y_hat, out):
    np.subtract(1.0, y_hat, out=out)
    out *= y_hat
    return out


def _tanh_into(z, out):
    return np.tanh(z, out=out)


def _tanh_prime_into(z, y_hat, out):
    np.multiply(y_hat, y_hat, out=out)
    np.subtract(1.0, out, out=out)
    return out


def _relu_into(z, out):
    return np.maximum(z, 0.0, out=out)


def _relu_prime_into(z, y_hat, out):
    return np.greater(z, 0.0, out=out)  # True/False written as 1/0 in out's dtype


def _step(z):
    return (z >= 0).astype(z.dtype)


def _step_prime(z, y_hat):
    # Zero almost everywhere (and undefined at 0): no gradient to follow.  Gradient
    # strategies refuse this activation before they ever get here.
    return np.zeros_like(z)


@dataclass(frozen=True)
class Activation:
    """An activation f with its derivative f'.

    ``output_range`` is the closed interval that ŷ = f(z) can take; losses use it to
    refuse combinations that make no sense (log loss needs ŷ in [0, 1]).
    ``differentiable`` is False for the step function: its derivative is zero
    almost everywhere, so gradient descent would never move.
    """

    name: str
    function: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]
    formula: str
    output_range: tuple[float, float]
    differentiable: bool = True
    #: f(z) written into ``out`` (same shape and dtype as z), for code that reuses its buffers
    function_into: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None
    #: f'(z) written into ``out``
    derivative_into: Optional[Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = None

    def __call__(self, z):
        return self.function(z)

    def apply(self, z, out=None):
        """f(z); with ``out`` (an array of z's shape and dtype), written into it."""
        if out is None:
            return self.function(z)
        if self.function_into is not None:
            return self.function_into(z, out)
        out[...] = self.function(z)
        return out

    def derivative_at(self, z, y_hat, out=None):
        """f'(z) (given ŷ = f(z)); with ``out``, written into it."""
        if out is None:
            return self.derivative(z, y_hat)
        if self.derivative_into is not None:
            return self.derivative_into(z, y_hat, out)
        out[...] = self.derivative(z, y_hat)
        return out


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", _identity, _identity_prime, "f(z) = z", (-np.inf, np.inf),
                   function_into=_identity_into, derivative_into=_identity_prime_into),
        Activation("sigmoid", sigmoid, _sigmoid_prime, "f(z) = 1 / (1 + e^(−z))", (0.0, 1.0),
                   derivative_into=_sigmoid_prime_into),
        Activation("tanh", _tanh, _tanh_prime, "f(z) = tanh(z)", (-1.0, 1.0),
                   function_into=_tanh_into, derivative_into=_tanh_prime_into),
        Activation("relu", _relu, _relu_prime, "f(z) = max(0, z)", (0.0, np.inf),
                   function_into=_relu_into, derivative_into=_relu_prime_into),
        Activation(
            "leaky_relu",
            _leaky_relu,
            _leaky_relu_prime,
            f"f(z) = z if z > 0 else {LEAKY_SLOPE}·z",
            (-np.inf, np.inf),
        ),
        Activation("softplus", _softplus, _softplus_prime, "f(z) = ln(1 + e^z)", (0.0, np.inf)),
        Activation(
            "step", _step, _step_prime, "f(z) = 1 if z ≥ 0 else 0", (0.0, 1.0), differentiable=False
        ),
    )
}


def get_activation(activation) -> Activation:
    """Return the :class:`Activation` named ``activation`` (or pass one through)."""
    if isinstance(activation, Activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a name such as 'sigmoid', got {type(activation).__name__}"
        )
    try:
        return ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}"
        ) from None
