"""The training loop: one run of a strategy, as an object that can be stepped.

    training = GradientDescent(learning_rate=0.5).start(objective, theta0)
    training.step()              # one update; returns its record
    training.learning_rate = 0.1 # takes effect at the next update
    result = training.run()      # steps until a stopping rule fires

Every strategy is a *step rule* (:class:`StepRule`) plugged into this one loop:
the rule knows how to evaluate the start and how to make one update; the loop
does the book-keeping every rule shares — counting evaluations, keeping the best
θ, recording the History, calling the callback, asking the monitors after each
row, turning an interruption into status ``interrupted`` — and the monitors
(:mod:`neuronlab.train.monitors`) decide when to stop.

A *row* is one History row (the point θ_t the run stands on after t steps: an
update, or an epoch of mini-batch updates, or one guess of a search); an
*update* inside an epoch is recorded in ``History.updates``.  ``step()`` makes one
update and returns its record: a :class:`~neuronlab.train.history.Step` when the
update completes a row, else an :class:`UpdateRecord`.

Interruption is a flag checked between updates.  While a run evaluates its start or
runs (``run()``) in the main thread, SIGINT, SIGTERM and SIGHUP set it (a second
SIGINT raises KeyboardInterrupt as usual), so a signal never lands inside compiled
code: the run ends ``interrupted`` after the update in progress, keeping the best θ.
A caller with work around the run that must not be cut (saving the model) holds
:class:`deferred_signals` itself; a signal that arrives there before the run starts
stops the run at its first step.
"""

from __future__ import annotations

import math
import time
from typing import Callable, NamedTuple, Optional

import numpy as np

from ..core.interrupt import deferred_signals, pending_interrupt, take_interrupt
from .history import History, Result, Step

__all__ = ["Row", "Stop", "ROLLED_BACK", "UpdateRecord", "StepRule", "Training",
           "RECORD_PARAMS_UP_TO"]

RECORD_PARAMS_UP_TO = 16  # "auto": keep θ_t in the History for problems this small


class Row(NamedTuple):
    """What a step rule hands the loop for one History row: the point θ_t and its numbers."""

    theta: np.ndarray
    loss: float
    grad_norm: float = math.nan
    step_size: float = 0.0
    learning_rate: float = math.nan
    grad: Optional[np.ndarray] = None


class UpdateRecord(NamedTuple):
    """What ``Training.step()`` returns for an update that does not complete a row."""

    row: int  # the History row (epoch) this update leads to
    batch_loss: float
    learning_rate: float


class Stop(NamedTuple):
    """The end of a run: its status (see ``history.STATUSES``), message and extra Result fields."""

    status: str
    message: str
    extra: dict = {}


#: a monitor's answer when it rolled the run back to the best θ (recovery): the
#: remaining checks of that row are skipped
ROLLED_BACK = "rolled_back"


class StepRule:
    """The per-run state of a strategy: how to evaluate the start, and one update.

    ``begin(training) -> Row`` evaluates the starting point (row 0);
    ``step(training) -> Row | Stop | None`` makes one update: a Row when it completes
    a History row, None for a mini-batch update inside an epoch (noted with
    ``training.record_update``), or a Stop when the rule itself cannot go on (a line
    search that finds no step).
    ``check(training, row) -> Stop | None`` holds the rule's own stopping rules, asked
    after the monitors.  ``budget_message(training)`` says how the budget ran out.

    Rules with a learning rate expose it as ``learning_rate`` (the η of the next
    update, settable between steps) and ``scale_learning_rate(factor)``; rules whose
    steps may raise the loss on their way down set ``overshoots``.  Rules that can be
    rolled back (recovery) implement ``restart(theta, loss, grad)``.
    """

    learning_rate: Optional[float] = None
    last_learning_rate: float = math.nan
    overshoots = True

    def begin(self, training: "Training") -> Row:
        raise NotImplementedError

    def step(self, training: "Training"):
        raise NotImplementedError

    def check(self, training: "Training", row: Row) -> Optional[Stop]:
        return None

    def budget_message(self, training: "Training") -> str:
        return f"budget spent after {training.n_rows - 1} steps"

    def progress(self, training: "Training") -> str:
        """How far the run got, in the rule's own unit ("12 steps", "3 epochs")."""
        return f"{training.n_rows - 1} steps"

    def target_message(self, training: "Training", loss: float, target: float) -> str:
        return f"J = {loss:.3g} ≤ target_loss = {target:g} after {training.n_rows - 1} steps"

    def scale_learning_rate(self, factor: float) -> None:
        raise TypeError(f"{type(self).__name__} has no learning rate to change")

    def set_learning_rate(self, value: float) -> None:
        """Make the next update's η exactly ``value``."""
        raise TypeError(f"{type(self).__name__} has no learning rate to change")

    def restart(self, theta, loss, grad) -> None:
        raise TypeError(f"{type(self).__name__} cannot be rolled back")

    def carry(self):
        """What a later run of the same rule on more data goes on from (``partial_fit``), or
        None when the rule keeps nothing between steps but θ."""
        return None

    def go_on_from(self, carried) -> None:
        """Take up what ``carry`` gave at the end of an earlier run (before the first step)."""


