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

from ..core.validation import check_positive
from .loop import Row, Stop, StepRule
from .monitors import DivergenceMonitor
from .strategy import Strategy

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
    needs = ("residuals",)

    def __init__(self, tol=1e-6, budget=100, max_backtracks=30, gradient_tol=1e-12,
                 record_params="auto", *, target_loss=None, time_limit=None):
        super().__init__(record_params, target_loss=target_loss, time_limit=time_limit)
        self.tol = tol
        self.budget = budget
        self.max_backtracks = max_backtracks
        self.gradient_tol = gradient_tol

    def validate(self):
        super().validate()
        check_positive("tol", self.tol)
        check_positive("budget", self.budget, integer=True)
        check_positive("max_backtracks", self.max_backtracks, integer=True)
        if isinstance(self.gradient_tol, bool) or not isinstance(self.gradient_tol, (int, float)) \
                or not self.gradient_tol >= 0:
            raise ValueError(f"gradient_tol must be a number ≥ 0, got {self.gradient_tol!r}")

    def make_rule(self, objective, theta0):
        return _GaussNewtonSteps(self, objective, theta0)

    def monitors(self, objective):
        # the start's loss must be finite; accepted steps lower J (Armijo), so nothing diverges
        return [DivergenceMonitor(), *super().monitors(objective)]


class _GaussNewtonSteps(StepRule):
    """One accepted (backtracked) Gauss–Newton step per step(); its own budget of (r, D)
    evaluations is checked before each trial."""

    def __init__(self, strategy: GaussNewton, objective, theta0):
        self.s = strategy
        self.objective = objective
        self.theta = theta0

    def evaluate(self, training, theta):
        training.evaluations += 1
        r, jac = self.objective.residuals_and_jacobian(theta)
        with np.errstate(over="ignore"):  # ‖r‖² beyond the float range: J = inf, rejected
            return r, jac, 0.5 * float(r @ r)

    def begin(self, training):
        self.r, self.jac, self.loss = self.evaluate(training, self.theta)
        self.grad = self.jac.T @ self.r
        return Row(self.theta, self.loss, float(np.linalg.norm(self.grad)), grad=self.grad)

    def check(self, training, row):
        norm_r = math.sqrt(2.0 * self.loss)
        if norm_r <= float(self.s.tol):
            return Stop("converged", (
                f"‖r‖ = {norm_r:.3g} ≤ tol = {float(self.s.tol):g} after {training.evaluations} evaluations"))
        if float(np.linalg.norm(self.grad)) <= self.s.gradient_tol * max(
                float(np.linalg.norm(self.jac)), 1e-300) * norm_r:
            return Stop("stalled", (
                f"stuck at a stationary point of ½‖r‖² (∇J = Dᵀr ≈ 0) with ‖r‖ = "
                f"{norm_r:.3g} > tol: no step along the gradient lowers the error from here, "
                "so this is not a solution; if the equations have one, try another "
                "start"))
        return None

    def step(self, training):
        s = self.s
        direction = -np.linalg.lstsq(self.jac, self.r, rcond=None)[0]
        slope = float(self.grad @ direction)  # ∇J·d ≤ 0
        alpha = 1.0
        for _ in range(s.max_backtracks + 1):
            if training.evaluations >= s.budget:
                return Stop("max_steps", (
                    f"budget of {s.budget} evaluations spent with ‖r‖ = "
                    f"{math.sqrt(2 * training.best_loss):.3g} (tol {float(s.tol):g})"))
            trial = self.theta + alpha * direction
            trial_r, trial_jac, trial_loss = self.evaluate(training, trial)
            if trial_loss <= self.loss + ARMIJO * alpha * slope:
                break
            alpha *= 0.5
        else:
            return Stop("stalled", (
                f"stuck at ‖r‖ = {math.sqrt(2.0 * self.loss):.3g} > tol: no fraction of the Gauss–Newton "
                f"step (down to 2^-{s.max_backtracks}) lowers the error, so this is not a "
                "solution; try another start"))
        step = float(np.linalg.norm(alpha * direction))
        self.theta, self.r, self.jac, self.loss = trial, trial_r, trial_jac, trial_loss
        self.grad = self.jac.T @ self.r
        return Row(self.theta, self.loss, float(np.linalg.norm(self.grad)), step, alpha, self.grad)
