"""The two searches of the course, which use only the loss J (no gradient).

- :class:`MonteCarloSearch` — guess θ at random in a box, keep the best guess.
  No learning: guess k does not use guesses 1 … k−1.
- :class:`ErrorDrivenSearch` — change one parameter at a time in the direction that
  lowers the loss; the step grows while it helps and shrinks when it overshoots.
  Learning from error, using only the loss.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.validation import check_positive
from .loop import Row, Stop, StepRule
from .monitors import EvaluationBudget
from .strategy import Strategy

__all__ = ["MonteCarloSearch", "ErrorDrivenSearch"]


def _box(low, high, n):
    low = np.broadcast_to(np.asarray(low, dtype=np.float64), (n,))
    high = np.broadcast_to(np.asarray(high, dtype=np.float64), (n,))
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
        raise ValueError(f"the search box needs finite low < high, got low={low}, high={high}")
    return low, high


class MonteCarloSearch(Strategy):
    """Random guessing: draw θ uniformly in the box [low, high]ⁿ, keep the best.

    θ0 only fixes the number of parameters: every guess comes from the box.  Stops
    when a guess reaches loss ≤ ``target_loss`` (``converged``) or after ``budget``
    guesses (``max_steps``).  Row k of the History is guess k + 1.

    An objective that offers many points at once (``losses(thetas)``, J at the rows
    of a (k, n) array, as EquationObjective does) is evaluated ``CHUNK`` guesses at
    a time; the guesses, their order and the count of evaluations used are the same
    as one at a time.
    """

    CHUNK = 512

    name = "monte_carlo"

    def __init__(self, low=-10.0, high=10.0, budget=10_000, target_loss=None, random_state=None,
                 record_params="auto", *, time_limit=None):
        super().__init__(record_params, target_loss=target_loss, time_limit=time_limit)
        self.low = low
        self.high = high
        self.budget = budget
        self.random_state = random_state

    def validate(self):
        super().validate()
        check_positive("budget", self.budget, integer=True)

    def make_rule(self, objective, theta0):
        return _GuessRule(self, objective, theta0.shape[0])

    def budgets(self):
        return [EvaluationBudget(self.budget), *super().budgets()]


class _GuessRule(StepRule):
    """One guess per step (guesses drawn and evaluated a chunk at a time when the objective can)."""

    def __init__(self, strategy, objective, n):
        self.strategy = strategy
        self.objective = objective
        self.low, self.high = _box(strategy.low, strategy.high, n)
        self.rng = np.random.default_rng(strategy.random_state)
        self.many = objective.offers("many_points")
        self.drawn = 0  # guesses drawn so far
        self.pending = []  # drawn and evaluated, not yet recorded: (θ, J)

    def begin(self, training):
        return self.step(training)

    def step(self, training):
        if not self.pending:
            if self.many:
                # numpy draws a (m, n) block in the same order as m draws of n
                size = min(MonteCarloSearch.CHUNK, self.strategy.budget - self.drawn)
                guesses = self.rng.uniform(self.low, self.high, size=(size, self.low.shape[0]))
                self.pending = list(zip(guesses, self.objective.losses(guesses)))[::-1]
            else:
                guess = self.rng.uniform(self.low, self.high)
                self.pending = [(guess, training.loss(guess))]
            self.drawn += len(self.pending)
        theta, loss = self.pending.pop()
        if self.many:
            training.evaluations += 1
        return Row(theta, loss)

    def target_message(self, training, loss, target):
        return f"guess {training.n_rows} reached loss {loss:.3g} ≤ {target:g}"

    def budget_message(self, training):
        return f"budget of {self.strategy.budget} guesses spent; best loss {training.best_loss:.6g}"


class ErrorDrivenSearch(Strategy):
    """Correct one parameter at a time from the error, as a person would.

    For each parameter θᵢ in turn, try θᵢ ± hᵢ, starting with the direction that
    helped last time.  If the loss falls, keep the move and grow the step,
    hᵢ ← ``grow``·hᵢ (big error, big step); if neither direction helps the step
    overshot, so shrink it, hᵢ ← ``shrink``·hᵢ.  ``step_rule="fixed"`` keeps hᵢ = ``step``
    throughout (to watch it crawl or overshoot).  ``step_rule="proportional"`` makes
    the step proportional to the size of the error, hᵢ = gᵢ·√(2J) (= gᵢ·|r| for an
    equation, J = ½r²): big error, big step.  The gain gᵢ starts at ``step`` and is
    shrunk, gᵢ ← ``shrink``·gᵢ, when neither direction helps (the step overshot).
    Only the loss is used.

    Stops at loss ≤ ``target_loss`` or when every hᵢ < ``min_step`` (``converged``),
    with a fixed step when a whole round over the parameters moved nothing
    (``stalled``: the step is too big to get closer), or after ``budget``
    evaluations (``max_steps``).  A History row per trial.
    """

    name = "error_driven"

    def __init__(self, step=1.0, grow=2.0, shrink=0.5, step_rule="adaptive", budget=10_000,
                 target_loss=None, min_step=1e-12, record_params="auto", *, time_limit=None):
        super().__init__(record_params, target_loss=target_loss, time_limit=time_limit)
        self.step = step
        self.grow = grow
        self.shrink = shrink
        self.step_rule = step_rule
        self.budget = budget
        self.min_step = min_step

    def validate(self):
        super().validate()
        check_positive("step", self.step)
        check_positive("budget", self.budget, integer=True)
        if self.step_rule not in ("adaptive", "fixed", "proportional"):
            raise ValueError(f"step_rule must be 'adaptive', 'fixed' or 'proportional', "
                             f"got {self.step_rule!r}")
        if not (self.grow >= 1.0):
            raise ValueError(f"grow must be ≥ 1, got {self.grow!r}")
        if not (0.0 < self.shrink < 1.0):
            raise ValueError(f"shrink must be in (0, 1), got {self.shrink!r}")

    def make_rule(self, objective, theta0):
        return _CorrectionRule(self, theta0)

    def budgets(self):
        return [EvaluationBudget(self.budget), *super().budgets()]


class _CorrectionRule(StepRule):
    """One trial of one parameter per step (up to two evaluations: +h, then −h)."""

    def __init__(self, strategy: ErrorDrivenSearch, theta0):
        self.s = strategy
        n = theta0.shape[0]
        self.adaptive = strategy.step_rule == "adaptive"
        self.proportional = strategy.step_rule == "proportional"
        self.h = np.full(n, float(strategy.step))
        self.direction = np.ones(n)
        self.theta = theta0.copy()
        self.i = 0  # the parameter tried next
        self.still = 0  # trials in a row that moved nothing

    def begin(self, training):
        self.loss = training.loss(self.theta)
        return Row(self.theta, self.loss)

    def step(self, training):
        s, i = self.s, self.i
        moved = 0.0
        size = self.h[i] * math.sqrt(2.0 * self.loss) if self.proportional else self.h[i]
        for d in (self.direction[i], -self.direction[i]):
            if training.evaluations >= s.budget:
                break
            trial = self.theta.copy()
            trial[i] += d * size
            trial_loss = training.loss(trial)
            if trial_loss < self.loss:
                self.theta, self.loss, moved, self.direction[i] = trial, trial_loss, size, d
                break
        if self.adaptive:
            self.h[i] *= s.grow if moved else s.shrink
        elif self.proportional and not moved:
            self.h[i] *= s.shrink
        self.still = 0 if moved else self.still + 1
        self.i = (i + 1) % self.h.shape[0]
        return Row(self.theta, self.loss, step_size=moved)

    def check(self, training, row):
        s = self.s
        if s.step_rule == "fixed" and self.still >= self.h.shape[0]:
            return Stop("stalled", (
                f"stuck at loss {self.loss:.6g}: no move of ±{float(s.step):g} in any parameter lowers "
                "it; a smaller step, or the adaptive or proportional rule, gets closer"
            ))
        steps = self.h * math.sqrt(2.0 * self.loss) if self.proportional else self.h
        if training.n_rows > 1 and not s.step_rule == "fixed" and np.all(steps < s.min_step):
            return Stop("converged", (
                f"no change of any parameter by more than {s.min_step:g} lowers the loss "
                f"(loss {self.loss:.6g})"
            ))
        return None

    def target_message(self, training, loss, target):
        if training.n_rows == 1:
            return f"the start already has loss {loss:.3g} ≤ {target:g}"
        return f"loss {loss:.3g} ≤ {target:g} after {training.evaluations} evaluations"

    def budget_message(self, training):
        return f"budget of {self.s.budget} evaluations spent; best loss {training.best_loss:.6g}"
