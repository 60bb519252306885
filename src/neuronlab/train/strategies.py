"""Strategies: ways to make an objective's loss small.

Every strategy has one method, ``minimize(objective, theta0, callback=None) ->
Result``.  The three of the course:

- :class:`MonteCarloSearch` — guess θ at random in a box, keep the best guess.
  No learning: guess k does not use guesses 1 … k−1.
- :class:`ErrorDrivenSearch` — change one parameter at a time in the direction that
  lowers the loss; the step grows while it helps and shrinks when it overshoots.
  Learning from error, using only the loss.
- :class:`GradientDescent` — θ(t+1) = θ(t) − η·∇J(θ(t)), for T steps.

The machinery they share — counting evaluations, keeping the best θ, recording
the History, calling callbacks, turning Ctrl-C into status ``interrupted`` — is in
:class:`Run`, so a new strategy only writes its own loop.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional

import numpy as np

from ..core._validation import check_positive, check_tol
from .history import History, Result, Step
from ..objectives.base import NotDifferentiableError, Objective
from ..optim.transforms import GradientTransformation, get_schedule, identity

__all__ = [
    "Strategy",
    "GradientDescent",
    "MonteCarloSearch",
    "ErrorDrivenSearch",
    "PerceptronRule",
    "DivergenceGuard",
    "Run",
    "STRATEGIES",
    "get_strategy",
    "strategy_name",
    "minimize",
]

RECORD_PARAMS_UP_TO = 16  # "auto": keep θ_t in the History for problems this small


class _StopRequested(Exception):
    pass


class Run:
    """Book-keeping of one ``minimize`` call (shared by every strategy)."""

    def __init__(self, objective: Objective, theta0, callback: Optional[Callable], record_params):
        if record_params == "auto":
            record_params = objective.n_params <= RECORD_PARAMS_UP_TO
        self.objective = objective
        self.callback = callback
        self.history = History(bool(record_params))
        self.evaluations = 0
        self.best_loss = math.inf
        self.best_theta = np.array(theta0, dtype=np.float64, copy=True)
        self.best_row = -1  # the History row of best_theta
        self.theta = self.best_theta.copy()
        self.start = time.perf_counter()

    def loss(self, theta) -> float:
        self.evaluations += 1
        return self.objective.loss(theta)

    def loss_and_grad(self, theta):
        self.evaluations += 1
        return self.objective.loss_and_grad(theta)

    def record(self, theta, loss, grad_norm=math.nan, step_size=0.0, learning_rate=math.nan, grad=None):
        """Append a History row for the point ``theta``; keep it if it is the best so far."""
        loss = float(loss)
        self.theta = theta
        if loss < self.best_loss:  # NaN never compares smaller: a NaN point is never kept
            self.best_loss = loss
            self.best_theta = np.array(theta, dtype=np.float64, copy=True)
            self.best_row = len(self.history)
        elapsed = time.perf_counter() - self.start
        self.history.append(theta, loss, grad_norm, step_size, learning_rate, self.evaluations, elapsed)
        if self.callback is not None:
            stop = self.callback(
                Step(len(self.history) - 1, loss, float(grad_norm), float(step_size),
                     float(learning_rate), self.evaluations, elapsed, theta, grad)
            )
            if stop:
                raise _StopRequested

    def result(self, status, message, strategy, **extra) -> Result:
        self.history.drop_unfinished_updates()
        if not math.isfinite(self.best_loss):
            # never saw a finite loss: nothing better to return than where it started
            self.best_theta = np.array(self.theta, dtype=np.float64, copy=True)
        return Result(
            theta=self.best_theta,
            loss=self.best_loss,
            status=status,
            message=message,
            history=self.history,
            n_steps=max(len(self.history) - 1, 0),
            n_evals=self.evaluations,
            theta_last=np.array(self.theta, dtype=np.float64, copy=True),
            strategy=strategy,
            **extra,
        )


# The stopping rules that every gradient strategy states the same way: each returns the
# message of a finished run, or None to go on.
def start_not_finite(loss):
    return None if math.isfinite(loss) else "the loss at the starting point is inf/NaN"


def gradient_vanished(gnorm, tol, steps):
    return f"‖∇J‖ = {gnorm:.3g} ≤ tol = {tol:g} after {steps} steps" if gnorm <= tol else None


def loss_settled(previous, loss, tol, done):
    """|J(θ(t+1)) − J(θ(t))| ≤ tol·max(1, |J|), ``tol`` > 0; ``done`` says how far it got."""
    change = abs(previous - loss)
    if tol > 0 and change <= tol * max(1.0, abs(loss)):
        return f"the loss changed by {change:.3g} ≤ tol·max(1, |J|) after {done}"
    return None


class Strategy:
    """Base class: validates θ0, runs ``_iterate`` and turns its ending into a Result."""

    name = "strategy"
    needs_gradient = False

    def __init__(self, record_params="auto"):
        self.record_params = record_params

    def validate(self) -> None:
        """Raise ValueError/TypeError for a setting that cannot work."""

    def minimize(self, objective: Objective, theta0, callback: Optional[Callable] = None) -> Result:
        self.validate()
        theta0 = np.array(theta0, dtype=np.float64, copy=True)
        if theta0.shape != (objective.n_params,):
            raise ValueError(
                f"theta0 must hold {objective.n_params} numbers, got shape {theta0.shape}"
            )
        if not np.all(np.isfinite(theta0)):
            raise ValueError("theta0 contains NaN or inf; start from finite numbers")
        if self.needs_gradient and not objective.has_gradient:
            # ask for the gradient once so the objective explains why there is none
            objective.loss_and_grad(theta0)
            raise NotDifferentiableError(f"{type(objective).__name__} has no gradient")
        run = Run(objective, theta0, callback, self.record_params)
        extra = {}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            try:
                status, message, extra = self._iterate(run, theta0)
            except KeyboardInterrupt:
                status, message = "interrupted", "interrupted (Ctrl-C); the best θ so far is kept"
            except _StopRequested:
                status, message = "interrupted", "stopped by the callback; the best θ so far is kept"
        return run.result(status, message, self.name, **extra)

    def _iterate(self, run: Run, theta0: np.ndarray):
        """Run the loop; return (status, message, extra Result fields)."""
        raise NotImplementedError

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


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


class GradientDescent(Strategy):
    """Gradient descent as the course states it, and the relatives built on it.

        θ(t+1) = θ(t) − η_t·d_t,   d_t = transform(∇J(θ(t))),   t = 0, 1, …, T − 1

    By default d_t = ∇J(θ(t)) and η_t = η: the course's rule.  ``transform`` (a
    :class:`~neuronlab.optim.transforms.GradientTransformation`: momentum, Adam, clipping… in a
    chain) changes the direction, ``schedule`` (a name in ``optim.SCHEDULES`` or a
    function t → η_t, optionally after ``warmup_steps`` of linear warm-up) the step.

    ``batch_size`` (for an objective over rows, such as NeuronObjective): each
    update uses the gradient of one mini-batch of rows, shuffled afresh every epoch
    from ``random_state``; one History row per epoch (pass over the data), holding
    the mean batch loss of that epoch and the η of its last update, and every
    update's batch loss and η in ``History.updates``.  Without it, one History row
    per update.

    Stops after ``max_steps`` = T updates (epochs with ``batch_size``), or earlier
    when ‖∇J(θ)‖ ≤ ``tol`` or |J(θ(t+1)) − J(θ(t))| ≤ ``tol``·max(1, |J|) (status
    ``converged``; ``tol=0`` runs all T steps unless the gradient vanishes
    exactly), or when the loss becomes inf/NaN or grows for
    ``divergence_patience`` steps in a row (status ``diverged``, with a suggested
    smaller η and, for a linear or logistic neuron, the stability limit of η).

    Stopping and recovery:

    - ``validation`` (an Objective, e.g. the neuron on held-out rows): its loss is
      computed after every History row; training stops when it has not improved
      for ``patience`` rows (``converged``: early stopping).  With
      ``restore_best`` the result is the θ with the lowest validation loss,
      however training ended.
    - ``plateau_patience``: when the monitored loss (validation if given, else
      training) has not improved by a relative ``1e-4`` for that many rows, η is
      multiplied by ``plateau_factor`` (reduce-η-on-plateau), noted in the History.
    - ``target_loss``: stop (``converged``) as soon as J(θ) ≤ target_loss, as the
      search strategies do; for an equation that is |r| ≤ tol with target ½·tol².
    - ``recover``: on divergence, roll back to the best θ so far, halve η, reset the
      transformation's state and go on (at most ``max_recoveries`` times), noting
      each halving in the History.
    """

    name = "gradient_descent"
    needs_gradient = True

    def __init__(self, learning_rate=0.1, max_steps=1000, tol=1e-6, divergence_patience=10,
                 record_params="auto", *, schedule=None, warmup_steps=0, transform=None,
                 batch_size=None, shuffle=True, random_state=None, validation=None, patience=10,
                 restore_best=True, plateau_patience=None, plateau_factor=0.5, recover=False,
                 max_recoveries=10, target_loss=None):
        super().__init__(record_params)
        self.target_loss = target_loss
        self.learning_rate = learning_rate
        self.max_steps = max_steps
        self.tol = tol
        self.divergence_patience = divergence_patience
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.transform = transform
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.validation = validation
        self.patience = patience
        self.restore_best = restore_best
        self.plateau_patience = plateau_patience
        self.plateau_factor = plateau_factor
        self.recover = recover
        self.max_recoveries = max_recoveries

    def validate(self):
        check_positive("learning_rate", self.learning_rate)
        check_positive("max_steps", self.max_steps, integer=True)
        check_positive("divergence_patience", self.divergence_patience, integer=True)
        check_tol(self.tol)
        if self.batch_size is not None:
            check_positive("batch_size", self.batch_size, integer=True)
        check_positive("patience", self.patience, integer=True)
        if self.plateau_patience is not None:
            check_positive("plateau_patience", self.plateau_patience, integer=True)
        if not (isinstance(self.plateau_factor, (int, float)) and 0 < self.plateau_factor < 1):
            raise ValueError(f"plateau_factor must be in (0, 1), got {self.plateau_factor!r}")
        check_positive("max_recoveries", self.max_recoveries, integer=True)
        if self.warmup_steps:
            check_positive("warmup_steps", self.warmup_steps, integer=True)
        if self.transform is not None and not isinstance(self.transform, GradientTransformation):
            raise TypeError(
                "transform must be a GradientTransformation (see neuronlab.optim), "
                f"got {type(self.transform).__name__}"
            )
        if self.target_loss is not None and (isinstance(self.target_loss, bool) or not isinstance(
                self.target_loss, (int, float))):
            raise TypeError(f"target_loss must be a number or None, got {self.target_loss!r}")
        if self.validation is not None and not hasattr(self.validation, "loss"):
            raise TypeError("validation must be an Objective (the loss on held-out data)")
        get_schedule(self.schedule, self.learning_rate, self.warmup_steps)

    def make_transform(self) -> GradientTransformation:
        """The direction rule d = transform(∇J); subclasses (Adam, momentum…) override."""
        return self.transform if self.transform is not None else identity()

    def _iterate(self, run, theta0):
        loop = _DescentLoop(self, run, theta0)
        if self.batch_size is None:
            return loop.full_batch()
        return loop.mini_batch()


class _DescentLoop:
    """The state of one GradientDescent run: θ, η's scale, transformation state, monitors."""

    def __init__(self, strategy: GradientDescent, run: Run, theta0):
        self.s = strategy
        self.run = run
        self.schedule = get_schedule(strategy.schedule, strategy.learning_rate, strategy.warmup_steps,
                                     **self.schedule_defaults(strategy, run))
        self.transform = strategy.make_transform()
        self.theta = theta0.copy()
        self.state = self.transform.init(self.theta)
        self.eta_scale = 1.0  # halved by recovery, reduced on plateaus
        self.updates = 0  # t of the schedule
        self.guard = DivergenceGuard(strategy.divergence_patience)
        self.recoveries = 0
        self.start_loss = math.nan  # J(θ0)
        self.best_grad = None  # ∇J at run.best_theta (full batch): where a recovery resumes
        self.best_validation = (math.inf, -1, None)  # (loss, row, θ)
        self.validation_losses: list[float] = []
        self.stale = 0  # History rows since the validation loss last improved
        self.plateau_best = math.inf
        self.plateau_stale = 0
        self.last_eta = math.nan
        # plain descent with a small enough η lowers the loss at every step; other rules need not
        self.overshoots = not (type(strategy) is GradientDescent and strategy.transform is None)

    @staticmethod
    def schedule_defaults(strategy, run):
        """A cosine schedule named by its name decays over the whole run (all T updates)."""
        if not (isinstance(strategy.schedule, str) and strategy.schedule == "cosine"):
            return {}
        updates = strategy.max_steps
        if strategy.batch_size is not None and hasattr(run.objective, "n_samples"):
            updates *= math.ceil(run.objective.n_samples / strategy.batch_size)
        return {"decay_steps": max(1, updates - strategy.warmup_steps)}

    # --- pieces shared by both loops ------------------------------------------------
    def eta(self):
        self.last_eta = self.eta_scale * float(self.schedule(self.updates))
        self.updates += 1
        return self.last_eta

    def step(self, grad):
        direction, self.state = self.transform.update(grad, self.state, self.theta)
        step = self.eta() * direction
        self.theta = self.theta - step
        return step

    def after_row(self, loss, grad):
        """Checks after each History row: divergence (with recovery), validation, plateau.

        Returns (status, message, extra) to stop, or None to go on."""
        s, run = self.s, self.run
        row = len(run.history) - 1
        if run.best_row == row and grad is not None:
            self.best_grad = grad.copy()
        diverging = self.guard.update(loss)
        if diverging and self.overshoots and math.isfinite(loss) and loss <= self.start_loss:
            # momentum and adaptive steps may raise the loss for a while on their way
            # down: only a rise above the starting loss is a divergence for them
            diverging = False
        if diverging:
            if s.recover and self.recoveries < s.max_recoveries:
                # the first row's loss is finite (first_row), so there is a best θ to go back to
                self.recoveries += 1
                old = self.eta_scale * float(self.schedule(self.updates))
                self.eta_scale *= 0.5
                self.theta = run.best_theta.copy()
                self.state = self.transform.init(self.theta)
                self.guard = DivergenceGuard(s.divergence_patience)
                self.guard.update(run.best_loss)
                run.history.note(
                    f"diverged: rolled back to the best θ (loss {run.best_loss:.6g}) and halved η "
                    f"from {old:.6g} to {old / 2:.6g} (recovery {self.recoveries} of {s.max_recoveries})"
                )
                return "rolled_back"
            limit = self.stability_limit()
            suggested, why = self.guard.suggestion(self.last_eta if math.isfinite(self.last_eta)
                                                   else float(s.learning_rate), limit)
            message = f"diverged at step {row}: {why}"
            extra = {"suggested_learning_rate": suggested}
            if limit is not None:
                extra["info"] = {"stability_limit": limit}
                message += (f"; for this neuron gradient descent is stable only for η < {limit:.4g} "
                            f"(2/λ_max of the data's curvature); you used η = {self.last_eta:g}")
            return "diverged", message + "; the best θ so far is kept", extra
        if s.target_loss is not None and loss <= s.target_loss:
            return "converged", f"J = {loss:.3g} ≤ target_loss = {s.target_loss:g} after {row} steps", {}
        if s.validation is not None:
            value = float(s.validation.loss(self.theta))
            self.validation_losses.append(value)
            if value < self.best_validation[0]:
                self.best_validation = (value, row, self.theta.copy())
                self.stale = 0
            else:
                self.stale += 1
                if self.stale >= s.patience:
                    return "converged", (
                        f"early stopping: the validation loss has not improved for {s.patience} "
                        f"steps (best {self.best_validation[0]:.6g} at step {self.best_validation[1]})"
                    ), {}
        if s.plateau_patience is not None:
            monitored = self.validation_losses[-1] if s.validation is not None else loss
            if monitored < self.plateau_best * (1.0 - 1e-4):
                self.plateau_best, self.plateau_stale = monitored, 0
            else:
                self.plateau_stale += 1
                if self.plateau_stale >= s.plateau_patience:
                    self.plateau_stale = 0
                    self.eta_scale *= s.plateau_factor
                    run.history.note(
                        f"plateau: no improvement for {s.plateau_patience} steps; η × "
                        f"{s.plateau_factor:g} → {self.eta_scale * self.schedule(self.updates):.6g}"
                    )
        return None

    def first_row(self, loss, grad):
        """After the starting point's row: a finished (status, message, extra), or None."""
        if message := start_not_finite(loss):
            return self.finish("diverged", message, {})
        self.start_loss = loss
        stop = self.after_row(loss, grad)
        return self.finish(*stop) if isinstance(stop, tuple) else None

    def end_of_row(self, previous, loss, grad, done):
        """After a History row: "rolled_back", a finished (status, message, extra), or None."""
        stop = self.after_row(loss, grad)
        if stop == "rolled_back":
            return stop
        if stop is not None:
            return self.finish(*stop)
        if message := loss_settled(previous, loss, float(self.s.tol), done):
            return self.finish("converged", message, {})
        return None

    def stability_limit(self):
        limit = getattr(self.run.objective, "stability_limit", None)
        if limit is None or self.overshoots:
            return None  # the bound is for plain fixed-η descent on a neuron
        return limit()

    def finish(self, status, message, extra):
        """Restore the best θ by validation loss (whatever ended the run)."""
        s, run = self.s, self.run
        if s.validation is not None:
            extra.setdefault("info", {})["validation_loss"] = np.array(self.validation_losses)
            best, row, theta = self.best_validation
            if s.restore_best and theta is not None:
                run.best_theta = theta
                run.best_loss = float(run.history.loss[row])
                message += f"; restored θ of step {row} (best validation loss {best:.6g})"
        if self.recoveries:
            extra.setdefault("info", {})["recoveries"] = self.recoveries
            message += (f"; recovered from divergence {self.recoveries}× by halving η, to "
                        f"{self.eta_scale * float(self.schedule(self.updates)):.6g}")
        return status, message, extra

    # --- the two loops ------------------------------------------------------------------
    def full_batch(self):
        s, run = self.s, self.run
        tol = float(s.tol)
        loss, grad = run.loss_and_grad(self.theta)
        gnorm = float(np.linalg.norm(grad))
        run.record(self.theta, loss, gnorm, grad=grad)
        stop = self.first_row(loss, grad)
        if stop is not None:
            return stop
        for t in range(s.max_steps):
            if message := gradient_vanished(gnorm, tol, t):
                return self.finish("converged", message, {})
            step = self.step(grad)
            previous = loss
            loss, grad = run.loss_and_grad(self.theta)
            gnorm = float(np.linalg.norm(grad))
            run.record(self.theta, loss, gnorm, float(np.linalg.norm(step)), self.last_eta, grad)
            stop = self.end_of_row(previous, loss, grad, f"{t + 1} steps")
            if stop == "rolled_back":
                loss, grad = self.run.best_loss, self.best_grad
                gnorm = float(np.linalg.norm(grad))
            elif stop is not None:
                return stop
        return self.finish("max_steps", (
            f"stopped after max_steps = {s.max_steps} steps with ‖∇J‖ = {gnorm:.3g} "
            f"(tol {tol:g}); more steps or a larger learning rate may help"
        ), {})

    def mini_batch(self):
        s, run = self.s, self.run
        objective = run.objective
        if not hasattr(objective, "loss_and_grad_batch"):
            raise TypeError(
                f"batch_size needs an objective over rows of data (NeuronObjective), not "
                f"{type(objective).__name__}; leave batch_size=None"
            )
        n = objective.n_samples
        size = min(int(s.batch_size), n)
        run.history.updates_per_epoch = math.ceil(n / size)
        rng = np.random.default_rng(s.random_state)
        loss = run.loss(self.theta)
        run.record(self.theta, loss)
        stop = self.first_row(loss, None)
        if stop is not None:
            return stop
        for epoch in range(s.max_steps):
            start_theta = self.theta
            order = rng.permutation(n) if s.shuffle else None
            total = 0.0
            for begin in range(0, n, size):
                end = min(n, begin + size)
                batch = slice(begin, end) if order is None else order[begin:end]
                run.evaluations += 1
                batch_loss, grad = objective.loss_and_grad_batch(self.theta, batch)
                total += batch_loss * (end - begin)
                if not math.isfinite(batch_loss):
                    break
                self.step(grad)
                run.history.append_update(batch_loss, self.last_eta)
            previous, loss = loss, total / n
            run.record(self.theta, loss, math.nan, float(np.linalg.norm(self.theta - start_theta)),
                       self.last_eta)
            stop = self.end_of_row(previous, loss, None, f"{epoch + 1} epochs")
            if stop == "rolled_back":
                loss = run.best_loss
            elif stop is not None:
                return stop
        return self.finish("max_steps", (
            f"stopped after max_steps = {s.max_steps} epochs (mean batch loss {loss:.6g}); more "
            "epochs or a larger learning rate may help"
        ), {})


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
    guesses (``max_steps``).  Row k of the History is the k-th guess.

    An objective with a method ``losses(thetas)`` (J at the rows of a (k, n) array,
    as EquationObjective has) is evaluated ``CHUNK`` guesses at a time; the guesses,
    their order and the count of evaluations used are the same as one at a time.
    """

    CHUNK = 512

    name = "monte_carlo"

    def __init__(self, low=-10.0, high=10.0, budget=10_000, target_loss=None, random_state=None,
                 record_params="auto"):
        super().__init__(record_params)
        self.low = low
        self.high = high
        self.budget = budget
        self.target_loss = target_loss
        self.random_state = random_state

    def validate(self):
        check_positive("budget", self.budget, integer=True)

    def _iterate(self, run, theta0):
        low, high = _box(self.low, self.high, theta0.shape[0])
        rng = np.random.default_rng(self.random_state)
        target = -math.inf if self.target_loss is None else float(self.target_loss)
        batch = getattr(run.objective, "losses", None)
        k = 0
        while k < self.budget:
            if batch is None:
                guesses = rng.uniform(low, high)[None, :]
                losses = [run.loss(guesses[0])]
            else:
                # numpy draws a (m, n) block in the same order as m draws of n
                guesses = rng.uniform(low, high, size=(min(self.CHUNK, self.budget - k), low.shape[0]))
                losses = batch(guesses)
            for theta, loss in zip(guesses, losses):
                if batch is not None:
                    run.evaluations += 1
                k += 1
                run.record(theta, loss)
                if loss <= target:
                    return "converged", f"guess {k} reached loss {loss:.3g} ≤ {target:g}", {}
        return "max_steps", (
            f"budget of {self.budget} guesses spent; best loss {run.best_loss:.6g}"
        ), {}


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
                 target_loss=None, min_step=1e-12, record_params="auto"):
        super().__init__(record_params)
        self.step = step
        self.grow = grow
        self.shrink = shrink
        self.step_rule = step_rule
        self.budget = budget
        self.target_loss = target_loss
        self.min_step = min_step

    def validate(self):
        check_positive("step", self.step)
        check_positive("budget", self.budget, integer=True)
        if self.step_rule not in ("adaptive", "fixed", "proportional"):
            raise ValueError(f"step_rule must be 'adaptive', 'fixed' or 'proportional', "
                             f"got {self.step_rule!r}")
        if not (self.grow >= 1.0):
            raise ValueError(f"grow must be ≥ 1, got {self.grow!r}")
        if not (0.0 < self.shrink < 1.0):
            raise ValueError(f"shrink must be in (0, 1), got {self.shrink!r}")

    def _iterate(self, run, theta0):
        n = theta0.shape[0]
        adaptive = self.step_rule == "adaptive"
        proportional = self.step_rule == "proportional"
        target = -math.inf if self.target_loss is None else float(self.target_loss)
        h = np.full(n, float(self.step))
        direction = np.ones(n)
        theta = theta0.copy()
        loss = run.loss(theta)
        run.record(theta, loss)
        if loss <= target:
            return "converged", f"the start already has loss {loss:.3g} ≤ {target:g}", {}
        i = 0
        still = 0  # trials in a row that moved nothing
        while run.evaluations < self.budget:
            moved = 0.0
            size = h[i] * math.sqrt(2.0 * loss) if proportional else h[i]
            for d in (direction[i], -direction[i]):
                if run.evaluations >= self.budget:
                    break
                trial = theta.copy()
                trial[i] += d * size
                trial_loss = run.loss(trial)
                if trial_loss < loss:
                    theta, loss, moved, direction[i] = trial, trial_loss, size, d
                    break
            if adaptive:
                h[i] *= self.grow if moved else self.shrink
            elif proportional and not moved:
                h[i] *= self.shrink
            run.record(theta, loss, step_size=moved)
            if loss <= target:
                return "converged", f"loss {loss:.3g} ≤ {target:g} after {run.evaluations} evaluations", {}
            still = 0 if moved else still + 1
            if self.step_rule == "fixed" and still >= n:
                return "stalled", (
                    f"stuck at loss {loss:.6g}: no move of ±{float(self.step):g} in any parameter lowers "
                    "it; a smaller step, or the adaptive or proportional rule, gets closer"
                ), {}
            steps = h * math.sqrt(2.0 * loss) if proportional else h
            if (adaptive or proportional) and np.all(steps < self.min_step):
                return "converged", (
                    f"no change of any parameter by more than {self.min_step:g} lowers the loss "
                    f"(loss {loss:.6g})"
                ), {}
            i = (i + 1) % n
        return "max_steps", f"budget of {self.budget} evaluations spent; best loss {run.best_loss:.6g}", {}


class PerceptronRule(Strategy):
    """Rosenblatt's perceptron rule, the step neuron's own way to learn (1958).

    For each row x with target y ∈ {0, 1}, in order: ŷ = step(w·x + b), then

        w ← w + η·(y − ŷ)·x,    b ← b + η·(y − ŷ)

    so nothing changes when the row is right.  One History row per pass over the
    data (epoch), with the objective's loss.  Converges (no mistakes in a pass) when
    the classes are linearly separable; otherwise stops after ``max_steps`` passes.
    Needs a :class:`~neuronlab.objectives.base.NeuronObjective` with 0/1 targets.
    """

    name = "perceptron"

    def __init__(self, learning_rate=1.0, max_steps=1000, record_params="auto"):
        super().__init__(record_params)
        self.learning_rate = learning_rate
        self.max_steps = max_steps

    def validate(self):
        check_positive("learning_rate", self.learning_rate)
        check_positive("max_steps", self.max_steps, integer=True)

    def _iterate(self, run, theta0):
        objective = run.objective
        X, y = getattr(objective, "X", None), getattr(objective, "y", None)
        if getattr(objective, "_weight", None) is not None:
            raise ValueError("the perceptron rule takes every row once per pass and has no sample "
                             "weights; drop sample_weight or use gradient descent")
        rows = getattr(objective, "rows", None)
        if rows is not None and X is not None and y is not None:
            X, y = X[rows], y[rows]  # the rows the objective is over (e.g. a training split)
        if X is None or y is None or not np.all((y == 0) | (y == 1)):
            raise ValueError(
                "the perceptron rule needs a neuron objective with 0/1 targets (a classifier)"
            )
        eta = float(self.learning_rate)
        theta = theta0.copy()
        run.record(theta, run.loss(theta))
        for epoch in range(self.max_steps):
            before = theta.copy()
            mistakes = 0
            for x_i, y_i in zip(X, y):
                error = y_i - (1.0 if x_i @ theta[:-1] + theta[-1] >= 0 else 0.0)
                if error:
                    mistakes += 1
                    theta[:-1] += eta * error * x_i
                    theta[-1] += eta * error
            run.record(theta.copy(), run.loss(theta), step_size=float(np.linalg.norm(theta - before)),
                       learning_rate=eta)
            if mistakes == 0:
                return "converged", f"no mistakes in pass {epoch + 1}: every row is classified right", {}
        return "max_steps", (
            f"still {mistakes} mistakes after {self.max_steps} passes; the classes may not be "
            "linearly separable"
        ), {}


STRATEGIES: dict[str, type[Strategy]] = {
    "gradient_descent": GradientDescent,
    "monte_carlo": MonteCarloSearch,
    "error_driven": ErrorDrivenSearch,
    "perceptron": PerceptronRule,
}
_ALIASES = {"gd": "gradient_descent", "random": "monte_carlo", "random_search": "monte_carlo"}


def get_strategy(name: str, **options) -> Strategy:
    """Build the strategy called ``name`` (dashes or underscores) with ``options``."""
    if isinstance(name, Strategy):
        if options:
            raise TypeError("options go to the strategy's constructor, not with an instance")
        return name
    return STRATEGIES[strategy_name(name)](**options)


def strategy_name(name: str) -> str:
    """The registered name of a strategy ('gd' → 'gradient_descent', dashes → underscores)."""
    if not isinstance(name, str):
        raise TypeError(f"strategy must be a name such as 'gradient_descent', got {name!r}")
    key = name.replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in STRATEGIES:
        raise ValueError(
            f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)} (or 'gd')"
        )
    return key


def minimize(objective: Objective, theta0, strategy="gradient_descent", callback=None,
             **options) -> Result:
    """Minimise ``objective`` from ``theta0`` with the named strategy (see STRATEGIES)."""
    return get_strategy(strategy, **options).minimize(objective, theta0, callback=callback)
