"""Solve equations the three ways of the course, side by side.

``solve("256x + 212y = 1492")`` turns the text into an
:class:`~neuronlab.objectives.equation.EquationObjective` (r = LHS − RHS, J = ½r²) and runs

- ``monte-carlo``: uniform guesses in the search box until |r| ≤ tol
  (:class:`~neuronlab.train.search.MonteCarloSearch`);
- ``error-driven``: correct one unknown at a time from the error, with a fixed step
  or a step proportional to the error (:class:`~neuronlab.train.search.ErrorDrivenSearch`);
- ``gradient``: θ ← θ − η·∇J with a given η (:class:`~neuronlab.train.descent.GradientDescent`),
  or with the step chosen automatically (``learning_rate="auto"``,
  :class:`~neuronlab.train.gauss_newton.GaussNewton`).

For a system, |r| means the Euclidean norm ‖r‖ of the residuals.  Every run starts
from the same point: the point of the search box nearest to 0 unless ``start`` says
otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Union

import numpy as np

from ..core.json_values import jsonable
from ..objectives.equation import (
    MAX_EXACT_UNKNOWNS,
    DomainError,
    EquationObjective,
    expected_guesses,
    losses_of_residuals,
)
from .history import History, Result
from ..objectives.base import GRADIENT, MANY_POINTS, RESIDUALS, Objective
from .gauss_newton import GaussNewton
from .descent import GradientDescent
from .search import ErrorDrivenSearch, MonteCarloSearch

__all__ = ["METHODS", "MAX_EQUATIONS", "MAX_UNKNOWNS", "MethodRun", "SolveReport", "describe_solutions",
           "method_strategy", "race_setup", "solve", "UndefinedIsInfinite"]

METHODS = ("monte-carlo", "error-driven", "gradient")
STEP_RULES = ("fixed", "proportional")

_LARGEST_FLOAT = float(np.finfo(np.float64).max)
#: statuses of a run that stopped on its own before the budget: at a solution when
#: |r| ≤ tol, else stuck (a fixed step too big, a stationary point of J)
_STOPPED = ("converged", "stalled")


@dataclass
class MethodRun:
    """One method's run on the equations: its Result and what it means for the equation."""

    method: str
    label: str
    result: Result
    solved: bool
    note: str
    expected_guesses: Optional[float] = None
    restarts: int = 0  # runs from random points after the first (the gradient method)

    @property
    def residual_norm(self) -> float:
        """‖r‖ at the best point found (|r| for one equation)."""
        return _residual_norm(self.result)

    @property
    def seconds(self) -> float:
        """Wall-clock time of the run, to its last History row."""
        elapsed = self.result.history.elapsed
        return float(elapsed[-1]) if len(elapsed) else 0.0

    @property
    def status(self) -> str:
        """The Result's status; ``stalled`` for any stop at a point that is not a solution.

        A strategy may itself say ``stalled`` (no step makes progress), or ``converged``
        because its own rule was met (steps below ``min_step``) while |r| > tol: for an
        equation both mean the same, stuck short of a solution.
        """
        if self.result.status in _STOPPED and not self.solved:
            return "stalled"
        return self.result.status


