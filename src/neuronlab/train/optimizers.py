"""The optimisers practitioners reach for when fixed-η gradient descent is too slow.

Each is a :class:`~neuronlab.train.strategies.GradientDescent` with another direction
rule (a chain of :mod:`neuronlab.optim` transformations), so schedules,
mini-batches, early stopping, reduce-η-on-plateau and recovery work with all of
them — plus two that choose their own step: backtracking line search (Armijo) and
L-BFGS (scipy's).  Importing this module adds them to ``STRATEGIES``:

    sgd, momentum, nesterov, adagrad, rmsprop, adam, line_search, lbfgs
"""

from __future__ import annotations

import math

import numpy as np

from ..core._validation import check_positive, check_tol
from ..optim.transforms import (
    chain,
    clip_by_global_norm,
    identity,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_rms,
    trace,
)
from .strategies import (
    STRATEGIES,
    DivergenceGuard,
    GradientDescent,
    Strategy,
    gradient_vanished,
    loss_settled,
    start_not_finite,
)

__all__ = [
    "StochasticGradientDescent",
    "Momentum",
    "Nesterov",
    "Adagrad",
    "RMSProp",
    "Adam",
    "LineSearch",
    "LBFGS",
]


class _Transformed(GradientDescent):
    """GradientDescent whose direction is ``chain(clip?, self._direction())``."""

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, clip_norm=None, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.clip_norm = clip_norm

    def _direction(self):
        raise NotImplementedError

    def make_transform(self):
        if self.transform is not None:
            return self.transform
        parts = [] if self.clip_norm is None else [clip_by_global_norm(self.clip_norm)]
        return chain(*parts, self._direction())


