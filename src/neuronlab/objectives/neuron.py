"""The loss of a neuron on rows of data: model × loss × source."""

from __future__ import annotations

import numpy as np

from ..core.losses import check_compatible, get_loss
from ..models.kernel import ENGINES, NeuronKernel, gram_matrix, gram_max_eigenvalue
from ..models.neuron import Neuron
from ..sources.array import ArraySource
from ..sources.base import Source
from .base import CAPABILITIES, CURVATURE, GRADIENT, LABELLED_ROWS, MINI_BATCHES, PARTIAL_SUMS, Objective

__all__ = ["NeuronObjective", "NeuronBlockRule"]

#: the (activation, loss) pairs whose curvature has a formula here (see ``hessian``)
CURVATURE_PAIRS = (("identity", "squared_error"), ("sigmoid", "log_loss"))


class NeuronBlockRule:
    """``NeuronObjective.partial_sums`` without the data: the neuron, its loss and the
    kernel's engine, small enough to pickle and send to where the rows are (a Dask worker).

    ``rule(θ, block, want_grad)`` → ``(Σ sᵢLᵢ, Σ sᵢ, (Σ δᵢxᵢ, Σ δᵢ) or None)`` over the
    RowBlock ``block``: the chain rule of :class:`NeuronObjective`, summed, not divided.
    """

    def __init__(self, neuron: Neuron, loss, engine: str = "auto"):
        self.neuron, self.loss, self.engine = neuron, get_loss(loss), engine
        self.kernel = NeuronKernel(neuron, self.loss)

    def __getstate__(self):  # the kernel's compiled codes are looked up again where it lands
        return {"neuron": self.neuron, "loss": self.loss.name, "engine": self.engine}

    def __setstate__(self, state):
        self.__init__(state["neuron"], state["loss"], state["engine"])

    def __call__(self, theta, block, want_grad=True):
        return self.kernel.sums(block.X, block.y, block.weight, theta, rows=block.rows, lo=block.lo,
                                hi=block.hi, want_grad=want_grad, engine=self.engine)


