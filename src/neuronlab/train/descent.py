"""Gradient descent as the course states it, and the relatives practitioners reach for.

    θ(t+1) = θ(t) − η_t·d_t,   d_t = transform(∇J(θ(t)))

:class:`GradientDescent` is the course's rule (d = ∇J, η fixed); the others are the
same step rule with another direction (a chain of :mod:`neuronlab.optim.transforms`
transformations): momentum, Nesterov, Adagrad, RMSProp, Adam, and mini-batch SGD.
Schedules, mini-batches, early stopping, reduce-η-on-plateau and recovery work
with all of them.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.validation import check_positive
from ..optim.transforms import (
    Constant,
    GradientTransformation,
    chain,
    clip_by_global_norm,
    get_schedule,
    identity,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_rms,
    trace,
)
from .loop import Row, StepRule
from .monitors import DivergenceMonitor, Plateau
from .strategy import GradientStrategy

__all__ = [
    "GradientDescent",
    "StochasticGradientDescent",
    "Momentum",
    "Nesterov",
    "Adagrad",
    "RMSProp",
    "Adam",
]


class GradientDescent(GradientStrategy):
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
    - ``time_limit``: stop (``max_steps``) after that many seconds.
    """

    name = "gradient_descent"

    def __init__(self, learning_rate=0.1, max_steps=1000, tol=1e-6, divergence_patience=10,
                 record_params="auto", *, schedule=None, warmup_steps=0, transform=None,
                 batch_size=None, shuffle=True, random_state=None, validation=None, patience=10,
                 restore_best=True, plateau_patience=None, plateau_factor=0.5, recover=False,
                 max_recoveries=10, target_loss=None, time_limit=None):
        super().__init__(record_params, max_steps=max_steps, tol=tol, target_loss=target_loss,
                         time_limit=time_limit, divergence_patience=divergence_patience, validation=validation,
                         patience=patience, restore_best=restore_best)
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.transform = transform
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.plateau_patience = plateau_patience
        self.plateau_factor = plateau_factor
        self.recover = recover
        self.max_recoveries = max_recoveries

    def validate(self):
        super().validate()
        check_positive("learning_rate", self.learning_rate)
        if self.batch_size is not None:
            check_positive("batch_size", self.batch_size, integer=True)
        if self.plateau_patience is not None:
            check_positive("plateau_patience", self.plateau_patience, integer=True)
        if not (isinstance(self.plateau_factor, (int, float)) and 0 < self.plateau_factor < 1):
            raise ValueError(f"plateau_factor must be in (0, 1), got {self.plateau_factor!r}")
        check_positive("max_recoveries", self.max_recoveries, integer=True)
        if self.warmup_steps:
            check_positive("warmup_steps", self.warmup_steps, integer=True)
        if self.transform is not None and not isinstance(self.transform, GradientTransformation):
            raise TypeError(
                "transform must be a GradientTransformation (see neuronlab.optim.transforms), "
                f"got {type(self.transform).__name__}"
            )
        get_schedule(self.schedule, self.learning_rate, self.warmup_steps)

    def make_transform(self) -> GradientTransformation:
        """The direction rule d = transform(∇J); subclasses (Adam, momentum…) override."""
        return self.transform if self.transform is not None else identity()

    def make_rule(self, objective, theta0):
        if self.batch_size is None:
            return FullBatchRule(self, objective, theta0)
        objective.require("mini_batches", f"{self.name} with batch_size")
        return MiniBatchRule(self, objective, theta0)

    def divergence_monitor(self):
        return DivergenceMonitor(self.divergence_patience, self.recover, self.max_recoveries)

    def watchers(self, early_stopping):
        if self.plateau_patience is None:
            return []
        return [Plateau(self.plateau_patience, self.plateau_factor, early_stopping)]


