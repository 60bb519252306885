"""The learning-rate range test: which η should gradient descent use?

One short run of gradient descent in which η grows geometrically each step,

    η_t = η_min·(η_max/η_min)^(t/(T − 1)),   θ_{t+1} = θ_t − η_t·∇J(θ_t),

records the loss after each step.  While η is small the loss barely moves; as η
grows the loss falls faster; once η passes the largest step the surface allows
(2/λ_max on a quadratic bowl whose steepest curvature is λ_max) the loss stops
falling and then explodes.  The run stops when J exceeds ``stop_factor`` × its
lowest value or becomes inf/NaN.

Three readings are offered:

- ``"curvature"`` — the range test walks down to (near) the lowest loss it can
  reach; there the curvatures of J (eigenvalues λ_min … λ_max of the Hessian ∇²J,
  measured by central differences of ∇J) decide the step.  Along the steepest
  direction the loss stops falling once η ≥ 2/λ_max; the step that shrinks the
  slowest and the fastest directions alike, by (κ − 1)/(κ + 1) with κ = λ_max/λ_min,
  is η = 2/(λ_max + λ_min), just below that edge.  The suggestion is 0.9× that:
  earlier points of the path curve more (a sigmoid neuron's loss flattens as its
  predictions become confident).  This reads the part of the surface where
  training spends its steps.  The observed rise of the range-test curve comes late
  (by then the run has converged, and η growing each step leaves the unstable
  direction no time to show), so the readings below are the fallbacks.
- ``"before_rise"`` — the largest η at which the recorded loss was still falling:
  the last step before the first one that made J grow; half of it is suggested (on a
  quadratic, half of 2/λ_max is 1/λ_max).  The rise comes late, so where the curvature
  is known this reading is capped by the curvature reading: a larger η would not settle
  at the minimum.

``rule="auto"`` uses ``curvature`` when the objective has a gradient and the
Hessian is positive there, else ``before_rise`` when the loss did rise within the
range; the result says which rule gave the suggestion and why.  The η where J fell
fastest per unit of log η (``steepest``, the classic reading with noisy mini-batch
losses) is reported too, but suggested by no rule: on a full-batch run it lies far
below a step that converges within a usual budget.
(Smith 2017, "Cyclical learning rates for training neural networks", §3.3.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..models import kernel
from ..core.json_values import jsonable
from ..objectives.base import CURVATURE, GRADIENT
from ..core.validation import check_positive
from .history import History
from .loop import Row, Stop, StepRule
from .monitors import StepBudget
from .strategy import Strategy

__all__ = ["LearningRateRangeTest", "LRFindResult", "lr_find", "RULES"]

RULES = ("auto", "curvature", "before_rise")
#: the curvature at the lowest point is the smallest a run meets on its way there (a
#: sigmoid neuron's loss flattens as its predictions become confident): keep 10 % below
CURVATURE_MARGIN = 0.9
HESSIAN_UP_TO = 64  # parameters; above this only λ_max is estimated (power iteration)


class LearningRateRangeTest(Strategy):
    """Gradient descent with η_t growing geometrically from ``min_lr`` to ``max_lr``
    over ``steps`` steps (see module doc); stops early once J > ``stop_factor``·min J."""

    name = "lr_range_test"
    needs = ("gradient",)

    def __init__(self, min_lr=1e-5, max_lr=10.0, steps=100, stop_factor=4.0):
        super().__init__(record_params="auto")
        self.min_lr = min_lr
        self.max_lr = max_lr
        self.steps = steps
        self.stop_factor = stop_factor

    def validate(self):
        super().validate()
        check_positive("min_lr", self.min_lr)
        check_positive("max_lr", self.max_lr)
        check_positive("steps", self.steps, integer=True)
        check_positive("stop_factor", self.stop_factor)
        if not self.min_lr < self.max_lr:
            raise ValueError(f"min_lr={self.min_lr:g} must be below max_lr={self.max_lr:g}")
        if self.steps < 5:
            raise ValueError(f"steps={self.steps} is too few to draw a curve; give steps=5 or more")

    def schedule(self) -> np.ndarray:
        """η_t for t = 0 … T − 1."""
        return np.geomspace(float(self.min_lr), float(self.max_lr), int(self.steps))

    def make_rule(self, objective, theta0):
        return _GrowingSteps(self, theta0)

    def budgets(self):
        return [StepBudget(self.steps), *super().budgets()]


class _GrowingSteps(StepRule):
    """θ ← θ − η_t·∇J(θ) with the next η_t of the geometric schedule at each step."""

    def __init__(self, strategy: LearningRateRangeTest, theta0):
        self.s = strategy
        self.etas = strategy.schedule()
        self.theta = theta0

    def begin(self, training):
        self.loss, self.grad = training.loss_and_grad(self.theta)
        self.lowest = self.loss
        return Row(self.theta, self.loss, float(np.linalg.norm(self.grad)), grad=self.grad)

    def step(self, training):
        eta = self.last_learning_rate = float(self.etas[training.n_rows - 1])
        step = eta * self.grad
        self.theta = self.theta - step
        self.loss, self.grad = training.loss_and_grad(self.theta)
        return Row(self.theta, self.loss, float(np.linalg.norm(self.grad)), float(np.linalg.norm(step)),
                   eta, self.grad)

    def check(self, training, row):
        eta = self.last_learning_rate
        if not math.isfinite(self.loss):
            return Stop("diverged", f"the loss became inf/NaN at η = {eta:.3g}")
        self.lowest = min(self.lowest, self.loss)
        if self.loss > self.s.stop_factor * self.lowest:
            return Stop("diverged", (
                f"stopped at η = {eta:.3g}: the loss grew past {self.s.stop_factor:g}× its lowest value"
            ))
        return None

    def budget_message(self, training):
        return f"η reached max_lr = {self.s.max_lr:g} without the loss exploding"


@dataclass
class LRFindResult:
    """The range test's curve and its suggestion (see the module doc for the rules)."""

    learning_rates: np.ndarray  # η used for the step that produced losses[k]
    losses: np.ndarray          # J after that step
    initial_loss: float
    suggestion: float
    rule: str
    reason: str
    before_rise: float          # the last η at which J still fell (nan if it never rose)
    steepest: float             # the η of the steepest fall of J against ln η
    curvature: tuple            # (λ_min, λ_max) of ∇²J at the lowest point (nan if unknown)
    history: History
    status: str

    def as_dict(self) -> dict:
        return {
            "suggested_learning_rate": jsonable(self.suggestion),
            "rule": self.rule,
            "reason": self.reason,
            "initial_loss": jsonable(self.initial_loss),
            "largest_lr_still_falling": jsonable(self.before_rise),
            "steepest_lr": jsonable(self.steepest),
            "curvature_min": jsonable(self.curvature[0]),
            "curvature_max": jsonable(self.curvature[1]),
            "learning_rates": [jsonable(v) for v in self.learning_rates],
            "losses": [jsonable(v) for v in self.losses],
        }


