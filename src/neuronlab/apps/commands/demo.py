"""``neuronlab demo``: the course's story in four acts, told with numbers and pictures.

Act 1 solves 256x + 212y = 1492 by Monte-Carlo guessing, error-driven correction
and gradient descent, side by side.  Act 2 gives the obesity neuron random weights,
asks it about the course's person (4 ft, 80 kg), then trains it by random search and
by gradient descent on the same budget.  Act 3 trains the same neuron with a learning
rate too small, about right, too large and far too large.  Act 4 shows that one neuron
is not enough — a small network draws the curves a line cannot — and that random
guessing, hopeless already at a few weights, is no way to train many.  A table per act is
printed and DIR/index.html (one self-contained file, figures embedded) shows every
figure with the numbers behind it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _common

EQUATION = "256x + 212y = 1492"
PERSON = (4.0, 80.0)  # the course's person: 4 ft, 80 kg
BUDGET = 200  # evaluations of J for each strategy in act 2
LR_STEPS = 100  # steps of each run in act 3
HIDDEN = 8  # the hidden units of act 4's network
SEARCH_BUDGET = 2000  # evaluations of J for random search and for gradient descent in act 4
SEARCH_BOX = 3.0  # random search draws every weight from U(−3, 3)
NEAR = 0.1  # a guess "lands" when every weight is within 0.1 of the teacher's
EXAMPLES = """examples:
  neuronlab demo
  neuronlab demo --out /tmp/story --seed 3
"""


def register(subparsers):
    p = _common.add_command(subparsers, "demo", "watch the four acts: guess, correct, descend, then layers",
                            __doc__, EXAMPLES)
    p.add_argument("--out", metavar="DIR", default="neuronlab-report",
                   help="folder for index.html and the figures, made if missing; its parent must exist "
                   "(default neuronlab-report)")
    p.add_argument("--seed", type=_common.seed_type, default=0,
                   help="seed of the random guesses and the random starting weights, 0 … 2**32−1 (default 0)")
    p.set_defaults(run=run)


@dataclass
class Act:
    """What an act found: a narrated text, tables, figures (files) and notes."""

    title: str
    story: str
    tables: list = field(default_factory=list)  # (caption, header, rows): printed and in the report
    numbers: list = field(default_factory=list)  # (caption, header, rows) behind the figures: report only
    figures: list = field(default_factory=list)  # (path, caption)
    notes: list = field(default_factory=list)
    pre: str = ""


def _figure(out: Path, name: str, fig, act: Act, caption: str) -> None:
    from ...viz.plots import save_figure

    path = save_figure(fig, out / name)
    act.figures.append((path, caption))


def _checkpoints(histories: dict, x: str, marks, value=None, best_so_far=True) -> tuple:
    """The numbers behind a race figure: each run's (best-so-far) value at the given x marks."""
    header = [x] + list(histories)
    rows = []
    for mark in marks:
        row = [mark]
        for history in histories.values():
            xs = history.evaluations if x == "evaluations" else history.step
            upto = np.flatnonzero(xs <= mark)
            if not upto.size:
                row.append("—")
                continue
            loss = history.loss[: upto[-1] + 1]
            v = float(np.nanmin(loss)) if best_so_far else float(loss[-1])
            row.append(f"{value(v) if value else v:.4g}")
        rows.append(row)
    return header, rows


def _short_label(label: str) -> str:
    """'gradient (η=1e-05)' → 'gradient η=1e-05', 'error-driven (proportional)' → 'error-driven':
    the table stays within 80 columns."""
    label = label.replace(" (proportional)", "").replace(" (auto step)", " (auto)")
    return label.replace("gradient (η=", "gradient η=").rstrip(")") if "η=" in label else label


