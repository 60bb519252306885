"""Each figure is drawn to a file and opened with Pillow: right size, not blank."""

import numpy as np
import pytest
from image_checks import assert_picture

from neuronlab import FunctionObjective, Neuron, NeuronObjective, minimize
from neuronlab.objectives.base import MANY_POINTS
from neuronlab.viz import plots


def bowl():
    """J(θ) = ½(256·x + 212·y − 1492)², the course's equation as a loss."""
    a = np.array([256.0, 212.0])

    def fun(t):
        r = a @ t - 1492.0
        return 0.5 * r * r, r * a

    return FunctionObjective(fun, 2, grad=True, param_names=["x", "y"])


def two_clouds(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal([-1, -1], 0.8, (n, 2)), rng.normal([1.2, 1.0], 0.8, (n, 2))])
    return X, np.repeat([0.0, 1.0], n)


def test_loss_curve_png_with_validation(tmp_path):
    X, y = two_clouds()
    obj = NeuronObjective(Neuron(2, "sigmoid"), X, y, loss="log_loss")
    valid = NeuronObjective(Neuron(2, "sigmoid"), *two_clouds(seed=1), loss="log_loss")
    result = minimize(obj, [2.0, -2.0, 1.0], learning_rate=0.5, max_steps=60, tol=0)
    val = [valid.loss(t) for t in result.history.params]
    out = tmp_path / "loss.png"
    fig = plots.plot_loss(result.history, out, validation_loss=val)
    assert_picture(out, size=(700, 450))
    training, validation = fig.axes[0].get_lines()
    np.testing.assert_allclose(training.get_ydata(), [obj.loss(t) for t in result.history.params])
    np.testing.assert_allclose(validation.get_ydata(), val)


def test_loss_curve_rejects_validation_of_wrong_length(tmp_path):
    result = minimize(bowl(), [0.0, 0.0], learning_rate=1e-5, max_steps=5, tol=0)
    with pytest.raises(ValueError, match="one value per History row"):
        plots.plot_loss(result.history, tmp_path / "x.png", validation_loss=[1.0, 2.0])
    assert not (tmp_path / "x.png").exists()


def test_svg_is_written_and_is_svg(tmp_path):
    result = minimize(bowl(), [0.0, 0.0], learning_rate=1e-5, max_steps=20, tol=0)
    out = tmp_path / "loss.svg"
    plots.plot_loss(result.history, out)
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "<path" in text


@pytest.mark.parametrize("bad", ["loss.jpg", "loss", "no-such-folder/loss.png"])
def test_bad_figure_path_is_refused_before_drawing(tmp_path, bad):
    result = minimize(bowl(), [0.0, 0.0], learning_rate=1e-5, max_steps=3, tol=0)
    with pytest.raises(ValueError, match="figure file"):
        plots.plot_loss(result.history, tmp_path / bad)
    assert list(tmp_path.iterdir()) == []


def test_runs_on_one_axis_by_evaluations_with_a_diverged_run(tmp_path):
    obj = bowl()
    # the stability limit is 2/‖a‖² = 2/(256² + 212²) ≈ 1.81e-5; with η = 1e150 the first
    # step lands near θ ~ 1e150·1492·256, where J = ½r² overflows to inf at once
    results = {f"η = {lr:g}": minimize(obj, [0.0, 0.0], learning_rate=lr, max_steps=40, tol=0)
               for lr in (1e-6, 8e-6, 1e150)}
    assert results["η = 1e+150"].status == "diverged"
    assert np.isinf(results["η = 1e+150"].history.loss[-1])
    runs = {name: result.history for name, result in results.items()}
    runs["random guesses"] = minimize(obj, [0.0, 0.0], strategy="monte_carlo", budget=40,
                                      random_state=0).history
    out = tmp_path / "runs.png"
    fig = plots.plot_runs(runs, out, x="evaluations", value=lambda J: np.sqrt(2 * J),
                          ylabel="|LHS − RHS|", best_so_far=True)
    assert_picture(out, size=(700, 450))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == len(runs) and all(t.startswith(k) for t, k in zip(texts, runs))
    # one × marks where the diverged run stopped (the other runs' J stayed finite)
    assert [line.get_marker() for line in ax.get_lines()].count("x") == 1


def test_runs_reject_bad_x_and_empty(tmp_path):
    with pytest.raises(ValueError, match="x must be"):
        plots.plot_runs({"a": minimize(bowl(), [0, 0], learning_rate=1e-6, max_steps=2).history},
                        x="time")
    with pytest.raises(ValueError, match="runs is empty"):
        plots.plot_runs({})