class DescentRule(StepRule):
    """θ ← θ − η_t·transform(g): the state shared by the full-batch and mini-batch rules —
    θ, the transformation's state, the schedule's t and η's scale (halved by recovery,
    reduced on plateaus, set by a caller between steps)."""

    def __init__(self, strategy: GradientDescent, objective, theta0):
        self.strategy = strategy
        self.objective = objective
        self.schedule = get_schedule(strategy.schedule, strategy.learning_rate, strategy.warmup_steps,
                                     **self.schedule_defaults(strategy, objective))
        self.transform = strategy.make_transform()
        self.theta = theta0.copy()
        self.state = self.transform.init(self.theta)
        self.eta_scale = 1.0
        self.updates = 0  # t of the schedule
        self.last_learning_rate = math.nan
        # plain descent with a small enough η lowers the loss at every step; other rules need not
        self.overshoots = not (type(strategy) is GradientDescent and strategy.transform is None)

    @staticmethod
    def schedule_defaults(strategy, objective):
        """A cosine schedule named by its name decays over the whole run (all T updates)."""
        if not (isinstance(strategy.schedule, str) and strategy.schedule == "cosine"):
            return {}
        updates = strategy.max_steps
        if strategy.batch_size is not None:
            updates *= objective.batches_per_epoch(min(int(strategy.batch_size), objective.n_samples))
        return {"decay_steps": max(1, updates - strategy.warmup_steps)}

    @property
    def learning_rate(self) -> float:
        return self.eta_scale * float(self.schedule(self.updates))

    def scale_learning_rate(self, factor):
        self.eta_scale *= factor

    def set_learning_rate(self, value):
        if isinstance(self.schedule, Constant):  # the course's fixed η: it becomes exactly value
            self.schedule, self.eta_scale = Constant(value), 1.0
        else:  # a schedule goes on from value, scaled: η_t = (value/η_now)·schedule(t)
            self.eta_scale = value / float(self.schedule(self.updates))

    def move(self, grad):
        """One update θ ← θ − η_t·d; returns the step η_t·d."""
        direction, self.state = self.transform.update(grad, self.state, self.theta)
        self.last_learning_rate = self.learning_rate
        self.updates += 1
        step = self.last_learning_rate * direction
        self.theta = self.theta - step
        return step

    def restart(self, theta, loss, grad):
        self.theta = theta
        self.state = self.transform.init(theta)

    def carry(self):
        """The direction's state (momentum's velocity, Adam's moments and count), the schedule's
        t and, with mini-batches, the shuffling generator — so that one more epoch on more data
        goes on where the last ended instead of starting Adam afresh and dealing the same batches."""
        return {"state": self.state, "updates": self.updates, "rng": getattr(self, "rng", None)}

    def go_on_from(self, carried):
        self.state, self.updates = carried["state"], carried["updates"]
        if carried["rng"] is not None and hasattr(self, "rng"):
            self.rng = carried["rng"]


class FullBatchRule(DescentRule):
    """One History row per update, each on the gradient of all the data."""

    def begin(self, training):
        self.loss, self.grad = training.loss_and_grad(self.theta)
        return Row(self.theta, self.loss, float(np.linalg.norm(self.grad)), grad=self.grad)

    def step(self, training):
        step = self.move(self.grad)
        self.loss, self.grad = training.loss_and_grad(self.theta)
        return Row(self.theta, self.loss, float(np.linalg.norm(self.grad)),
                   float(np.linalg.norm(step)), self.last_learning_rate, self.grad)

    def restart(self, theta, loss, grad):
        super().restart(theta, loss, grad)
        self.loss, self.grad = loss, grad

    def budget_message(self, training):
        return (f"stopped after max_steps = {self.strategy.max_steps} steps with ‖∇J‖ = "
                f"{float(np.linalg.norm(self.grad)):.3g} (tol {float(self.strategy.tol):g}); more "
                "steps or a larger learning rate may help")


