"""Gradient descent written out, step by step, with the numbers substituted.

For a neuron on a data set (θ = (w₁, …, wₙ, b)), each of the first steps reads

    z = w·x + b,   ŷ = f(z),   L(ŷ, y)                 (for the first rows, one by one)
    J = (1/n)·Σ L                                      (the loss over all n rows)
    ∂J/∂wᵢ = (1/n)·Σ δ·xᵢ,  ∂J/∂b = (1/n)·Σ δ,  δ = ∂L/∂ŷ·f′(z)   (the chain rule)
    wᵢ ← wᵢ − η·∂J/∂wᵢ                                 (the update)

for a network (θ = every layer's W_l and b_l), the forward pass layer by layer, then the
chain rule carried back — δ_L = ∂L/∂z_L, δ_{l−1} = (δ_l·W_lᵀ) ⊙ f′(z_{l−1}), ∂L/∂W_l =
a_{l−1}ᵀ·δ_l — with every number of the first row; and for an equation LHS = RHS solved by
gradient descent (θ = the unknowns)

    r = LHS − RHS,   J = ½r²,   ∂J/∂x = r·∂r/∂x,   x ← x − η·∂J/∂x.

Any other objective gets J, each ∂J/∂θᵢ and the update.  After the first steps,
every N-th step is one row of a table.  The numbers come from the run's History
(θ_t as the strategy recorded it) and from the objective evaluated at those θ_t;
nothing is trained again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..train.history import Result
from ..objectives.base import RESIDUALS
from ..objectives.equation import EquationObjective
from ..objectives.network import NetworkObjective
from ..objectives.neuron import NeuronObjective

__all__ = ["Explanation", "ExplainedStep", "explain", "explain_step", "format_number", "pretty_name"]


def format_number(value: float, digits: int = 4) -> str:
    """A number as the course writes it: 4 significant digits and a true minus sign."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}·10^{int(exponent)}"
    return text.replace("-", "−")


def _term(value: float) -> str:
    """A number substituted after an operator: negative numbers in parentheses."""
    text = format_number(value)
    return f"({text})" if text.startswith("−") else text


@dataclass
class ExplainedStep:
    """The numbers of one written-out step t → t+1 and its lines of text."""

    step: int
    theta: np.ndarray
    loss: float
    gradient: np.ndarray
    learning_rate: float
    theta_next: np.ndarray
    lines: list[str] = field(default_factory=list)


