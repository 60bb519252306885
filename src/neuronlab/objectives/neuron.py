"""The loss of a neuron on rows of data: model × loss × source."""

from __future__ import annotations

import numpy as np

from ..core.blas import one_blas_thread
from ..core.losses import check_compatible, get_loss
from ..models.kernel import ENGINES, NeuronKernel, gram_matrix, gram_max_eigenvalue
from ..models.neuron import Neuron
from ..sources.array import ArraySource
from ..sources.base import Source
from .base import CAPABILITIES, CURVATURE, GRADIENT, LABELLED_ROWS, MINI_BATCHES, PARTIAL_SUMS
from .rows import RowObjective

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

    def takes_columns(self, n_rows, p) -> bool:
        """Whether :meth:`column_sums` may sum a block of (at most) n_rows × p, before it is built."""
        return self.kernel.takes_columns(n_rows, p, self.engine)

    def column_sums(self, theta, block, want_grad=True):
        """The same sums over a :class:`~neuronlab.sources.base.ColumnBlock` (a block of a file
        as pyarrow decoded it), read where it lies, with the same engine as :meth:`__call__`;
        None when it would not go to the compiled kernel (``NeuronKernel.column_sums``)."""
        return self.kernel.column_sums(block.columns, block.mean, block.scale, block.y, block.weight, theta,
                                       block.rows, want_grad, self.engine)


class NeuronObjective(RowObjective):
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
        source = ArraySource(X, y, sample_weight, rows)
        if source.y.ndim != 1:
            raise ValueError(f"y must hold one target per row of X ({source.X.shape[0]}): a neuron has "
                             f"one output; got shape {source.y.shape}")
        self._bind(neuron, source, loss, alpha, l1_ratio, engine)

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

    def labelled_rows(self):
        """(model, X, y): the neuron and every row it is trained on, in order — for a rule
        that takes the rows one at a time.  ValueError when the rows carry sample weights,
        which such a rule cannot honour."""
        if self.weighted:
            raise ValueError("the rows carry sample weights, which a rule that takes every row "
                             "once per pass (the perceptron rule) cannot use; drop sample_weight "
                             "or use gradient descent")
        return (self.model, *self.source.labelled_rows())

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

        BLAS runs on one thread for the Gram matrix X̃ᵀX̃ (n·(p + 1)²/2 multiply-adds): the same
        bits on any machine (``core.blas``), and on a shared machine OpenBLAS's two threads took
        6.0 s for it against 0.9 s on one (1,000,000 × 100, medians of 9 in turns, load 3.8;
        BENCHMARKS.md, issue 12 item 4).
        """
        self.require(CURVATURE, "stability_limit")
        with one_blas_thread():
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