def lr_find(objective, theta0, *, min_lr: float = 1e-4, max_lr: float = 1e3, steps: int = 100,
            rule: str = "auto", stop_factor: float = 4.0) -> LRFindResult:
    """Run the learning-rate range test on ``objective`` from ``theta0`` and suggest η.

    Returns an :class:`LRFindResult` whose ``suggestion`` is the η to train with,
    ``rule`` the reading that chose it and ``reason`` a sentence saying why.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    test = LearningRateRangeTest(min_lr, max_lr, steps, stop_factor)
    result = test.minimize(objective, theta0)
    h = result.history
    lrs, losses = h.learning_rate[1:], h.loss[1:]
    J0 = float(h.loss[0])
    if len(losses) < 3:
        raise ValueError(
            f"the loss exploded within {len(losses)} steps of the range test: min_lr = {min_lr:g} "
            "is already too large; try a smaller min_lr"
        )
    finite = np.isfinite(losses)
    lrs, losses = lrs[finite], losses[finite]
    before_rise, rise_at = _before_rise(J0, losses, lrs)
    steepest = _steepest(J0, losses, lrs)
    lam_min, lam_max = curvatures(objective, result.theta)  # the θ of the lowest loss
    reading = _curvature_reading(lam_min, lam_max, float(np.nanmin(h.loss)))
    chosen = rule
    if rule == "auto":
        chosen = "curvature" if reading is not None else "before_rise"
    if chosen == "curvature" and reading is None:
        raise ValueError(
            f"the loss does not curve upwards at the lowest point of the range test (λ_max = "
            f"{lam_max:.3g}); use rule='before_rise'"
        )
    if chosen == "before_rise" and not math.isfinite(before_rise):
        raise ValueError(
            f"the loss never rose up to max_lr = {max_lr:g}, so there is no 'largest η before the "
            "loss stops falling'" + (", and no curvature to read" if reading is None else "")
            + "; raise max_lr" + ("" if reading is None else " or use rule='curvature'")
        )
    if chosen == "curvature":
        suggestion, reason = reading
    else:
        suggestion = before_rise / 2.0
        reason = (
            f"the loss fell at every step up to η = {before_rise:.3g} and rose at η = {rise_at:.3g}, "
            f"so half of {before_rise:.3g}, {suggestion:.3g}, is suggested"
        )
        if reading is not None and reading[0] < suggestion:
            suggestion = reading[0]
            reason += (f" — but the rise came late: where the range test got lowest the loss curves "
                       f"up to λ_max = {lam_max:.3g}, and a step above 2/λ_max = {2 / lam_max:.3g} "
                       f"would not settle there, so the curvature reading, {suggestion:.3g}, is "
                       "suggested instead")
    return LRFindResult(lrs, losses, J0, float(suggestion), chosen, reason, float(before_rise),
                        float(steepest), (float(lam_min), float(lam_max)), h, result.status)


def curvatures(objective, theta) -> tuple[float, float]:
    """(λ_min, λ_max) of the Hessian ∇²J(θ).

    A neuron (an objective with ``hessian(θ)``) of at most ``kernel.GRAM_EXACT_UP_TO``
    parameters: its exact Hessian, formed in one pass over X.  Any other objective of
    at most ``HESSIAN_UP_TO`` parameters: column i of the Hessian is
    (∇J(θ + εeᵢ) − ∇J(θ − εeᵢ)) / 2ε (2n gradients).  Above those sizes only λ_max is
    estimated, by power iteration on Hessian-vector products, and λ_min is NaN.
    """
    theta = np.asarray(theta, dtype=np.float64)
    n = theta.shape[0]
    if not objective.offers(GRADIENT):
        return math.nan, math.nan
    exact = objective.hessian(theta) if objective.offers(CURVATURE) and n <= kernel.GRAM_EXACT_UP_TO else None
    if exact is not None:
        if not np.all(np.isfinite(exact)):
            return math.nan, math.nan
        eigenvalues = np.linalg.eigvalsh(exact)
        return float(eigenvalues[0]), float(eigenvalues[-1])

    def grad(t):
        return np.asarray(objective.loss_and_grad(t)[1], dtype=np.float64)

    def hess_vec(v, eps):
        return (grad(theta + eps * v) - grad(theta - eps * v)) / (2 * eps)

    eps = 1e-5 * max(1.0, float(np.linalg.norm(theta)))
    with np.errstate(all="ignore"):
        if n <= HESSIAN_UP_TO:
            H = np.column_stack([hess_vec(e, eps) for e in np.eye(n)])
            if not np.all(np.isfinite(H)):
                return math.nan, math.nan
            eigenvalues = np.linalg.eigvalsh(0.5 * (H + H.T))
            return float(eigenvalues[0]), float(eigenvalues[-1])
        v = np.random.default_rng(0).standard_normal(n)
        lam = math.nan
        for _ in range(50):
            v /= np.linalg.norm(v)
            w = hess_vec(v, eps)
            new = float(v @ w)
            v = w
            if math.isfinite(lam) and abs(new - lam) <= 1e-4 * abs(new):
                return math.nan, new
            lam = new
        return math.nan, lam


def _curvature_reading(lam_min, lam_max, lowest):
    """(η, why) from the curvatures at the range test's lowest point, or None when J does not
    curve upwards there (see the module doc, rule ``curvature``)."""
    if not (lam_max > 0 and math.isfinite(lam_max)):
        return None
    lam_low = max(lam_min, 0.0) if math.isfinite(lam_min) else math.nan
    if not math.isfinite(lam_low):
        suggestion = 1.0 / lam_max
        return suggestion, (
            f"where the range test got lowest the steepest curvature is λ_max ≈ {lam_max:.3g}; "
            f"the loss stops falling for η ≥ 2/λ_max = {2 / lam_max:.3g}, so 1/λ_max = "
            f"{suggestion:.3g} is suggested"
        )
    balanced = 2.0 / (lam_max + lam_low)
    suggestion = CURVATURE_MARGIN * balanced
    return suggestion, (
        f"where the range test got lowest (J = {lowest:.4g}) the loss curves between "
        f"λ_min = {lam_min:.3g} and λ_max = {lam_max:.3g}: the loss stops falling along the "
        f"steepest direction for η ≥ 2/λ_max = {2 / lam_max:.3g}, η = 2/(λ_max + λ_min) = "
        f"{balanced:.3g} shrinks the slowest and the fastest directions alike, and "
        f"{CURVATURE_MARGIN:g}× that, {suggestion:.3g}, leaves room for the steeper curvature "
        "met on the way there"
    )


def _before_rise(J0, losses, lrs):
    """The η of the last step that lowered J before the first step that raised it.

    A rise smaller than 1e-12·|J| is rounding, not a rise.
    """
    previous = np.concatenate([[J0], losses[:-1]])
    rose = np.flatnonzero(losses > previous + 1e-12 * np.maximum(1.0, np.abs(previous)))
    if rose.size == 0 or rose[0] == 0:
        return math.nan, (lrs[0] if rose.size else math.nan)
    return float(lrs[rose[0] - 1]), float(lrs[rose[0]])


def _steepest(J0, losses, lrs):
    """The η at the most negative slope dJ/d(ln η), over the part before the lowest loss."""
    end = int(np.argmin(losses)) + 1
    if end < 2:
        return float(lrs[0])
    slopes = np.gradient(losses[:end], np.log(lrs[:end]))
    return float(lrs[int(np.argmin(slopes))])