# --- act 1 -------------------------------------------------------------------------------------------
def act_equation(out: Path, seed: int) -> Act:
    """256x + 212y = 1492 three ways, plus gradient descent with a fixed η beside the automatic step."""
    from ...viz.animation import animate_descent
    from ...viz.plots import abs_residual, plot_equation_race
    from ...train.solving import solve

    report = solve(EQUATION, random_state=seed)
    # the course's gradient descent with a fixed η, next to the automatic (Gauss–Newton) step:
    # λ = 256² + 212² = 110480 is the curvature across the solution line; η = 1/λ_max rounded
    fixed = solve(EQUATION, method="gradient", learning_rate=1e-5, random_state=seed)
    report.runs.extend(fixed.runs)
    act = Act(
        "Act 1 — 256x + 212y = 1492: guess, correct, descend",
        "A person guesses x and y at random (Monte-Carlo), then corrects them from the sign and size "
        "of the error (error-driven), then follows the gradient of J = ½(LHS − RHS)² "
        "(gradient descent). Same start (0, 0), same tolerance |LHS − RHS| ≤ 1e-6.",
    )
    rows = []
    for run in report.runs:
        x, y = run.result.theta
        rows.append([_short_label(run.label), run.result.n_evals, f"{x:.6g}", f"{y:.6g}", f"{run.residual_norm:.3g}",
                     run.status])
        act.notes.append(f"{run.label}: {run.note}")
    act.tables.append(("256x + 212y = 1492", ["method", "evaluations", "x", "y", "|LHS − RHS|", "status"],
                       rows))
    act.notes.append(report.solutions)
    header, rows = _checkpoints({_short_label(r.label): r.result.history for r in report.runs}, "evaluations",
                                (1, 2, 10, 100, 1000, 10000), value=abs_residual)
    act.numbers.append(("|LHS − RHS| (best so far) after so many evaluations", header, rows))
    _figure(out, "act1-race.png",
            plot_equation_race(report.objective, {r.label: r.result for r in report.runs},
                               box=(report.low, report.high), title=EQUATION), act,
            "Left: the error |LHS − RHS| against evaluations of J (log scales; best so far). "
            "Middle: J over the search box, the random guesses as dots and the paths of the other "
            "methods. Right: the paths close up; start ■, end ★.")
    gif = out / "act1-descent.gif"
    animate_descent(report.objective, fixed.runs[0].result.history, gif,
                    title="Gradient descent, η = 1e-5")
    act.figures.append((gif, "Gradient descent with η = 1e-5 on J = ½(256x + 212y − 1492)²: "
                             "the point descends across the valley to the line of solutions."))
    return act


# --- the obesity neuron ---------------------------------------------------------------------------------
@dataclass
class ObesityProblem:
    X: np.ndarray  # raw features: height (ft), weight (kg)
    y: np.ndarray  # 1 = Obese
    scaler: object
    objective: object
    theta0: np.ndarray
    person: np.ndarray  # the course's person, standardised

    def predict(self, theta, X_raw):
        """ŷ for raw (height, weight) rows: the neuron's own forward pass on standardised x′."""
        return self.objective.model.forward(theta, self.scaler.transform(np.atleast_2d(X_raw)))[1]

    def accuracy(self, theta) -> float:
        from ...estimators.metrics import accuracy

        return accuracy(self.y == 1, self.predict(theta, self.X) >= 0.5)


def obesity_problem(seed: int) -> ObesityProblem:
    from ...core.validation import check_random_state
    from ...estimators.neuron import NeuronClassifier
    from ...io.tables import Standardizer, load_dataset
    from ...models.neuron import Neuron
    from ...objectives.neuron import NeuronObjective

    data = load_dataset("obesity")
    y = (data.y == "Obese").astype(float)
    scaler = Standardizer().fit(data.X)
    objective = NeuronObjective(Neuron(2, "sigmoid"), scaler.transform(data.X), y, loss="log_loss")
    # the random weights `neuronlab train obesity --seed SEED` starts from, drawn the way its fit draws them
    theta0 = NeuronClassifier(random_state=seed).initial_theta(2, check_random_state(seed))
    return ObesityProblem(data.X, y, scaler, objective, theta0, scaler.transform([PERSON])[0])


