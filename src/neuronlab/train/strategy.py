"""Strategy: the settings of a way to make an objective's loss small, and its runs.

A strategy is a small object of settings (``get_params``, a ``repr`` that shows
them).  ``start(objective, θ0)`` validates them and returns a
:class:`~neuronlab.train.loop.Training` — its step rule plugged into the one loop,
with the monitors that make sense for it — which can be stepped or run;
``minimize(objective, θ0)`` is ``start(...).run()``.

A new strategy writes ``make_rule`` (its :class:`~neuronlab.train.loop.StepRule`)
and, when it needs more than the shared ones, ``monitors``.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..core.validation import check_positive, check_tol
from ..objectives.base import Objective
from .history import Result
from .loop import StepRule, Training
from .monitors import (DivergenceMonitor, EarlyStopping, GradientVanished, LossSettled, Monitor, StepBudget,
                       TargetLoss, TimeLimit)

__all__ = ["Strategy", "GradientStrategy", "check_target_loss"]


def check_target_loss(value) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise TypeError(f"target_loss must be a number or None, got {value!r}")


class Strategy:
    """Base class of every strategy (see the module doc).

    Options every strategy takes: ``target_loss`` (stop, ``converged``, once
    J(θ) ≤ target_loss), ``time_limit`` (seconds; then stop, ``max_steps``) and
    ``record_params`` ("auto": keep θ_t in the History for at most 16 parameters).
    """

    name = "strategy"
    #: the capabilities (see ``objectives.base``) an objective must offer this strategy
    needs: tuple[str, ...] = ()

    def __init__(self, record_params="auto", *, target_loss=None, time_limit=None):
        self.record_params = record_params
        self.target_loss = target_loss
        self.time_limit = time_limit

    def validate(self) -> None:
        """Raise ValueError/TypeError for a setting that cannot work."""
        check_target_loss(self.target_loss)
        if self.time_limit is not None:
            check_positive("time_limit", self.time_limit)

    def make_rule(self, objective, theta0: np.ndarray) -> StepRule:
        """The step rule of one run (its state starts here)."""
        raise NotImplementedError

    def monitors(self, objective) -> list[Monitor]:
        """The monitors asked after each row, in order (before the rule's own checks)."""
        return [TargetLoss(self.target_loss)] if self.target_loss is not None else []

    def budgets(self) -> list[Monitor]:
        """The budgets asked last: the strategy's own, and the time limit."""
        return [TimeLimit(self.time_limit)] if self.time_limit is not None else []

    def start(self, objective, theta0, callback: Optional[Callable] = None) -> Training:
        """A run of this strategy on ``objective`` from ``theta0``, its first row evaluated.

        ``callback(step)`` is called after every History row with a
        :class:`~neuronlab.train.history.Step`; returning True stops the run
        (status ``interrupted``, the best θ so far kept).
        """
        self.validate()
        theta0 = np.array(theta0, dtype=np.float64, copy=True)
        if theta0.shape != (objective.n_params,):
            raise ValueError(
                f"theta0 must hold {objective.n_params} numbers, got shape {theta0.shape}"
            )
        if not np.all(np.isfinite(theta0)):
            raise ValueError("theta0 contains NaN or inf; start from finite numbers")
        for capability in self.needs:
            objective.require(capability, self.name)
        return Training(self.name, self.make_rule(objective, theta0), objective, theta0,
                        self.monitors(objective), self.budgets(), callback, self.record_params)

    def minimize(self, objective, theta0, callback: Optional[Callable] = None) -> Result:
        """Run from ``theta0`` until a stopping rule fires; the Result holds the best θ."""
        return self.start(objective, theta0, callback).run()

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class GradientStrategy(Strategy):
    """A strategy that follows ∇J, for at most ``max_steps`` History rows.  It stops
    ``converged`` when ‖∇J‖ ≤ ``tol`` or the loss settles (see ``monitors.LossSettled``),
    also takes the held-out ``validation`` objective (early stopping after ``patience``
    rows without improvement, ``restore_best``) and guards against divergence
    (``divergence_patience``)."""

    needs = ("gradient",)

    def __init__(self, record_params="auto", *, max_steps=1000, tol=1e-6, target_loss=None,
                 time_limit=None, divergence_patience=10, validation=None, patience=10,
                 restore_best=True):
        super().__init__(record_params, target_loss=target_loss, time_limit=time_limit)
        self.max_steps = max_steps
        self.tol = tol
        self.divergence_patience = divergence_patience
        self.validation = validation
        self.patience = patience
        self.restore_best = restore_best

    def validate(self):
        super().validate()
        check_positive("max_steps", self.max_steps, integer=True)
        check_tol(self.tol)
        check_positive("divergence_patience", self.divergence_patience, integer=True)
        check_positive("patience", self.patience, integer=True)
        if self.validation is not None and not isinstance(self.validation, Objective):
            raise TypeError("validation must be an Objective (the loss on held-out data)")

    def divergence_monitor(self) -> DivergenceMonitor:
        return DivergenceMonitor(self.divergence_patience)

    def watchers(self, early_stopping) -> list[Monitor]:
        """Monitors of a subclass's own, asked after early stopping and before the loss and
        gradient tests (reduce-η-on-plateau reads the held-out loss of the same row)."""
        return []

    def monitors(self, objective):
        monitors = [self.divergence_monitor(), *super().monitors(objective)]
        early = None
        if self.validation is not None:
            early = EarlyStopping(self.validation, self.patience, self.restore_best)
            monitors.append(early)
        return monitors + [*self.watchers(early), LossSettled(self.tol), GradientVanished(self.tol)]

    def budgets(self):
        return [StepBudget(self.max_steps), *super().budgets()]
