"""``neuronlab demo``: the smallest whole story — a neuron learns a data set.

A sigmoid neuron starts from random weights and is trained by gradient descent on
a two-feature data set drawn from the seed; the History of the run is printed.
"""

from __future__ import annotations

import warnings

import numpy as np


def register(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="watch a neuron learn on built-in data",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate η (default 0.5)")
    p.add_argument("--steps", type=int, default=200, help="gradient steps T (default 200)")
    p.set_defaults(run=run)


def two_clouds(n_per_class=100, random_state=0):
    """Two Gaussian clouds in 2-D, classes 0 and 1, overlapping a little."""
    rng = np.random.default_rng(random_state)
    X0 = rng.normal([-1.0, -1.0], 1.0, size=(n_per_class, 2))
    X1 = rng.normal([1.5, 1.0], 1.0, size=(n_per_class, 2))
    return np.vstack([X0, X1]), np.repeat([0, 1], n_per_class)


def run(args) -> int:
    from ..estimators import NeuronClassifier

    X, y = two_clouds(random_state=args.seed)
    model = NeuronClassifier(learning_rate=args.lr, max_steps=args.steps, init="normal",
                             random_state=args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the status line below says how the run ended
        model.fit(X, y)
    h = model.history_
    print("A sigmoid neuron learns two clouds of points (z = w·x + b, ŷ = σ(z), log loss J).")
    print(f"{'step':>6}  {'loss J':>10}  {'‖∇J‖':>10}")
    shown = sorted(set(np.unique(np.geomspace(1, len(h), 12).astype(int) - 1)) | {0, len(h) - 1})
    for t in shown:
        print(f"{t:>6}  {h.loss[t]:>10.6f}  {h.grad_norm[t]:>10.6f}")
    print(f"status: {model.status_} — {model.result_.message}")
    print(f"w = {np.array2string(model.coef_, precision=4)}, b = {model.intercept_:.4f}, "
          f"training accuracy {model.score(X, y):.3f}")
    return 0
