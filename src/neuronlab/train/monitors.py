"""Monitors: the stopping rules and watchers of a run, each declared once.

A monitor is asked after every History row of a :class:`~neuronlab.train.loop.Training`
(``begin`` for row 0, ``after_row`` for the others) and answers None (go on), a
:class:`~neuronlab.train.loop.Stop`, or ``ROLLED_BACK``.  ``finish`` may amend the
outcome when the run ends, however it ends.  A strategy lists the monitors that make
sense for its rule (``Strategy.monitors``); the same monitor serves every rule.

- :class:`DivergenceMonitor` — loss inf/NaN at the start or later, or growing, or far
  above its start: ``diverged`` with a suggested η (and the stability limit for plain
  descent on a neuron); with ``recover``, roll back to the best θ and halve η instead.
- :class:`TargetLoss` — J(θ) ≤ target: ``converged``.
- :class:`EarlyStopping` — the loss on held-out data has not improved for ``patience``
  rows: ``converged``; restores the θ with the best held-out loss.
- :class:`Plateau` — reduce η when the monitored loss stops improving.
- :class:`LossSettled` — |J(θ_{t+1}) − J(θ_t)| ≤ tol·max(1, |J|): ``converged``.
- :class:`GradientVanished` — ‖∇J(θ_t)‖ ≤ tol: ``converged``.
- budgets: :class:`StepBudget`, :class:`EvaluationBudget`, :class:`TimeLimit` — ``max_steps``.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .loop import ROLLED_BACK, Row, Stop

__all__ = [
    "Monitor",
    "DivergenceGuard",
    "DivergenceMonitor",
    "TargetLoss",
    "EarlyStopping",
    "Plateau",
    "LossSettled",
    "GradientVanished",
    "StepBudget",
    "EvaluationBudget",
    "TimeLimit",
]


class Monitor:
    """Asked after every row; see the module doc."""

    def begin(self, training, row: Row):
        return self.after_row(training, row)

    def after_row(self, training, row: Row):
        return None

    def skipped(self, training, row: Row) -> None:
        """Another monitor decided this row (a stop or a roll-back) before this one was asked;
        a monitor that keeps a record of every row takes it here."""

    def rolled_back(self, training) -> None:
        """The run went back to its best θ (another monitor's recovery)."""

    def finish(self, training, stop: Stop) -> Stop:
        return stop


class DivergenceGuard:
    """Detect a diverging gradient run and estimate a learning rate that would not.

    Diverged means one of:

    - the loss is inf/NaN;
    - it grew at each of ``patience`` consecutive steps.  On a quadratic
      J(θ) = ½λθ², fixed-η descent multiplies the error by (1 − ηλ) per step, so the
      loss by ρ = (1 − ηλ)²; a growing loss (ρ > 1) therefore means ηλ = 1 + √ρ, and
      η/(1 + √ρ) is the step 1/λ that lands on the minimum along the worst
      direction.  That is the suggestion; the stability limit there is twice it;
    - it stayed above ``BLOWUP``× the first loss it was fed for ``patience``
      consecutive steps.  Losses that grow only linearly far from the minimum (log
      loss, hinge, absolute error) never overflow: too large an η throws θ back and
      forth across the valley at a loss far above the start instead.  No quadratic
      reading applies, so the suggestion is η/10.
    """

    BLOWUP = 10.0

    def __init__(self, patience: int = 10):
        self.patience = patience
        self.growing = 0
        self.ratios: list[float] = []
        self.previous = math.nan
        self.start = math.nan
        self.above = 0  # consecutive steps with loss > BLOWUP × start

    def update(self, loss: float) -> bool:
        """Feed the newest loss; True when the run has diverged."""
        previous, self.previous = self.previous, loss
        if not math.isfinite(loss):
            return True
        if math.isnan(self.start):
            self.start = loss
        if math.isfinite(previous) and loss > previous:
            self.growing += 1
            if previous > 0:
                self.ratios.append(loss / previous)
        else:
            self.growing = 0
            self.ratios.clear()
        self.above = self.above + 1 if self.start > 0 and loss > self.BLOWUP * self.start else 0
        return self.growing >= self.patience or self.above >= self.patience

    def suggestion(self, learning_rate: float, stability_limit=None) -> tuple[float, str]:
        """A smaller η and the reason for it.

        When the objective knows its stability limit 2/L (L bounds the curvature of J),
        the suggestion is at most η = 1/L = limit/2, the classic step that lowers an
        L-smooth loss at every step.
        """
        if self.growing >= self.patience and self.ratios:
            rho = float(np.exp(np.mean(np.log(self.ratios[-self.patience:]))))
            eta = learning_rate / (1.0 + math.sqrt(rho))
            why = (
                f"the loss grew ×{rho:.3g} per step, which means η={learning_rate:g} is about "
                f"{(1 + math.sqrt(rho)) / 2:.3g}× the largest stable step"
            )
        elif self.above >= self.patience:
            eta = learning_rate / 10.0
            why = (
                f"the loss stayed above {self.BLOWUP:g}× its starting value {self.start:.4g} for "
                f"{self.above} steps (now {self.previous:.4g}): each step throws θ across the valley"
            )
        else:
            eta = learning_rate / 10.0
            why = "the loss overflowed to inf/NaN"
        how = "" if self.growing >= self.patience and self.ratios else " (η/10)"
        if stability_limit is not None and eta > stability_limit / 2:
            eta, how = stability_limit / 2, " (half the stability limit)"
        return eta, f"{why}; try learning_rate ≤ {eta:.3g}{how}"


class DivergenceMonitor(Monitor):
    """A start whose loss is not finite, or a run that diverges (see :class:`DivergenceGuard`).

    For a rule that may raise the loss on its way down (momentum, adaptive steps,
    ``rule.overshoots``) only a rise above the starting loss counts.  With a learning
    rate the message suggests a smaller one, and for plain fixed-η descent on an
    objective that knows its curvature, the stability limit 2/λ_max.  ``recover``:
    instead of stopping, roll back to the best θ, halve η and go on, at most
    ``max_recoveries`` times, noting each halving in the History.
    """

    def __init__(self, patience=10, recover=False, max_recoveries=10):
        self.patience = patience
        self.recover = recover
        self.max_recoveries = max_recoveries
        self.guard = DivergenceGuard(patience)
        self.recoveries = 0
        self.start_loss = math.nan

    def begin(self, training, row):
        if not math.isfinite(row.loss):
            return Stop("diverged", "the loss at the starting point is inf/NaN")
        self.start_loss = row.loss
        self.guard.update(row.loss)
        return None

    def after_row(self, training, row):
        rule = training.rule
        loss = row.loss
        diverging = self.guard.update(loss)
        if diverging and rule.overshoots and math.isfinite(loss) and loss <= self.start_loss:
            # momentum and adaptive steps may raise the loss for a while on their way
            # down: only a rise above the starting loss is a divergence for them
            diverging = False
        if not diverging:
            return None
        if self.recover and self.recoveries < self.max_recoveries:
            # the first row's loss is finite (begin), so there is a best θ to go back to
            self.recoveries += 1
            old = rule.learning_rate
            rule.scale_learning_rate(0.5)
            rule.restart(training.best_theta.copy(), training.best_loss, training.best_grad)
            self.guard = DivergenceGuard(self.patience)
            self.guard.update(training.best_loss)
            training.history.note(
                f"diverged: rolled back to the best θ (loss {training.best_loss:.6g}) and halved η "
                f"from {old:.6g} to {old / 2:.6g} (recovery {self.recoveries} of {self.max_recoveries})"
            )
            return ROLLED_BACK
        row_number = training.n_rows - 1
        eta = rule.last_learning_rate
        if eta is None or not math.isfinite(eta):
            eta = rule.learning_rate
        if eta is None:  # a rule without a learning rate (L-BFGS): nothing to suggest
            return Stop("diverged", f"the loss grew for {self.patience} iterations in a row")
        limit = self.stability_limit(training)
        suggested, why = self.guard.suggestion(eta, limit)
        message = f"diverged at step {row_number}: {why}"
        extra = {"suggested_learning_rate": suggested}
        if limit is not None:
            extra["info"] = {"stability_limit": limit}
            message += (f"; for this neuron gradient descent is stable only for η < {limit:.4g} "
                        f"(2/λ_max of the data's curvature); you used η = {rule.last_learning_rate:g}")
        return Stop("diverged", message + "; the best θ so far is kept", extra)

    @staticmethod
    def stability_limit(training):
        """2/λ_max for plain fixed-η descent on an objective that knows its curvature, else None."""
        if training.rule.overshoots or not training.objective.offers("curvature"):
            return None  # the bound is for plain fixed-η descent
        return training.objective.stability_limit()

    def finish(self, training, stop):
        if not self.recoveries:
            return stop
        info = dict(stop.extra.get("info", {}), recoveries=self.recoveries)
        message = (f"{stop.message}; recovered from divergence {self.recoveries}× by halving η, to "
                   f"{training.rule.learning_rate:.6g}")
        return Stop(stop.status, message, {**stop.extra, "info": info})


class TargetLoss(Monitor):
    """Stop (``converged``) as soon as J(θ) ≤ ``target``."""

    def __init__(self, target: float):
        self.target = float(target)

    def after_row(self, training, row):
        if row.loss <= self.target:
            return Stop("converged", training.rule.target_message(training, row.loss, self.target))
        return None


class EarlyStopping(Monitor):
    """Stop (``converged``) when the loss on held-out data — ``validation``, an objective —
    has not improved for ``patience`` rows; with ``restore_best`` the result is the θ
    with the lowest held-out loss, however the run ended."""

    def __init__(self, validation, patience=10, restore_best=True):
        self.validation = validation
        self.patience = patience
        self.restore_best = restore_best
        self.losses: list[float] = []
        self.best = (math.inf, -1, None)  # (loss, row, θ)
        self.stale = 0

    def skipped(self, training, row):
        self.score(training, row)

    def score(self, training, row) -> bool:
        """Record the held-out loss at this row; True when it is the best so far."""
        value = float(self.validation.loss(row.theta))
        self.losses.append(value)
        if value < self.best[0]:
            self.best = (value, training.n_rows - 1, np.array(row.theta, copy=True))
            return True
        return False

    def after_row(self, training, row):
        if self.score(training, row):
            self.stale = 0
            return None
        self.stale += 1
        if self.stale >= self.patience:
            return Stop("converged", (
                f"early stopping: the validation loss has not improved for {self.patience} "
                f"steps (best {self.best[0]:.6g} at step {self.best[1]})"
            ))
        return None

    @property
    def latest(self) -> float:
        return self.losses[-1]

    def finish(self, training, stop):
        info = dict(stop.extra.get("info", {}), validation_loss=np.array(self.losses))
        message = stop.message
        best, row, theta = self.best
        if self.restore_best and theta is not None:
            training.best_theta = theta
            training.best_loss = float(training.history.loss[row])
            message += f"; restored θ of step {row} (best validation loss {best:.6g})"
        return Stop(stop.status, message, {**stop.extra, "info": info})


class Plateau(Monitor):
    """Reduce-η-on-plateau: when the monitored loss (held-out if ``early_stopping`` is
    given, else training) has not improved by a relative 1e-4 for ``patience`` rows,
    η ← ``factor``·η, noted in the History."""

    def __init__(self, patience, factor=0.5, early_stopping: Optional[EarlyStopping] = None):
        self.patience = patience
        self.factor = factor
        self.early_stopping = early_stopping
        self.best = math.inf
        self.stale = 0

    def after_row(self, training, row):
        monitored = self.early_stopping.latest if self.early_stopping is not None else row.loss
        if monitored < self.best * (1.0 - 1e-4):
            self.best, self.stale = monitored, 0
            return None
        self.stale += 1
        if self.stale >= self.patience:
            self.stale = 0
            training.rule.scale_learning_rate(self.factor)
            training.history.note(
                f"plateau: no improvement for {self.patience} steps; η × "
                f"{self.factor:g} → {training.rule.learning_rate:.6g}"
            )
        return None


class LossSettled(Monitor):
    """|J(θ_{t+1}) − J(θ_t)| ≤ tol·max(1, |J|) (``tol`` > 0): ``converged`` — if θ is at a
    minimum (‖∇J‖ ≤ √tol·(1 + ‖∇J(θ₀)‖); for an epoch of mini-batches, whose row has no ∇J,
    the gradient of all the data is computed once the loss settles) or on its way to one
    (‖∇J‖ shrank by at least 10 % over the step: the tolerance asked for is met).

    A loss that stops changing far from a minimum means something else.  For plain
    fixed-η descent it is ``stalled``, for one of two reasons told apart by the first-order
    decrease η‖∇J‖² that the step promised: a step too small to move (the promise is
    itself below the tolerance: "too small a step crawls" — unless the objective knows its
    stability limit 2/λ_max and η is within 100× of it: then the tolerance asked for is
    met by a fair step, ``converged``), or a step that jumps across the valley to a point
    of equal loss (η at the edge of stability).  A rule whose steps
    may overshoot on their way down (momentum, adaptive steps) goes on.
    """

    def __init__(self, tol):
        self.tol = float(tol)
        self.previous = math.nan
        self.start_grad_norm = math.nan
        self.start = None

    def begin(self, training, row):
        self.previous = row.loss
        self.start_grad_norm = row.grad_norm
        self.start = np.array(row.theta, copy=True)
        return None

    @staticmethod
    def full_gradient_norm(training, theta) -> float:
        """‖∇J(θ)‖ over all the data, for a row that has none (an epoch of mini-batches)."""
        return float(np.linalg.norm(training.loss_and_grad(theta)[1]))

    def rolled_back(self, training):
        self.previous = training.best_loss

    def after_row(self, training, row):
        previous, self.previous = self.previous, row.loss
        change = abs(previous - row.loss)
        allowed = self.tol * max(1.0, abs(row.loss))
        if not (self.tol > 0 and change <= allowed):
            return None
        rule = training.rule
        converged = Stop("converged", f"the loss changed by {change:.3g} ≤ tol·max(1, |J|) after "
                                      f"{rule.progress(training)}")
        grad_norm = row.grad_norm
        if math.isnan(grad_norm):
            # an epoch's mean batch loss is a noisy reading: ask the whole data, once it settles
            grad_norm = self.full_gradient_norm(training, row.theta)
            if math.isnan(self.start_grad_norm):
                self.start_grad_norm = self.full_gradient_norm(training, self.start)
            if grad_norm > math.sqrt(self.tol) * (1.0 + self.start_grad_norm):
                return None  # not at a minimum: the epochs go on
            return converged
        # near a minimum J − J* and the loss change per step scale as ‖∇J‖², so a loss
        # tolerance tol asks for ‖∇J‖ of order √tol (10⁻³ for the default 10⁻⁶)
        if not grad_norm > math.sqrt(self.tol) * (1.0 + self.start_grad_norm):
            return converged
        if rule.overshoots:
            return None
        eta = rule.last_learning_rate
        step_gnorm = row.step_size / eta  # ‖∇J‖ where the step was taken (d = ∇J)
        if row.grad_norm <= 0.9 * step_gnorm:
            return converged  # ‖∇J‖ still shrinks geometrically: the tolerance asked for is met
        where = (f"the loss changed by only {change:.3g} after {rule.progress(training)} while ‖∇J‖ = "
                 f"{row.grad_norm:.3g} is far from 0")
        limit = DivergenceMonitor.stability_limit(training)
        if eta * step_gnorm ** 2 <= 2.0 * allowed:
            if limit is not None and eta >= limit / 100:
                return converged  # a fair step (η within 100× of 2/λ_max) met the tolerance asked for
            larger = limit / 2 if limit is not None else 10.0 * eta
            return Stop("stalled", (
                f"{where}: the step η = {eta:g} is too small to move (it can lower J by at most about "
                f"η‖∇J‖² = {eta * step_gnorm ** 2:.3g} per step); try learning_rate ≈ {larger:.3g}"
                + (" (half the stability limit)" if limit is not None else "")),
                {"suggested_learning_rate": larger})
        smaller = limit / 2 if limit is not None else eta / 2
        return Stop("stalled", (
            f"{where}: each step moves θ by {row.step_size:.3g} across the valley to a point of "
            f"equal loss, so η = {eta:g} is at the edge of stability; try learning_rate ≈ {smaller:.3g}"),
            {"suggested_learning_rate": smaller})


class GradientVanished(Monitor):
    """‖∇J(θ_t)‖ ≤ tol: ``converged`` (a rule that does not compute ∇J reports NaN: never)."""

    def __init__(self, tol):
        self.tol = float(tol)

    def after_row(self, training, row):
        if row.grad_norm <= self.tol:
            return Stop("converged", f"‖∇J‖ = {row.grad_norm:.3g} ≤ tol = {self.tol:g} after "
                                     f"{training.n_rows - 1} steps")
        return None


class StepBudget(Monitor):
    """``max_steps`` History rows after the start: ``max_steps``."""

    def __init__(self, max_steps):
        self.max_steps = int(max_steps)

    def after_row(self, training, row):
        if training.n_rows - 1 >= self.max_steps:
            return Stop("max_steps", training.rule.budget_message(training))
        return None


class EvaluationBudget(Monitor):
    """``budget`` evaluations of J spent: ``max_steps``."""

    def __init__(self, budget):
        self.budget = int(budget)

    def after_row(self, training, row):
        if training.evaluations >= self.budget:
            return Stop("max_steps", training.rule.budget_message(training))
        return None


class TimeLimit(Monitor):
    """``seconds`` of wall time spent: ``max_steps``."""

    def __init__(self, seconds):
        self.seconds = float(seconds)

    def after_row(self, training, row):
        if training.elapsed >= self.seconds:
            return Stop("max_steps", f"time limit of {self.seconds:g} s reached after "
                                     f"{training.n_rows - 1} steps; best loss {training.best_loss:.6g}")
        return None
