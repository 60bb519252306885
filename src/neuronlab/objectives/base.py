"""Objectives: θ → J(θ), and what else each one offers, declared through one interface.

Every strategy minimises an :class:`Objective`; it never needs to know whether θ holds
the unknowns of an equation or the weights of a neuron.  What an objective can give
beyond J(θ) is a *capability*, named by one of the constants below; a strategy asks
``objective.offers(name)``, or ``objective.require(name, who)`` to stop with an error
that says what is missing and what to use instead.  Each capability comes with methods:

==================  ===========================================================================
``GRADIENT``        ``loss_and_grad(θ) -> (J, ∇J)``
``MINI_BATCHES``    ``n_samples``; ``batches(batch_size, rng, shuffle) ->`` iterator of
                    (batch, size) for one epoch; ``batches_per_epoch(batch_size)``;
                    ``loss_and_grad_batch(θ, batch) -> (J, ∇J)``
``CURVATURE``       ``stability_limit() -> 2/λ_max or None (no curvature)``; ``hessian(θ) -> ∇²J``
``RESIDUALS``       ``residuals_and_jacobian(θ) -> (r, D)`` with J = ½‖r‖², D = ∂r/∂θ
``MANY_POINTS``     ``losses(thetas) -> J`` at every point of an array of shape (..., n)
``LABELLED_ROWS``   ``labelled_rows() -> (model, X, y)``: the rows of data and the model
``PARTIAL_SUMS``    ``partial_sums(θ, block, want_grad) -> sums``; ``finish(θ, sums) -> J`` or
                    ``(J, ∇J)``; ``block_rule() ->`` a picklable ``rule(θ, block, want_grad)``
==================  ===========================================================================

Data-parallel objectives: the partial-sums contract (``PARTIAL_SUMS``)
-----------------------------------------------------------------------

An objective over rows of data whose J and ∇J are sums over its rows offers
``PARTIAL_SUMS``, and with it three methods that let anyone — a loop over blocks in
memory, a file read block by block, the workers of a Dask cluster — compute the pieces
where the rows are and add them up:

- ``partial_sums(θ, block, want_grad)``: the additive pieces of J (and ∇J) over one
  :class:`~neuronlab.sources.base.RowBlock`, as a tuple of floats and float64 arrays
  (None for a piece not asked for).  For a neuron: ``(Σ sᵢLᵢ, Σ sᵢ, Σ δᵢ·(xᵢ, 1) or
  None)``, p + 2 numbers.  The pieces of disjoint blocks add entry by entry
  (:func:`neuronlab.sources.base.add_sums`), so the pieces of all the blocks, added in
  any grouping, are the pieces of the whole data set.
- ``finish(θ, sums)``: from the pieces of every row to J (``want_grad`` False) or
  (J, ∇J): the division by Σ sᵢ, the penalty and its gradient.  Only the client runs it.
- ``block_rule()``: ``partial_sums`` as a small picklable callable
  ``rule(θ, block, want_grad)`` that holds the model and the loss but not the data, so
  that it can be sent to the processes or machines that hold the rows.

``loss(θ)`` and ``loss_and_grad(θ)`` are then ``finish(θ, source.sum_blocks(rule, θ,
want_grad))``: the source (:mod:`neuronlab.sources`) decides where ``rule`` runs — in
this process block by block, or on the workers of a Dask cluster, each of which returns
its blocks' pieces (p + 2 numbers for a neuron) — and adds them up in a fixed order,
so the answer does not depend on where it ran.  The strategies never see any of this.
An objective for a network (one softmax output per class) implements the same three
methods with its own pieces, e.g. ``(Σ sᵢLᵢ, Σ sᵢ, gradient sums over the flat θ)``,
and trains over every source that a neuron trains over.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

__all__ = [
    "Objective",
    "FunctionObjective",
    "NotDifferentiableError",
    "CAPABILITIES",
    "GRADIENT",
    "MINI_BATCHES",
    "CURVATURE",
    "RESIDUALS",
    "MANY_POINTS",
    "LABELLED_ROWS",
    "PARTIAL_SUMS",
]

GRADIENT = "gradient"
MINI_BATCHES = "mini_batches"
CURVATURE = "curvature"
RESIDUALS = "residuals"
MANY_POINTS = "many_points"
LABELLED_ROWS = "labelled_rows"
PARTIAL_SUMS = "partial_sums"

#: every capability: (what a strategy that needs it needs, what to do without it)
CAPABILITIES = {
    GRADIENT: ("an objective with a gradient ∇J(θ)",
               "use a search strategy ('monte_carlo' or 'error_driven')"),
    MINI_BATCHES: ("an objective over rows of data (NeuronObjective)",
                   "leave batch_size=None"),
    CURVATURE: ("an objective that knows its curvature ∇²J(θ) (a NeuronObjective with "
                "identity + squared_error or sigmoid + log_loss)",
                "use a strategy that needs only the gradient, such as 'gradient_descent' or 'lbfgs'"),
    RESIDUALS: ("an objective with residuals and a Jacobian (such as EquationObjective)",
                "use 'gradient_descent'"),
    MANY_POINTS: ("an objective that evaluates J at many points at once (such as EquationObjective)",
                  "evaluate J one point at a time with loss(θ)"),
    LABELLED_ROWS: ("an objective over labelled rows of data (NeuronObjective)",
                    "use 'gradient_descent'"),
    PARTIAL_SUMS: ("an objective whose J and ∇J are sums over rows of data (NeuronObjective)",
                   "keep the data in memory (an array) and use that objective there"),
}


class NotDifferentiableError(ValueError):
    """A gradient strategy was asked to follow a gradient that does not exist."""


class Objective:
    """Interface every objective implements.

    Attributes: ``n_params`` (length of θ), ``param_names`` (one per entry of θ) and
    ``capabilities``, the frozenset of the capabilities it offers (see the module's
    table); methods ``loss(θ) -> J`` and those of its capabilities.
    """

    n_params: int
    param_names: Sequence[str]
    capabilities: frozenset = frozenset()

    def loss(self, theta: np.ndarray) -> float:
        raise NotImplementedError

    def loss_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """J(θ) and ∇J(θ) (capability ``GRADIENT``)."""
        self.require(GRADIENT, "loss_and_grad")
        raise NotImplementedError

    def offers(self, capability: str) -> bool:
        """Whether this objective offers ``capability`` (one of ``CAPABILITIES``)."""
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}; the capabilities are "
                             f"{', '.join(CAPABILITIES)}")
        return capability in self.capabilities

    def require(self, capability: str, who: str) -> None:
        """Return when this objective offers ``capability``; else raise an error that says
        that ``who`` (a strategy, an option) needs it, which objective lacks it and why, and
        what to use instead: NotDifferentiableError for ``GRADIENT``, TypeError otherwise."""
        if self.offers(capability):
            return
        needs, instead = CAPABILITIES[capability]
        why = self._why_not(capability)
        if why is not None:
            reason, instead = why
            needs += f", not {type(self).__name__}: {reason}"
        else:
            needs += f", not {type(self).__name__}"
        error = NotDifferentiableError if capability == GRADIENT else TypeError
        raise error(f"{who} needs {needs}; {instead}")

    def _why_not(self, capability: str) -> Optional[tuple[str, str]]:
        """(why this objective lacks ``capability``, what to use instead), for an objective
        whose reason is more particular than its type; None to say only the type."""
        return None


class FunctionObjective(Objective):
    """Wrap any callable θ → J(θ), with an optional gradient.

    ``grad`` may be a callable θ → ∇J(θ), or ``True`` to say that ``fun`` itself
    returns the pair (J(θ), ∇J(θ)).  It offers ``GRADIENT`` when it has one.
    """

    def __init__(self, fun: Callable, n_params: int, grad=None, param_names=None):
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        if grad is not None and grad is not True and not callable(grad):
            raise TypeError("grad must be a callable, True (fun returns (loss, grad)) or None")
        self.fun = fun
        self.grad = grad
        self.n_params = int(n_params)
        self.param_names = list(param_names) if param_names is not None else [
            f"θ{i}" for i in range(self.n_params)
        ]
        self.capabilities = frozenset() if grad is None else frozenset({GRADIENT})

    def loss(self, theta):
        out = self.fun(theta)
        return float(out[0] if self.grad is True else out)

    def loss_and_grad(self, theta):
        if self.grad is None:
            return super().loss_and_grad(theta)
        if self.grad is True:
            value, g = self.fun(theta)
        else:
            value, g = self.fun(theta), self.grad(theta)
        return float(value), np.asarray(g, dtype=np.float64)