@dataclass
class SolveReport:
    """Everything ``solve`` found: one :class:`MethodRun` per method, and the solution set."""

    objective: EquationObjective
    tol: float
    low: np.ndarray
    high: np.ndarray
    start: np.ndarray
    solutions: str
    nearest_solution: Optional[np.ndarray]
    runs: list[MethodRun] = field(default_factory=list)

    @property
    def unknowns(self) -> list[str]:
        return list(self.objective.param_names)

    def header(self) -> str:
        eqs = "; ".join(str(e) for e in self.objective.equations)
        box = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, lo, hi in zip(self.unknowns, self.low,
                                                                       self.high))
        return (f"{eqs}\nunknowns {', '.join(self.unknowns)}; tol {self.tol:g} on "
                f"{self.error_name}; search box {box}; start {_format_point(self.unknowns, self.start)}")

    @property
    def error_name(self) -> str:
        return "|LHS − RHS|" if self.objective.n_equations == 1 else "‖LHS − RHS‖"

    def table(self) -> str:
        """The runs side by side: method, evaluations, unknowns, error, time, status."""
        columns = ["method", "evaluations", *self.unknowns, self.error_name, "time", "status"]
        rows = []
        for run in self.runs:
            rows.append([
                run.label, str(run.result.n_evals),
                *(f"{v:.8g}" for v in run.result.theta),
                f"{run.residual_norm:.3g}",
                _format_time(run.seconds),
                run.status,
            ])
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

        def line(cells):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        return "\n".join([line(columns)] + [line(r) for r in rows])

    def text(self) -> str:
        """Header, table, the solution set, and one note per method."""
        notes = [f"- {run.label}: {run.note}" for run in self.runs]
        return "\n".join([self.header(), "", self.table(), "", self.solutions, *notes])

    def to_dict(self) -> dict:
        """A JSON-ready summary (NaN/inf become None)."""
        return jsonable({
            "equations": [str(e) for e in self.objective.equations],
            "unknowns": self.unknowns,
            "tol": self.tol,
            "box": {n: [float(lo), float(hi)] for n, lo, hi in zip(self.unknowns, self.low,
                                                                    self.high)},
            "start": dict(zip(self.unknowns, map(float, self.start))),
            "solutions": self.solutions,
            "nearest_solution": None if self.nearest_solution is None else dict(
                zip(self.unknowns, map(float, self.nearest_solution))),
            "runs": [{
                "method": run.method,
                "label": run.label,
                "status": run.status,
                "solved": run.solved,
                "evaluations": run.result.n_evals,
                "solution": dict(zip(self.unknowns, map(float, run.result.theta))),
                "residual_norm": run.residual_norm,
                "time_seconds": run.seconds,
                "message": run.result.message,
                "note": run.note,
                "suggested_learning_rate": run.result.suggested_learning_rate,
                "expected_guesses": run.expected_guesses,
                "restarts": run.restarts,
            } for run in self.runs],
        })

    def __repr__(self) -> str:
        runs = ", ".join(f"{r.method}: {r.status}" for r in self.runs)
        return f"SolveReport({[str(e) for e in self.objective.equations]}, {runs})"


def residual_norm(loss: float) -> float:
    """‖r‖ = √(2J) of a loss J = ½‖r‖² (∞ for a loss that is not finite)."""
    return math.sqrt(2.0 * loss) if math.isfinite(loss) else math.inf


def _residual_norm(result: Result) -> float:
    """‖r‖ at the Result's best point."""
    return residual_norm(result.loss)


def _format_point(names, theta) -> str:
    return ", ".join(f"{n} = {v:.8g}" for n, v in zip(names, theta))


def _format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _number(name, value, positive=False, integer=False):
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be a {'whole ' if integer else ''}number, got {value!r}")
    if not math.isfinite(value) or (positive and not value > 0):
        raise ValueError(f"{name} must be a {'positive ' if positive else ''}finite number, "
                         f"got {value!r}")
    return value


def _search_box(names, box, ranges):
    low = np.empty(len(names))
    high = np.empty(len(names))
    try:
        default_low, default_high = (float(v) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"box must be a pair (low, high) such as (-100, 100), got {box!r}") from None
    low[:], high[:] = default_low, default_high
    for name, pair in (ranges or {}).items():
        if name not in names:
            raise ValueError(f"a range is given for {name!r}, which is not an unknown of the "
                             f"equation; the unknowns are {', '.join(names)}")
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"the range of {name} must be a pair (low, high), got {pair!r}") from None
        low[names.index(name)], high[names.index(name)] = lo, hi
    for name, lo, hi in zip(names, low.tolist(), high.tolist()):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"the search range of {name} must have finite low < high, got "
                             f"{lo:g}:{hi:g}; give one such as --range {name}=-100:100")
        if not math.isfinite(hi - lo):
            # uniform guesses are low + (high − low)·u: the width itself must be a float
            raise ValueError(
                f"the search range of {name}, {lo:g}:{hi:g}, is too wide: high − low is beyond "
                f"the largest float ({_LARGEST_FLOAT:.3g}); narrow it, e.g. --range "
                f"{name}={lo / 2:g}:{hi / 2:g}")
    return low, high


def _start(names, start, low, high):
    theta = np.clip(0.0, low, high)  # the point of the box nearest the origin
    for name, value in (start or {}).items():
        if name not in names:
            raise ValueError(f"a start value is given for {name!r}, which is not an unknown of "
                             f"the equation; the unknowns are {', '.join(names)}")
        theta[names.index(name)] = _number(f"the start value of {name}", value)
    return theta


