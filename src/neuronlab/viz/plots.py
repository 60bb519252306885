"""Figures of a run, drawn from its History (nothing is re-run to draw a curve).

- :func:`plot_loss` — J(θ_t) against step t, log scale, with the validation loss.
- :func:`plot_runs` — several runs on one axis (the learning-rate panel, the race
  of strategies), against steps or evaluations of J.
- :func:`plot_surface` — the loss J over two parameters as a contour, with the
  path θ_0 → θ_1 → … of each run (one arrow per step θ_t → θ_{t+1}) and random
  guesses as dots.
- :func:`plot_decision_boundary` — a two-feature classifier's ŷ = f(w·x + b) over
  its data points, with the boundary ŷ = ½ (z = 0 for a sigmoid neuron).

Every function returns a matplotlib ``Figure`` and, given ``path``, writes it as
PNG or SVG (chosen by the extension) atomically.  matplotlib is imported inside
the functions, with the non-interactive Agg canvas, so ``import neuronlab`` stays
light and nothing needs a display.  Lines differ by style and marker as well as
colour so a figure stays readable printed in grey.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from ..io.atomic import atomic_output, check_output_path
from ..objectives.base import MANY_POINTS
from ..train.history import History

__all__ = [
    "FIGURE_FORMATS",
    "new_figure",
    "save_figure",
    "plot_loss",
    "plot_runs",
    "plot_surface",
    "plot_decision_boundary",
    "surface_grid",
    "line_style",
    "plot_equation_race",
]

FIGURE_FORMATS = (".png", ".svg")
MAX_GUESSES_SHOWN = 1500  # more dots only hide the contour
MARK_EVERY = 0.08  # a marker every 8 % of the line's length on screen (even on log axes)
DPI = 100

# colour-blind-safe colours (Okabe–Ito), each paired with its own dash pattern and marker
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 1)))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def line_style(i: int) -> dict:
    """Colour, dash pattern and marker of the i-th line (distinct in grey as well)."""
    return dict(color=_COLOURS[i % len(_COLOURS)], linestyle=_DASHES[i % len(_DASHES)],
                marker=_MARKERS[i % len(_MARKERS)])


def new_figure(width: float = 7.0, height: float = 4.5, ncols: int = 1, nrows: int = 1):
    """A Figure on the Agg canvas (no pyplot, no display, no global state) and its axes: one
    axes, a list of ``ncols`` for one row, or an (nrows, ncols) array for a grid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    if nrows > 1:
        return fig, axes
    return fig, (axes[0][0] if ncols == 1 else list(axes[0]))


def _plane_grid(X, points: int):
    """(G0, G1, P): a points × points grid over the span of X's two columns with an 8 % margin,
    and its points as rows P (points², 2), to evaluate a model over the plane."""
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    g0 = np.linspace(low[0] - 0.08 * span[0], high[0] + 0.08 * span[0], points)
    g1 = np.linspace(low[1] - 0.08 * span[1], high[1] + 0.08 * span[1], points)
    G0, G1 = np.meshgrid(g0, g1)
    return G0, G1, np.column_stack([G0.ravel(), G1.ravel()])


def save_figure(fig, path):
    """Write ``fig`` to ``path`` (.png or .svg); the file is complete or not there at all."""
    path = check_output_path(path, FIGURE_FORMATS, "figure file")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=path.suffix[1:].lower(), dpi=DPI)
    return path


def _finish(fig, path):
    if path is not None:
        save_figure(fig, path)
    return fig


def _positive_for_log(values: np.ndarray, floor: Optional[float] = None) -> np.ndarray:
    """Values for a log axis: inf/NaN become gaps, 0 becomes ``floor`` (default: the
    smallest positive value seen)."""
    v = np.array(values, dtype=np.float64)
    v[~np.isfinite(v)] = np.nan
    if floor is None:
        positive = v[v > 0]
        floor = positive.min() if positive.size else 1e-300
    v[v <= 0] = floor
    return v


