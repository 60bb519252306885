"""Objectives: θ → J(θ), and where possible θ → (J(θ), ∇J(θ)) in one call.

Every strategy minimises an :class:`Objective`; it never needs to know whether
θ holds the unknowns of an equation or the weights of a neuron.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from .activations import get_activation
from .losses import check_compatible, get_loss
from .neuron import Neuron

__all__ = ["Objective", "FunctionObjective", "NeuronObjective", "NotDifferentiableError"]


class NotDifferentiableError(ValueError):
    """A gradient strategy was asked to follow a gradient that does not exist."""


class Objective:
    """Interface every objective implements.

    Attributes: ``n_params`` (length of θ), ``param_names`` (one per entry of θ),
    ``has_gradient`` (False when only J(θ) is available: search strategies still work).
    """

    n_params: int
    param_names: Sequence[str]
    has_gradient: bool = True

    def loss(self, theta: np.ndarray) -> float:
        raise NotImplementedError

    def loss_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotDifferentiableError(
            f"{type(self).__name__} has no gradient; use a search strategy "
            "('monte_carlo' or 'error_driven')"
        )


class FunctionObjective(Objective):
    """Wrap any callable θ → J(θ), with an optional gradient.

    ``grad`` may be a callable θ → ∇J(θ), or ``True`` to say that ``fun`` itself
    returns the pair (J(θ), ∇J(θ)).
    """

    def __init__(self, fun: Callable, n_params: int, grad=None, param_names=None):
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        if grad is not None and grad is not True and not callable(grad):
            raise TypeError("grad must be a callable, True (fun returns (loss, grad)) or None")
        self.fun = fun
        self.grad = grad
        self.n_params = int(n_params)
        self.param_names = list(param_names) if param_names is not None else [
            f"θ{i}" for i in range(self.n_params)
        ]
        self.has_gradient = grad is not None

    def loss(self, theta):
        out = self.fun(theta)
        return float(out[0] if self.grad is True else out)

    def loss_and_grad(self, theta):
        if self.grad is None:
            return super().loss_and_grad(theta)
        if self.grad is True:
            value, g = self.fun(theta)
        else:
            value, g = self.fun(theta), self.grad(theta)
        return float(value), np.asarray(g, dtype=np.float64)


class NeuronObjective(Objective):
    """The loss of a neuron on a data set, as a function of θ = (w, b).

        z = X·w + b,  ŷ = f(z)
        J(θ) = Σᵢ sᵢ·L(ŷᵢ, yᵢ) / Σᵢ sᵢ  +  α·(1 − ρ)/2·‖w‖²  +  α·ρ·‖w‖₁

    with sample weights sᵢ (all 1 by default), penalty strength α and L1 share ρ
    (``l1_ratio``).  The bias b is never penalised.  The gradient is the chain rule,
    one factor per arrow z → ŷ → L:

        δᵢ = sᵢ/Σs · ∂L/∂ŷ(ŷᵢ, yᵢ) · f′(zᵢ)            (= sᵢ/Σs · (σ(zᵢ) − yᵢ) for sigmoid + log loss)
        ∂J/∂w = Xᵀδ + α(1 − ρ)·w + α·ρ·sign(w),   ∂J/∂b = Σᵢ δᵢ
    """

    def __init__(self, neuron: Neuron, X, y, loss="squared_error", sample_weight=None,
                 alpha: float = 0.0, l1_ratio: float = 0.0):
        self.neuron = neuron
        self.activation = get_activation(neuron.activation)
        self.loss_fn = get_loss(loss)
        check_compatible(self.activation, self.loss_fn)
        self.X = X
        self.y = np.asarray(y, dtype=X.dtype if X.dtype.kind == "f" else np.float64)
        if sample_weight is None:
            self._weight = None
            self._total_weight = float(X.shape[0])
        else:
            self._weight = np.asarray(sample_weight, dtype=self.y.dtype)
            self._total_weight = float(self._weight.sum())
            if not self._total_weight > 0:
                raise ValueError("sample_weight must have a positive sum")
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.n_params = neuron.n_params
        self.param_names = neuron.param_names
        self.has_gradient = self.activation.differentiable
        # sigmoid + log loss: use the logit form (stable, and one exp fewer)
        self._fused = self.activation.name == "sigmoid" and self.loss_fn.from_logit is not None

    # --- pieces -----------------------------------------------------------------
    def _mean(self, per_sample) -> float:
        if self._weight is None:
            return float(per_sample.sum() / self._total_weight)
        return float(per_sample @ self._weight / self._total_weight)

    def _penalty(self, w) -> float:
        if self.alpha == 0.0:
            return 0.0
        l2 = 0.5 * (1.0 - self.l1_ratio) * float(w @ w)
        l1 = self.l1_ratio * float(np.abs(w).sum())
        return self.alpha * (l2 + l1)

    def _penalty_grad(self, w):
        return self.alpha * ((1.0 - self.l1_ratio) * w + self.l1_ratio * np.sign(w))

    def per_sample_loss(self, theta) -> np.ndarray:
        z = self.X @ theta[:-1] + theta[-1]
        if self._fused:
            return self.loss_fn.from_logit(z, self.y)
        return self.loss_fn.value(self.activation(z), self.y)

    # --- Objective interface ------------------------------------------------------
    def loss(self, theta) -> float:
        theta = np.asarray(theta)
        return self._mean(self.per_sample_loss(theta)) + self._penalty(theta[:-1])

    def loss_and_grad(self, theta):
        if not self.has_gradient:
            raise NotDifferentiableError(
                f"activation {self.activation.name!r} has derivative 0 almost everywhere, so "
                "gradient descent cannot learn with it; use strategy 'monte_carlo' or "
                "'error_driven', or a differentiable activation such as 'sigmoid'"
            )
        theta = np.asarray(theta)
        w, b = theta[:-1], theta[-1]
        z = self.X @ w + b
        if self._fused:
            per = self.loss_fn.from_logit(z, self.y)
            dz = self.loss_fn.from_logit_derivative(z, self.y)
        else:
            y_hat = self.activation(z)
            per = self.loss_fn.value(y_hat, self.y)
            dz = self.loss_fn.derivative(y_hat, self.y) * self.activation.derivative(z, y_hat)
        delta = dz / self._total_weight if self._weight is None else dz * (self._weight / self._total_weight)
        grad = np.empty(theta.shape[0], dtype=np.float64)
        grad[:-1] = self.X.T @ delta
        grad[-1] = delta.sum()
        if self.alpha:
            grad[:-1] += self._penalty_grad(w)
        return self._mean(per) + self._penalty(w), grad