def describe_solutions(objective: EquationObjective, start) -> tuple[str, Optional[np.ndarray]]:
    """Say how many solutions there are; for linear equations, the one nearest ``start``.

    Linear equations r(θ) = A·θ − c: rank A < rank [A | c] means no solution;
    rank A < n means infinitely many, and then every gradient ∇J = Aᵀr lies in the
    row space of A, so gradient descent from θ0 ends at the solution nearest θ0,
    the projection θ* = θ0 − A⁺(A·θ0 − c).
    """
    names = objective.param_names
    n, m = objective.n_params, objective.n_equations
    start = np.asarray(start, dtype=np.float64)
    kind = "linear" if objective.is_linear else "nonlinear"
    equations = f"1 {kind} equation" if m == 1 else f"{m} {kind} equations"
    unknowns = "1 unknown" if n == 1 else f"{n} unknowns"
    if not objective.is_linear:
        if m < n:
            return (f"{equations} in {unknowns}: in general infinitely many solutions (a curve "
                    "or surface); each method stops at the first one it reaches."), None
        return (f"{equations} in {unknowns}: isolated solutions; which one a method finds "
                "depends on where it starts (or, for Monte-Carlo, on the seed)."), None
    A, c = objective.linear_system()
    rank = int(np.linalg.matrix_rank(A))
    rank_augmented = int(np.linalg.matrix_rank(np.column_stack([A, c])))
    if rank_augmented > rank:
        return ("the linear equations contradict each other: no exact solution; the best any "
                "method can do is the least-squares compromise."), None
    nearest = start - np.linalg.pinv(A) @ (A @ start - c)
    found = _format_point(names, nearest)
    if rank == n:
        return f"exactly one solution: {found}.", nearest
    shape = {1: "a line", 2: "a plane"}.get(n - rank, f"a {n - rank}-dimensional flat")
    return (f"{equations} in {unknowns}: infinitely many solutions ({shape}). Gradient descent "
            f"moves only along ∇J = Aᵀr, perpendicular to the solutions, so from the start "
            f"({_format_point(names, start)}) it reaches the solution nearest the start, the "
            f"projection {found}; Monte-Carlo and error-driven search stop at whichever "
            "solution they reach first."), nearest


class UndefinedIsInfinite(Objective):
    """The equation objective, with points where it is undefined scored J = inf.

    A search that tries log(x) at x < 0 made a bad guess, not a mistake: the guess is
    rejected like any other that makes the error worse (Monte-Carlo and error-driven
    search keep the better point, the automatic step halves, fixed-η descent reports
    ``diverged``).  ``outside`` counts such points and ``first`` keeps the first
    DomainError's message for the report.
    """

    capabilities = frozenset({GRADIENT, RESIDUALS, MANY_POINTS})

    def __init__(self, objective: EquationObjective):
        self.objective = objective
        self.n_params = objective.n_params
        self.param_names = objective.param_names
        self.outside = 0
        self.first = ""

    def _undefined(self, error):
        self.outside += 1
        self.first = self.first or str(error)

    def loss(self, theta):
        try:
            return self.objective.loss(theta)
        except DomainError as error:
            self._undefined(error)
            return math.inf

    def losses(self, thetas):
        """J at the rows of ``thetas``; a row whose residuals are not finite is undefined: it
        scores inf and is counted.  (Finite residuals whose ½r² overflows score inf too, as
        one point at a time, but they are defined.)"""
        try:
            r = np.asarray(self.objective.residuals(thetas), dtype=np.float64)
        except DomainError:  # some row is undefined: score the rows one by one
            return np.array([self.loss(theta) for theta in thetas])
        values = losses_of_residuals(r)
        bad = ~np.all(np.isfinite(r), axis=-1)
        if bad.any():
            self.outside += int(bad.sum())
            if not self.first:  # the message of the first undefined point, as loss() keeps it
                try:
                    self.objective.loss(thetas[np.argmax(bad)])
                except DomainError as error:
                    self.first = str(error)
            values[bad] = math.inf
        return values

    def loss_and_grad(self, theta):
        try:
            return self.objective.loss_and_grad(theta)
        except DomainError as error:
            self._undefined(error)
            return math.inf, np.full(self.n_params, math.nan)

    def residuals_and_jacobian(self, theta):
        try:
            return self.objective.residuals_and_jacobian(theta)
        except DomainError as error:
            self._undefined(error)
            m = self.objective.n_equations
            return np.full(m, math.inf), np.full((m, self.n_params), math.nan)


