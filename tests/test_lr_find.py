"""The learning-rate range test: its curve, its readings, and its suggestion against a grid."""

import math

import numpy as np
import pytest
from image_checks import assert_picture
from numeric_checks import bowl

from neuronlab import Neuron, NeuronObjective, init_params, minimize
from neuronlab.train.lr_find import LearningRateRangeTest, curvatures, lr_find
from neuronlab.viz.plots import plot_lr_find


def obesity():
    """The built-in obesity set (height ft, weight kg → Obese), standardised as `train` does."""
    from neuronlab.io.tables import Standardizer, load_dataset

    data = load_dataset("obesity")
    return Standardizer().fit_transform(data.X), (data.y == "Obese").astype(float)


def steps_to_reach(objective, theta0, eta, target, max_steps):
    loss = minimize(objective, theta0, learning_rate=eta, max_steps=max_steps, tol=0,
                    divergence_patience=10**9).history.loss
    hit = np.flatnonzero(loss <= target)
    return int(hit[0]) if hit.size else None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suggestion_is_as_good_as_the_best_of_a_grid(seed):
    # the test: used as η for gradient descent on the obesity set, the suggestion
    # reaches a loss within 1 % of the best of a grid over η in no more steps than the
    # best grid value needs × 1.5 (from the starting weights `train --seed` draws)
    X, y = obesity()
    objective = NeuronObjective(Neuron(2, "sigmoid"), X, y, loss="log_loss")
    theta0 = init_params(2, "xavier", seed)
    grid = np.geomspace(1e-2, 1e2, 25)
    losses = {eta: minimize(objective, theta0, learning_rate=eta, max_steps=300, tol=0,
                            divergence_patience=10**9).history.loss for eta in grid}
    best_eta = min(grid, key=lambda eta: np.nanmin(losses[eta]))
    best_loss = np.nanmin(losses[best_eta])
    target = 1.01 * best_loss
    grid_steps = int(np.flatnonzero(losses[best_eta] <= target)[0])
    found = lr_find(objective, theta0)
    steps = steps_to_reach(objective, theta0, found.suggestion, target, math.floor(1.5 * grid_steps))
    assert steps is not None, (
        f"η = {found.suggestion:.3g} did not reach {target:.5g} within 1.5 × {grid_steps} steps "
        f"(best grid η = {best_eta:.3g})"
    )
    assert found.rule == "curvature" and "λ_max" in found.reason


def test_curvature_reading_on_a_quadratic_bowl():
    found = lr_find(bowl([1.0, 4.0]), [1.0, 1.0])
    assert found.curvature == pytest.approx((1.0, 4.0), rel=1e-6)
    assert found.suggestion == pytest.approx(0.9 * 2 / 5, rel=1e-6)  # 0.9 · 2/(λ_max + λ_min)


def test_the_range_test_schedule_and_the_rise_reading():
    # on J = ½·4θ² the loss stops falling once η ≥ 2/4 = 0.5
    test = LearningRateRangeTest(min_lr=1e-3, max_lr=10.0, steps=50)
    np.testing.assert_allclose(test.schedule()[[0, -1]], [1e-3, 10.0])
    assert np.allclose(np.diff(np.log(test.schedule())), math.log(1e4) / 49)
    found = lr_find(bowl([4.0]), [1.0], min_lr=1e-3, max_lr=10.0, steps=40, rule="before_rise")
    # the first step that raised J used η ≥ 0.5; the one before used η < 0.5 (the loss was still falling)
    ratio = (10.0 / 1e-3) ** (1 / 39)
    assert found.before_rise < 0.5 <= found.before_rise * ratio
    # half of it, unless the curvature reading 0.9·2/(λ_max + λ_min) = 0.9·2/8 is smaller
    assert found.suggestion == pytest.approx(min(found.before_rise / 2, 0.9 * 2 / 8))
    assert found.rule == "before_rise"


def test_steepest_reading_is_where_the_curve_falls_fastest():
    found = lr_find(bowl([4.0]), [1.0], min_lr=1e-3, max_lr=10.0, steps=60)
    # the curve in closed form: η_t = 10⁻³·(10⁴)^(t/59), θ ← (1 − 4η_t)·θ, J = 2θ², until J
    # exceeds 4× its lowest value (stop_factor)
    theta, lowest, etas, losses = 1.0, 2.0, [], []
    for t in range(60):
        eta = 1e-3 * 1e4 ** (t / 59)
        theta *= 1 - 4 * eta
        etas.append(eta)
        losses.append(2 * theta**2)
        lowest = min(lowest, losses[-1])
        if losses[-1] > 4 * lowest:
            break
    np.testing.assert_allclose(found.learning_rates, etas, rtol=1e-12)
    np.testing.assert_allclose(found.losses, losses, rtol=1e-9)
    # the steepest fall of J against ln η, up to the lowest point of that curve
    end = int(np.argmin(losses)) + 1
    slopes = np.gradient(losses[:end], np.log(etas[:end]))
    assert slopes.min() < 0
    assert found.steepest == pytest.approx(etas[int(np.argmin(slopes))], rel=1e-12)
    # a reading, not a rule: it lies far below a step that converges within a usual budget
    assert found.rule == "curvature" and found.suggestion > found.steepest
    with pytest.raises(ValueError, match="rule must be one of auto, curvature, before_rise"):
        lr_find(bowl([4.0]), [1.0], rule="steepest")