def act_obesity(out: Path, seed: int, problem: ObesityProblem, learning_rate: float) -> Act:
    from ...viz.plots import new_figure, plot_decision_boundary, plot_runs, plot_surface
    from ...train.descent import GradientDescent
    from ...train.search import MonteCarloSearch

    theta0 = problem.theta0
    first = float(problem.predict(theta0, PERSON)[0])
    verdict = ("lucky: ŷ ≥ ½ means Obese, which is right" if first >= 0.5
               else "unlucky: ŷ < ½ means Not Obese, which is wrong")
    act = Act(
        "Act 2 — the obesity neuron: random weights, then learning",
        f"A sigmoid neuron ŷ = σ(w₁·height′ + w₂·weight′ + b) (features standardised, x′ = (x − μ)/σ) "
        f"starts from random weights w₁ = {theta0[0]:.3f}, w₂ = {theta0[1]:.3f}, b = {theta0[2]:.3f} (those "
        f"`neuronlab train obesity --seed {seed}` starts from). "
        f"Asked about the course's person (4 ft, 80 kg, BMI 53.8, Obese) it answers ŷ = {first:.3f} — "
        f"{verdict}. Then it learns from the {len(problem.y)} people of the obesity set, by random search "
        f"and by gradient descent (η = {learning_rate:.3g}, from lr-find), each with {BUDGET} evaluations of J.",
    )
    random_search = MonteCarloSearch(low=-10, high=10, budget=BUDGET, random_state=seed).minimize(
        problem.objective, theta0)
    gradient = GradientDescent(learning_rate=learning_rate, max_steps=BUDGET - 1, tol=0).minimize(
        problem.objective, theta0)
    # each set of weights: (θ, evaluations of J spent, J(θ) as the runs recorded it)
    weights = {"random weights": (theta0, 1, gradient.history.loss[0]),
               "random search": (random_search.theta, random_search.n_evals, random_search.loss),
               "gradient descent": (gradient.theta, gradient.n_evals, gradient.loss)}
    rows = []
    for label, (theta, evals, loss) in weights.items():
        p = float(problem.predict(theta, PERSON)[0])
        rows.append([label, evals, f"{loss:.4f}", f"{problem.accuracy(theta):.3f}", f"{p:.3f}",
                     "Obese" if p >= 0.5 else "Not Obese"])
    act.tables.append((f"Obesity neuron, {BUDGET} evaluations each",
                       ["weights", "evaluations", "loss J", "accuracy", "ŷ(person)", "says"], rows))
    act.notes.append(
        f"random search: its best of {BUDGET} guesses has J = {random_search.loss:.4f}; every guess is "
        "drawn without looking at the ones before."
    )
    act.notes.append(
        f"gradient descent: J = {gradient.loss:.4f} with ‖∇J‖ = {gradient.history.grad_norm[-1]:.2g} after "
        f"{gradient.n_steps} steps; each step uses ∇J at the point it stands on."
    )
    histories = {"gradient descent": gradient.history, "random search": random_search.history}
    header, rows = _checkpoints(histories, "evaluations", (1, 5, 10, 50, 100, BUDGET))
    act.numbers.append(("loss J (best so far) after so many evaluations", header, rows))
    _figure(out, "act2-race.png",
            plot_runs(histories, x="evaluations", best_so_far=True, log_x=True,
                      ylabel="loss J (best so far, log scale)",
                      title=f"Random search against gradient descent ({BUDGET} evaluations)"),
            act, "The loss J (best so far) against evaluations of J, for the same budget.")
    fig, axes = new_figure(17.0, 5.0, ncols=3)
    for ax, (label, (theta, _, _)) in zip(axes, weights.items()):
        plot_decision_boundary(lambda P, theta=theta: problem.predict(theta, P), problem.X, problem.y, ax=ax,
                               feature_names=("height (ft)", "weight (kg)"),
                               class_names=("Not Obese", "Obese"), title=label)
        ax.plot(*PERSON, marker="*", markersize=16, color="gold", markeredgecolor="black",
                linestyle="none", label="the course's person")
        ax.legend(fontsize="x-small", loc="upper left")
    fig.suptitle("Decision boundary ŷ = ½ over the 401 people (★: 4 ft, 80 kg)")
    _figure(out, "act2-boundaries.png", fig, act,
            "What each set of weights says about every height and weight: grey is the "
            "probability of Obese, the dashed line ŷ = ½.")
    _figure(out, "act2-surface.png",
            plot_surface(problem.objective, paths={"gradient descent": gradient.history},
                         params=("w1", "w2"), title="J over (w₁, w₂), b held at its final value",
                         units="per standard deviation"),
            act, "The loss surface over the two weights and the path gradient descent took.")
    return act


