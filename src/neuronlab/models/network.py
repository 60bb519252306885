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

from typing import NamedTuple, Sequence, Union

import numpy as np

from ..core.activations import ACTIVATIONS, get_activation, softmax
from ..core.layout import ParameterLayout

__all__ = ["Network", "OUTPUTS", "NETWORK_INITIALIZERS"]

#: what the last layer may apply to its z: an activation by name, or softmax over its k outputs
OUTPUTS = tuple(ACTIVATIONS) + ("softmax",)
#: starting weights (see ``Network.init_params``)
NETWORK_INITIALIZERS = ("xavier", "he", "normal", "uniform", "zeros")


class Trace(NamedTuple):
    """What a forward pass keeps for the backward pass: every layer's input a_{l−1} and
    its z_l, in order (``inputs[0]`` is X), and the output ŷ."""

    inputs: list
    z: list
    output: np.ndarray


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

    def forward_pass(self, theta, X) -> Trace:
        """Every layer, first to last: z_l = a_{l−1}·W_l + b_l, a_l = f_l(z_l), in X's dtype
        (float32 X stays float32).  Returns what ``backward`` needs."""
        X = self._rows(X)
        theta = np.asarray(theta)
        a, inputs, zs = X, [], []
        for l in range(1, self.n_layers + 1):
            W, b = self.layer(theta, l)
            z = a @ W.astype(a.dtype, copy=False)
            z += b.astype(a.dtype, copy=False)
            inputs.append(a)
            zs.append(z)
            if l < self.n_layers:
                a = self.activations[l - 1](z)
        return Trace(inputs, zs, self.output_of(zs[-1]))

    def output_of(self, z):
        """ŷ from the last layer's z: softmax(z) row by row, or its activation f(z)."""
        return softmax(z) if self.output == "softmax" else self.output_activation(z)

    def forward(self, theta, X):
        """(z, ŷ) of the last layer for every row of X (one column per output)."""
        trace = self.forward_pass(theta, X)
        return trace.z[-1], trace.output

    def backward(self, theta, trace: Trace, delta) -> np.ndarray:
        """∂J/∂θ from δ_L = ∂J/∂z_L (one row per row of X), by the chain rule, last layer first:

            ∂J/∂W_l = a_{l−1}ᵀ·δ_l,      ∂J/∂b_l = Σᵢ δ_l,i
            δ_{l−1} = (δ_l·W_lᵀ) ⊙ f′_{l−1}(z_{l−1})

        — the neuron's Xᵀδ and Σδ, once per layer, with δ carried back through W."""
        theta = np.asarray(theta)
        grad = np.empty(self.n_params)
        for l in range(self.n_layers, 0, -1):
            W, _ = self.layer(theta, l)
            gW, gb = self.layer(grad, l)
            gW[...] = trace.inputs[l - 1].T @ delta
            gb[...] = delta.sum(axis=0)
            if l > 1:
                f, z, a = self.activations[l - 2], trace.z[l - 2], trace.inputs[l - 1]
                delta = (delta @ W.T.astype(delta.dtype, copy=False)) * f.derivative(z, a)
        return grad

    def __repr__(self) -> str:
        hidden = [f"{n} {f.name}" for n, f in zip(self.hidden_layer_sizes, self.activations)]
        return f"Network({' → '.join([str(self.n_inputs), *hidden, f'{self.n_outputs} {self.output}'])})"