def test_curvatures_of_a_known_hessian():
    lo, hi = curvatures(bowl([0.5, 2.0, 3.0]), np.array([0.3, -1.0, 2.0]))
    assert (lo, hi) == (pytest.approx(0.5, rel=1e-6), pytest.approx(3.0, rel=1e-6))


def test_a_neurons_curvatures_are_exact_and_wide_ones_are_not_formed_whole(monkeypatch):
    from neuronlab.models import kernel

    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 3)) * [1.0, 2.0, 0.5]
    y = (X[:, 0] + rng.standard_normal(200) > 0).astype(float)
    theta = np.array([0.3, -0.2, 0.1, 0.05])

    class Counting(NeuronObjective):
        formed = 0

        def hessian(self, t):
            Counting.formed += 1
            return super().hessian(t)

    objective = Counting(Neuron(3, "sigmoid"), X, y, "log_loss")
    # ∇²J = X̃ᵀ diag(σ(1 − σ)) X̃ / n, written out
    X_tilde = np.column_stack([X, np.ones(200)])
    sigma = 1 / (1 + np.exp(-(X_tilde @ theta)))
    by_hand = np.linalg.eigvalsh(X_tilde.T @ ((sigma * (1 - sigma))[:, None] * X_tilde) / 200)
    lo, hi = curvatures(objective, theta)
    assert Counting.formed == 1 and (lo, hi) == (pytest.approx(by_hand[0], rel=1e-12),
                                                 pytest.approx(by_hand[-1], rel=1e-12))
    monkeypatch.setattr(kernel, "GRAM_EXACT_UP_TO", 3)  # as if the neuron had thousands of weights
    lo, hi = curvatures(objective, theta)
    assert Counting.formed == 1  # not formed again: central differences of ∇J instead
    assert (lo, hi) == (pytest.approx(by_hand[0], rel=1e-5), pytest.approx(by_hand[-1], rel=1e-5))


@pytest.mark.parametrize("options, message", [
    (dict(min_lr=1.0, max_lr=0.1), "below max_lr"),
    (dict(steps=3), "steps=3 is too few"),
    (dict(rule="best"), "rule must be one of"),
    (dict(min_lr=0), "min_lr must be > 0"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        lr_find(bowl([1.0]), [1.0], **options)


def test_plot(tmp_path):
    found = lr_find(bowl([1.0, 4.0]), [1.0, 1.0])
    out = tmp_path / "lr.png"
    fig = plot_lr_find(found, out)
    assert_picture(out, size=(700, 450))
    assert fig.axes[0].get_xscale() == "log"


def test_cli_prints_the_suggestion_and_draws_the_curve(tmp_path, capsys):
    from neuronlab.apps.cli import main

    out = tmp_path / "lr.png"
    assert main(["lr-find", "obesity", "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    assert "suggested learning rate: η = " in text and "why: " in text
    assert_picture(out, size=(700, 450))


def test_cli_json_and_bad_options(tmp_path, capsys):
    import json

    from neuronlab.apps.cli import main

    assert main(["lr-find", "obesity", "--json", "--rule", "before_rise"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rule"] == "before_rise" and document["steepest_lr"] < document["suggested_learning_rate"]
    assert main(["lr-find", "obesity", "--rule", "steepest"]) == 2
    assert "invalid choice: 'steepest'" in capsys.readouterr().err
    assert main(["lr-find", "obesity", "--min-lr", "10", "--max-lr", "1"]) == 2
    assert "below --max-lr 1" in capsys.readouterr().err
    assert main(["lr-find", "obesity", "--plot", str(tmp_path / "x.gif")]) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data", ["obesity", "diabetes", "linear", "xor", "circles", "moons"])
@pytest.mark.parametrize("rule", ["auto", "before_rise"])
def test_the_suggested_command_trains_when_pasted(data, rule, capsys):
    """What lr-find prints after "try:" is run as it is, and the training it starts converges."""
    import json
    import shlex

    from neuronlab.apps.cli import main

    status = main(["lr-find", data, "--rule", rule])
    if status == 2:  # the loss never rose in the range: no reading to give, and it says so
        error = capsys.readouterr().err
        assert rule == "before_rise" and "never rose" in error and len(error.strip().splitlines()) == 1
        return
    assert status == 0
    command = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("try: "))
    words = shlex.split(command[len("try: "):])
    assert words[:2] == ["neuronlab", "train"]
    assert main(words[1:] + ["--quiet", "--json"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == "converged", (command, outcome["message"])