def test_surface_with_paths_arrows_and_guesses(tmp_path):
    obj = bowl()
    gd = minimize(obj, [-3.0, 4.0], learning_rate=1e-5, max_steps=15, tol=0)
    ed = minimize(obj, [-3.0, 4.0], strategy="error_driven", budget=40)
    mc = minimize(obj, [0.0, 0.0], strategy="monte_carlo", budget=200, low=-10, high=10,
                  random_state=1)
    out = tmp_path / "surface.png"
    fig = plots.plot_surface(obj, out, paths={"gradient descent": gd.history,
                                              "error-driven": ed.history},
                             guesses=mc.history, bounds=((-10, 10), (-10, 10)))
    assert_picture(out, size=(650, 550))
    ax = fig.axes[0]
    # quiver: one arrow per step that moved, per path
    from matplotlib.quiver import Quiver

    quivers = [c for c in ax.collections if isinstance(c, Quiver)]
    moved_gd = int(np.any(np.diff(gd.history.params, axis=0) != 0, axis=1).sum())
    assert len(quivers) == 2 and quivers[0].N == moved_gd
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"


def test_surface_grid_matches_the_objective():
    obj = bowl()
    a, b, J = plots.surface_grid(obj, bounds=((0, 2), (-1, 1)), resolution=5)
    assert J.shape == (5, 5)
    # J[k, l] is the loss at x = a[l], y = b[k], computed here by hand
    assert J[1, 3] == pytest.approx(0.5 * (256 * a[3] + 212 * b[1] - 1492) ** 2)


def test_surface_rejects_unknown_parameter():
    with pytest.raises(ValueError, match="unknown parameter 'z'"):
        plots.plot_surface(bowl(), params=("x", "z"))


def test_decision_boundary_from_theta_and_from_callable(tmp_path):
    X, y = two_clouds()
    out = tmp_path / "boundary.png"
    fig = plots.plot_decision_boundary([1.0, 1.0, 0.0], X, y, out, feature_names=("a (cm)", "b (kg)"),
                                       class_names=("no", "yes"))
    assert_picture(out, size=(650, 500))
    assert fig.axes[0].get_xlabel() == "a (cm)"
    out2 = tmp_path / "boundary2.png"
    plots.plot_decision_boundary(lambda P: 1 / (1 + np.exp(-(P[:, 0] - P[:, 1]))), X, y, out2)
    assert_picture(out2, size=(650, 500))


def test_decision_boundary_needs_two_features():
    with pytest.raises(ValueError, match="two feature columns"):
        plots.plot_decision_boundary([1.0, 1.0, 0.0], np.ones((4, 3)), np.zeros(4))


def test_importing_neuronlab_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, neuronlab, neuronlab.viz.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loss_curve_with_validation_measured_every_few_steps(tmp_path):
    result = minimize(bowl(), [0.0, 0.0], learning_rate=1e-6, max_steps=30, tol=0)
    out = tmp_path / "loss.png"
    fig = plots.plot_loss(result.history, out, validation_loss={0: 2e6, 10: 1e5, 30: 1e3})
    assert_picture(out, size=(700, 450))
    line = fig.axes[0].get_lines()[1]
    assert list(line.get_xdata()) == [0, 10, 30]


def test_equation_race_has_three_panels(tmp_path):
    obj = bowl()
    results = {
        "monte-carlo": minimize(obj, [0.0, 0.0], strategy="monte_carlo", budget=300, low=-100,
                                high=100, random_state=0),
        "error-driven": minimize(obj, [0.0, 0.0], strategy="error_driven", budget=300),
        "gradient": minimize(obj, [0.0, 0.0], learning_rate=8e-6, max_steps=30, tol=0),
    }
    out = tmp_path / "race.png"
    fig = plots.plot_equation_race(obj, results, out, box=([-100, -100], [100, 100]))
    assert_picture(out, size=(1700, 520))
    race, whole, close = fig.axes[:3]
    assert race.get_yscale() == "log" and race.get_xlabel() == "evaluations of J (calls)"
    assert whole.get_xlim() == (-100.0, 100.0)
    # the close-up frames the paths, not the box
    assert close.get_xlim()[1] - close.get_xlim()[0] < 50
    # |r| = √(2J): the error-driven line ends at the √(2J) of its lowest loss (best so far)
    drawn = {l.get_label().split(" (")[0]: l for l in race.get_lines() if not l.get_label().startswith("_")}
    error_driven = results["error-driven"].history.loss.min()
    assert error_driven > 0
    assert drawn["error-driven"].get_ydata()[-1] == pytest.approx(np.sqrt(2 * error_driven))


def test_an_exact_zero_is_drawn_below_every_positive_value():
    zero = FunctionObjective(lambda t: float(t[0] ** 2), 1)
    runs = {"exact": minimize(zero, [0.0], strategy="error_driven", budget=3).history,
            "close": minimize(zero, [1e-3], strategy="error_driven", budget=3, step=1e-4).history}
    ax = plots.plot_runs(runs).axes[0]
    line = [l for l in ax.get_lines() if l.get_label().startswith("exact")][0]
    assert line.get_label() == "exact (reaches 0 ▼)"
    assert line.get_ydata()[0] == pytest.approx(runs["close"].loss.min() / 10)


