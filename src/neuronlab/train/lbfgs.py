"""L-BFGS written as a step rule: one quasi-Newton iteration per step."""

from __future__ import annotations

import math
import warnings
from collections import deque

import numpy as np

from ..core.blas import one_blas_thread
from ..core.validation import check_positive
from .loop import Row, Stop, StepRule
from .strategy import GradientStrategy

__all__ = ["LBFGS"]

#: the Wolfe conditions asked of each step α along d: sufficient decrease
#: J(θ + αd) ≤ J(θ) + C1·α·∇J·d and curvature |∇J(θ + αd)·d| ≤ C2·|∇J·d| (Nocedal & Wright)
C1, C2 = 1e-4, 0.9


class LBFGS(GradientStrategy):
    """L-BFGS: gradient descent that learns the curvature of J from its last steps.

    From the last ``memory`` pairs sₖ = θₖ₊₁ − θₖ and yₖ = ∇J(θₖ₊₁) − ∇J(θₖ) it
    builds H ≈ (∇²J)⁻¹ and steps along d = −H·∇J (the two-loop recursion, Nocedal &
    Wright, Algorithm 7.4, with H₀ = (sᵀy/yᵀy)·I); the step length α comes from a
    line search that satisfies the strong Wolfe conditions (scipy's
    ``line_search``), each trial one fused pass for J and ∇J.  One History row per
    iteration; its ``learning_rate`` is the effective η = ‖θ(t+1) − θ(t)‖ / ‖∇J(θ(t))‖.
    Stops as GradientDescent does: ‖∇J‖ ≤ ``tol`` or the loss changing by at most
    ``tol``·max(1, |J|) (``converged``), ``max_steps``, ``validation`` (early
    stopping), ``target_loss``, ``time_limit``; and when no step along d or −∇J
    satisfies the line search: ``converged`` where ‖∇J‖ is zero to floating-point
    precision, else ``stalled``.
    """

    name = "lbfgs"

    def __init__(self, max_steps=1000, tol=1e-6, memory=10, divergence_patience=10,
                 record_params="auto", **options):
        super().__init__(record_params, max_steps=max_steps, tol=tol, divergence_patience=divergence_patience, **options)
        self.memory = memory

    def validate(self):
        super().validate()
        check_positive("memory", self.memory, integer=True)

    def make_rule(self, objective, theta0):
        return _QuasiNewton(self, theta0)


class _QuasiNewton(StepRule):
    def __init__(self, strategy: LBFGS, theta0):
        self.s = strategy
        self.theta = theta0
        self.pairs = deque(maxlen=int(strategy.memory))  # (s, y, 1/(yᵀs))

    def begin(self, training):
        self.loss, self.grad = training.loss_and_grad(self.theta)
        return Row(self.theta, self.loss, float(np.linalg.norm(self.grad)), grad=self.grad)

    def direction(self):
        """d = −H·∇J by the two-loop recursion."""
        q = self.grad.copy()
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * float(s @ q)
            q -= a * y
            alphas.append(a)
        if self.pairs:
            s, y, rho = self.pairs[-1]
            q *= 1.0 / (rho * float(y @ y))  # H₀ = (sᵀy / yᵀy)·I
        else:
            q /= max(1.0, float(np.linalg.norm(self.grad)))  # a first step of length ≤ 1
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            b = rho * float(y @ q)
            q += (a - b) * s
        return -q

    def search(self, training, d):
        """(α, J, ∇J) at a step α along d that meets the strong Wolfe conditions, or None."""
        from scipy.optimize import line_search  # scipy only when L-BFGS runs

        cache = {}

        def evaluate(theta):
            key = theta.tobytes()
            if key not in cache:
                loss, grad = training.loss_and_grad(theta)
                # an overflow is a step too long: let the search back off from it
                cache[key] = (loss if math.isfinite(loss) else math.inf, grad)
            return cache[key]

        with warnings.catch_warnings():  # a failed search is reported by alpha = None
            warnings.filterwarnings("ignore", "The line search algorithm")
            alpha, *_ = line_search(lambda t: evaluate(t)[0], lambda t: evaluate(t)[1], self.theta, d,
                                    gfk=self.grad, old_fval=self.loss, c1=C1, c2=C2, maxiter=20)
        if alpha is None:
            return None
        loss, grad = evaluate(self.theta + alpha * d)
        return (alpha, loss, grad) if math.isfinite(loss) else None

    def step(self, training):
        # the two-loop recursion's and the line search's dot products over θ, on one BLAS thread:
        # OpenBLAS's sums of long vectors differ in the last bits between one thread and two
        with one_blas_thread():
            return self._step(training)

    def _step(self, training):
        d = self.direction()
        found = self.search(training, d) if float(self.grad @ d) < 0 else None
        if found is None and self.pairs:  # the curvature picture misled: start it afresh
            self.pairs.clear()
            d = self.direction()
            found = self.search(training, d)
        if found is None:
            gnorm = float(np.linalg.norm(self.grad))
            if gnorm <= 1e-6 * (1.0 + abs(self.loss)):
                return Stop("converged", f"no step lowers the loss at step {training.n_rows - 1} "
                                         f"and ‖∇J‖ = {gnorm:.3g}: θ is a minimum to floating-point precision")
            return Stop("stalled", f"the line search finds no step that lowers the loss at step "
                                   f"{training.n_rows - 1} although ‖∇J‖ = {gnorm:.3g}")
        alpha, loss, grad = found
        theta = self.theta + alpha * d
        s, y = theta - self.theta, grad - self.grad
        if float(y @ s) > 1e-12 * float(np.linalg.norm(s)) * float(np.linalg.norm(y)):
            self.pairs.append((s, y, 1.0 / float(y @ s)))  # only pairs that keep H positive
        step_size = float(np.linalg.norm(s))
        gnorm_before = float(np.linalg.norm(self.grad))
        self.last_learning_rate = step_size / gnorm_before if gnorm_before > 0 else math.nan
        self.theta, self.loss, self.grad = theta, loss, grad
        return Row(theta, loss, float(np.linalg.norm(grad)), step_size, self.last_learning_rate, grad)

    def budget_message(self, training):
        return f"stopped after max_steps = {self.s.max_steps} iterations"

    def restart(self, theta, loss, grad):
        self.theta, self.loss, self.grad = theta, loss, grad
        self.pairs.clear()