# --- act 3 -------------------------------------------------------------------------------------------------
VERDICTS = {
    "diverges": "J leaps far above where it started and never comes back: each step throws the "
                "weights further across the valley",
    "oscillates": "J goes up and down and settles nowhere: each step overshoots the bottom",
    "converges": "J falls to the lowest value any run found and stays there",
    "crawls": "J is still falling, far from the bottom: the steps are too short",
}


def learning_rates(eta: float) -> dict:
    """Act 3's four learning rates around the range test's suggestion η: ÷100, ×1, ×4 (past
    the edge 2/λ_max: oscillation), ×300 (far past it: the weights are thrown further at
    every step)."""
    return {"too small": eta / 100, "about right": eta, "too large": 4 * eta, "far too large": 300 * eta}


def fixed_rate_run(learning_rate: float, steps: int = LR_STEPS):
    """Act 3's strategy: ``steps`` plain gradient steps with this η, none cut short (no
    tolerance, and the divergence guard never stops it: the curve shows what η does)."""
    from ...train.descent import GradientDescent

    return GradientDescent(learning_rate=learning_rate, max_steps=steps, tol=0,
                           divergence_patience=steps + 1)


def verdict_of(history, best_loss) -> str:
    """What a fixed-η run did, read off its loss curve (a key of VERDICTS)."""
    loss = history.loss
    finite = loss[np.isfinite(loss)]
    if finite.size < len(loss) or finite[-1] > 2 * loss[0]:
        return "diverges"
    rises = float(np.mean(np.diff(finite) > 0)) if finite.size > 1 else 0.0
    if rises >= 0.2:
        return "oscillates"
    if finite[-1] <= 1.01 * best_loss:
        return "converges"
    return "crawls"


def act_learning_rates(out: Path, problem: ObesityProblem, found) -> Act:
    from ...viz.animation import animate_descent
    from ...viz.explain import explain
    from ...viz.plots import plot_lr_find
    from ...viz.plots import plot_runs, plot_surface

    eta = found.suggestion
    rates = learning_rates(eta)
    results = {name: fixed_rate_run(lr).minimize(problem.objective, problem.theta0)
               for name, lr in rates.items()}
    best = min(r.loss for r in results.values())  # a Result's loss is the lowest J of its run
    act = Act(
        "Act 3 — the learning rate η: too small, about right, too large",
        f"The same neuron from the same random weights, {LR_STEPS} gradient steps each, "
        f"θ ← θ − η·∇J(θ). The range test (lr-find) suggested η = {eta:.3g}: {found.reason}.",
    )
    rows = []
    for name, result in results.items():
        loss = result.history.loss
        verdict = verdict_of(result.history, best)
        rows.append([name, f"{rates[name]:.3g}", f"{loss[0]:.4f}", f"{loss[-1]:.4g}",
                     f"{result.loss:.4f}", verdict])
        act.notes.append(f"η {name} ({rates[name]:.3g}) {verdict}: {VERDICTS[verdict]}")
    act.tables.append((f"Same neuron, {LR_STEPS} steps each",
                       ["η", "value", "J at 0", f"J at {LR_STEPS}", "lowest J", "what happens"], rows))
    labelled = {f"{name} (η = {rates[name]:.3g})": r.history for name, r in results.items()}
    header, rows = _checkpoints({name: r.history for name, r in results.items()}, "step",
                                range(0, LR_STEPS + 1, 10), best_so_far=False)
    act.numbers.append(("loss J at every 10th step", header, rows))
    _figure(out, "act3-learning-rates.png",
            plot_runs(labelled, x="step", title="The same neuron, four learning rates"), act,
            "J against steps for each η (log scale).")
    _figure(out, "act3-paths.png",
            plot_surface(problem.objective, paths={k: v for k, v in list(labelled.items())[:3]},
                         params=("w1", "w2"), theta=results["about right"].theta,
                         title="The paths over J(w₁, w₂), b at its best value",
                         units="per standard deviation"),
            act, "Too small crawls, about right walks down, too large zig-zags across the valley "
                 "(far too large leaves the picture).")
    _figure(out, "act3-lr-find.png", plot_lr_find(found, title="Learning-rate range test"), act,
            "The range test: η grows ×1.18 per step while the loss is recorded.")
    gif = out / "act3-descent.gif"
    animate_descent(problem.objective, results["about right"].history, gif, params=("w1", "w2"),
                    title=f"η = {eta:.3g} over (w₁, w₂)")
    act.figures.append((gif, "The about-right run: the point descending J(w₁, w₂), the loss beside it."))
    act.pre = explain(problem.objective, results["about right"], first=1, rows=1, every=10).text()
    return act