class Training:
    """One run of a step rule on an objective (see the module doc).

    ``monitors`` are asked, in order, after every row; the first that returns a
    :class:`Stop` ends the run; then the rule's own ``check``; then the ``budgets``
    (steps, evaluations, time), so that a run which meets a stopping rule on its last
    allowed step is told so.  When the run ends, each
    monitor's ``finish`` may amend the outcome, in reverse order (the last asked
    finishes first), e.g. to restore the θ with the best validation loss.
    """

    def __init__(self, strategy: str, rule: StepRule, objective, theta0, monitors=(), budgets=(),
                 callback: Optional[Callable] = None, record_params="auto"):
        if record_params == "auto":
            record_params = objective.n_params <= RECORD_PARAMS_UP_TO
        self.strategy = strategy
        self.rule = rule
        self.objective = objective
        self.monitors = list(monitors)
        self.budgets = list(budgets)
        self.callback = callback
        self.history = History(bool(record_params))
        self.evaluations = 0
        self.best_loss = math.inf
        self.best_theta = np.array(theta0, dtype=np.float64, copy=True)
        self.best_grad = None  # ∇J at best_theta, when the rule computed it there
        self.theta = self.best_theta.copy()  # the θ of the newest row
        self.start_time = time.perf_counter()
        self.outcome: Optional[Stop] = None
        self._interrupt: Optional[str] = None
        self._result: Optional[Result] = None
        self._last_update = (math.nan, math.nan)  # (J_B, η) of the newest mini-batch update
        # a signal left pending by an earlier run is stale (unless a caller holding signals
        # around this run kept it: then it is meant for this run)
        with deferred_signals(drop_stale=True), np.errstate(all="ignore"):
            self._after_row(rule.begin(self), first=True)

    # --- what rules call -------------------------------------------------------------
    def loss(self, theta) -> float:
        self.evaluations += 1
        return self.objective.loss(theta)

    def loss_and_grad(self, theta):
        self.evaluations += 1
        return self.objective.loss_and_grad(theta)

    @property
    def n_rows(self) -> int:
        return len(self.history)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start_time

    # --- what callers use ------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def status(self) -> Optional[str]:
        """None while the run goes on, then its status."""
        return None if self.outcome is None else self.outcome.status

    @property
    def learning_rate(self) -> Optional[float]:
        """η of the next update (None for a rule without one)."""
        return self.rule.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if self.rule.learning_rate is None:
            raise TypeError(f"{self.strategy} has no learning rate to change")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0):
            raise ValueError(f"learning_rate must be a number > 0, got {value!r}")
        self.rule.set_learning_rate(float(value))

    def interrupt(self, reason: str = "interrupted") -> None:
        """Ask the run to stop before its next update (safe from a signal handler or a thread)."""
        self._interrupt = reason

    def step(self):
        """Make one update; return its record: a Step for a new History row, an UpdateRecord
        for a mini-batch update inside an epoch, or the Stop that ended the run instead
        (an interruption, or a rule that found no step to take)."""
        if self.finished:
            raise RuntimeError(f"the run has ended ({self.outcome.status}); start a new one")
        with np.errstate(all="ignore"):
            record = self._advance()
        if record is None:
            return UpdateRecord(len(self.history), float(self._last_update[0]), float(self._last_update[1]))
        return self._step_of(record) if isinstance(record, Row) else record

    def run(self) -> Result:
        """Step until a stopping rule fires (or an interruption); return the Result."""
        with deferred_signals(), np.errstate(all="ignore"):
            try:
                while self.outcome is None:
                    self._advance()
            except KeyboardInterrupt:  # a signal this run did not handle (not the main thread)
                self._end(Stop("interrupted", "interrupted (Ctrl-C); the best θ so far is kept"))
        return self.result()

    def result(self) -> Result:
        """The Result of a finished run."""
        if self.outcome is None:
            raise RuntimeError("the run has not ended yet: call run(), or step() until finished")
        if self._result is None:
            self.history.drop_unfinished_updates()
            if not math.isfinite(self.best_loss):
                # never saw a finite loss: nothing better to return than where it stopped
                self.best_theta = np.array(self.theta, dtype=np.float64, copy=True)
            self._result = Result(
                theta=self.best_theta, loss=self.best_loss, status=self.outcome.status,
                message=self.outcome.message, history=self.history,
                n_steps=max(len(self.history) - 1, 0), n_evals=self.evaluations,
                theta_last=np.array(self.theta, dtype=np.float64, copy=True),
                strategy=self.strategy, **self.outcome.extra)
        return self._result

    # --- the loop --------------------------------------------------------------------
    def _advance(self):
        if self._interrupt is None and pending_interrupt():
            self._interrupt = take_interrupt()
        if self._interrupt is not None:
            return self._end(Stop("interrupted", f"{self._interrupt}; the best θ so far is kept"))
        out = self.rule.step(self)
        if out is None:  # an update inside a row (a mini-batch of an epoch)
            return None
        if isinstance(out, Stop):
            return self._end(out)
        return self._after_row(out)

    def record_update(self, batch_loss: float, learning_rate: float) -> None:
        """Note a mini-batch update made on the way to the next row (``History.updates``)."""
        self.history.append_update(batch_loss, learning_rate)
        self._last_update = (batch_loss, learning_rate)  # an UpdateRecord only if step() asks

    def _record(self, row: Row) -> None:
        loss = float(row.loss)
        self.theta = row.theta
        # NaN never compares: a NaN point is never kept.  A tie keeps the newer θ: a mini-batch
        # epoch's row holds the mean of losses measured before its updates (with one batch, the
        # loss at the row before), so its θ is at least as good as the loss it is given
        if loss <= self.best_loss:
            self.best_loss = loss
            self.best_theta = np.array(row.theta, dtype=np.float64, copy=True)
            self.best_grad = None if row.grad is None else row.grad.copy()
        self.history.append(row.theta, loss, row.grad_norm, row.step_size, row.learning_rate,
                            self.evaluations, self.elapsed)

    def _step_of(self, row: Row) -> Step:
        """The newest History row as a Step (what callbacks and ``step()`` receive)."""
        h = self.history
        return Step(len(h) - 1, float(row.loss), float(row.grad_norm), float(row.step_size),
                    float(row.learning_rate), self.evaluations, h.last_elapsed, row.theta, row.grad)

    def _after_row(self, row: Row, first: bool = False):
        self._record(row)
        answer = None
        for monitor in self.monitors:
            if answer is not None:  # decided: the others still see the row (a held-out loss)
                monitor.skipped(self, row)
            else:
                answer = monitor.begin(self, row) if first else monitor.after_row(self, row)
        if answer is None:
            answer = self.rule.check(self, row)
        if answer is ROLLED_BACK:
            for monitor in self.monitors:
                monitor.rolled_back(self)
        elif answer is not None:
            self._end(answer)
        if self.outcome is None:
            for budget in self.budgets:
                answer = budget.after_row(self, row)
                if answer is not None:
                    self._end(answer)
                    break
        if self.callback is not None and self.callback(self._step_of(row)) and self.outcome is None:
            self._end(Stop("interrupted", "stopped by the callback; the best θ so far is kept"))
        return row

    def _end(self, stop: Stop) -> Stop:
        if self.outcome is None:
            for monitor in reversed(self.monitors):
                stop = monitor.finish(self, stop)
            self.outcome = stop
        return stop