def test_surface_grid_uses_many_point_losses_when_offered():
    class Vectorised(FunctionObjective):
        calls = 0

        def __init__(self, fun, n_params):
            super().__init__(fun, n_params)
            self.capabilities |= {MANY_POINTS}  # it says so: a losses method alone is not enough

        def losses(self, theta):
            Vectorised.calls += 1
            return 0.5 * (theta @ np.array([256.0, 212.0]) - 1492) ** 2

    obj = Vectorised(lambda t: 0.5 * (256 * t[0] + 212 * t[1] - 1492) ** 2, 2)
    a, b, J = plots.surface_grid(obj, bounds=((0, 2), (-1, 1)), resolution=7)
    assert Vectorised.calls == 1
    assert J[2, 5] == pytest.approx(0.5 * (256 * a[5] + 212 * b[2] - 1492) ** 2)


def test_mini_batch_loss_curve_draws_each_update_within_its_epoch(tmp_path):
    X, y = two_clouds(n=5)  # 10 rows in batches of 4: updates of 4, 4 and 2 rows per epoch
    obj = NeuronObjective(Neuron(2, "sigmoid"), X, y, loss="log_loss")
    result = minimize(obj, [0.0, 0.0, 0.0], "sgd", batch_size=4, learning_rate=0.5, max_steps=2, tol=0,
                      random_state=0)
    out = tmp_path / "sgd.png"
    fig = plots.plot_loss(result.history, out)
    assert_picture(out, size=(700, 450))
    ax = fig.axes[0]
    batch = next(line for line in ax.get_lines() if line.get_label().startswith("batch loss"))
    # the first update's J_B is measured at the epoch's starting θ, as row 0 is: at x = 0
    np.testing.assert_allclose(batch.get_xdata(), [0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])
    np.testing.assert_allclose(batch.get_ydata(), result.history.updates.loss)
    assert ax.get_xlabel().startswith("epoch")


def test_an_epoch_cut_short_keeps_its_updates_where_they_happened(tmp_path):
    class NaNAtTheFifthBatch(NeuronObjective):
        calls = 0

        def loss_and_grad_batch(self, theta, batch):
            NaNAtTheFifthBatch.calls += 1
            loss, grad = super().loss_and_grad_batch(theta, batch)
            return (np.nan, grad) if NaNAtTheFifthBatch.calls == 5 else (loss, grad)

    X, y = two_clouds(n=5)  # 10 rows in batches of 2: 5 updates per epoch; the 5th one is NaN
    obj = NaNAtTheFifthBatch(Neuron(2, "sigmoid"), X, y, loss="log_loss")
    result = minimize(obj, [0.0, 0.0, 0.0], "sgd", batch_size=2, shuffle=False, learning_rate=0.1, max_steps=2,
                      tol=0)
    fig = plots.plot_loss(result.history)
    batch = next(line for line in fig.axes[0].get_lines() if line.get_label().startswith("batch loss"))
    # epoch 1 stopped at its NaN batch after 4 updates: they stay at 0, 0.2, 0.4, 0.6 of the epoch
    np.testing.assert_allclose(batch.get_xdata()[:4], [0.0, 0.2, 0.4, 0.6])


def test_runs_that_kept_no_path_get_the_race_panel_alone(tmp_path):
    obj = bowl()
    results = {"gradient": minimize(obj, [0.0, 0.0], learning_rate=8e-6, max_steps=5, tol=0,
                                    record_params=False)}
    fig = plots.plot_equation_race(obj, results, tmp_path / "race.png")
    assert_picture(tmp_path / "race.png", size=(700, 450))
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel() == "evaluations of J (calls)"
    with pytest.raises(ValueError, match="record_params=True"):
        plots.plot_surface(obj, paths={"gradient": results["gradient"].history})


def test_class_regions_colour_each_point_by_its_most_probable_class(tmp_path):
    """Three classes whose P(k | x) = softmax(−‖x − cₖ‖²): each pixel is tinted towards the
    colour of the class nearest its point of the plane (argmax computed here, not by the plot)."""
    from matplotlib.colors import to_rgb

    from neuronlab.viz.plots import line_style, plot_class_regions

    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]])

    def proba(P):
        z = -((P[:, None, :] - centres[None]) ** 2).sum(axis=2)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    X = centres[y] + rng.normal(scale=0.6, size=(90, 2))
    fig = plot_class_regions(proba, X, y, tmp_path / "regions.png", class_names=["a", "b", "c"])
    assert_picture(tmp_path / "regions.png")
    image = fig.axes[0].images[0]
    shade = np.asarray(image.get_array())[..., :3].reshape(-1, 3)
    left, right, bottom, top = image.get_extent()
    g0, g1 = np.meshgrid(np.linspace(left, right, 200), np.linspace(bottom, top, 200))
    nearest = ((np.column_stack([g0.ravel(), g1.ravel()])[:, None] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    tint = 1.0 - shade  # how far each pixel is from white, towards its class's colour
    colours = 1.0 - np.array([to_rgb(line_style(j)["color"]) for j in range(3)])
    deep = tint.sum(axis=1) > 0.1  # pixels clearly inside one region (not white at a boundary)
    assert deep.mean() > 0.5
    cosine = (tint[deep] @ colours.T) / (np.linalg.norm(tint[deep], axis=1)[:, None] * np.linalg.norm(colours, axis=1))
    assert (cosine.argmax(axis=1) == nearest[deep]).mean() > 0.999
