"""Rosenblatt's perceptron rule, the step neuron's own way to learn (1958)."""

from __future__ import annotations

import numpy as np

from ..core.validation import check_positive
from .loop import Row, Stop, StepRule
from .monitors import StepBudget
from .strategy import Strategy

__all__ = ["PerceptronRule"]


class PerceptronRule(Strategy):
    """Rosenblatt's perceptron rule, the step neuron's own way to learn (1958).

    For each row x with target y ∈ {0, 1}, in order: ŷ = step(w·x + b), then

        w ← w + η·(y − ŷ)·x,    b ← b + η·(y − ŷ)

    so nothing changes when the row is right.  One History row per pass over the
    data (epoch), with the objective's loss.  Converges (no mistakes in a pass) when
    the classes are linearly separable; otherwise stops after ``max_steps`` passes.
    Needs an objective over labelled rows of a neuron (NeuronObjective) with 0/1
    targets and no sample weights.
    """

    name = "perceptron"
    needs = ("labelled_rows",)

    def __init__(self, learning_rate=1.0, max_steps=1000, record_params="auto", *, target_loss=None,
                 time_limit=None):
        super().__init__(record_params, target_loss=target_loss, time_limit=time_limit)
        self.learning_rate = learning_rate
        self.max_steps = max_steps

    def validate(self):
        super().validate()
        check_positive("learning_rate", self.learning_rate)
        check_positive("max_steps", self.max_steps, integer=True)

    def make_rule(self, objective, theta0):
        return _PerceptronEpochs(self, objective, theta0)

    def budgets(self):
        return [StepBudget(self.max_steps), *super().budgets()]


class _PerceptronEpochs(StepRule):
    """One pass over the rows per step."""

    def __init__(self, strategy, objective, theta0):
        self.strategy = strategy
        self.model, self.X, self.y = objective.labelled_rows()
        if not ((self.y == 0) | (self.y == 1)).all():
            raise ValueError("the perceptron rule needs a neuron objective with 0/1 targets (a classifier)")
        self.theta = theta0.copy()
        self.learning_rate = float(strategy.learning_rate)
        self.last_learning_rate = self.learning_rate
        self.mistakes = 0

    def begin(self, training):
        return Row(self.theta, training.loss(self.theta))

    def step(self, training):
        eta = self.learning_rate
        before = self.theta.copy()
        w, b = self.model.weights(self.theta), self.model.bias(self.theta)  # views into θ
        self.mistakes = 0
        for x_i, y_i in zip(self.X, self.y):
            error = y_i - (1.0 if x_i @ w + b >= 0 else 0.0)
            if error:
                self.mistakes += 1
                w += eta * error * x_i
                b += eta * error
        theta = self.theta.copy()
        return Row(theta, training.loss(theta), step_size=float(np.linalg.norm(theta - before)),
                   learning_rate=eta)

    def scale_learning_rate(self, factor):
        self.learning_rate *= factor

    def set_learning_rate(self, value):
        self.learning_rate = value

    def check(self, training, row):
        if training.n_rows > 1 and self.mistakes == 0:
            return Stop("converged", f"no mistakes in pass {training.n_rows - 1}: every row is "
                                     "classified right")
        return None

    def budget_message(self, training):
        return (f"still {self.mistakes} mistakes after {self.strategy.max_steps} passes; the classes "
                "may not be linearly separable")
