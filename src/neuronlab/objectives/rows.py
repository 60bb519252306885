"""What every objective over rows of data shares: J and ∇J as sums over the rows.

    J(θ) = Σᵢ sᵢ·Lᵢ(θ) / Σᵢ sᵢ  +  α·(1 − ρ)/2·‖W‖²  +  α·ρ·‖W‖₁

with sample weights sᵢ, per-row loss Lᵢ of the model's output, and a penalty on the
blocks of θ the model's layout marks as penalised (weights, never biases).  Both the
loss and its gradient are sums over rows, so a full pass adds them up block by block
over the data source (:mod:`neuronlab.sources`) and a mini-batch is one block.  A
subclass says what one block contributes (its ``rule``); the partial-sums contract
(``partial_sums``, ``finish``, ``block_rule``: see :mod:`neuronlab.objectives.base`), the
mean, the penalty and the batches are here, once.
"""

from __future__ import annotations

import numpy as np

from .base import GRADIENT, Objective

__all__ = ["RowObjective"]


class RowObjective(Objective):
    """An objective whose loss is a weighted mean over the rows of a data source.

    Set by the subclass: ``model`` (with a ``layout``), ``source``, ``alpha``,
    ``l1_ratio``; and ``rule``, a callable ``rule(θ, block, want_grad)`` → (Σ sᵢLᵢ, Σ sᵢ,
    Σ sᵢ∂Lᵢ/∂θ or None) over one :class:`~neuronlab.sources.base.RowBlock`, sums in float64
    (picklable, holding no data, when the objective offers ``PARTIAL_SUMS``).
    """

    model = None
    source = None
    alpha = 0.0
    l1_ratio = 0.0
    rule = None

    def partial_sums(self, theta, block, want_grad=True):
        """The additive pieces of J and ∇J over one RowBlock, before any division:

            (Σ sᵢ·Lᵢ,  Σ sᵢ,  Σ sᵢ·∂Lᵢ/∂θ or None)

        Pieces of disjoint blocks add up (``sources.base.add_sums``) to the pieces of their
        union; :meth:`finish` turns the pieces of every row into J and ∇J."""
        return self.rule(np.asarray(theta, dtype=np.float64), block, want_grad)

    def block_rule(self):
        """:meth:`partial_sums` as a callable (picklable and holding no data for ``PARTIAL_SUMS``:
        what a Dask worker runs)."""
        return self.rule

    @property
    def n_samples(self) -> int:
        """How many rows the objective covers."""
        return self.source.n_samples

    @property
    def weighted(self) -> bool:
        """True when the rows carry sample weights sᵢ."""
        return self.source.weighted

    def batches(self, batch_size: int, rng: np.random.Generator, shuffle: bool = True):
        """The mini-batches of one epoch, as (batch, size) pairs, drawn from ``rng`` (see the
        source's ``batches``; for arrays: one ``rng.permutation(n)`` per epoch, cut in order)."""
        return self.source.batches(batch_size, rng, shuffle)

    def batches_per_epoch(self, batch_size: int) -> int:
        """How many mini-batches ``batches`` deals in one epoch."""
        return self.source.batches_per_epoch(batch_size)

    def _sums(self, theta, want_grad):
        """The pieces over every row: the source adds up ``rule`` over its blocks, wherever
        they are (here, block by block; on a Dask cluster, on the workers)."""
        return self.source.sum_blocks(self.rule, theta, want_grad)

    def _penalty(self, theta, grad=None) -> float:
        """α·((1 − ρ)/2·‖w‖² + ρ·‖w‖₁) over the penalised blocks of θ; with ``grad``, its
        gradient α·((1 − ρ)·w + ρ·sign(w)) is added into ``grad`` in the same pass."""
        if self.alpha == 0.0:
            return 0.0
        layout = self.model.layout
        rho = self.l1_ratio
        squares = absolutes = 0.0
        for name in layout.penalised:
            w = layout.view(theta, name)
            # ρ = 0 (L2) or 1 (L1) leaves out the other term, whose part would be exactly 0: a
            # small network's step spent a fifth of its time on them
            if rho != 1.0:
                squares += float(w.ravel() @ w.ravel())
            if rho != 0.0:
                absolutes += float(np.abs(w).sum())
            if grad is None:
                continue
            g = layout.view(grad, name)
            if rho == 0.0:
                g += self.alpha * w
            elif rho == 1.0:
                g += self.alpha * np.sign(w)
            else:
                g += self.alpha * ((1.0 - rho) * w + rho * np.sign(w))
        l2 = 0.5 * (1.0 - self.l1_ratio) * squares
        l1 = self.l1_ratio * absolutes
        return self.alpha * (l2 + l1)

    def finish(self, theta, sums):
        """J = Σ sᵢLᵢ / Σ sᵢ + penalty, and ∇J = the gradient sums / Σ sᵢ + the penalty's
        gradient on the penalised blocks: J alone when the pieces carry no gradient sums,
        else (J, ∇J).  ``sums`` are the pieces of :meth:`partial_sums`, added over rows."""
        loss_sum, weight_sum, grad = sums
        if grad is not None:
            grad = grad / weight_sum
        loss = loss_sum / weight_sum + self._penalty(theta, grad)
        return loss if grad is None else (loss, grad)

    def loss(self, theta) -> float:
        theta = np.asarray(theta, dtype=np.float64)
        return float(self.finish(theta, self._sums(theta, want_grad=False)))

    def loss_and_grad(self, theta):
        """J(θ) and ∇J(θ) over the data, in one pass over its rows ."""
        self.require(GRADIENT, "loss_and_grad")
        theta = np.asarray(theta, dtype=np.float64)
        loss, grad = self.finish(theta, self._sums(theta, want_grad=True))
        return float(loss), grad

    def loss_and_grad_batch(self, theta, batch):
        """J and ∇J over a mini-batch: one that ``batches()`` gives (for an array source,
        also a slice or an array of row numbers counted among the rows the objective
        covers).  The mean runs over the batch; the penalty is added whole, as for the full
        data.  For an array source, X is not copied."""
        self.require(GRADIENT, "loss_and_grad_batch")
        theta = np.asarray(theta, dtype=np.float64)
        return self.finish(theta, self.rule(theta, self.source.select(batch), True))