class StochasticGradientDescent(_Transformed):
    """Mini-batch (stochastic when ``batch_size=1``) gradient descent:
    θ ← θ − η_t·∇J_B(θ) over batches B of ``batch_size`` rows, reshuffled every epoch
    from ``random_state``.  ``max_steps`` counts epochs."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, max_steps=100, tol=1e-6, *, batch_size=32, **options):
        super().__init__(learning_rate, max_steps, tol, batch_size=batch_size, **options)

    def _direction(self):
        return identity()  # d = ∇J_B: the plain gradient of the batch


class Momentum(_Transformed):
    """Heavy-ball momentum: v ← μ·v + ∇J(θ),  θ ← θ − η_t·v  (PyTorch's SGD(momentum=μ))."""

    name = "momentum"

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, momentum=0.9, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.momentum = momentum

    def _direction(self):
        return trace(self.momentum, nesterov=type(self) is Nesterov)


class Nesterov(Momentum):
    """Nesterov momentum: v ← μ·v + ∇J(θ),  θ ← θ − η_t·(∇J(θ) + μ·v) — looks one step ahead."""

    name = "nesterov"


class Adagrad(_Transformed):
    """Adagrad: G ← G + (∇J)²,  θ ← θ − η_t·∇J/(√G + ε)."""

    name = "adagrad"

    def __init__(self, learning_rate=0.1, max_steps=1000, tol=1e-6, *, eps=1e-10, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.eps = eps

    def _direction(self):
        return scale_by_adagrad(self.eps)


class RMSProp(_Transformed):
    """RMSProp: s ← ρ·s + (1 − ρ)(∇J)²,  θ ← θ − η_t·∇J/(√s + ε)."""

    name = "rmsprop"

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, rho=0.9, eps=1e-8, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.rho = rho
        self.eps = eps

    def _direction(self):
        return scale_by_rms(self.rho, self.eps)


class Adam(_Transformed):
    """Adam: bias-corrected running means m̂ of ∇J and v̂ of (∇J)²,
    θ ← θ − η_t·m̂/(√v̂ + ε)."""

    name = "adam"

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, beta1=0.9, beta2=0.999,
                 eps=1e-8, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def _direction(self):
        return scale_by_adam(self.beta1, self.beta2, self.eps)


class LineSearch(Strategy):
    """Gradient descent whose η is found at every step by backtracking (Armijo).

    The course's "big error, big step", made safe: try η (twice the last accepted
    one, ``grow``), and while the loss does not fall by at least a fraction c of
    what the slope promises,

        J(θ − η·∇J) > J(θ) − c·η·‖∇J‖²,

    shrink η ← β·η (``shrink``).  Each trial evaluates J and ∇J in one pass, so the
    accepted trial's gradient is the next step's.  The accepted η is in the
    History.  Stops as GradientDescent does (``tol``, ``max_steps``), and as
    ``converged`` when no η ≥ ``min_learning_rate`` lowers the loss any more.
    """

    name = "line_search"
    needs_gradient = True

    def __init__(self, learning_rate=1.0, max_steps=1000, tol=1e-6, c=1e-4, shrink=0.5, grow=2.0,
                 min_learning_rate=1e-12, record_params="auto"):
        super().__init__(record_params)
        self.learning_rate = learning_rate
        self.max_steps = max_steps
        self.tol = tol
        self.c = c
        self.shrink = shrink
        self.grow = grow
        self.min_learning_rate = min_learning_rate

    def validate(self):
        check_positive("learning_rate", self.learning_rate)
        check_positive("max_steps", self.max_steps, integer=True)
        check_positive("min_learning_rate", self.min_learning_rate)
        check_tol(self.tol)
        if not (isinstance(self.c, (int, float)) and 0 < self.c < 1):
            raise ValueError(f"c must be in (0, 1), got {self.c!r}")
        if not (isinstance(self.shrink, (int, float)) and 0 < self.shrink < 1):
            raise ValueError(f"shrink must be in (0, 1), got {self.shrink!r}")
        if not (isinstance(self.grow, (int, float)) and self.grow >= 1):
            raise ValueError(f"grow must be ≥ 1, got {self.grow!r}")

    def _iterate(self, run, theta0):
        tol = float(self.tol)
        theta = theta0
        loss, grad = run.loss_and_grad(theta)
        gnorm = float(np.linalg.norm(grad))
        run.record(theta, loss, gnorm, grad=grad)
        if message := start_not_finite(loss):
            return "diverged", message, {}
        eta = float(self.learning_rate) / self.grow
        for t in range(self.max_steps):
            if message := gradient_vanished(gnorm, tol, t):
                return "converged", message, {}
            eta *= self.grow
            while True:
                trial = theta - eta * grad
                trial_loss, trial_grad = run.loss_and_grad(trial)
                if trial_loss <= loss - self.c * eta * gnorm * gnorm:
                    break
                eta *= self.shrink
                if eta < self.min_learning_rate:
                    # for a smooth J with a right gradient, a small enough step always lowers
                    # J unless θ is stationary to the precision of the arithmetic
                    if gnorm <= 1e-6 * (1.0 + abs(loss)):
                        return "converged", (
                            f"no step η ≥ {self.min_learning_rate:g} lowers the loss at step {t} "
                            f"and ‖∇J‖ = {gnorm:.3g}: θ is a minimum to floating-point precision"
                        ), {}
                    return "stalled", (
                        f"no step η ≥ {self.min_learning_rate:g} lowers the loss at step {t} "
                        f"although ‖∇J‖ = {gnorm:.3g}: the gradient is wrong or the loss is not smooth"
                    ), {}
            previous, step_size = loss, eta * gnorm
            theta, loss, grad = trial, trial_loss, trial_grad
            gnorm = float(np.linalg.norm(grad))
            run.record(theta, loss, gnorm, step_size, eta, grad)
            # every accepted step lowered J (Armijo), so this run cannot diverge
            if message := loss_settled(previous, loss, tol, f"{t + 1} steps"):
                return "converged", message, {}
        return "max_steps", (
            f"stopped after max_steps = {self.max_steps} steps with ‖∇J‖ = {gnorm:.3g} (tol {tol:g})"
        ), {}


class LBFGS(Strategy):
    """L-BFGS (scipy.optimize's L-BFGS-B, without bounds), fed by the objective's
    fused J and ∇J (one pass over the data per evaluation).

    It builds a picture of the curvature from the last ``memory`` gradient changes
    and steps along the resulting quasi-Newton direction, with a line search that
    finds the step length.  One History row per iteration; its ``learning_rate``
    is the effective η = ‖θ(t+1) − θ(t)‖ / ‖∇J(θ(t))‖.  Stops when ‖∇J‖∞ ≤ ``tol``
    or the loss falls by less than ``tol``·max(1, |J|) (``converged``), or after
    ``max_steps`` iterations.
    """

    name = "lbfgs"
    needs_gradient = True

    def __init__(self, max_steps=1000, tol=1e-6, memory=10, divergence_patience=10,
                 record_params="auto"):
        super().__init__(record_params)
        self.max_steps = max_steps
        self.tol = tol
        self.memory = memory
        self.divergence_patience = divergence_patience

    def validate(self):
        check_positive("max_steps", self.max_steps, integer=True)
        check_positive("memory", self.memory, integer=True)
        check_tol(self.tol)

    def _iterate(self, run, theta0):
        from scipy.optimize import minimize as scipy_minimize  # scipy only when L-BFGS runs

        guard = DivergenceGuard(self.divergence_patience)
        last = {}  # the newest evaluation, so the callback need not evaluate again

        def fun(theta):
            loss, grad = run.loss_and_grad(theta)
            last.update(theta=theta.copy(), loss=loss, grad=grad)
            if not math.isfinite(loss):
                # let scipy's line search back off from an overflow
                return math.inf, np.zeros_like(grad)
            return loss, grad

        loss, grad = fun(theta0.copy())
        run.record(theta0, loss, float(np.linalg.norm(grad)), grad=grad)
        guard.update(loss)
        if message := start_not_finite(loss):
            return "diverged", message, {}
        previous = {"theta": theta0.copy(), "gnorm": float(np.linalg.norm(grad))}
        diverged = []

        def callback(intermediate_result):
            theta = intermediate_result.x
            if "theta" in last and np.array_equal(last["theta"], theta):
                loss, grad = last["loss"], last["grad"]
            else:
                loss, grad = run.loss_and_grad(theta)
            gnorm = float(np.linalg.norm(grad))
            step = float(np.linalg.norm(theta - previous["theta"]))
            eta = step / previous["gnorm"] if previous["gnorm"] > 0 else math.nan
            run.record(theta.copy(), loss, gnorm, step, eta, grad)
            previous.update(theta=theta.copy(), gnorm=gnorm)
            if guard.update(loss):
                diverged.append(len(run.history) - 1)
                raise StopIteration

        answer = scipy_minimize(
            fun, theta0.copy(), jac=True, method="L-BFGS-B", callback=callback,
            options={"maxiter": self.max_steps, "maxcor": self.memory, "gtol": self.tol,
                     "ftol": self.tol,
                     "maxfun": 20 * self.max_steps},
        )
        if diverged:
            return "diverged", f"the loss grew for {self.divergence_patience} iterations in a row", {}
        if answer.success:
            return "converged", f"L-BFGS: {answer.message} after {answer.nit} iterations", {}
        if answer.nit >= self.max_steps:
            return "max_steps", f"stopped after max_steps = {self.max_steps} iterations", {}
        return "converged" if math.isfinite(answer.fun) else "diverged", f"L-BFGS: {answer.message}", {}


STRATEGIES.update({
    cls.name: cls
    for cls in (StochasticGradientDescent, Momentum, Nesterov, Adagrad, RMSProp, Adam, LineSearch, LBFGS)
})