@dataclass
class Explanation:
    """First steps written out, then a table of every ``every``-th step."""

    param_names: list[str]
    steps: list[ExplainedStep]
    table_every: int
    table: list[tuple]  # (step, J, ‖∇J‖, θ…)
    summary: str

    def text(self) -> str:
        out = []
        for s in self.steps:
            out.extend(s.lines)
            out.append("")
        if self.table:
            out.append("Every step:" if self.table_every == 1 else f"Every {self.table_every} steps:")
            header = ["step", "J", "‖∇J‖"] + list(self.param_names)
            rows = [[str(r[0])] + [format_number(v) for v in r[1:]] for r in self.table]
            widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(header)]
            out.append("  ".join(h.rjust(w) for h, w in zip(header, widths)))
            out.extend("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows)
            out.append("")
        out.append(self.summary)
        return "\n".join(out)

    def __str__(self) -> str:
        return self.text()


def explain(objective, result: Result, *, first: int = 1, every: Optional[int] = None,
            rows: int = 2) -> Explanation:
    """Write out the first ``first`` steps of a gradient-descent ``result`` on ``objective``.

    ``rows`` is how many data rows of a neuron objective are written out one by one
    (the totals always use every row).  ``every`` (default: about ten table rows)
    picks the steps shown in the table after them.
    """
    history = result.history
    if not history.record_params:
        raise ValueError("explain needs θ_t of every step: run the strategy with record_params=True")
    if len(history.updates.row):
        raise ValueError(
            "explain writes out full-batch steps θ ← θ − η·∇J; each row of this run is an epoch of "
            "mini-batch updates (train without a batch size, e.g. --batch-size all, to see them)"
        )
    for name, value in (("first", first), ("rows", rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0, got {value!r}")
    n_steps = len(history) - 1
    if every is None:
        every = max(1, math.ceil(n_steps / 10))
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a whole number ≥ 1, got {every!r}")
    names = [pretty_name(n) for n in objective.param_names]
    params = history.params
    steps = [_explained_step(objective, history, result.strategy, t, names, rows)
             for t in range(min(first, n_steps))]
    table_steps = list(range(0, n_steps + 1, every))
    if table_steps[-1] != n_steps:
        table_steps.append(n_steps)
    table = [(t, float(history.loss[t]), float(history.grad_norm[t]), *map(float, params[t]))
             for t in table_steps]
    summary = (f"{n_steps} step{'s' if n_steps != 1 else ''}: J went from {format_number(history.loss[0])} to "
               f"{format_number(history.loss[-1])} ({result.status}: {result.message})")
    return Explanation(names, steps, every, table, summary)


def explain_step(objective, history, strategy: str, t: int, *, rows: int = 2, params=None) -> ExplainedStep:
    """Step t → t+1 of a run written out, as :func:`explain` writes its first steps: the same
    lines with the same numbers, for any step of a run that may still be going on (the
    playground's "explain this step").  ``history`` must hold θ_t and θ_{t+1}, or — for a run
    too large to keep θ of every step — the caller gives them as ``params`` = (θ_t, θ_{t+1});
    ``strategy`` is the run's strategy name."""
    if params is None and not history.record_params:
        raise ValueError("explain needs θ_t of every step: run the strategy with record_params=True")
    if len(history.updates.row):
        raise ValueError(
            "explain writes out full-batch steps θ ← θ − η·∇J; each row of this run is an epoch of "
            "mini-batch updates (train without a batch size, e.g. --batch-size all, to see them)"
        )
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < len(history) - 1:
        raise ValueError(f"step must be a whole number from 0 to {len(history) - 2} (the steps made), got {t!r}")
    names = [pretty_name(n) for n in objective.param_names]
    return _explained_step(objective, history, strategy, t, names, rows, params)


def _explained_step(objective, history, strategy, t, names, rows, params=None) -> ExplainedStep:
    theta, theta_next = (history.params[t], history.params[t + 1]) if params is None else map(np.asarray, params)
    loss, grad = objective.loss_and_grad(theta)
    grad = np.asarray(grad, dtype=np.float64)
    eta, automatic = _step_size(history, strategy, t, theta, theta_next, grad)
    step = ExplainedStep(t, theta.copy(), float(loss), grad, eta, theta_next.copy())
    step.lines.append(f"Step {t} → {t + 1}, at " + ", ".join(
        f"{n} = {format_number(v)}" for n, v in zip(names, theta)))
    if isinstance(objective, NeuronObjective):
        step.lines.extend(_neuron_lines(objective, theta, step.loss, step.gradient, rows, names))
    elif isinstance(objective, NetworkObjective):
        step.lines.extend(_network_lines(objective, theta, step.loss, step.gradient, rows, names))
    elif objective.offers(RESIDUALS):
        step.lines.extend(_equation_lines(objective, theta, step.loss, step.gradient, names))
    else:
        step.lines.append(f"  J(θ) = {format_number(step.loss)}")
        step.lines.extend(f"  ∂J/∂{n} = {format_number(g)}" for n, g in zip(names, step.gradient))
    step.lines.append(f"  update with η = {format_number(eta)}"
                      + (f" (the automatic step of {strategy}: η = ‖Δθ‖/‖∇J‖, "
                         "its step lies along −∇J)" if automatic else "") + ":")
    for n, v, g, v_next in zip(names, theta, step.gradient, theta_next):
        step.lines.append(
            f"    {n} ← {n} − η·∂J/∂{n} = {format_number(v)} − {format_number(eta)}·{_term(g)}"
            f" = {format_number(v_next)}"
        )
    return step


def _step_size(history, strategy, t, theta, theta_next, grad) -> tuple[float, bool]:
    """η of step t: the recorded learning rate of gradient descent, or — for a strategy whose
    step happens to lie along −∇J (Gauss–Newton on one equation) — ‖Δθ‖/‖∇J‖."""
    if strategy == "gradient_descent":
        eta = float(history.learning_rate[t + 1])
        if not np.allclose(theta_next, theta - eta * grad, rtol=1e-7, atol=1e-12):
            raise ValueError(
                "the objective given to explain is not the one this run minimised: θ_{t+1} ≠ "
                "θ_t − η·∇J(θ_t); pass the same objective (data, loss, penalty)"
            )
        return eta, False
    delta = theta - theta_next
    gg = float(grad @ grad)
    if gg > 0:
        eta = float(delta @ grad) / gg
        if eta > 0 and np.allclose(delta, eta * grad, rtol=1e-9, atol=1e-12 * np.abs(delta).max()):
            return eta, True
    raise ValueError(
        f"explain writes out steps θ ← θ − η·∇J; step {t} of this {strategy!r} run does not "
        "follow −∇J (run it with gradient descent, e.g. --lr 0.001, to see the steps written out)"
    )


def _neuron_lines(objective, theta, loss, grad, rows, names):
    """z, ŷ, L and δ for the first ``rows`` data rows, then J and ∂J/∂θᵢ over all rows."""
    n = objective.n_samples
    X, y = objective.source.head(rows)
    model, L = objective.model, objective.loss_fn
    f = model.activation
    w, b = model.weights(theta), float(model.bias(theta))
    z, y_hat = model.forward(theta, X)
    per_row = L.value(y_hat, y)
    deltas = L.derivative(y_hat, y) * f.derivative(z, y_hat)
    weighted = objective.weighted
    lines = [f"  f: {f.formula};  loss: {L.formula};  {n} rows"]
    for k, x in enumerate(X):
        products = " + ".join(f"{_term(wi)}·{_term(xi)}" for wi, xi in zip(w, x))
        lines += [
            f"  row {k + 1}: x = ({', '.join(format_number(v) for v in x)}), y = {format_number(y[k])}",
            f"    z = w·x + b = {products} + {_term(b)} = {format_number(z[k])}",
            f"    ŷ = f(z) = {format_number(y_hat[k])}",
            f"    L(ŷ, y) = {format_number(per_row[k])}",
            f"    δ = ∂L/∂ŷ·f′(z) = {format_number(deltas[k])}",
        ]
    if n > rows:
        lines.append(f"  … and the same for the other {n - rows} rows")
    mean = "Σ s·L / Σ s" if weighted else "(1/n)·Σ L"
    mean_delta = "Σ s·δ·{x} / Σ s" if weighted else "(1/n)·Σ δ·{x}"
    penalty = " + penalty" if objective.alpha else ""
    lines.append(f"  J = {mean}{penalty} = {format_number(loss)}")
    for i, (name, g) in enumerate(zip(names, grad)):
        if i < len(names) - 1:
            formula = mean_delta.format(x=f"x{_subscript(i + 1)}") + penalty
        else:
            formula = ("Σ s·δ / Σ s" if weighted else "(1/n)·Σ δ")
        lines.append(f"  ∂J/∂{name} = {formula} = {format_number(g)}")
    return lines


def _vector(values) -> str:
    return "(" + ", ".join(format_number(v) for v in np.ravel(values)) + ")"


def _matrix(values) -> str:
    return "[" + "; ".join(_vector(row) for row in np.atleast_2d(values)) + "]"


def _network_lines(objective, theta, loss, grad, rows, names):
    """Backpropagation written out for the first ``rows`` data rows — every z, a, δ and ∂L/∂W —
    then J and each ∂J/∂θᵢ over all rows (the mean of the rows' ∂L/∂θᵢ, plus the penalty's)."""
    network, L = objective.model, objective.loss_fn
    n = objective.n_samples
    X, y = objective.source.head(rows)
    trace = network.forward_pass(theta, X)
    losses, delta = objective.output_loss(trace.z[-1], y)
    hidden = ", ".join(f.name for f in network.activations) or "none"
    lines = [f"  {network!r}; hidden f: {hidden}; loss: {L.formula}; {n} rows"]
    for k in range(X.shape[0]):
        lines.append(f"  row {k + 1}: x = {_vector(X[k])}, y = {format_number(np.ravel(y[k])[0]) if np.size(y[k]) == 1 else _vector(y[k])}")
        lines.append("    forward, layer by layer:")
        for l in range(1, network.n_layers + 1):
            W, b = network.layer(theta, l)
            a_in = trace.inputs[l - 1][k]
            z = trace.z[l - 1][k]
            f = network.output if l == network.n_layers else network.activations[l - 1].name
            a_out = trace.output[k] if l == network.n_layers else trace.inputs[l][k]
            lines.append(f"      z{_subscript(l)} = a{_subscript(l - 1)}·W{_subscript(l)} + b{_subscript(l)} = "
                         f"{_vector(a_in)}·{_matrix(W)} + {_vector(b)} = {_vector(z)}")
            lines.append(f"      a{_subscript(l)} = {f}(z{_subscript(l)}) = {_vector(a_out)}"
                         + ("  (= ŷ)" if l == network.n_layers else ""))
        lines.append(f"    L = {format_number(losses[k])}")
        lines.append("    backward, last layer first (the chain rule):")
        d = delta[k]
        last = network.n_layers
        lines.append(f"      δ{_subscript(last)} = ∂L/∂z{_subscript(last)} = {_vector(d)}")
        for l in range(last, 0, -1):
            W, _ = network.layer(theta, l)
            a_in = trace.inputs[l - 1][k]
            lines.append(f"      ∂L/∂W{_subscript(l)} = a{_subscript(l - 1)}ᵀ·δ{_subscript(l)} = "
                         f"{_matrix(np.outer(a_in, d))},  ∂L/∂b{_subscript(l)} = δ{_subscript(l)} = {_vector(d)}")
            if l > 1:
                f = network.activations[l - 2]
                z_prev, a_prev = trace.z[l - 2][k], trace.inputs[l - 1][k]
                back = d @ W.T
                slope = f.derivative(z_prev, a_prev)
                d = back * slope
                lines.append(f"      δ{_subscript(l - 1)} = (δ{_subscript(l)}·W{_subscript(l)}ᵀ) ⊙ {f.name}′(z{_subscript(l - 1)}) "
                             f"= {_vector(back)} ⊙ {_vector(slope)} = {_vector(d)}")
    if n > X.shape[0]:
        lines.append(f"  … and the same for the other {n - X.shape[0]} rows")
    weighted = objective.weighted
    penalty = " + penalty" if objective.alpha else ""
    lines.append(f"  J = {'Σ s·L / Σ s' if weighted else '(1/n)·Σ L'}{penalty} = {format_number(loss)}")
    mean = "Σ s·∂L/∂{p} / Σ s" if weighted else "(1/n)·Σ ∂L/∂{p}"
    for name, g in zip(names, grad):
        extra = penalty if name.startswith("W") else ""
        lines.append(f"  ∂J/∂{name} = {mean.format(p=name)}{extra} = {format_number(g)}")
    return lines


def _equation_lines(objective, theta, loss, grad, names):
    """r = LHS − RHS, J = ½r², ∂J/∂x = r·∂r/∂x for an equation objective (its own r and
    Jacobian ∂r/∂x, the numbers its ∇J = Dᵀr was made of)."""
    r, jacobian = objective.residuals_and_jacobian(theta)
    lines = []
    if isinstance(objective, EquationObjective):
        lines.append(f"  equation: {'; '.join(e.text or str(e) for e in objective.equations)}")
    if r.size != 1:
        lines.append("  r = LHS − RHS for each equation: "
                     + ", ".join(format_number(v) for v in r))
        lines.append(f"  J = ½·Σ r² = {format_number(loss)}")
        lines.extend(f"  ∂J/∂{n} = Σ r·∂r/∂{n} = {format_number(g)}" for n, g in zip(names, grad))
        return lines
    r0 = float(r[0])
    lines.append(f"  r = LHS − RHS = {format_number(r0)}")
    lines.append(f"  J = ½r² = ½·{_term(r0)}² = {format_number(loss)}")
    lines.extend(f"  ∂J/∂{n} = r·∂r/∂{n} = {_term(r0)}·{_term(slope)} = {format_number(g)}"
                 for n, slope, g in zip(names, jacobian[0], grad))
    return lines


def _subscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def pretty_name(name: str) -> str:
    """'w1' → 'w₁': a parameter name with its index written as a subscript."""
    head = name.rstrip("0123456789")
    tail = name[len(head):]
    return head + _subscript(int(tail)) if head and tail else name