# --- act 4 -------------------------------------------------------------------------------------------------
def act_networks(out: Path, seed: int) -> Act:
    """The neuron and a network of one hidden layer on xor and circles; then random search against
    gradient descent as the number of weights grows."""
    import warnings

    from ...estimators.network import NetworkClassifier
    from ...estimators.neuron import NeuronClassifier
    from ...io.tables import load_dataset, split_rows
    from ...viz.plots import new_figure, plot_decision_boundary, plot_hidden_units

    act = Act(
        "Act 4 — one neuron is not enough",
        f"One neuron draws a straight boundary. On xor and circles no line separates the classes; a "
        f"network with one hidden layer of {HIDDEN} tanh neurons, trained by the same gradient descent "
        f"(L-BFGS here) with the chain rule carried back through the layer, bends it. Each is trained on "
        f"70 % of the points and scored on the other 30 %.",
    )
    rows, fitted = [], {}
    for name in ("xor", "circles"):
        data = load_dataset(name)
        train, test = split_rows(data.n_rows, 0.3, seed, stratify=data.y)
        models = {"one neuron": NeuronClassifier(solver="lbfgs", max_steps=500, random_state=seed),
                  f"network 2 → {HIDDEN} → 1": NetworkClassifier((HIDDEN,), solver="lbfgs", max_iter=500,
                                                                  batch_size=None, random_state=seed)}
        for label, model in models.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the table says how each run ended
                model.fit(data.X[train], data.y[train])
            n_weights = model.theta_.size if hasattr(model, "theta_") else model.coef_.size + 1
            rows.append([name, label, n_weights, f"{model.score(data.X[train], data.y[train]):.3f}",
                         f"{model.score(data.X[test], data.y[test]):.3f}", model.status_])
            fitted[(name, label)] = (model, data, train)
    act.tables.append(("The neuron against a network (accuracy)",
                       ["data", "model", "weights", "train", "test", "status"], rows))
    fig, grid = new_figure(13.0, 10.0, ncols=2, nrows=2)
    for ax, ((name, label), (model, data, train)) in zip(grid.ravel(), fitted.items()):
        plot_decision_boundary(lambda P, model=model: model.predict_proba(P)[:, 1], data.X[train],
                               data.y[train], ax=ax, feature_names=data.feature_names,
                               title=f"{name}: {label}")
    _figure(out, "act4-boundaries.png", fig, act,
            "The boundary ŷ = ½ of one neuron (a line) and of the network (a curve), over the training points.")
    network, data, train = fitted[("circles", f"network 2 → {HIDDEN} → 1")]
    _figure(out, "act4-units.png",
            plot_hidden_units(lambda P: network.network_.forward_pass(network.theta_, P).inputs[1],
                              data.X[train], feature_names=data.feature_names,
                              title="circles: what each hidden unit computes (its own straight boundary)"),
            act, "Each hidden unit is a neuron with its own straight boundary; the output neuron adds "
                 "them up into the curve.")
    act.tables.append(_search_against_descent(seed, act))
    return act


def _loss_shown(loss: float) -> str:
    """J to 3 digits; below 1e-12 the digits are rounding noise of the machine, so only the bound."""
    return f"{loss:.3g}" if loss >= 1e-12 else "< 1e-12"


