"""Dense networks: neurons in layers, trained by the chain rule carried back layer by layer.

Layer l takes the previous layer's outputs a_{l−1} (a₀ = x) and computes, for all its
neurons at once,

    z_l = a_{l−1}·W_l + b_l,      a_l = f_l(z_l)

with W_l of shape (n_{l−1}, n_l) and b_l of shape (n_l,).  The last layer's f is the
output: identity (regression), sigmoid (one class against another) or softmax (k
classes).  All the numbers live in one flat θ = (W₁, b₁, W₂, b₂, …); the network
owns its layout (:class:`~neuronlab.core.layout.ParameterLayout`) and reads each
W_l and b_l as a view of θ, never a copy.

With no hidden layer and one output this is the neuron, θ laid out exactly as the
neuron's (w, b); with no hidden layer and k softmax outputs it is multinomial
logistic regression — the "layer of neurons with softmax".
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Union

import numpy as np

from ..core.activations import ACTIVATIONS, get_activation, softmax
from ..core.layout import ParameterLayout

__all__ = ["Network", "Trace", "Workspace", "OUTPUTS", "NETWORK_INITIALIZERS"]

#: what the last layer may apply to its z: an activation by name, or softmax over its k outputs
OUTPUTS = tuple(ACTIVATIONS) + ("softmax",)
#: starting weights (see ``Network.init_params``)
NETWORK_INITIALIZERS = ("xavier", "he", "normal", "uniform", "zeros")


class Trace(NamedTuple):
    """What a forward pass keeps for the backward pass: every layer's input a_{l−1} and
    its z_l, in order (``inputs[0]`` is X), and the output ŷ (None when the pass wrote
    into a :class:`Workspace`: the objective takes its loss from z_L)."""

    inputs: list
    z: list
    output: Optional[np.ndarray]


class Workspace:
    """Buffers for the forward and backward passes of batches of up to ``n_rows`` rows, in
    one dtype, allocated once and reused by every step: a mini-batch step then allocates no
    array of the batch's size.  Every layer's z_l, a_l, δ_l and f′(z_l), a gathered batch
    of X, θ in the data's dtype and the gradient.  A batch of n ≤ ``n_rows`` rows uses the
    first n rows of each buffer (views, no copies)."""

    def __init__(self, network: "Network", n_rows: int, dtype=np.float64):
        dtype = np.dtype(dtype)
        sizes = network.sizes
        self.n_rows, self.dtype = int(n_rows), dtype
        self.theta = np.empty(network.n_params, dtype)  # θ cast to the data's dtype, per step
        self.grad = np.empty(network.n_params, dtype)
        self.X = np.empty((self.n_rows, sizes[0]), dtype)  # rows gathered from X
        self.z = [np.empty((self.n_rows, n), dtype) for n in sizes[1:]]
        self.a = [np.empty((self.n_rows, n), dtype) for n in sizes[1:-1]]
        self.delta = [np.empty((self.n_rows, n), dtype) for n in sizes[1:-1]]
        self.slope = [np.empty((self.n_rows, n), dtype) for n in sizes[1:-1]]  # f′(z_l)
        # the layers' views of the θ and gradient buffers, made once: a small network's step
        # otherwise spends a tenth of its time slicing θ
        self.layer_views = {id(buffer): (buffer, network.layers(buffer))
                            for buffer in (self.theta, self.grad)}

    def fits(self, n_rows: int, dtype) -> bool:
        """Whether a batch of ``n_rows`` rows of ``dtype`` fits these buffers."""
        return n_rows <= self.n_rows and np.dtype(dtype) == self.dtype

    def gather(self, X, rows):
        """The rows ``rows`` of X (row numbers the source has checked), copied into the buffer.
        ``mode="clip"``: with the default "raise", numpy would fill a temporary copy first."""
        return np.take(X, rows, axis=0, out=self.X[: len(rows)], mode="clip")


def _into(buffers, l, n):
    """The first n rows of buffer l, or None without buffers."""
    return None if buffers is None else buffers[l][:n]


class Network:
    """Dense layers of sizes ``n_inputs → hidden_layer_sizes… → n_outputs``.

    ``activation`` is one hidden activation for every hidden layer, or one name per hidden
    layer; ``output`` is the last layer's activation (see ``OUTPUTS``).

    >>> net = Network(2, (3,), "tanh", n_outputs=1, output="sigmoid")
    >>> net.layout.names
    ['W1', 'b1', 'W2', 'b2']
    """

    def __init__(self, n_inputs: int, hidden_layer_sizes: Sequence[int] = (),
                 activation: Union[str, Sequence[str]] = "relu", n_outputs: int = 1,
                 output: str = "identity"):
        def whole(value, what):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{what} must be a whole number ≥ 1, got {value!r}")
            return int(value)

        self.n_inputs = whole(n_inputs, "n_inputs")
        self.n_outputs = whole(n_outputs, "n_outputs")
        if isinstance(hidden_layer_sizes, (int, np.integer)) and not isinstance(hidden_layer_sizes, bool):
            hidden_layer_sizes = (hidden_layer_sizes,)
        self.hidden_layer_sizes = tuple(whole(n, "each hidden layer size") for n in hidden_layer_sizes)
        n_hidden = len(self.hidden_layer_sizes)
        names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        if len(names) != n_hidden:
            raise ValueError(f"activation lists {len(names)} activation(s) for {n_hidden} hidden "
                             "layer(s): give one name, or one per hidden layer")
        self.activations = [get_activation(a) for a in names]
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose one of: {', '.join(OUTPUTS)}")
        if output == "softmax" and self.n_outputs < 2:
            raise ValueError("a softmax output needs n_outputs ≥ 2 (one per class); for two classes "
                             "one sigmoid output does the same")
        self.output = output
        self.output_activation = None if output == "softmax" else get_activation(output)
        self.sizes = (self.n_inputs, *self.hidden_layer_sizes, self.n_outputs)
        self.n_layers = len(self.sizes) - 1
        blocks = []
        for l in range(1, self.n_layers + 1):
            blocks += [(f"W{l}", (self.sizes[l - 1], self.sizes[l]), True), (f"b{l}", (self.sizes[l],), False)]
        #: θ = (W₁, b₁, …, W_L, b_L); a weight penalty applies to the W's, never to the b's
        self.layout = ParameterLayout(blocks)

    @property
    def n_params(self) -> int:
        return self.layout.size

    @property
    def param_names(self) -> list[str]:
        return self.layout.param_names

    @property
    def differentiable(self) -> bool:
        """False when some layer's activation has no useful derivative (the step)."""
        return all(f.differentiable for f in self.activations) and (
            self.output_activation is None or self.output_activation.differentiable)

    def layer(self, theta, l: int) -> tuple[np.ndarray, np.ndarray]:
        """(W_l, b_l) of layer l = 1 … L, views into θ."""
        return self.layout.view(theta, f"W{l}"), self.layout.view(theta, f"b{l}")

    def layers(self, theta, work: Optional[Workspace] = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W_1, b_1), …, (W_L, b_L)], views into θ; when θ is a buffer of ``work``, the
        views it made once."""
        buffer, views = (None, None) if work is None else work.layer_views.get(id(theta), (None, None))
        if buffer is theta:
            return views
        return [self.layer(theta, l) for l in range(1, self.n_layers + 1)]

    def init_params(self, method: str = "xavier", random_state=None) -> np.ndarray:
        """A starting θ drawn from the seed, layer by layer in θ's order:

        - ``xavier`` (Glorot): W_l ~ N(0, 2/(n_{l−1} + n_l)), b_l = 0
        - ``he``:              W_l ~ N(0, 2/n_{l−1}),         b_l = 0   (for relu layers)
        - ``normal``: every entry ~ N(0, 1);  ``uniform``: every entry ~ U(−1, 1);  ``zeros``

        With no hidden layer and one output these draw the same numbers as the neuron's
        ``init_params`` from the same seed."""
        rng = np.random.default_rng(random_state)
        if method == "normal":
            return rng.standard_normal(self.n_params)
        if method == "uniform":
            return rng.uniform(-1.0, 1.0, self.n_params)
        if method not in NETWORK_INITIALIZERS:
            raise ValueError(f"unknown init {method!r}; choose one of: {', '.join(NETWORK_INITIALIZERS)}")
        theta = np.zeros(self.n_params)
        if method == "zeros":
            return theta
        for l in range(1, self.n_layers + 1):
            n_in, n_out = self.sizes[l - 1], self.sizes[l]
            sd = np.sqrt(2.0 / (n_in + n_out)) if method == "xavier" else np.sqrt(2.0 / n_in)
            W, _ = self.layer(theta, l)
            W[...] = rng.normal(0.0, sd, W.size).reshape(W.shape)
        return theta

    def _rows(self, X):
        X = X if isinstance(X, np.ndarray) and X.dtype.kind == "f" else np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n_rows, {self.n_inputs}), got {X.shape}")
        return X

    def weights_as(self, theta, dtype, work: Optional[Workspace] = None) -> np.ndarray:
        """θ in ``dtype`` (the data's): without ``work``, θ itself when it already is, else a cast
        copy; with ``work``, copied into ``work.theta`` (one cast per step, not one per layer and
        pass; and a buffer whose layer views the workspace made once, which is cheaper than
        slicing θ anew even when no cast is needed)."""
        theta = np.asarray(theta)
        if work is None:
            return theta if theta.dtype == dtype else theta.astype(dtype)
        if theta is not work.theta:
            np.copyto(work.theta, theta, casting="same_kind")
        return work.theta

    def forward_pass(self, theta, X, work: Optional[Workspace] = None) -> Trace:
        """Every layer, first to last: z_l = a_{l−1}·W_l + b_l, a_l = f_l(z_l), in X's dtype
        (float32 X stays float32).  Returns what ``backward`` needs.  With ``work`` (a
        :class:`Workspace` that fits X) every z_l and a_l is written into its buffers and
        the output ŷ is not computed."""
        X = self._rows(X)
        theta = self.weights_as(theta, X.dtype, work)
        n = X.shape[0]
        a, inputs, zs = X, [], []
        for l, (W, b) in enumerate(self.layers(theta, work), start=1):
            z = np.matmul(a, W, out=_into(work and work.z, l - 1, n))
            z += b
            inputs.append(a)
            zs.append(z)
            if l < self.n_layers:
                a = self.activations[l - 1].apply(z, _into(work and work.a, l - 1, n))
        return Trace(inputs, zs, None if work is not None else self.output_of(zs[-1]))

    def output_of(self, z):
        """ŷ from the last layer's z: softmax(z) row by row, or its activation f(z)."""
        return softmax(z) if self.output == "softmax" else self.output_activation(z)

    def forward(self, theta, X):
        """(z, ŷ) of the last layer for every row of X (one column per output)."""
        trace = self.forward_pass(theta, X)
        return trace.z[-1], trace.output

    def backward(self, theta, trace: Trace, delta, work: Optional[Workspace] = None) -> np.ndarray:
        """∂J/∂θ from δ_L = ∂J/∂z_L (one row per row of X), by the chain rule, last layer first:

            ∂J/∂W_l = a_{l−1}ᵀ·δ_l,      ∂J/∂b_l = Σᵢ δ_l,i
            δ_{l−1} = (δ_l·W_lᵀ) ⊙ f′_{l−1}(z_{l−1})

        — the neuron's Xᵀδ and Σδ, once per layer, with δ carried back through W.  Returns
        the gradient in float64; with ``work``, in the data's dtype, in ``work.grad`` (every
        product written into the workspace's buffers, θ as ``weights_as`` gave it)."""
        theta = self.weights_as(theta, delta.dtype)
        grad = np.empty(self.n_params, delta.dtype) if work is None else work.grad
        n = delta.shape[0]
        layers, grads = self.layers(theta, work), self.layers(grad, work)
        for l in range(self.n_layers, 0, -1):
            (W, _), (gW, gb) = layers[l - 1], grads[l - 1]
            np.matmul(trace.inputs[l - 1].T, delta, out=gW)
            np.sum(delta, axis=0, out=gb)
            if l > 1:
                f, z, a = self.activations[l - 2], trace.z[l - 2], trace.inputs[l - 1]
                delta = np.matmul(delta, W.T, out=_into(work and work.delta, l - 2, n))
                delta *= f.derivative_at(z, a, _into(work and work.slope, l - 2, n))
        return grad if work is not None else grad.astype(np.float64, copy=False)

    def __repr__(self) -> str:
        hidden = [f"{n} {f.name}" for n, f in zip(self.hidden_layer_sizes, self.activations)]
        return f"Network({' → '.join([str(self.n_inputs), *hidden, f'{self.n_outputs} {self.output}'])})"
