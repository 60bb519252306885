"""The loss of a dense network on rows of data: network × loss × source."""

from __future__ import annotations

import copy

import numpy as np

from ..core.blas import one_blas_thread
from ..core.losses import check_compatible, get_loss, multinomial_log_loss
from ..models.network import Network, Workspace
from ..sources.array import ArraySource
from ..sources.base import Source
from .base import GRADIENT, MINI_BATCHES, PARTIAL_SUMS
from .rows import RowObjective

__all__ = ["NetworkObjective", "NetworkBlockRule"]


class NetworkBlockRule:
    """``NetworkObjective.partial_sums`` without the data: the objective's network, loss and
    passes (``NetworkObjective._block_sums``) on a copy that holds no source and no buffers,
    small enough to pickle and send to where the rows are (a Dask worker), where it makes its
    own buffers on its first call.

    ``rule(θ, block, want_grad)`` → ``(Σ sᵢLᵢ, Σ sᵢ, Σ sᵢ·∂Lᵢ/∂θ or None)`` over the RowBlock
    ``block``, sums in float64: the pass of :class:`NetworkObjective`, summed, not divided.
    """

    def __init__(self, objective: "NetworkObjective"):
        passes = copy.copy(objective)
        passes.source, passes._work, passes.rule = None, None, None
        self.passes = passes

    def __getstate__(self):  # the buffers of the passes stay here; they are made again where it lands
        passes = copy.copy(self.passes)
        passes._work = None
        return {"passes": passes}

    def __call__(self, theta, block, want_grad=True):
        return self.passes._block_sums(theta, block, want_grad)


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
    penalty's gradient on the W's.  Capabilities: ``MINI_BATCHES``, ``PARTIAL_SUMS`` (its
    pass without the data, :class:`NetworkBlockRule`, runs where the rows are: block by block
    from files, on Dask workers), and ``GRADIENT`` when every activation is differentiable.
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
        self._work = None  # the buffers of the forward and backward passes (see _workspace)
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        self.n_params = network.n_params
        self.capabilities = frozenset({MINI_BATCHES, PARTIAL_SUMS} | ({GRADIENT} if network.differentiable else set()))
        # the rule of the partial sums: this objective's pass without its data (picklable: a Dask
        # worker runs it on its partitions); every block, here or there, goes through it
        self.rule = NetworkBlockRule(self)

    @property
    def param_names(self):
        """One name per entry of θ (``W1[1,1]``, …), made when asked: a network of 50,000
        weights would otherwise spend half a second naming them for every objective."""
        return self.model.param_names

    def _why_not(self, capability):
        if capability == GRADIENT:
            return ("a layer's activation has derivative 0 almost everywhere, so gradient descent "
                    "cannot learn with it",
                    "use strategy 'monte_carlo', or differentiable activations such as 'tanh'")
        return None

    def output_loss(self, z, y, want_delta=True, out=None):
        """(Lᵢ per row, ∂Lᵢ/∂z_L or None) from the last layer's z and the targets y.  With
        ``out`` (z itself may be given) a softmax output writes ∂Lᵢ/∂z_L into it."""
        network, loss = self.model, self.loss_fn
        if network.output == "softmax":
            return multinomial_log_loss(z, y, want_delta, out=out)
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

    def _workspace(self, n_rows, dtype) -> Workspace:
        """The buffers for batches of ``n_rows`` rows of ``dtype``: made once, grown when a
        larger batch comes, reused by every later step."""
        work = self._work
        if work is None or not work.fits(n_rows, dtype):
            size = n_rows if work is None or work.dtype != dtype else max(n_rows, work.n_rows)
            work = self._work = Workspace(self.model, size, dtype)
        return work

    def _block_sums(self, theta, block, want_grad):
        """(Σ sᵢLᵢ, Σ sᵢ, Σ sᵢ·∂Lᵢ/∂θ) over one RowBlock: one forward pass, and with
        ``want_grad`` one backward pass from δ_L,i·sᵢ — through a :class:`Workspace`, chunk
        by chunk of at most ``CHUNK_ROWS`` rows (a mini-batch is one chunk; a full pass
        over a large X never holds more than a chunk's layers).  Sums in float64."""
        if block.rows is not None:
            count = len(block.rows)
        else:
            hi = block.X.shape[0] if block.hi is None else block.hi
            count = hi - block.lo
        chunk = min(count, CHUNK_ROWS)
        work = self._workspace(chunk, block.X.dtype)
        theta_d = self.model.weights_as(theta, block.X.dtype, work)
        loss_sum = weight_sum = 0.0
        grad = None
        with one_blas_thread():
            for begin in range(0, count, chunk):
                end = min(count, begin + chunk)
                if block.rows is not None:
                    rows = block.rows[begin:end]
                    X = work.gather(block.X, rows)
                else:
                    rows = slice(block.lo + begin, block.lo + end)
                    X = block.X[rows]
                y = block.y[rows].astype(X.dtype, copy=False)  # a source keeps y's own type
                weight = None if block.weight is None else block.weight[rows]
                piece = self._chunk_sums(theta_d, X, y, weight, want_grad, work)
                loss_sum += piece[0]
                weight_sum += piece[1]
                if want_grad and grad is None:  # float32 gradients are summed in float64
                    grad = piece[2].astype(np.float64)
                elif want_grad:
                    grad += piece[2]
        return loss_sum, weight_sum, grad

    def _chunk_sums(self, theta_d, X, y, weight, want_grad, work):
        trace = self.model.forward_pass(theta_d, X, work)
        losses, delta = self.output_loss(trace.z[-1], y, want_grad, out=trace.z[-1])
        if weight is None:
            loss_sum, weight_sum = float(losses.sum(dtype=np.float64)), float(losses.shape[0])
        else:
            loss_sum, weight_sum = float(weight @ losses), float(weight.sum(dtype=np.float64))
            if delta is not None:
                delta *= weight[:, None]
        grad = self.model.backward(theta_d, trace, delta, work) if want_grad else None
        return loss_sum, weight_sum, grad


#: rows per chunk of a full pass (and the largest batch done in one piece): a chunk's layers
#: stay in cache-sized buffers however large X is
CHUNK_ROWS = 4096
