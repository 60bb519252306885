import numpy as np
import pytest
from image_checks import assert_picture

from neuronlab import FunctionObjective, minimize
from neuronlab.viz.animation import animate_descent


def bowl():
    a = np.array([256.0, 212.0])
    return FunctionObjective(lambda t: (0.5 * (a @ t - 1492) ** 2, (a @ t - 1492) * a), 2, grad=True,
                             param_names=["x", "y"])


def test_gif_has_one_frame_per_step_up_to_the_limit(tmp_path):
    from PIL import Image

    result = minimize(bowl(), [-3.0, 4.0], learning_rate=1e-5, max_steps=12, tol=0)
    out = tmp_path / "descent.gif"
    n = animate_descent(bowl(), result.history, out, max_frames=60)
    assert n == 13  # rows 0 … 12
    assert_picture(out, size=(800, 360))
    with Image.open(out) as gif:
        assert gif.n_frames == 13
        gif.seek(12)
        last = np.asarray(gif.convert("L"), dtype=float)
        gif.seek(0)
        first = np.asarray(gif.convert("L"), dtype=float)
    assert np.abs(last - first).sum() > 0  # the point moved and the curve grew


def test_long_runs_are_thinned(tmp_path):
    from PIL import Image

    result = minimize(bowl(), [-3.0, 4.0], learning_rate=1e-6, max_steps=200, tol=0)
    out = tmp_path / "descent.gif"
    assert animate_descent(bowl(), result.history, out, max_frames=10) == 10
    with Image.open(out) as gif:
        assert gif.n_frames == 10


def test_bad_path_or_frames(tmp_path):
    result = minimize(bowl(), [0.0, 0.0], learning_rate=1e-6, max_steps=3, tol=0)
    with pytest.raises(ValueError, match=r"\.gif"):
        animate_descent(bowl(), result.history, tmp_path / "a.png")
    with pytest.raises(ValueError, match="max_frames"):
        animate_descent(bowl(), result.history, tmp_path / "a.gif", max_frames=1)
    assert list(tmp_path.iterdir()) == []