class NeuronObjective(Objective):
    """The loss of a neuron on a data set, as a function of θ = (w, b).

        z = X·w + b,  ŷ = f(z)
        J(θ) = Σᵢ sᵢ·L(ŷᵢ, yᵢ) / Σᵢ sᵢ  +  α·(1 − ρ)/2·‖w‖²  +  α·ρ·‖w‖₁

    with sample weights sᵢ (all 1 by default), penalty strength α and L1 share ρ
    (``l1_ratio``).  The penalty applies to the blocks of θ the neuron's layout marks
    as penalised: the weights w, never the bias b.  The gradient is the chain rule, one
    factor per arrow z → ŷ → L:

        δᵢ = sᵢ/Σs · ∂L/∂ŷ(ŷᵢ, yᵢ) · f′(zᵢ)            (= sᵢ/Σs · (σ(zᵢ) − yᵢ) for sigmoid + log loss)
        ∂J/∂w = Xᵀδ + α(1 − ρ)·w + α·ρ·sign(w),   ∂J/∂b = Σᵢ δᵢ

    The rows come from a data source (:mod:`neuronlab.sources`).  ``X, y`` (with
    ``sample_weight`` and ``rows``, a training or validation split of one X) make an
    :class:`~neuronlab.sources.array.ArraySource`, which reads them where they are: a
    float X, float32 or float64, is never copied.  :meth:`from_source` takes any other
    source, such as a :class:`~neuronlab.sources.blocks.BlockSource` of row blocks.  J
    and ∇J come from :mod:`neuronlab.models.kernel`, one call per block of the source
    (one call in all for an array), in X's dtype with sums in float64; ``engine``
    picks the kernel ('auto', 'numba', 'numpy').

    Capabilities: ``MINI_BATCHES``, ``LABELLED_ROWS`` and ``PARTIAL_SUMS`` (the
    data-parallel contract of :mod:`neuronlab.objectives.base`: ``partial_sums``,
    ``finish``, ``block_rule``) always, ``GRADIENT`` for a differentiable activation, ``CURVATURE`` for identity + squared_error and
    sigmoid + log_loss.
    """

    def __init__(self, neuron: Neuron, X, y, loss="squared_error", sample_weight=None,
                 alpha: float = 0.0, l1_ratio: float = 0.0, rows=None, engine: str = "auto"):
        self._bind(neuron, ArraySource(X, y, sample_weight, rows), loss, alpha, l1_ratio, engine)

    @classmethod
    def from_source(cls, neuron: Neuron, source: Source, loss="squared_error", alpha: float = 0.0,
                    l1_ratio: float = 0.0, engine: str = "auto") -> "NeuronObjective":
        """The objective of ``neuron`` on the rows of any data ``source``."""
        if not isinstance(source, Source):
            raise TypeError(f"source must be a data source (see neuronlab.sources), got "
                            f"{type(source).__name__}")
        objective = cls.__new__(cls)
        objective._bind(neuron, source, loss, alpha, l1_ratio, engine)
        return objective

    def _bind(self, neuron, source, loss, alpha, l1_ratio, engine):
        self.model = neuron
        self.loss_fn = get_loss(loss)
        check_compatible(neuron.activation, self.loss_fn)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.engine = engine
        if source.n_features != neuron.n_inputs:
            raise ValueError(f"X must be a 2-D array of rows with {neuron.n_inputs} feature(s) each "
                             f"(the neuron's inputs), got rows of {source.n_features}")
        self.source = source
        self.rule = NeuronBlockRule(neuron, self.loss_fn, engine)  # the kernel's codes looked up once
        self.kernel = self.rule.kernel
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.n_params = neuron.n_params
        self.param_names = neuron.param_names
        pair = (neuron.activation.name, self.loss_fn.name)
        self.capabilities = frozenset(
            {MINI_BATCHES, LABELLED_ROWS, PARTIAL_SUMS}
            | ({GRADIENT} if neuron.activation.differentiable else set())
            | ({CURVATURE} if pair in CURVATURE_PAIRS else set()))

    def _why_not(self, capability):
        activation = self.model.activation.name
        if capability == GRADIENT:
            return (f"activation {activation!r} has derivative 0 almost everywhere, so gradient "
                    "descent cannot learn with it",
                    "use strategy 'monte_carlo' or 'error_driven', or a differentiable activation "
                    "such as 'sigmoid'")
        if capability == CURVATURE:
            return (f"there is no formula here for the curvature of {activation} + {self.loss_fn.name}",
                    CAPABILITIES[CURVATURE][1])
        return None

    # --- the rows ---------------------------------------------------------------------
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

    def labelled_rows(self):
        """(model, X, y): the neuron and every row it is trained on, in order — for a rule
        that takes the rows one at a time.  ValueError when the rows carry sample weights,
        which such a rule cannot honour."""
        if self.weighted:
            raise ValueError("the rows carry sample weights, which a rule that takes every row "
                             "once per pass (the perceptron rule) cannot use; drop sample_weight "
                             "or use gradient descent")
        return (self.model, *self.source.labelled_rows())

    # --- J and ∇J: the partial-sums contract (see objectives.base) ----------------------
    def partial_sums(self, theta, block, want_grad=True):
        """The additive pieces of J and ∇J over one RowBlock, before any division:

            (Σ sᵢ·L(ŷᵢ, yᵢ),  Σ sᵢ,  (Σ δᵢ·xᵢ, Σ δᵢ) or None)   with δᵢ = sᵢ·∂L/∂ŷ·f′(zᵢ)

        p + 2 numbers (a float, a float, p + 1 floats).  Pieces of disjoint blocks add up
        (``sources.base.add_sums``) to the pieces of their union; :meth:`finish` turns the
        pieces of every row into J and ∇J."""
        return self.rule(np.asarray(theta, dtype=np.float64), block, want_grad)

    def block_rule(self) -> NeuronBlockRule:
        """:meth:`partial_sums` as a picklable callable that holds no data (for Dask workers)."""
        return self.rule

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
        squares = absolutes = 0.0
        for name in layout.penalised:
            w = layout.view(theta, name)
            flat = w.ravel()
            squares += float(flat @ flat)
            absolutes += float(np.abs(flat).sum())
            if grad is not None:
                layout.view(grad, name)[...] += self.alpha * ((1.0 - self.l1_ratio) * w + self.l1_ratio * np.sign(w))
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
        """J(θ) and ∇J(θ) over the data, in one pass over its rows (see :mod:`neuronlab.models.kernel`)."""
        self.require(GRADIENT, "loss_and_grad")
        theta = np.asarray(theta, dtype=np.float64)
        loss, grad = self.finish(theta, self._sums(theta, want_grad=True))
        return float(loss), grad

    def loss_and_grad_batch(self, theta, batch):
        """J and ∇J over a mini-batch: one that ``batches()`` gives (for an array source,
        also a slice or an array of row numbers counted among the rows the objective
        covers).  The mean runs over the batch; the penalty is added whole, as for the full
        data.  X is not copied (the compiled kernel reads the rows where they are)."""
        self.require(GRADIENT, "loss_and_grad_batch")
        theta = np.asarray(theta, dtype=np.float64)
        return self.finish(theta, self.rule(theta, self.source.select(batch), True))

    # --- curvature ----------------------------------------------------------------------
    def _gram_parts(self):
        return ((block.X, block.weight, block.rows) for block in self.source.blocks())

    def stability_limit(self):
        """The largest stable fixed step η for gradient descent on this objective, or None
        when J has no curvature (λ_max = 0).

        For a linear neuron with squared error (L = ½(ŷ − y)²) J is quadratic with
        Hessian H = X̃ᵀSX̃/Σs (+ α for an L2 penalty), X̃ = [X, 1]; fixed-η descent is
        stable exactly when η < 2/λ_max(H).  For sigmoid + log loss the Hessian is
        at most H/4, so η < 8/λ_max(H) = 2/(λ_max/4) guarantees stability.
        λ_max is exact (H formed in one pass, see ``kernel.gram_max_eigenvalue``) up
        to ``kernel.GRAM_EXACT_UP_TO`` parameters, from power iteration above.
        Capability ``CURVATURE``.
        """
        self.require(CURVATURE, "stability_limit")
        lam = gram_max_eigenvalue(self._gram_parts, self.model.n_inputs)
        if (self.model.activation.name, self.loss_fn.name) == ("sigmoid", "log_loss"):
            lam /= 4.0
        lam += self.alpha * (1.0 - self.l1_ratio)
        return 2.0 / lam if lam > 0 else None

    def hessian(self, theta):
        """∇²J(θ) exactly, in one pass over the rows (capability ``CURVATURE``):

            ∇²J = X̃ᵀDX̃ / Σs + α(1 − ρ)·I_w,   X̃ = [X, 1],   D = diag(sᵢ·cᵢ)

        with cᵢ = 1 for a linear neuron with squared error and cᵢ = σ′(zᵢ) = σ(zᵢ)(1 − σ(zᵢ))
        for sigmoid + log loss (∂²L/∂z² of its logit form); I_w is 1 on the diagonal
        entries of the penalised weights.  The L1 part adds no curvature away from wᵢ = 0;
        the bias is not penalised.  The matrix has (p + 1)² entries: callers with many
        parameters use Hessian-vector products.
        """
        self.require(CURVATURE, "hessian")
        theta = np.asarray(theta, dtype=np.float64)
        f = self.model.activation

        def logistic_curvature(Xb):
            z, y_hat = self.model.forward(theta, Xb)
            return f.derivative(z, y_hat)

        H = gram_matrix(self._gram_parts, logistic_curvature if f.name == "sigmoid" else None)
        for name in self.model.layout.penalised:
            entries = self.model.layout.indices(name)
            H[entries, entries] += self.alpha * (1.0 - self.l1_ratio)
        return H
