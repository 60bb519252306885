"""The neuron: z = w·x + b, ŷ = f(z).

Its parameters live in one flat vector θ = (w₁, …, wₙ, b); ``weights`` and
``bias`` are views into it, so a strategy that updates θ in place updates the
neuron.  Layers and networks (later) follow the same rule: structure here, numbers
in θ.
"""

from __future__ import annotations

import numpy as np

from ..core.activations import get_activation

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
    """One neuron with ``n_inputs`` inputs and activation f.

    >>> n = Neuron(2, "sigmoid", theta=[0.5, -1.0, 0.25])
    >>> z, y_hat = n.forward([[4.0, 80.0]])
    """

    def __init__(self, n_inputs: int, activation="sigmoid", theta=None):
        if not isinstance(n_inputs, (int, np.integer)) or isinstance(n_inputs, bool) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a whole number ≥ 1, got {n_inputs!r}")
        self.n_inputs = int(n_inputs)
        self.activation = get_activation(activation)
        if theta is None:
            theta = np.zeros(self.n_params)
        self.theta = theta

    @property
    def n_params(self) -> int:
        return self.n_inputs + 1

    @property
    def param_names(self) -> list[str]:
        return [f"w{i + 1}" for i in range(self.n_inputs)] + ["b"]

    @property
    def theta(self) -> np.ndarray:
        return self._theta

    @theta.setter
    def theta(self, value) -> None:
        value = np.asarray(value, dtype=np.float64)
        if value.shape != (self.n_params,):
            raise ValueError(
                f"theta must hold {self.n_params} numbers (w₁…w{self.n_inputs} and b), "
                f"got shape {value.shape}"
            )
        self._theta = value

    @property
    def weights(self) -> np.ndarray:
        """w, a view into θ."""
        return self._theta[:-1]

    @property
    def bias(self) -> np.ndarray:
        """b, a 0-d view into θ (use float(neuron.bias) for the number)."""
        return self._theta[-1:].reshape(())

    def init(self, method: str = "xavier", random_state=None) -> "Neuron":
        self.theta = init_params(self.n_inputs, method, random_state)
        return self

    def forward(self, X, theta=None):
        """Return (z, ŷ) for every row x of X: z = X·w + b, ŷ = f(z)."""
        theta = self._theta if theta is None else np.asarray(theta)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(
                f"X must have shape (n_rows, {self.n_inputs}), got {X.shape}"
            )
        z = X @ theta[:-1] + theta[-1]
        return z, self.activation(z)

    def __repr__(self) -> str:
        return f"Neuron(n_inputs={self.n_inputs}, activation={self.activation.name!r})"
