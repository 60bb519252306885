"""Strategies for objectives made of residuals, J(θ) = ½·‖r(θ)‖².

Gradient descent on J takes θ ← θ − η·Dᵀr (D: the Jacobian ∂rᵢ/∂θⱼ) and leaves η to the user.  When the
objective can give the residuals r and their Jacobian D (an
:class:`~neuronlab.objectives.equation.EquationObjective` can), the step can be chosen
automatically: the Gauss–Newton step, which for one equation is the
Newton/Kaczmarz step.
"""

from __future__ import annotations

import math

import numpy as np

from ..objectives.base import Objective
from ..core._validation import check_positive
from .strategies import STRATEGIES, Strategy, start_not_finite

__all__ = ["GaussNewton"]

#: sufficient decrease asked of a step: J(θ + α·d) ≤ J(θ) + ARMIJO·α·∇J·d
ARMIJO = 1e-4


class GaussNewton(Strategy):
    """Gradient descent with the step chosen for you: the Gauss–Newton step.

    Linearise the residuals at θ, r(θ + d) ≈ r + D·d, and take the shortest d that
    makes the linearised residuals as small as possible (least squares):

        d = −D⁺·r                     (D⁺: pseudo-inverse; numpy.linalg.lstsq)
        one equation:  d = −r·∇r / ‖∇r‖²   (the Newton / Kaczmarz step)

    d is a descent direction for J(θ) = ½‖r‖² (∇J·d = −‖D·D⁺r‖² ≤ 0).  For linear
    residuals one step lands on a solution — the one nearest θ, because d lies in the
    row space of D, as every gradient ∇J = Dᵀr does.  The safeguard for nonlinear
    residuals is backtracking: while J(θ + α·d) > J(θ) − 10⁻⁴·α·|∇J·d| (Armijo), halve α,
    at most ``max_backtracks`` times.

    Stops when ‖r‖ ≤ ``tol`` (``converged``: the one criterion of this strategy);
    when ‖∇J‖ = ‖Dᵀr‖ is below ``gradient_tol``·‖D‖·‖r‖ (a stationary point of J) or
    no fraction of the step lowers J: stuck at a point that is not a solution
    (``stalled``, the message says which); after ``budget`` evaluations of (r, D)
    (``max_steps``).  One History row per accepted step; its ``learning_rate``
    column holds the accepted fraction α of the Gauss–Newton step.
    """

    name = "gauss_newton"
    needs_gradient = True

    def __init__(self, tol=1e-6, budget=100, max_backtracks=30, gradient_tol=1e-12,
                 record_params="auto"):
        super().__init__(record_params)
        self.tol = tol
        self.budget = budget
        self.max_backtracks = max_backtracks
        self.gradient_tol = gradient_tol

    def validate(self):
        check_positive("tol", self.tol)
        check_positive("budget", self.budget, integer=True)
        check_positive("max_backtracks", self.max_backtracks, integer=True)

    def minimize(self, objective: Objective, theta0, callback=None):
        if not hasattr(objective, "residuals_and_jacobian"):
            raise TypeError(
                f"{self.name} needs an objective with residuals and a Jacobian (such as "
                f"EquationObjective), got {type(objective).__name__}; use 'gradient_descent'")
        return super().minimize(objective, theta0, callback)

    def _evaluate(self, run, theta):
        run.evaluations += 1
        r, jac = run.objective.residuals_and_jacobian(theta)
        with np.errstate(over="ignore"):  # ‖r‖² beyond the float range: J = inf, rejected
            return r, jac, 0.5 * float(r @ r)

    def _iterate(self, run, theta0):
        tol = float(self.tol)
        theta = theta0
        r, jac, loss = self._evaluate(run, theta)
        grad = jac.T @ r
        grad_norm = float(np.linalg.norm(grad))
        run.record(theta, loss, grad_norm, grad=grad)
        if message := start_not_finite(loss):
            return "diverged", message, {}
        while True:
            norm_r = math.sqrt(2.0 * loss)
            if norm_r <= tol:
                return "converged", (
                    f"‖r‖ = {norm_r:.3g} ≤ tol = {tol:g} after {run.evaluations} evaluations"), {}
            if grad_norm <= self.gradient_tol * max(float(np.linalg.norm(jac)), 1e-300) * norm_r:
                return "stalled", (
                    f"stuck at a stationary point of ½‖r‖² (∇J = Dᵀr ≈ 0) with ‖r‖ = "
                    f"{norm_r:.3g} > tol: no step along the gradient lowers the error from here, "
                    "so this is not a solution; if the equations have one, try another "
                    "start"), {}
            direction = -np.linalg.lstsq(jac, r, rcond=None)[0]
            slope = float(grad @ direction)  # ∇J·d ≤ 0
            alpha = 1.0
            for _ in range(self.max_backtracks + 1):
                if run.evaluations >= self.budget:
                    return "max_steps", (
                        f"budget of {self.budget} evaluations spent with ‖r‖ = "
                        f"{math.sqrt(2 * run.best_loss):.3g} (tol {tol:g})"), {}
                trial = theta + alpha * direction
                trial_r, trial_jac, trial_loss = self._evaluate(run, trial)
                if trial_loss <= loss + ARMIJO * alpha * slope:
                    break
                alpha *= 0.5
            else:
                return "stalled", (
                    f"stuck at ‖r‖ = {norm_r:.3g} > tol: no fraction of the Gauss–Newton step "
                    f"(down to 2^-{self.max_backtracks}) lowers the error, so this is not a "
                    "solution; try another start"), {}
            step = float(np.linalg.norm(alpha * direction))
            theta, r, jac, loss = trial, trial_r, trial_jac, trial_loss
            grad = jac.T @ r
            grad_norm = float(np.linalg.norm(grad))
            run.record(theta, loss, grad_norm, step, alpha, grad)


STRATEGIES[GaussNewton.name] = GaussNewton