def method_strategy(method: str, *, tol: float, budget: int, low=None, high=None, random_state=None,
                    step: float = 1.0, step_rule: str = "proportional", learning_rate="auto"):
    """The strategy ``solve`` runs for ``method`` (one of :data:`METHODS`) with these settings,
    so that a caller stepping the methods itself (the playground's race) runs the same ones:
    each stops once ‖r‖ ≤ ``tol`` (J ≤ ½tol²) or after ``budget`` evaluations of J."""
    target = 0.5 * tol * tol
    if method == "monte-carlo":
        return MonteCarloSearch(low=low, high=high, budget=budget, target_loss=target,
                                random_state=random_state)
    if method == "error-driven":
        return ErrorDrivenSearch(step=step, step_rule=step_rule, budget=budget, target_loss=target)
    if method == "gradient":
        if learning_rate == "auto":
            return GaussNewton(tol=tol, budget=budget)
        return GradientDescent(learning_rate=learning_rate, max_steps=max(budget - 1, 1), tol=0.0,
                               target_loss=target)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")


def _run_monte_carlo(objective, start, low, high, tol, budget, random_state, expected):
    strategy = method_strategy("monte-carlo", tol=tol, budget=budget, low=low, high=high,
                               random_state=random_state)
    result = strategy.minimize(objective, start)
    best = _residual_norm(result)
    if best <= tol:
        note = f"guess {result.n_evals} reached |r| = {best:.3g} ≤ tol"
    else:
        note = f"budget of {budget} guesses spent before |r| ≤ {tol:g}; best |r| = {best:.3g}"
    if expected is not None:
        note += (f"; expected guesses for this tol in this box: 1/p = {expected:.3g} (p = chance "
                 "that a uniform guess lands in the slab |a·θ − c| ≤ tol)")
    return result, note


def _run_error_driven(objective, start, tol, budget, step, step_rule):
    strategy = method_strategy("error-driven", tol=tol, budget=budget, step=step, step_rule=step_rule)
    result = strategy.minimize(objective, start)
    best = _residual_norm(result)
    if best <= tol:
        note = f"reached |r| = {best:.3g} ≤ tol in {result.n_evals} evaluations"
    elif step_rule == "fixed":
        if result.status in _STOPPED:  # it stopped short of the tolerance: stuck
            note = (f"the fixed step {step:g} overshoots: every move of ±{step:g} makes the error "
                    f"bigger, so it is stuck at |r| = {best:.3g}; use a smaller --step or "
                    "--step-rule proportional")
        else:
            note = (f"the fixed step {step:g} crawls: budget of {budget} evaluations spent with "
                    f"|r| = {best:.3g}; use a larger --step or --step-rule proportional")
    else:
        note = f"stopped at |r| = {best:.3g} > tol: {result.message}"
    return result, note


def _gradient_once(objective, start, tol, budget, learning_rate):
    strategy = method_strategy("gradient", tol=tol, budget=budget, learning_rate=learning_rate)
    if learning_rate == "auto":
        result = strategy.minimize(objective, start)
        best = _residual_norm(result)
        if best <= tol:
            note = (f"automatic step (Gauss–Newton; for one equation θ ← θ − r·∇r/‖∇r‖²) "
                    f"reached |r| = {best:.3g} in {result.n_evals} evaluations")
        else:
            note = result.message
        return result, note
    eta = learning_rate  # checked by solve, before any method runs
    result = strategy.minimize(objective, start)
    best = _residual_norm(result)
    if best <= tol:
        note = f"η = {eta:g} reached |r| = {best:.3g} in {result.n_evals} evaluations"
    elif result.status == "diverged":
        suggested = result.suggested_learning_rate or eta / 10.0
        note = (f"η = {eta:g} is too large: the error grew step after step; try --lr "
                f"{suggested:.3g} (or --lr auto)")
    elif result.status == "max_steps":
        note = (f"η = {eta:g} is too small or the budget too short: {budget} evaluations spent "
                f"and |r| = {best:.3g} remains (tol {tol:g}); try a larger --lr or --lr auto")
    else:
        note = result.message
    return result, note


def stuck_at_its_start(result, tol) -> bool:
    """A gradient run that ended unsolved where no gradient step can help: its start was
    undefined (J not finite) or it reached a stationary point (stalled, or a gradient of
    exactly 0); a run that diverged later or ran out of budget is not helped by a restart."""
    if _residual_norm(result) <= tol:
        return False
    return result.status in ("stalled", "converged") or (
        result.status == "diverged" and result.n_steps == 0)


def restart_points(random_state, low, high):
    """The random points of the box the gradient method restarts from, one after another
    (drawn from ``random_state``, apart from Monte-Carlo's guesses)."""
    rng = np.random.default_rng(None if random_state is None else [int(random_state), 1])
    while True:
        yield rng.uniform(low, high)


