"""What a run of a strategy leaves behind: a History of every step and a Result.

Row t of a History describes the point θ_t the strategy stood on after t steps:
its loss J(θ_t), the gradient norm ‖∇J(θ_t)‖ where the strategy knows it, the
size of the move that reached it ‖θ_t − θ_{t−1}‖ (0 when the step was refused),
the learning rate η used for that move, the evaluations of J spent so far and the
wall time.  Row 0 is the starting point.  Plots, reports, progress bars and the
web page read these rows; nothing re-runs training to draw a curve.

With mini-batches a row is an epoch (one pass over the data), and ``History.updates``
also lists every update inside it: the epoch row it leads to, the batch loss J_B(θ)
before the update and the η it used.  Without mini-batches each row is an update and
``updates`` is empty.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

import numpy as np

from ..core.json_values import jsonable

__all__ = ["History", "Result", "Step", "Tail", "Updates", "STATUSES"]

#: converged: a stopping rule on the loss or gradient was met; max_steps: the step or
#: evaluation budget ran out first; diverged: the loss became inf/NaN or kept growing;
#: interrupted: Ctrl-C or a callback stopped the run; stalled: the strategy can make no
#: further progress from where it stands (no trial step lowers the loss) although no
#: stopping rule says it is at a minimum.
STATUSES = ("converged", "max_steps", "diverged", "interrupted", "stalled")

_COLUMNS = ("loss", "grad_norm", "step_size", "learning_rate", "evaluations", "elapsed")
#: the updates' columns and their array typecodes: 24 bytes an update (a list of Python
#: floats would take about 100), since a long mini-batch run makes millions of updates
_UPDATE_COLUMNS = {"row": "q", "loss": "d", "learning_rate": "d"}


class Updates(NamedTuple):
    """The mini-batch updates of a run, one entry each: ``row`` is the History row (epoch)
    the update leads to, ``loss`` the batch loss J_B(θ) before it, ``learning_rate`` its η."""

    row: np.ndarray
    loss: np.ndarray
    learning_rate: np.ndarray


class Tail(NamedTuple):
    """The rows of a History from ``start`` on (``History.tail``): each column an array of
    the rows ``start``, ``start + 1``, …; ``params`` is None when the run kept no θ_t."""

    start: int
    loss: np.ndarray
    grad_norm: np.ndarray
    step_size: np.ndarray
    learning_rate: np.ndarray
    evaluations: np.ndarray
    elapsed: np.ndarray
    params: Optional[np.ndarray]


@dataclass(frozen=True)
class Step:
    """One row of a History, as handed to callbacks while a run is going on.

    ``theta`` (and ``gradient``, ∇J(θ_t) when the strategy computed it there, else
    None) are the strategy's own arrays: read them (or copy them), do not change them.
    """

    step: int
    loss: float
    grad_norm: float
    step_size: float
    learning_rate: float
    evaluations: int
    elapsed: float
    theta: np.ndarray
    gradient: Optional[np.ndarray] = None


class History:
    """Per-step record of a run; each column is a NumPy array (see module docstring).

    ``params`` holds θ_t for every row when the run recorded parameters (the default
    for problems with at most 16 parameters, enough to draw a path over a surface).
    ``events`` lists notes with the step they happened at (e.g. a recovery).
    """

    def __init__(self, record_params: bool = False):
        self.record_params = record_params
        self._columns: dict[str, list[float]] = {c: [] for c in _COLUMNS}
        self._params: list[np.ndarray] = []
        self._updates = {name: array(code) for name, code in _UPDATE_COLUMNS.items()}
        self.updates_per_epoch: Optional[int] = None  # set by a mini-batch run
        self._cache: dict[str, Any] = {}
        self.events: list[tuple[int, str]] = []

    def append(self, theta, loss, grad_norm, step_size, learning_rate, evaluations, elapsed):
        c = self._columns
        c["loss"].append(float(loss))
        c["grad_norm"].append(float(grad_norm))
        c["step_size"].append(float(step_size))
        c["learning_rate"].append(float(learning_rate))
        c["evaluations"].append(evaluations)
        c["elapsed"].append(elapsed)
        if self.record_params:
            self._params.append(np.array(theta, dtype=np.float64, copy=True))
        self._cache.clear()

    @property
    def last_elapsed(self) -> float:
        """The wall time of the newest row."""
        return self._columns["elapsed"][-1]

    def append_update(self, batch_loss, learning_rate):
        """Record a mini-batch update made on the way to the next row (see ``updates``)."""
        u = self._updates
        u["row"].append(len(self))
        u["loss"].append(float(batch_loss))
        u["learning_rate"].append(float(learning_rate))
        self._cache.pop("updates", None)

    def drop_unfinished_updates(self) -> None:
        """Forget the updates of an epoch that never got its row (a run stopped inside it):
        the run's result stands on the last row's θ, as if they had not been made."""
        keep = int(np.searchsorted(np.asarray(self._updates["row"]), len(self)))
        for values in self._updates.values():
            del values[keep:]
        self._cache.pop("updates", None)

    @property
    def updates(self) -> Updates:
        """Every mini-batch update (empty when each row is itself an update)."""
        if "updates" not in self._cache:
            u = self._updates
            self._cache["updates"] = Updates(*(np.array(u[name]) for name in _UPDATE_COLUMNS))
        return self._cache["updates"]

    def note(self, message: str) -> None:
        """Attach ``message`` to the latest step."""
        self.events.append((len(self) - 1, message))

    def __len__(self) -> int:
        return len(self._columns["loss"])

    def _array(self, name, dtype=np.float64):
        if name not in self._cache:
            self._cache[name] = np.asarray(self._columns[name], dtype=dtype)
        return self._cache[name]

    @property
    def step(self) -> np.ndarray:
        return np.arange(len(self))

    @property
    def loss(self) -> np.ndarray:
        return self._array("loss")

    @property
    def grad_norm(self) -> np.ndarray:
        return self._array("grad_norm")

    @property
    def step_size(self) -> np.ndarray:
        return self._array("step_size")

    @property
    def learning_rate(self) -> np.ndarray:
        return self._array("learning_rate")

    @property
    def evaluations(self) -> np.ndarray:
        return self._array("evaluations", np.int64)

    @property
    def elapsed(self) -> np.ndarray:
        return self._array("elapsed")

    @property
    def params(self) -> np.ndarray:
        if not self.record_params:
            raise AttributeError(
                "this run did not record parameters; pass record_params=True to the strategy"
            )
        if "params" not in self._cache:
            self._cache["params"] = (
                np.array(self._params) if self._params else np.empty((0, 0))
            )
        return self._cache["params"]

    def tail(self, start: int) -> Tail:
        """The rows from ``start`` on, made from those rows only: a reader that follows a
        run as it goes (the web page, each frame) pays for the new rows, not for the whole
        History as the column properties do after every append."""
        start = max(0, min(int(start), len(self)))
        c = self._columns
        columns = [np.asarray(c[name][start:], dtype=np.int64 if name == "evaluations" else np.float64)
                   for name in _COLUMNS]
        params = None
        if self.record_params:
            new = self._params[start:]
            params = np.array(new) if new else np.empty((0, 0))
        return Tail(start, *columns, params)

    def as_dict(self) -> dict[str, list]:
        """Columns as plain lists (for JSON); NaN becomes None."""
        out: dict[str, list] = {"step": list(range(len(self)))}
        for name in _COLUMNS:
            out[name] = jsonable(self._columns[name])
        if len(self._updates["row"]):
            out["updates"] = {name: jsonable(values.tolist()) for name, values in self._updates.items()}
            out["updates_per_epoch"] = self.updates_per_epoch
        if self.events:
            out["events"] = [list(e) for e in self.events]
        return out

    def __repr__(self) -> str:
        if not len(self):
            return "History(empty)"
        return (
            f"History({len(self)} rows, loss {self.loss[0]:.6g} → {self.loss[-1]:.6g}, "
            f"{int(self.evaluations[-1])} evaluations)"
        )


@dataclass
class Result:
    """The outcome of ``Strategy.minimize``.

    ``theta`` is the best point seen (lowest loss) — after a divergence or an
    interruption that is what you want to keep; ``theta_last`` is where the run
    stopped.  ``suggested_learning_rate`` is set when a gradient run diverged or stalled.
    """

    theta: np.ndarray
    loss: float
    status: str
    message: str
    history: History
    n_steps: int
    n_evals: int
    theta_last: np.ndarray
    strategy: str
    suggested_learning_rate: Optional[float] = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        return self.status == "converged"

    def __repr__(self) -> str:
        return (
            f"Result(status={self.status!r}, loss={self.loss:.6g}, n_steps={self.n_steps}, "
            f"n_evals={self.n_evals}, strategy={self.strategy!r})"
        )