class MiniBatchRule(DescentRule):
    """One update per mini-batch, one History row per epoch (pass over the data).

    The objective deals the batches of each epoch (``objective.batches``: (batch, rows)
    pairs), from the run's one seeded generator; the row holds the epoch's mean batch loss."""

    def __init__(self, strategy, objective, theta0):
        super().__init__(strategy, objective, theta0)
        self.rng = np.random.default_rng(strategy.random_state)
        self.size = min(int(strategy.batch_size), objective.n_samples)
        self.epoch = None  # the epoch's batches still to come, or None between epochs

    def begin(self, training):
        training.history.updates_per_epoch = self.objective.batches_per_epoch(self.size)
        self.loss = training.loss(self.theta)
        return Row(self.theta, self.loss)

    def step(self, training):
        if self.epoch is None:
            self.epoch = self.objective.batches(self.size, self.rng, self.strategy.shuffle)
            self.next_batch = next(self.epoch, None)
            self.epoch_start = self.theta
            self.total = 0.0
        (batch, rows), self.next_batch = self.next_batch, None
        training.evaluations += 1
        batch_loss, grad = self.objective.loss_and_grad_batch(self.theta, batch)
        self.total += batch_loss * rows
        if math.isfinite(batch_loss):
            self.move(grad)
            training.record_update(batch_loss, self.last_learning_rate)
            self.next_batch = next(self.epoch, None)
        if self.next_batch is not None:
            return None
        self.epoch = None
        self.loss = self.total / self.objective.n_samples
        return Row(self.theta, self.loss, math.nan, float(np.linalg.norm(self.theta - self.epoch_start)),
                   self.last_learning_rate)

    def restart(self, theta, loss, grad):
        super().restart(theta, loss, grad)
        self.loss = loss

    def progress(self, training):
        return f"{training.n_rows - 1} epochs"

    def budget_message(self, training):
        return (f"stopped after max_steps = {self.strategy.max_steps} epochs (mean batch loss "
                f"{self.loss:.6g}); more epochs or a larger learning rate may help")


class _Transformed(GradientDescent):
    """GradientDescent whose direction is ``chain(clip?, self._direction())``."""

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, clip_norm=None, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.clip_norm = clip_norm

    def _direction(self):
        raise NotImplementedError

    def make_transform(self):
        if self.transform is not None:
            return self.transform
        parts = [] if self.clip_norm is None else [clip_by_global_norm(self.clip_norm)]
        return chain(*parts, self._direction())


class StochasticGradientDescent(_Transformed):
    """Mini-batch (stochastic when ``batch_size=1``) gradient descent:
    θ ← θ − η_t·∇J_B(θ) over batches B of ``batch_size`` rows, reshuffled every epoch
    from ``random_state``.  ``max_steps`` counts epochs."""

    name = "sgd"

    def __init__(self, learning_rate=0.01, max_steps=100, tol=1e-6, *, batch_size=32, **options):
        super().__init__(learning_rate, max_steps, tol, batch_size=batch_size, **options)

    def _direction(self):
        return identity()  # d = ∇J_B: the plain gradient of the batch


class Momentum(_Transformed):
    """Heavy-ball momentum: v ← μ·v + ∇J(θ),  θ ← θ − η_t·v  (PyTorch's SGD(momentum=μ))."""

    name = "momentum"

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, momentum=0.9, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.momentum = momentum

    def _direction(self):
        return trace(self.momentum, nesterov=type(self) is Nesterov)


class Nesterov(Momentum):
    """Nesterov momentum: v ← μ·v + ∇J(θ),  θ ← θ − η_t·(∇J(θ) + μ·v) — looks one step ahead."""

    name = "nesterov"


class Adagrad(_Transformed):
    """Adagrad: G ← G + (∇J)²,  θ ← θ − η_t·∇J/(√G + ε)."""

    name = "adagrad"

    def __init__(self, learning_rate=0.1, max_steps=1000, tol=1e-6, *, eps=1e-10, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.eps = eps

    def _direction(self):
        return scale_by_adagrad(self.eps)


class RMSProp(_Transformed):
    """RMSProp: s ← ρ·s + (1 − ρ)(∇J)²,  θ ← θ − η_t·∇J/(√s + ε)."""

    name = "rmsprop"

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, rho=0.9, eps=1e-8, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.rho = rho
        self.eps = eps

    def _direction(self):
        return scale_by_rms(self.rho, self.eps)


class Adam(_Transformed):
    """Adam: bias-corrected running means m̂ of ∇J and v̂ of (∇J)²,
    θ ← θ − η_t·m̂/(√v̂ + ε)."""

    name = "adam"

    def __init__(self, learning_rate=0.01, max_steps=1000, tol=1e-6, *, beta1=0.9, beta2=0.999,
                 eps=1e-8, **options):
        super().__init__(learning_rate, max_steps, tol, **options)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps

    def _direction(self):
        return scale_by_adam(self.beta1, self.beta2, self.eps)