def _search_against_descent(seed: int, act: Act) -> tuple:
    """Random search and gradient descent, the same budget of evaluations of J, on networks that
    must learn what a teacher network of the same shape computes, as the weights grow in number."""
    from ...models.network import Network
    from ...objectives.network import NetworkObjective
    from ...train.registry import minimize

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 10))
    rows = []
    # (inputs, hidden layer) giving P = 2, 9, 97 and 997 weights
    for n_inputs, hidden in ((1, ()), (2, (2,)), (10, (8,)), (10, (83,))):
        net = Network(n_inputs, hidden, "tanh", n_outputs=1, output="identity")
        inputs = X[:, :n_inputs]
        teacher = net.init_params("uniform", rng)  # every weight in U(−1, 1): inside the search box
        y = net.forward(teacher, inputs)[1][:, 0]
        objective = NetworkObjective(net, inputs, y, "squared_error")
        start = net.init_params("xavier", rng)
        search = minimize(objective, start, "monte_carlo", low=-SEARCH_BOX, high=SEARCH_BOX,
                          budget=SEARCH_BUDGET, random_state=seed)
        # one evaluation of J and ∇J a step: the same budget
        descent = minimize(objective, start, "adam", learning_rate=0.05, max_steps=SEARCH_BUDGET - 1, tol=0)
        # the chance that one uniform guess puts every weight within NEAR of the teacher's:
        # p = (2·NEAR / (2·SEARCH_BOX))^P, so 1/p guesses on average (geometric), as in act 1
        log10_guesses = net.n_params * np.log10(SEARCH_BOX / NEAR)
        rows.append([net.n_params, f"{objective.loss(start):.3g}", _loss_shown(search.loss),
                     _loss_shown(descent.loss), f"10^{log10_guesses:.0f}"])
    act.notes.append(
        f"random search against gradient descent: a student network learns what a teacher of the same "
        f"shape computes (200 points, squared error), {SEARCH_BUDGET} evaluations of J each. A guess that "
        f"lands every weight within {NEAR} of the teacher's has chance ({NEAR}/{SEARCH_BOX:g})^P: the "
        "expected number of guesses grows as 30^P, while one gradient step moves all P weights at once.")
    return (f"Random search against gradient descent, {SEARCH_BUDGET} evaluations of J each",
            ["weights P", "J at start", "random search", "gradient descent", "guesses expected"], rows)


# --- the command ---------------------------------------------------------------------------------------------
def _print_act(act: Act) -> None:
    print(f"\n{act.title}\n{act.story}")
    for caption, header, rows in act.tables:
        _common.print_table(caption, header, rows)
    for note in act.notes:
        print(f"  · {note}")


def write_report(out: Path, acts, seconds: float, seed: int) -> Path:
    from ...viz.report import Report

    report = Report("neuronlab demo: how a neuron learns",
                    f"Four acts of the course, run with --seed {seed} in {seconds:.1f} s. "
                    "Every figure is drawn from the runs' recorded histories.")
    for act in acts:
        section = report.section(act.title, act.story)
        for caption, header, rows in act.tables + act.numbers:
            section.table(header, rows, caption)
        for note in act.notes:
            section.paragraph(note)
        for path, caption in act.figures:
            section.figure(path, caption)
        if act.pre:
            section.paragraph("The first gradient step of the about-right run, written out "
                              "(features standardised):")
            section.pre(act.pre)
    return report.write(out / "index.html")


def run(args) -> int:
    from ...train.lr_find import lr_find

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file; give a folder for the report")
    # only the report folder itself is made: a missing parent is more likely a typo than a wish
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"--out {out}: the folder {parent} does not exist; create it first or choose another")
    out.mkdir(exist_ok=True)
    started = time.perf_counter()
    print("neuronlab demo — how a neuron learns: z = w·x + b, ŷ = f(z), θ ← θ − η·∇J(θ)")
    acts = [act_equation(out, args.seed)]
    _print_act(acts[0])
    problem = obesity_problem(args.seed)
    found = lr_find(problem.objective, problem.theta0)
    act2 = act_obesity(out, args.seed, problem, found.suggestion)
    _print_act(act2)
    acts.append(act2)
    acts.append(act_learning_rates(out, problem, found))
    _print_act(acts[2])
    acts.append(act_networks(out, args.seed))
    _print_act(acts[3])
    seconds = time.perf_counter() - started
    index = write_report(out, acts, seconds, args.seed)
    print(f"\nreport: {index} ({sum(len(a.figures) for a in acts)} figures, {seconds:.1f} s); "
          "open it in a browser, it needs no network")
    return 0