def should_restart(result, tol, budget_left) -> bool:
    """Whether the gradient method starts again from a random point after ``result``: it
    ended stuck at its start and at least two evaluations of the budget are left."""
    return stuck_at_its_start(result, tol) and budget_left >= 2


def restart_note(first, n_restarts, spent, last_note) -> str:
    """What the gradient method's restarts say: why the first run was stuck, how many
    restarts, the evaluations in all and the last run's own note."""
    why = ("the start is undefined" if first.status == "diverged" and first.n_steps == 0 else
           f"from the start it reached a stationary point of ½‖r‖² (‖r‖ = {_residual_norm(first):.3g})")
    return (f"{why}, so it restarted from {n_restarts} random point(s) of the box (seeded by "
            f"--seed; {spent} evaluations in all); the last run: {last_note}")


def _run_gradient(objective, start, tol, budget, learning_rate, low, high, random_state):
    """Gradient descent from ``start``; when that start is undefined or stationary, again from
    random points of the box (:func:`restart_points`) until a run solves the equations or
    ``budget`` evaluations are spent.  The runs are told as one: their Histories one after
    the other, the evaluations added up."""
    points = restart_points(random_state, low, high)
    runs, spent = [], 0
    point = start
    while True:
        result, note = _gradient_once(objective, point, tol, budget - spent, learning_rate)
        runs.append((point, result))
        spent += result.n_evals
        if not should_restart(result, tol, budget - spent):
            break
        point = next(points)
    if len(runs) == 1:
        return result, note, 0
    told = restart_note(runs[0][1], len(runs) - 1, spent, note)
    return _one_result(runs, spent), told, len(runs) - 1


def _one_result(runs, spent) -> Result:
    """The gradient method's runs from several starts as one Result: their History rows one
    after the other (evaluations and time carried on), the best θ of all, the last run's end."""
    history = History(runs[0][1].history.record_params)
    evaluations, elapsed = 0, 0.0
    best = min((result for _, result in runs), key=lambda r: r.loss if math.isfinite(r.loss) else math.inf)
    for k, (point, result) in enumerate(runs):
        h = result.history
        for i in range(len(h)):
            theta = h.params[i] if h.record_params else result.theta_last
            history.append(theta, h.loss[i], h.grad_norm[i], h.step_size[i], h.learning_rate[i],
                           evaluations + int(h.evaluations[i]), elapsed + h.elapsed[i])
            if i == 0 and k:
                history.note(f"restart {k} from a random point of the box: "
                             + ", ".join(f"{v:.6g}" for v in point))
        evaluations += result.n_evals
        elapsed += float(h.elapsed[-1]) if len(h) else 0.0
    last = runs[-1][1]
    return Result(theta=best.theta, loss=best.loss, status=last.status, message=last.message,
                  history=history, n_steps=len(history) - 1, n_evals=spent,
                  theta_last=last.theta_last, strategy=last.strategy,
                  suggested_learning_rate=last.suggested_learning_rate, info=dict(last.info))


#: the largest system ``solve`` takes: its Gauss–Newton step and exact answer factor the dense
#: m × n Jacobian (an SVD), whose time grows as the cube of the size and memory as its square
#: — about 3 s at 1,000 × 1,000 on a laptop core, 45 s at 2,000 — so larger systems are refused
#: up front rather than run for minutes
MAX_EQUATIONS = 1_000
MAX_UNKNOWNS = 1_000


def _too_large(what: str) -> str:
    return (f"{what} is more than solve takes (at most {MAX_EQUATIONS:,} equations and {MAX_UNKNOWNS:,} "
            "unknowns: its exact steps factor a dense equations × unknowns matrix, whose cost grows as the "
            "cube of its size); split the system, or solve it with a sparse linear solver")


def race_setup(equations, box=(-100.0, 100.0), ranges=None, start=None):
    """(objective, low, high, θ0): the equations parsed, the search box and the common start
    of every method, as ``solve`` sets them up (the start must be where the equations are
    defined, else :class:`DomainError`)."""
    objective = equations if isinstance(equations, EquationObjective) else EquationObjective(
        equations)
    names = list(objective.param_names)
    low, high = _search_box(names, box, ranges)
    theta0 = _start(names, start, low, high)
    objective.loss(theta0)  # undefined at the start: a DomainError tells the user to move it
    return objective, low, high, theta0


