"""``--trace FILE.jsonl``: every step of a run as one JSON object per line.

Each line holds the step t, the loss J(θ_t), the gradient ∇J(θ_t) (when the
strategy computed one at θ_t, else null), its norm ‖∇J‖, the step size
‖θ_t − θ_{t−1}‖, the learning rate η, the evaluations of J so far, the elapsed
seconds and the parameters θ_t by name.  Non-finite numbers are written as null
(JSON has no NaN).  The file is written beside its destination and renamed into
place when the run ends, so an error never leaves a half-written trace.

    with TraceWriter("run.jsonl", objective) as trace:
        result = minimize(objective, theta0, callback=trace)

or, after the runs, from their Histories (θ_t recorded): ``write_trace(path, runs, objective)``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Optional

import numpy as np

from ..core.json_values import jsonable
from ..objectives.base import GRADIENT
from .atomic import atomic_output, check_output_path

__all__ = ["TraceWriter", "read_trace", "write_trace"]


def _record(names, step, loss, grad_norm, step_size, learning_rate, evaluations, elapsed, theta,
            grad, extra=None) -> str:
    record = dict(extra or {})
    record.update({
        "step": int(step),
        "loss": jsonable(loss),
        "grad_norm": jsonable(grad_norm),
        "step_size": jsonable(step_size),
        "learning_rate": jsonable(learning_rate),
        "evaluations": int(evaluations),
        "elapsed": round(float(elapsed), 6),
        "params": dict(zip(names, map(jsonable, theta))),
        "gradient": None if grad is None else dict(zip(names, map(jsonable, grad))),
    })
    return json.dumps(record, ensure_ascii=False) + "\n"


def _gradient_at(objective, theta):
    if not objective.offers(GRADIENT):
        return None
    try:
        with np.errstate(all="ignore"):
            return objective.loss_and_grad(theta)[1]
    except (ValueError, ArithmeticError):  # a domain error at a guess: no gradient there
        return None


def write_trace(path, runs, objective) -> int:
    """Write every row of each History in ``runs`` ({label: History}) to ``path`` (.jsonl).

    Each line carries ``"run": label``; the gradient at θ_t is evaluated on ``objective``
    (when it has one).  Returns the number of lines written.
    """
    path = check_output_path(path, (".jsonl",), "trace file")
    names = list(objective.param_names)
    lines = 0
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for label, history in runs.items():
            if not history.record_params:
                raise ValueError(f"run {label!r} did not record θ_t; run it with record_params=True")
            columns = (history.loss, history.grad_norm, history.step_size, history.learning_rate,
                       history.evaluations, history.elapsed, history.params)
            for t, (loss, gn, size, eta, evals, elapsed, theta) in enumerate(zip(*columns)):
                f.write(_record(names, t, loss, gn, size, eta, evals, elapsed, theta,
                                _gradient_at(objective, theta), {"run": label}))
                lines += 1
    return lines


class TraceWriter:
    """A callback that writes each step of a run to a JSON-lines file (see module doc).

    Use it as a context manager.  The gradient written is the one the strategy hands
    the callback with each step (``Step.gradient``), so nothing is computed twice; for a
    strategy that computes none (the searches), ``recompute_gradient=True`` evaluates
    ∇J(θ_t) on ``objective`` for each line instead of writing null.
    """

    def __init__(self, path, objective, recompute_gradient: bool = False):
        self.path = check_output_path(path, (".jsonl",), "trace file")
        self.recompute_gradient = recompute_gradient
        self.objective = objective
        self._names = list(objective.param_names)
        self._stack: Optional[contextlib.ExitStack] = None
        self._file = None
        self.lines = 0

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_output(self.path))
        self._file = self._stack.enter_context(open(tmp, "w", encoding="utf-8"))
        return self

    def __exit__(self, *exc):
        stack, self._stack, self._file = self._stack, None, None
        return stack.__exit__(*exc)

    def __call__(self, step) -> bool:
        if self._file is None:
            raise RuntimeError("use TraceWriter as a context manager: with TraceWriter(...) as trace")
        grad = step.gradient
        if grad is None and self.recompute_gradient:
            grad = _gradient_at(self.objective, step.theta)
        self._file.write(_record(self._names, step.step, step.loss, step.grad_norm, step.step_size,
                                 step.learning_rate, step.evaluations, step.elapsed, step.theta, grad))
        self.lines += 1
        return False


def read_trace(path) -> list[dict]:
    """The records of a trace file, one dict per step."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
