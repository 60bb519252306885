"""The loss of a dense network on rows of data: network × loss × source."""

from __future__ import annotations

import numpy as np

from ..core.losses import check_compatible, get_loss, multinomial_log_loss
from ..models.network import Network
from ..sources.array import ArraySource
from ..sources.base import Source
from .base import GRADIENT, MINI_BATCHES
from .rows import RowObjective

__all__ = ["NetworkObjective"]


class NetworkObjective(RowObjective):
    """The loss of a :class:`~neuronlab.models.network.Network` on a data set, as a function
    of θ = (W₁, b₁, …, W_L, b_L).

        J(θ) = Σᵢ sᵢ·Lᵢ / Σᵢ sᵢ  +  α·(1 − ρ)/2·Σ_l ‖W_l‖²  +  α·ρ·Σ_l ‖W_l‖₁

    where Lᵢ is the loss of row i's output ŷᵢ = f_L(z_L,i):

    - softmax output with ``log_loss``: the multinomial log loss −ln ŷ_c of the true class
      c (y holds class numbers 0 … k − 1), δ_L = ŷ − onehot(c);
    - sigmoid output with ``log_loss``: the binary log loss of each output from its logit
      (y holds 0/1), δ_L = σ(z) − y;
    - any other output f with a loss L (squared, absolute, Huber, …): the mean over the k
      outputs, Lᵢ = (1/k)·Σⱼ L(f(z_j), y_j), δ_L = (1/k)·∂L/∂ŷ·f′(z).

    y is (n,) for one output or class numbers, (n, k) for k outputs.  ∇J is the
    network's backward pass from sᵢ·δ_L,i / Σs (:meth:`Network.backward`), plus the
    penalty's gradient on the W's.  Capabilities: ``MINI_BATCHES``, and ``GRADIENT``
    when every activation is differentiable.
    """

    def __init__(self, network: Network, X, y, loss="squared_error", sample_weight=None,
                 alpha: float = 0.0, l1_ratio: float = 0.0, rows=None):
        self._bind(network, ArraySource(X, y, sample_weight, rows), loss, alpha, l1_ratio)

    @classmethod
    def from_source(cls, network: Network, source: Source, loss="squared_error", alpha: float = 0.0,
                    l1_ratio: float = 0.0) -> "NetworkObjective":
        """The objective of ``network`` on the rows of any data ``source``."""
        if not isinstance(source, Source):
            raise TypeError(f"source must be a data source (see neuronlab.sources), got "
                            f"{type(source).__name__}")
        objective = cls.__new__(cls)
        objective._bind(network, source, loss, alpha, l1_ratio)
        return objective

    def _bind(self, network, source, loss, alpha, l1_ratio):
        self.model = network
        self.loss_fn = get_loss(loss)
        if network.output == "softmax":
            if self.loss_fn.name != "log_loss":
                raise ValueError(f"a softmax output is trained with loss 'log_loss' (cross-entropy), "
                                 f"not {self.loss_fn.name!r}")
        else:
            check_compatible(network.output_activation, self.loss_fn)
        if source.n_features != network.n_inputs:
            raise ValueError(f"X must be a 2-D array of rows with {network.n_inputs} feature(s) each "
                             f"(the network's inputs), got rows of {source.n_features}")
        self.source = source
        # the rule of the partial sums is this objective's own pass (it holds the network's data
        # buffers): sources sum it block by block here; it is not sent to Dask workers
        self.rule = self._block_sums
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.n_params = network.n_params
        self.param_names = network.param_names
        self.capabilities = frozenset({MINI_BATCHES} | ({GRADIENT} if network.differentiable else set()))

    def _why_not(self, capability):
        if capability == GRADIENT:
            return ("a layer's activation has derivative 0 almost everywhere, so gradient descent "
                    "cannot learn with it",
                    "use strategy 'monte_carlo', or differentiable activations such as 'tanh'")
        return None

    def output_loss(self, z, y, want_delta=True):
        """(Lᵢ per row, ∂Lᵢ/∂z_L or None) from the last layer's z and the targets y."""
        network, loss = self.model, self.loss_fn
        if network.output == "softmax":
            return multinomial_log_loss(z, y, want_delta)
        k = network.n_outputs
        Y = y.reshape(-1, k)
        if network.output == "sigmoid" and loss.from_logit is not None:
            losses = loss.from_logit(z, Y)
            delta = loss.from_logit_derivative(z, Y) if want_delta else None
        else:
            y_hat = network.output_of(z)
            losses = loss(y_hat, Y)
            delta = loss.derivative(y_hat, Y) * network.output_activation.derivative(z, y_hat) \
                if want_delta else None
        if k > 1:
            losses = losses.mean(axis=1)
            if delta is not None:
                delta /= k
        return losses.reshape(-1), delta

    def _block_sums(self, theta, block, want_grad):
        """(Σ sᵢLᵢ, Σ sᵢ, Σ sᵢ·∂Lᵢ/∂θ) over one RowBlock: one forward pass, and with
        ``want_grad`` one backward pass from δ_L,i·sᵢ."""
        where = block.rows if block.rows is not None else slice(block.lo, block.hi)
        X, y = block.X[where], block.y[where]
        weight = None if block.weight is None else block.weight[where]
        trace = self.model.forward_pass(theta, X)
        losses, delta = self.output_loss(trace.z[-1], y, want_grad)
        if weight is None:
            loss_sum, weight_sum = float(losses.sum(dtype=np.float64)), float(losses.shape[0])
        else:
            loss_sum, weight_sum = float(weight @ losses), float(weight.sum(dtype=np.float64))
            if delta is not None:
                delta *= weight[:, None]
        grad = self.model.backward(theta, trace, delta) if want_grad else None
        return loss_sum, weight_sum, grad