def solve(equations: Union[str, Iterable[str]], method: str = "all", *,
          learning_rate: Union[str, float] = "auto", tol: float = 1e-6, budget: int = 10_000,
          random_state: Optional[int] = 0, box=(-100.0, 100.0),
          ranges: Optional[Mapping[str, tuple]] = None, step_rule: str = "proportional",
          step: float = 1.0, start: Optional[Mapping[str, float]] = None) -> SolveReport:
    """Solve an equation (or a system) by Monte-Carlo, error-driven search and gradient descent.

    Each method minimises J(θ) = ½·Σ rᵢ(θ)², rᵢ = LHSᵢ − RHSᵢ, until ‖r‖ ≤ ``tol``
    or ``budget`` evaluations are spent.  ``method`` is ``"all"`` or one of
    :data:`METHODS`.  ``box`` = (low, high) is the search box of every unknown,
    ``ranges`` = {name: (low, high)} overrides it per unknown; Monte-Carlo draws
    from it and the start is its point nearest 0 unless ``start`` = {name: value}.
    ``random_state`` seeds the Monte-Carlo guesses.  ``step_rule`` and ``step`` set
    the error-driven step (a fixed h, or h = step·|r|); ``learning_rate`` is η for
    gradient descent, or ``"auto"`` for the Gauss–Newton step.

    The equation must be defined at the start (else :class:`DomainError`); a point a
    method tries where it is not (log of a negative, …) counts as J = inf and is
    rejected, and the method's note says how many there were.
    """
    if not isinstance(equations, (str, EquationObjective)):
        equations = list(equations)
        if len(equations) > MAX_EQUATIONS:  # refused before a single one is parsed
            raise ValueError(_too_large(f"{len(equations):,} equations"))
    objective = equations if isinstance(equations, EquationObjective) else EquationObjective(
        equations)
    if len(objective.equations) > MAX_EQUATIONS:
        raise ValueError(_too_large(f"{len(objective.equations):,} equations"))
    if objective.n_params > MAX_UNKNOWNS:
        raise ValueError(_too_large(f"{objective.n_params:,} unknowns"))
    if method != "all" and method not in METHODS:
        raise ValueError(f"method must be 'all' or one of {', '.join(METHODS)}, got {method!r}")
    tol = float(_number("tol", tol, positive=True))
    budget = int(_number("budget", budget, positive=True, integer=True))
    if isinstance(learning_rate, str):
        if learning_rate != "auto":
            raise ValueError(f"learning_rate must be a positive number or 'auto', got "
                             f"{learning_rate!r}")
    else:
        _number("learning_rate", learning_rate, positive=True)
    if step_rule not in STEP_RULES:
        raise ValueError(f"step_rule must be one of {', '.join(STEP_RULES)}, got {step_rule!r}")
    _number("step", step, positive=True)
    objective, low, high, theta0 = race_setup(objective, box, ranges, start)
    solutions, nearest = describe_solutions(objective, theta0)
    report = SolveReport(objective, tol, low, high, theta0, solutions, nearest)
    chosen = METHODS if method == "all" else (method,)
    for name in chosen:
        guarded = UndefinedIsInfinite(objective)
        expected = None
        if name == "monte-carlo":
            label = "monte-carlo"
            if (objective.n_equations == 1 and objective.is_linear
                    and objective.n_params <= MAX_EXACT_UNKNOWNS):
                expected = expected_guesses(objective, low, high, tol)
            result, note = _run_monte_carlo(guarded, theta0, low, high, tol, budget,
                                            random_state, expected)
        elif name == "error-driven":
            label = f"error-driven ({step_rule})"
            result, note = _run_error_driven(guarded, theta0, tol, budget, step, step_rule)
        else:
            label = "gradient (auto step)" if learning_rate == "auto" else (
                f"gradient (η={learning_rate:g})")
            result, note, restarts = _run_gradient(guarded, theta0, tol, budget, learning_rate, low, high,
                                                   random_state)
        if guarded.outside:
            note += (f"; {guarded.outside} point(s) tried were outside where the equation is "
                     f"defined and were rejected (first: {guarded.first})")
        solved = _residual_norm(result) <= tol
        if name == "gradient" and solved and nearest is not None:
            distance = float(np.linalg.norm(result.theta - nearest))
            note += (f"; it is the solution nearest the start (distance {distance:.2g} from the "
                     "projection), as gradient descent must find")
        report.runs.append(MethodRun(name, label, result, solved, note, expected,
                                     restarts if name == "gradient" else 0))
    return report
