"""``--animate FILE.gif``: the point θ_t descending the loss surface, the loss curve
J(θ_t) drawing beside it, one frame per step (evenly thinned for long runs).

For problems with two parameters (or two chosen ones, the others held where the
run ended).  matplotlib draws the frames and Pillow writes the GIF; both are
imported here, never by ``import neuronlab``.
"""

from __future__ import annotations

import numpy as np

from ..io.atomic import atomic_output, check_output_path
from ..train.history import History
from .plots import (
    _check_history,
    _check_params,
    _positive_for_log,
    draw_contour,
    line_style,
    new_figure,
    surface_grid,
)

__all__ = ["animate_descent"]


def animate_descent(objective, history: History, path, *, params=(0, 1), max_frames: int = 60,
                    fps: int = 8, bounds=None, title: str = "Gradient descent on the loss surface"):
    """Write a GIF of the run recorded in ``history`` on ``objective`` to ``path``.

    Left: contour of J over the two parameters with the path so far and the current
    point.  Right: J(θ_t) against t (log scale) up to the current step.
    Returns the number of frames written.
    """
    path = check_output_path(path, (".gif",), "animation file")
    history = _check_history(history)
    if not history.record_params:
        raise ValueError("the animation needs θ_t of every step: run with record_params=True")
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 2:
        raise ValueError(f"max_frames must be a whole number ≥ 2, got {max_frames!r}")
    i, j = _check_params(objective, params)
    thetas = history.params
    finite = np.all(np.isfinite(thetas), axis=1)
    a, b, J = surface_grid(objective, (i, j), thetas[finite][-1] if finite.any() else thetas[0],
                           bounds, [thetas[finite]], resolution=50)
    frames = np.unique(np.linspace(0, len(history) - 1, min(max_frames, len(history))).astype(int))
    losses = _positive_for_log(history.loss)

    fig, (ax_surface, ax_loss) = new_figure(8.0, 3.6, ncols=2)
    draw_contour(ax_surface, a, b, J)
    names = list(objective.param_names)
    ax_surface.set_xlabel(names[i])
    ax_surface.set_ylabel(names[j])
    ax_surface.set_xlim(a[0], a[-1])
    ax_surface.set_ylim(b[0], b[-1])
    ax_surface.set_title(title, fontsize="medium")
    style = line_style(0)
    (trail,) = ax_surface.plot([], [], color=style["color"], linewidth=1.5, marker=".", markersize=4)
    (point,) = ax_surface.plot([], [], marker="o", color=style["color"], markersize=10,
                               markeredgecolor="black", linestyle="none")
    ax_loss.set_xlim(0, max(1, len(history) - 1))
    shown = losses[np.isfinite(losses)]
    if shown.size:
        ax_loss.set_ylim(shown.min() * 0.8, shown.max() * 1.25)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("step t (parameter updates)")
    ax_loss.set_ylabel("loss J (log scale)")
    ax_loss.set_title("Loss J(θ_t)", fontsize="medium")
    ax_loss.grid(True, which="both", alpha=0.3)
    (curve,) = ax_loss.plot([], [], **{**line_style(1), "marker": None})
    label = ax_loss.text(0.97, 0.95, "", transform=ax_loss.transAxes, ha="right", va="top")
    moving = (trail, point, curve, label)

    # Blitting: the contour, axes and labels are drawn once; each frame restores that
    # background and draws only the moving artists (a full redraw per frame is ~50× slower).
    for artist in moving:
        artist.set_animated(True)
    canvas = fig.canvas
    canvas.draw()
    fig.set_layout_engine("none")
    background = canvas.copy_from_bbox(fig.bbox)

    from PIL import Image

    images = []
    for t in frames:
        canvas.restore_region(background)
        trail.set_data(thetas[: t + 1, i], thetas[: t + 1, j])
        point.set_data([thetas[t, i]], [thetas[t, j]])
        curve.set_data(np.arange(t + 1), losses[: t + 1])
        label.set_text(f"t = {t}, J = {history.loss[t]:.4g}")
        for artist in moving:
            artist.axes.draw_artist(artist)
        rgba = np.asarray(canvas.buffer_rgba())
        images.append(Image.fromarray(rgba[..., :3].copy()).quantize(
            colors=128, method=Image.Quantize.FASTOCTREE))
    with atomic_output(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(1000 / fps), loop=0)
    return len(images)
