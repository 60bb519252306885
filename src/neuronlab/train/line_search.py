"""Gradient descent whose η is found at every step by backtracking (Armijo)."""

from __future__ import annotations

import numpy as np

from ..core.validation import check_positive
from .loop import Row, Stop, StepRule
from .strategy import GradientStrategy

__all__ = ["LineSearch"]


class LineSearch(GradientStrategy):
    """Gradient descent whose η is found at every step by backtracking (Armijo).

    The course's "big error, big step", made safe: try η (twice the last accepted
    one, ``grow``), and while the loss does not fall by at least a fraction c of
    what the slope promises,

        J(θ − η·∇J) > J(θ) − c·η·‖∇J‖²,

    shrink η ← β·η (``shrink``).  Each trial evaluates J and ∇J in one pass, so the
    accepted trial's gradient is the next step's.  The accepted η is in the
    History.  Stops as GradientDescent does (``tol``, ``max_steps``, early stopping
    on ``validation``, ``target_loss``, ``time_limit``), and when no
    η ≥ ``min_learning_rate`` lowers the loss any more: ``converged`` where ‖∇J‖ is
    zero to floating-point precision, else ``stalled``.
    """

    name = "line_search"

    def __init__(self, learning_rate=1.0, max_steps=1000, tol=1e-6, c=1e-4, shrink=0.5, grow=2.0,
                 min_learning_rate=1e-12, record_params="auto", **options):
        super().__init__(record_params, max_steps=max_steps, tol=tol, **options)
        self.learning_rate = learning_rate
        self.c = c
        self.shrink = shrink
        self.grow = grow
        self.min_learning_rate = min_learning_rate

    def validate(self):
        super().validate()
        check_positive("learning_rate", self.learning_rate)
        check_positive("min_learning_rate", self.min_learning_rate)
        if not (isinstance(self.c, (int, float)) and 0 < self.c < 1):
            raise ValueError(f"c must be in (0, 1), got {self.c!r}")
        if not (isinstance(self.shrink, (int, float)) and 0 < self.shrink < 1):
            raise ValueError(f"shrink must be in (0, 1), got {self.shrink!r}")
        if not (isinstance(self.grow, (int, float)) and self.grow >= 1):
            raise ValueError(f"grow must be ≥ 1, got {self.grow!r}")

    def make_rule(self, objective, theta0):
        return _Backtracking(self, theta0)


class _Backtracking(StepRule):
    """One accepted step per step(), after as many trials as the Armijo test needs."""

    def __init__(self, strategy: LineSearch, theta0):
        self.s = strategy
        self.theta = theta0
        self.eta = float(strategy.learning_rate) / strategy.grow  # grown before the first trial

    @property
    def learning_rate(self):
        return self.eta * self.s.grow  # the first trial of the next step

    def scale_learning_rate(self, factor):
        self.eta *= factor

    def set_learning_rate(self, value):
        self.eta = value / self.s.grow  # grown before the next step's first trial

    def begin(self, training):
        self.loss, self.grad = training.loss_and_grad(self.theta)
        self.gnorm = float(np.linalg.norm(self.grad))
        return Row(self.theta, self.loss, self.gnorm, grad=self.grad)

    def step(self, training):
        s = self.s
        self.eta *= s.grow
        while True:
            trial = self.theta - self.eta * self.grad
            trial_loss, trial_grad = training.loss_and_grad(trial)
            if trial_loss <= self.loss - s.c * self.eta * self.gnorm * self.gnorm:
                break
            self.eta *= s.shrink
            if self.eta < s.min_learning_rate:
                t = training.n_rows - 1
                # for a smooth J with a right gradient, a small enough step always lowers
                # J unless θ is stationary to the precision of the arithmetic
                if self.gnorm <= 1e-6 * (1.0 + abs(self.loss)):
                    return Stop("converged", (
                        f"no step η ≥ {s.min_learning_rate:g} lowers the loss at step {t} "
                        f"and ‖∇J‖ = {self.gnorm:.3g}: θ is a minimum to floating-point precision"
                    ))
                return Stop("stalled", (
                    f"no step η ≥ {s.min_learning_rate:g} lowers the loss at step {t} "
                    f"although ‖∇J‖ = {self.gnorm:.3g}: the gradient is wrong or the loss is not smooth"
                ))
        step_size = self.eta * self.gnorm
        self.theta, self.loss, self.grad = trial, trial_loss, trial_grad
        self.gnorm = float(np.linalg.norm(self.grad))
        self.last_learning_rate = self.eta
        return Row(self.theta, self.loss, self.gnorm, step_size, self.eta, self.grad)

    def budget_message(self, training):
        return (f"stopped after max_steps = {self.s.max_steps} steps with ‖∇J‖ = {self.gnorm:.3g} "
                f"(tol {float(self.s.tol):g})")

    def restart(self, theta, loss, grad):
        self.theta, self.loss, self.grad = theta, loss, grad
        self.gnorm = float(np.linalg.norm(grad))