def _check_history(history, name="history") -> History:
    if not isinstance(history, History):
        raise TypeError(f"{name} must be a neuronlab History (result.history), got {type(history).__name__}")
    if len(history) == 0:
        raise ValueError(f"{name} is empty: the run recorded no step, so there is nothing to draw")
    return history


def plot_loss(history: History, path=None, *, validation_loss=None,
              title: str = "Loss J(θ) during training", loss_label: str = "loss J (training)",
              ax=None):
    """Draw J(θ_t) against step t on a log scale; with ``validation_loss`` — one value per
    row of the History, or {step: value} for the steps where it was measured — the loss
    on held-out data is drawn beside it.

    A rising validation curve while the training loss still falls is over-fitting.
    For a mini-batch run (rows are epochs) every update's batch loss J_B is drawn too,
    faintly, at the point of the epoch where it was measured (update k of an epoch of m
    updates, before it moves θ, at k/m): the noise that mini-batches trade for speed.
    """
    history = _check_history(history)
    own_figure = ax is None
    if own_figure:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    steps = history.step
    mark_every = max(1, len(steps) // 20)
    updates = history.updates
    if len(updates.row):
        # update k (from 0) of the epoch leading to row e sits at e − 1 + k/m, m the updates of
        # a whole epoch (an epoch cut short by a NaN batch has fewer)
        rows, first, counts = np.unique(updates.row, return_index=True, return_counts=True)
        within = np.arange(len(updates.row)) - np.repeat(first, counts)
        position = updates.row - 1 + within / (history.updates_per_epoch or counts.max())
        ax.plot(position, _positive_for_log(updates.loss), color="0.6", linewidth=0.6, alpha=0.6,
                label="batch loss J_B (each update)", zorder=1)
    ax.plot(steps, _positive_for_log(history.loss), label=loss_label, markevery=mark_every,
            markersize=4, **line_style(0))
    if validation_loss is not None:
        if isinstance(validation_loss, Mapping):
            val_steps = np.array(sorted(validation_loss), dtype=np.int64)
            values = np.array([validation_loss[k] for k in val_steps], dtype=np.float64)
        else:
            values = np.asarray(validation_loss, dtype=np.float64)
            if values.shape != (len(history),):
                raise ValueError(
                    f"validation_loss must hold one value per History row ({len(history)}), "
                    f"got shape {values.shape}"
                )
            val_steps = steps
        ax.plot(val_steps, _positive_for_log(values), label="loss J (validation)",
                markevery=max(1, len(val_steps) // 20), markersize=4, **line_style(1))
    ax.set_yscale("log")
    ax.set_xlabel("epoch (passes over the data)" if len(updates.row) else "step t (parameter updates)")
    ax.set_ylabel("loss J (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _finish(fig, path) if own_figure else fig


def plot_runs(runs: Mapping[str, History], path=None, *, x: str = "step",
              value: Optional[Callable[[np.ndarray], np.ndarray]] = None,
              ylabel: str = "loss J (log scale)", best_so_far: bool = False,
              title: str = "Runs compared", ax=None, log_x: bool = False):
    """Draw several runs on one axis (log y): one line per run, labelled by its key.

    ``x`` is ``"step"`` (parameter updates) or ``"evaluations"`` (calls of J, the fair
    clock when strategies differ: a random guess costs one, a gradient step one).
    ``value`` maps the loss column to what is drawn (e.g. |r| = √(2J) for an
    equation); ``best_so_far`` draws the running minimum (what a search has found).
    A run that diverged ends where its loss stopped being finite, marked ×.
    ``log_x`` puts x on a log scale (for budgets that differ by orders of magnitude).
    """
    if not runs:
        raise ValueError("runs is empty: give at least one {label: History}")
    if x not in ("step", "evaluations"):
        raise ValueError(f"x must be 'step' or 'evaluations', got {x!r}")
    own_figure = ax is None
    if own_figure:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    curves = {}
    for label, history in runs.items():
        history = _check_history(history, f"run {label!r}")
        y = history.loss
        if best_so_far:
            y = np.minimum.accumulate(np.where(np.isfinite(y), y, np.inf))
            y[~np.isfinite(history.loss)] = np.nan  # a diverged run's curve ends where J did
        if value is not None:
            y = np.asarray(value(y), dtype=np.float64)
        curves[label] = (history.step if x == "step" else history.evaluations, y)
    # an exact 0 has no place on a log axis: it is drawn a decade below every positive value
    # and marked ▼ (the course's error-driven search can land exactly on a solution)
    positive = np.concatenate([y[np.isfinite(y) & (y > 0)] for _, y in curves.values()] + [[]])
    floor = positive.min() / 10 if positive.size else 1e-300
    for i, (label, (xs, y)) in enumerate(curves.items()):
        exact_zero = np.flatnonzero(y == 0)
        y = _positive_for_log(y, floor)
        style = line_style(i)
        shown = label + (" (reaches 0 ▼)" if exact_zero.size else "")
        ax.plot(xs, y, label=shown, markevery=MARK_EVERY, markersize=4, **style)
        if exact_zero.size:
            ax.plot(xs[exact_zero[0]], floor, marker="v", markersize=10, color=style["color"],
                    linestyle="none")
        finite = np.flatnonzero(np.isfinite(y))
        if finite.size and finite[-1] < len(y) - 1:
            ax.plot(xs[finite[-1]], y[finite[-1]], marker="x", markersize=10, color=style["color"],
                    linestyle="none")
    ax.set_yscale("log")
    if log_x and x == "evaluations":
        ax.set_xscale("log")  # evaluations start at 1
        ax.set_xlim(left=0.8)
    elif log_x:
        ax.set_xscale("symlog", linthresh=1.0)  # steps start at 0
    ax.set_xlabel("step t (parameter updates)" if x == "step" else "evaluations of J (calls)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return _finish(fig, path) if own_figure else fig


def _params_of(path_like) -> np.ndarray:
    if isinstance(path_like, History):
        if not path_like.record_params:
            raise ValueError("a path needs θ_t of every step: run the strategy with record_params=True")
        return path_like.params
    return np.asarray(path_like, dtype=np.float64)


def surface_grid(objective, params=(0, 1), theta=None, bounds=None, points: Sequence = (),
                 resolution: int = 60):
    """J over a grid of two parameters, the others held at ``theta``.

    Returns (a, b, J) with J[k, l] = J(θ with θ[params[0]] = a[l], θ[params[1]] = b[k]).
    Without ``bounds`` the box covers ``points`` (arrays of θ, shape (n, n_params))
    with a margin of 15 %.
    """
    i, j = _check_params(objective, params)
    theta = np.zeros(objective.n_params) if theta is None else np.array(theta, dtype=np.float64)
    if theta.shape != (objective.n_params,):
        raise ValueError(f"theta must hold {objective.n_params} numbers, got shape {theta.shape}")
    if bounds is None:
        stacked = [np.asarray(p)[:, [i, j]] for p in points if len(p)]
        stacked.append(theta[[i, j]][None, :])
        cloud = np.vstack(stacked)
        cloud = cloud[np.all(np.isfinite(cloud), axis=1)]
        low, high = cloud.min(axis=0), cloud.max(axis=0)
        span = np.maximum(high - low, 1e-3 * np.maximum(1.0, np.abs(high)))
        low, high = low - 0.15 * span, high + 0.15 * span
    else:
        (a0, a1), (b0, b1) = bounds
        low, high = np.array([a0, b0], dtype=float), np.array([a1, b1], dtype=float)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(low < high)):
            raise ValueError(f"bounds must be ((low, high), (low, high)) with low < high, got {bounds!r}")
    a = np.linspace(low[0], high[0], resolution)
    b = np.linspace(low[1], high[1], resolution)
    with np.errstate(all="ignore"):
        if objective.offers(MANY_POINTS):  # J at every point of the grid in one call
            grid = np.broadcast_to(theta, (resolution, resolution, theta.shape[0])).copy()
            grid[..., i], grid[..., j] = np.meshgrid(a, b)
            return a, b, np.asarray(objective.losses(grid), dtype=np.float64).reshape(resolution, resolution)
        J = np.empty((resolution, resolution))
        point = theta.copy()
        for k, bk in enumerate(b):
            point[j] = bk
            for l, al in enumerate(a):
                point[i] = al
                J[k, l] = objective.loss(point)
    return a, b, J


def _check_params(objective, params):
    if len(params) != 2 or params[0] == params[1]:
        raise ValueError(f"params must name two different parameters, got {params!r}")
    names = list(objective.param_names)
    out = []
    for p in params:
        if isinstance(p, str):
            if p not in names:
                raise ValueError(f"unknown parameter {p!r}; the objective's parameters are {names}")
            p = names.index(p)
        if not (isinstance(p, (int, np.integer)) and 0 <= p < len(names)):
            raise ValueError(f"parameter index {p!r} is out of range for {len(names)} parameters")
        out.append(int(p))
    return out


def draw_contour(ax, a, b, J, levels: int = 25):
    """Contour lines of J on log-spaced levels (a bowl spans many decades)."""
    finite = J[np.isfinite(J)]
    positive = finite[finite > 0]
    if positive.size and positive.max() / positive.min() > 50:
        lv = np.geomspace(positive.min(), positive.max(), levels)
    else:
        lv = levels
    Jplot = np.where(np.isfinite(J), J, np.nan)
    filled = ax.contourf(a, b, Jplot, levels=lv, cmap="Greys", alpha=0.4,
                         norm=_log_norm(lv) if not isinstance(lv, int) else None)
    ax.contour(a, b, Jplot, levels=lv, colors="0.35", linewidths=0.5)
    return filled


def _log_norm(levels):
    from matplotlib.colors import LogNorm

    return LogNorm(vmin=levels[0], vmax=levels[-1])


def draw_path(ax, theta_path: np.ndarray, i: int, j: int, label: str, style_index: int,
              max_arrows: int = 300):
    """The path θ_0 → θ_1 → …: one arrow per step (thinned evenly above ``max_arrows``)."""
    pts = theta_path[:, [i, j]]
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    style = line_style(style_index)
    moved = np.flatnonzero(np.any(pts[1:] != pts[:-1], axis=1))
    if moved.size > max_arrows:
        moved = moved[np.linspace(0, moved.size - 1, max_arrows).astype(int)]
        label = f"{label} (every {math.ceil(len(pts) / max_arrows)}th step)"
    start, delta = pts[moved], pts[moved + 1] - pts[moved]
    ax.quiver(start[:, 0], start[:, 1], delta[:, 0], delta[:, 1], angles="xy", scale_units="xy",
              scale=1, color=style["color"], width=0.004, headwidth=4, headlength=5, zorder=3)
    ax.plot(pts[:, 0], pts[:, 1], color=style["color"], linestyle=style["linestyle"],
            linewidth=1, alpha=0.6, label=label, zorder=2)
    ax.plot(*pts[0], marker=style["marker"], color=style["color"], markersize=8,
            markeredgecolor="white", linestyle="none", zorder=4)
    ax.plot(*pts[-1], marker="*", color=style["color"], markersize=13, markeredgecolor="black",
            linestyle="none", zorder=4)


def plot_surface(objective, path=None, *, paths: Optional[Mapping[str, object]] = None,
                 guesses=None, params=(0, 1), theta=None, bounds=None, resolution: int = 60,
                 title: str = "Loss surface J and the path taken", units: str = "",
                 ax=None):
    """Contour of J over two parameters with each run's path and random guesses.

    ``paths`` maps a label to a History recorded with parameters (or an array of θ_t);
    each step θ_t → θ_{t+1} is an arrow, the start a marker and the end a star.
    ``guesses`` is a History or array of Monte-Carlo guesses, drawn as dots.
    Parameters other than ``params`` stay at ``theta`` (default: the end of the first path).
    """
    paths = dict(paths or {})
    i, j = _check_params(objective, params)
    arrays = {label: _params_of(p) for label, p in paths.items()}
    for label, arr in arrays.items():
        if arr.ndim != 2 or arr.shape[1] != objective.n_params or len(arr) == 0:
            raise ValueError(f"path {label!r} must be θ_t rows of {objective.n_params} numbers")
    guess_array = None if guesses is None else _params_of(guesses)
    if theta is None:
        theta = next(iter(arrays.values()))[-1] if arrays else (
            guess_array[0] if guess_array is not None and len(guess_array) else None)
    cloud = list(arrays.values()) + ([guess_array] if guess_array is not None else [])
    a, b, J = surface_grid(objective, (i, j), theta, bounds, cloud, resolution)
    own_figure = ax is None
    if own_figure:
        fig, ax = new_figure(6.5, 5.5)
    else:
        fig = ax.figure
    filled = draw_contour(ax, a, b, J)
    fig.colorbar(filled, ax=ax, label="loss J (log-spaced levels)", format="%.2g")
    if guess_array is not None and len(guess_array):
        shown = guess_array[:MAX_GUESSES_SHOWN]  # the first ones: a sample like any other
        inside = shown[(shown[:, i] >= a[0]) & (shown[:, i] <= a[-1])
                       & (shown[:, j] >= b[0]) & (shown[:, j] <= b[-1])]
        # the guesses take the style after the paths', as in plot_runs(paths first, then guesses)
        ax.scatter(inside[:, i], inside[:, j], s=6, marker="o", facecolors="none",
                   edgecolors=line_style(len(arrays))["color"], linewidths=0.7,
                   label=f"random guesses ({len(guess_array)}"
                   + (f", first {len(shown)} shown)" if len(shown) < len(guess_array) else ")"),
                   zorder=2)
    for k, (label, arr) in enumerate(arrays.items()):
        draw_path(ax, arr, i, j, label, k)
    names = list(objective.param_names)
    unit = f" ({units})" if units else ""
    ax.set_xlabel(f"{names[i]}{unit}")
    ax.set_ylabel(f"{names[j]}{unit}")
    ax.set_xlim(a[0], a[-1])
    ax.set_ylim(b[0], b[-1])
    ax.set_title(title)
    if arrays or guess_array is not None:
        ax.legend(fontsize="small", loc="upper right", framealpha=0.85)
    return _finish(fig, path) if own_figure else fig


def plot_decision_boundary(model, X, y, path=None, *, feature_names=("x₁", "x₂"),
                           class_names=("0", "1"), threshold: float = 0.5,
                           title: str = "Decision boundary of the neuron", ax=None):
    """ŷ over the plane of two features, the boundary ŷ = ``threshold``, and the data.

    ``model`` is θ = (w₁, w₂, b) of a sigmoid neuron (ŷ = σ(w₁x₁ + w₂x₂ + b), so the
    boundary is the line z = 0), or any callable mapping rows X (n, 2) to ŷ in [0, 1]
    (e.g. ``lambda X: clf.predict_proba(X)[:, 1]``, which includes its feature scaling).
    ``y`` holds 0/1 (or booleans); each class gets its own marker.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have two feature columns to draw a plane, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must hold one label per row of X ({X.shape[0]}), got shape {y.shape}")
    if callable(model):
        predict = model
    else:
        theta = np.asarray(model, dtype=np.float64)
        if theta.shape != (3,):
            raise ValueError(f"model must be θ = (w₁, w₂, b) or a callable, got shape {theta.shape}")
        from ..models.neuron import Neuron

        neuron = Neuron(2, "sigmoid")

        def predict(P):
            return neuron.forward(theta, P)[1]
    G0, G1, rows = _plane_grid(X, 200)
    P = np.asarray(predict(rows), dtype=np.float64).reshape(G0.shape)
    own_figure = ax is None
    if own_figure:
        fig, ax = new_figure(6.5, 5.0)
    else:
        fig = ax.figure
    filled = ax.contourf(G0, G1, P, levels=np.linspace(0, 1, 11), cmap="Greys", alpha=0.45)
    fig.colorbar(filled, ax=ax, label=f"ŷ = P({class_names[1]})")
    if np.nanmin(P) < threshold < np.nanmax(P):
        ax.contour(G0, G1, P, levels=[threshold], colors="black", linewidths=2, linestyles="--")
        ax.plot([], [], color="black", linestyle="--", linewidth=2, label=f"boundary ŷ = {threshold:g}")
    labels = y.astype(bool) if y.dtype.kind == "b" else (y == 1)
    _rows_on_plane(ax, X, [(~labels, class_names[0]), (labels, class_names[1])], feature_names, title)
    return _finish(fig, path) if own_figure else fig


def _rows_on_plane(ax, X, classes, feature_names, title):
    """The rows of X as points, one colour and marker per (mask, name) of ``classes``, with the
    axes named and a legend that counts each class."""
    for k, (mask, name) in enumerate(classes):
        style = line_style(k)
        ax.scatter(X[mask, 0], X[mask, 1], s=22, marker=style["marker"], color=style["color"],
                   edgecolors="white", linewidths=0.5, label=f"{name} ({int(mask.sum())})", zorder=3)
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.set_title(title)
    ax.legend(fontsize="small", loc="best", framealpha=0.85)


def plot_class_regions(predict_proba, X, y, path=None, *, feature_names=("x₁", "x₂"), class_names=None,
                       title: str = "Most probable class over the plane", ax=None):
    """k classes over the plane of two features: each point coloured by its most probable
    class, argmaxₖ P(k | x) with P = softmax(z), the deeper the larger that probability (white
    at 1/k, full colour at 1); black lines where the most probable class changes (the decision
    boundaries); the data, one colour and marker per class.

    ``predict_proba`` maps rows (n, 2) to probabilities (n, k) (with the model's feature
    scaling, e.g. ``clf.predict_proba``); ``y`` holds class numbers 0 … k − 1.
    """
    from matplotlib.colors import to_rgb

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have two feature columns to draw a plane, got shape {X.shape}")
    G0, G1, rows = _plane_grid(X, 200)
    P = np.asarray(predict_proba(rows), dtype=np.float64)
    k = P.shape[1]
    class_names = [str(j) for j in range(k)] if class_names is None else [str(c) for c in class_names]
    winner = P.argmax(axis=1)
    depth = np.clip((P.max(axis=1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)[:, None]
    colours = np.array([to_rgb(line_style(j)["color"]) for j in range(k)])
    shade = 1.0 - 0.55 * depth * (1.0 - colours[winner])  # white mixed towards the class's colour
    own_figure = ax is None
    if own_figure:
        fig, ax = new_figure(6.5, 5.0)
    else:
        fig = ax.figure
    ax.imshow(shade.reshape(*G0.shape, 3), origin="lower", aspect="auto", interpolation="nearest",
              extent=(G0[0, 0], G0[0, -1], G1[0, 0], G1[-1, 0]))
    ax.contour(G0, G1, winner.reshape(G0.shape), levels=np.arange(k - 1) + 0.5, colors="black", linewidths=1.2)
    _rows_on_plane(ax, X, [(y == j, class_names[j]) for j in range(k)], feature_names, title)
    return _finish(fig, path) if own_figure else fig


def plot_hidden_units(units, X, path=None, *, feature_names=("x₁", "x₂"), layer: int = 1,
                      max_units: int = 16, title: Optional[str] = None):
    """What each hidden unit has learned: its output a = f(z) over the plane of two features.

    ``units`` maps rows P (n, 2) to the hidden layer's outputs (n, m) — e.g. the layer's
    activations of a network, with its feature scaling; one small heat map per unit (the
    first ``max_units``) over the data's span with a margin.  Returns the figure (written to
    ``path`` if given).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have two feature columns to draw a plane, got shape {X.shape}")
    G0, G1, rows = _plane_grid(X, 80)
    A = np.asarray(units(rows), dtype=np.float64)
    m = min(A.shape[1], max_units)
    ncols = min(m, 8)
    nrows = -(-m // ncols)
    fig, axes = new_figure(1.7 * ncols + 0.4, 1.7 * nrows + 0.6, ncols=ncols, nrows=nrows)
    for j, ax in enumerate(np.ravel(axes)):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= m:
            ax.set_axis_off()
            continue
        a = A[:, j].reshape(G0.shape)
        ax.contourf(G0, G1, a, levels=12, cmap="RdBu_r")
        ax.set_title(f"unit {j + 1}", fontsize="small")
    fig.supxlabel(feature_names[0], fontsize="small")
    fig.supylabel(feature_names[1], fontsize="small")
    shown = f"the first {m} of {A.shape[1]}" if m < A.shape[1] else f"{m}"
    fig.suptitle(title or f"What each hidden unit of layer {layer} computes ({shown} units)", fontsize="medium")
    return _finish(fig, path)


def abs_residual(loss):
    """|r| = √(2J) for J = ½r² (‖r‖ for a system, J = ½‖r‖²)."""
    return np.sqrt(2.0 * np.maximum(loss, 0.0))


def plot_equation_race(objective, results: Mapping[str, object], path=None, *, box=None,
                       title: str = "Three ways to solve"):
    """The course's race on an equation, in three panels.

    Left: |LHS − RHS| = √(2J) against evaluations of J (log scale, best so far, one line
    per method).  Middle: the contour of J over the whole search box ``box`` =
    (low, high) per unknown, with the Monte-Carlo guesses as dots and the paths of the
    other methods.  Right: the same paths close up.  ``results`` maps a label to a
    Result (or History); a label containing "monte" marks the guesses.  With one
    unknown, or runs that kept no θ_t, only the left panel is drawn.
    """
    histories = {label: getattr(r, "history", r) for label, r in results.items()}
    guesses = {k: h for k, h in histories.items() if "monte" in k.lower()}
    paths = {k: h for k, h in histories.items() if k not in guesses}
    histories = {**paths, **guesses}  # same order, so the same style, in every panel
    # the surfaces draw θ_t, which a run keeps for up to RECORD_PARAMS_UP_TO unknowns
    surfaces = objective.n_params >= 2 and all(h.record_params for h in histories.values())
    fig, axes = new_figure(17.0, 5.2, ncols=3) if surfaces else new_figure()
    axes = axes if surfaces else [axes]
    plot_runs(histories, x="evaluations", value=abs_residual, best_so_far=True,
              ylabel="|LHS − RHS| (best so far, log scale)",
              title="Error against evaluations of J", ax=axes[0], log_x=True)
    guess = next(iter(guesses.values()), None)
    bounds = None if box is None else tuple(zip(np.ravel(box[0])[:2], np.ravel(box[1])[:2]))
    if surfaces:
        plot_surface(objective, paths=paths, guesses=guess, bounds=bounds, ax=axes[1],
                     title="J over the search box: guesses and paths")
        plot_surface(objective, paths=paths, ax=axes[2], title="The paths, close up")
    fig.suptitle(title)
    return _finish(fig, path)


def plot_lr_find(found, path=None, *, title="Learning-rate range test"):
    """J against η (log–log) from a learning-rate range test (``train.lr_find.LRFindResult``),
    with the suggestion and the other reading marked."""
    fig, ax = new_figure()
    ax.plot(found.learning_rates, _positive_for_log(found.losses), label="loss J after the step",
            markevery=max(1, len(found.losses) // 15), markersize=4, **line_style(0))
    ax.axhline(found.initial_loss, color="0.5", linestyle=":", linewidth=1, label="J at the start")
    marks = [(found.suggestion, f"suggested η = {found.suggestion:.3g} ({found.rule})", "-")]
    if math.isfinite(found.before_rise):
        marks.append((found.before_rise, f"last η with J still falling = {found.before_rise:.3g}", "--"))
    marks.append((found.steepest, f"steepest fall at η = {found.steepest:.3g}", "-."))
    for k, (eta, label, dash) in enumerate(marks):
        ax.axvline(eta, color=line_style(k + 1)["color"], linestyle=dash, linewidth=1.5, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate η (log scale)")
    ax.set_ylabel("loss J (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return _finish(fig, path)
