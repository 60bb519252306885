"""The neuron: z = w·x + b, ŷ = f(z), and the chain rule back from δ = ∂J/∂z.

A model is structure, the numbers live in θ: the neuron owns the layout of its
parameter vector θ = (w₁, …, wₙ, b) (:class:`~neuronlab.core.layout.ParameterLayout`),
and every method takes θ.  ``weights(θ)`` and ``bias(θ)`` are views into θ, so a
strategy that updates θ in place updates the neuron.  A dense network is another
model with the same three methods: ``forward``, ``backward``, ``layout``.
"""

from __future__ import annotations

import numpy as np

from ..core.activations import get_activation
from ..core.layout import ParameterLayout

__all__ = ["Neuron", "INITIALIZERS", "init_params"]

INITIALIZERS = ("normal", "uniform", "zeros", "xavier", "he")


def init_params(n_inputs: int, method: str = "xavier", random_state=None) -> np.ndarray:
    """A starting θ = (w, b) for a neuron with ``n_inputs`` inputs, drawn from the seed.

    - ``normal``:  wᵢ, b ~ N(0, 1)        (the course's "random weights")
    - ``uniform``: wᵢ, b ~ U(−1, 1)
    - ``zeros``:   w = 0, b = 0
    - ``xavier``:  wᵢ ~ N(0, 2/(n + 1)), b = 0   (Glorot, one output)
    - ``he``:      wᵢ ~ N(0, 2/n), b = 0
    """
    rng = np.random.default_rng(random_state)
    n = int(n_inputs)
    if method == "normal":
        return rng.standard_normal(n + 1)
    if method == "uniform":
        return rng.uniform(-1.0, 1.0, n + 1)
    theta = np.zeros(n + 1)
    if method == "zeros":
        return theta
    if method == "xavier":
        theta[:n] = rng.normal(0.0, np.sqrt(2.0 / (n + 1)), n)
        return theta
    if method == "he":
        theta[:n] = rng.normal(0.0, np.sqrt(2.0 / n), n)
        return theta
    raise ValueError(f"unknown init {method!r}; choose one of: {', '.join(INITIALIZERS)}")


class Neuron:
    """One neuron with ``n_inputs`` inputs and activation f, over θ = (w₁, …, wₙ, b).

    >>> neuron = Neuron(2, "sigmoid")
    >>> z, y_hat = neuron.forward(np.array([0.5, -0.02, 0.1]), [[4.0, 80.0]])   # z = 0.5
    """

    def __init__(self, n_inputs: int, activation="sigmoid"):
        if not isinstance(n_inputs, (int, np.integer)) or isinstance(n_inputs, bool) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a whole number ≥ 1, got {n_inputs!r}")
        self.n_inputs = int(n_inputs)
        self.activation = get_activation(activation)
        #: θ = (w, b); a weight penalty applies to w, never to b
        self.layout = ParameterLayout([("w", (self.n_inputs,), True), ("b", (), False)])

    @property
    def n_params(self) -> int:
        return self.layout.size

    @property
    def param_names(self) -> list[str]:
        """``w1 … wn, b``: one name per entry of θ."""
        return self.layout.param_names

    def weights(self, theta) -> np.ndarray:
        """w, a view into θ."""
        return self.layout.view(theta, "w")

    def bias(self, theta) -> np.ndarray:
        """b, a 0-d view into θ (float(neuron.bias(θ)) for the number)."""
        return self.layout.view(theta, "b")

    def net_input(self, theta, X) -> np.ndarray:
        """z = X·w + b for every row x of X (the first half of ``forward``).

        A float X is used as it is (float32 stays float32 until it meets w); anything else
        is read as float64."""
        theta = np.asarray(theta)
        X = X if isinstance(X, np.ndarray) and X.dtype.kind == "f" else np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n_rows, {self.n_inputs}), got {X.shape}")
        return X @ self.weights(theta) + self.bias(theta)

    def forward(self, theta, X):
        """(z, ŷ) for every row x of X:  z = X·w + b,  ŷ = f(z)."""
        z = self.net_input(theta, X)
        return z, self.activation(z)

    def backward(self, theta, X, delta) -> np.ndarray:
        """∂J/∂θ from δᵢ = ∂J/∂zᵢ for every row xᵢ of X, by the chain rule through z = X·w + b:

            ∂J/∂w = Σᵢ δᵢ·xᵢ = Xᵀδ,   ∂J/∂b = Σᵢ δᵢ

        (θ itself is not needed for a neuron — ∂z/∂w = x, ∂z/∂b = 1 — but a layer's
        backward pass needs its weights, so every model takes it.)"""
        grad = np.empty(self.n_params)
        self.weights(grad)[...] = X.T @ delta
        self.bias(grad)[...] = delta.sum()
        return grad

    def __repr__(self) -> str:
        return f"Neuron(n_inputs={self.n_inputs}, activation={self.activation.name!r})"
