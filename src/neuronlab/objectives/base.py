"""Objectives: θ → J(θ), and where possible θ → (J(θ), ∇J(θ)) in one call.

Every strategy minimises an :class:`Objective`; it never needs to know whether
θ holds the unknowns of an equation or the weights of a neuron.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..core.activations import get_activation
from ..core.losses import check_compatible, get_loss
from ..models.kernel import ENGINES, NeuronKernel, gram_matrix, gram_max_eigenvalue
from ..models.neuron import Neuron

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

    J and ∇J come from :mod:`neuronlab.models.kernel` in one pass over X, in X's dtype
    (float32 or float64; sums in float64) and without copying X.  ``rows`` restricts
    the objective to those row numbers (a training or validation split of one X);
    ``engine`` picks the kernel ('auto', 'numba', 'numpy').
    """

    def __init__(self, neuron: Neuron, X, y, loss="squared_error", sample_weight=None,
                 alpha: float = 0.0, l1_ratio: float = 0.0, rows=None, engine: str = "auto"):
        self.neuron = neuron
        self.activation = get_activation(neuron.activation)
        self.loss_fn = get_loss(loss)
        check_compatible(self.activation, self.loss_fn)
        self._kernel = NeuronKernel(neuron, self.loss_fn)  # its codes looked up once
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.engine = engine
        # a float array is used as it is (never copied); anything else becomes float64
        X = X if isinstance(X, np.ndarray) and X.dtype.kind == "f" else np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != neuron.n_inputs:
            raise ValueError(f"X must be a 2-D array of rows with {neuron.n_inputs} feature(s) each "
                             f"(the neuron's inputs), got shape {X.shape}")
        self.X = X
        self.y = np.asarray(y, dtype=X.dtype)
        if self.y.shape != (X.shape[0],):
            raise ValueError(f"y must hold one target per row of X ({X.shape[0]}), got shape {self.y.shape}")
        # rows: the objective covers only these rows of X (a validation split, say),
        # named by index so that X itself is never copied
        if rows is not None:
            rows = np.asarray(rows)
            if rows.ndim != 1 or rows.dtype.kind not in "iu" or rows.size == 0:
                raise ValueError("rows must be a non-empty 1-D array of row numbers")
            if rows.min() < 0 or rows.max() >= X.shape[0]:
                raise ValueError(f"rows must be row numbers in 0…{X.shape[0] - 1}")
            rows = rows.astype(np.int64, copy=False)
        self.rows = rows
        if sample_weight is None:
            self._weight = None
        else:
            self._weight = np.asarray(sample_weight, dtype=self.y.dtype)
            if self._weight.shape != (X.shape[0],):
                raise ValueError(f"sample_weight must hold one weight per row of X ({X.shape[0]}), "
                                 f"got shape {self._weight.shape}")
            covered = self._weight if rows is None else self._weight[rows]
            if not float(covered.sum()) > 0:
                raise ValueError("sample_weight must have a positive sum")
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.n_params = neuron.n_params
        self.param_names = neuron.param_names
        self.has_gradient = self.activation.differentiable

    # --- pieces -----------------------------------------------------------------
    def _penalty(self, w) -> float:
        if self.alpha == 0.0:
            return 0.0
        l2 = 0.5 * (1.0 - self.l1_ratio) * float(w @ w)
        l1 = self.l1_ratio * float(np.abs(w).sum())
        return self.alpha * (l2 + l1)

    def _penalty_grad(self, w):
        return self.alpha * ((1.0 - self.l1_ratio) * w + self.l1_ratio * np.sign(w))

    @property
    def n_samples(self) -> int:
        """How many rows the objective covers."""
        return self.X.shape[0] if self.rows is None else int(self.rows.shape[0])

    def _sums(self, theta, batch=None, want_grad=True):
        """The kernel's (Σ sᵢLᵢ, Σ sᵢ, (Σ δᵢxᵢ, Σ δᵢ)) over the covered rows, or a batch of them."""
        rows, lo, hi = self.rows, 0, None
        if isinstance(batch, slice):
            lo, hi, step = batch.indices(self.n_samples)
            if step != 1:
                raise ValueError("a batch slice must have step 1")
            if rows is not None:
                rows, lo, hi = rows[lo:hi], 0, None
        elif batch is not None:
            batch = np.asarray(batch, dtype=np.int64)
            rows = batch if rows is None else rows[batch]
        return self._kernel.sums(self.X, self.y, self._weight, theta, rows=rows, lo=lo, hi=hi,
                                 want_grad=want_grad, engine=self.engine)

    def _refuse_gradient(self):
        if not self.has_gradient:
            raise NotDifferentiableError(
                f"activation {self.activation.name!r} has derivative 0 almost everywhere, so "
                "gradient descent cannot learn with it; use strategy 'monte_carlo' or "
                "'error_driven', or a differentiable activation such as 'sigmoid'"
            )

    def _finish(self, theta, sums):
        loss_sum, weight_sum, grad = sums
        w = theta[:-1]
        loss = loss_sum / weight_sum + self._penalty(w)
        if grad is None:
            return loss
        grad /= weight_sum
        if self.alpha:
            grad[:-1] += self._penalty_grad(w)
        return loss, grad

    def loss_and_grad_batch(self, theta, batch):
        """J and ∇J over a mini-batch: ``batch`` is a slice or an array of row numbers
        (counted among the rows the objective covers).  The mean runs over the batch;
        the penalty is added whole, as for the full data.  X is not copied (the
        compiled kernel reads the rows where they are)."""
        self._refuse_gradient()
        theta = np.asarray(theta, dtype=np.float64)
        return self._finish(theta, self._sums(theta, batch))

    def stability_limit(self):
        """The largest stable fixed step η for gradient descent on this objective, or None.

        For a linear neuron with squared error (L = ½(ŷ − y)²) J is quadratic with
        Hessian H = X̃ᵀSX̃/Σs (+ α for an L2 penalty), X̃ = [X, 1]; fixed-η descent is
        stable exactly when η < 2/λ_max(H).  For sigmoid + log loss the Hessian is
        at most H/4, so η < 8/λ_max(H) = 2/(λ_max/4) guarantees stability.
        λ_max is exact (H formed in one pass, see ``kernel.gram_max_eigenvalue``) up
        to ``kernel.GRAM_EXACT_UP_TO`` parameters, from power iteration above.
        None for other activation/loss pairs.
        """
        pair = (self.activation.name, self.loss_fn.name)
        if pair not in (("identity", "squared_error"), ("sigmoid", "log_loss")):
            return None
        lam = gram_max_eigenvalue(self._gram_parts, self.neuron.n_inputs)
        if pair == ("sigmoid", "log_loss"):
            lam /= 4.0
        lam += self.alpha * (1.0 - self.l1_ratio)
        return 2.0 / lam if lam > 0 else None

    def _gram_parts(self):
        return [(self.X, self._weight, self.rows)]

    def hessian(self, theta):
        """∇²J(θ) exactly, in one pass over X, or None for pairs other than the two below.

            ∇²J = X̃ᵀDX̃ / Σs + α(1 − ρ)·diag(1, …, 1, 0),   X̃ = [X, 1],   D = diag(sᵢ·cᵢ)

        with cᵢ = 1 for a linear neuron with squared error and cᵢ = σ′(zᵢ) = σ(zᵢ)(1 − σ(zᵢ))
        for sigmoid + log loss (∂²L/∂z² of its logit form).  The L1 part adds no
        curvature away from wᵢ = 0; the bias is not penalised.  The matrix has
        (p + 1)² entries: callers with many parameters use Hessian-vector products.
        """
        pair = (self.activation.name, self.loss_fn.name)
        if pair not in (("identity", "squared_error"), ("sigmoid", "log_loss")):
            return None
        theta = np.asarray(theta, dtype=np.float64)
        f = self.activation

        def logistic_curvature(Xb):
            z, y_hat = self.neuron.forward(theta, Xb)
            return f.derivative(z, y_hat)

        H = gram_matrix(self._gram_parts, logistic_curvature if pair[0] == "sigmoid" else None)
        w = self.neuron.weights(theta)
        H[np.arange(len(w)), np.arange(len(w))] += self.alpha * (1.0 - self.l1_ratio)
        return H

    # --- Objective interface ------------------------------------------------------
    def loss(self, theta) -> float:
        theta = np.asarray(theta, dtype=np.float64)
        return float(self._finish(theta, self._sums(theta, want_grad=False)))

    def loss_and_grad(self, theta):
        """J(θ) and ∇J(θ) over the data, in one pass over X (see :mod:`neuronlab.models.kernel`)."""
        self._refuse_gradient()
        theta = np.asarray(theta, dtype=np.float64)
        loss, grad = self._finish(theta, self._sums(theta))
        return float(loss), grad
