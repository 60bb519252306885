"""Independent references the numerical tests share: central finite differences, the largest
curvature of a neuron's data written out with NumPy, and the activation/loss pairs a neuron
can learn with."""

import numpy as np

from neuronlab.core.activations import ACTIVATIONS
from neuronlab.core.losses import LOSSES

#: every (activation, loss) pair gradient descent can train: a differentiable activation whose
#: outputs ŷ lie where the loss is defined (log loss only with the sigmoid)
TRAINABLE_PAIRS = [
    (a, l)
    for a in ACTIVATIONS
    for l in LOSSES
    if ACTIVATIONS[a].differentiable
    and ACTIVATIONS[a].output_range[0] >= LOSSES[l].needs_output_in[0]
    and ACTIVATIONS[a].output_range[1] <= LOSSES[l].needs_output_in[1]
]


def central_differences(f, theta, h=1e-6):
    """(f(θ + h·eᵢ) − f(θ − h·eᵢ)) / 2h for every i (error O(h²)), stacked on the last axis:
    ∇J when f is a loss J(θ); the Jacobian (column i = ∂f/∂θᵢ) when f returns a vector,
    so the Hessian when f is θ → ∇J(θ)."""
    theta = np.asarray(theta, dtype=np.float64)
    return np.stack([(np.asarray(f(theta + h * e)) - np.asarray(f(theta - h * e))) / (2 * h)
                     for e in np.eye(theta.size)], axis=-1)


def largest_curvature(X, weights=None):
    """λ_max of H = X̃ᵀSX̃ / Σs with X̃ = [X, 1] and S = diag(s) (all 1 without weights): H is
    the Hessian of J for a linear neuron with squared error, where fixed-η descent is stable
    exactly for η < 2/λ_max, and 4× a bound on it for sigmoid + log loss (η < 8/λ_max)."""
    X_tilde = np.column_stack([np.asarray(X, dtype=np.float64), np.ones(len(X))])
    s = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(np.linalg.eigvalsh(X_tilde.T @ (s[:, None] * X_tilde) / s.sum())[-1])


def bowl(curvatures, center=0.0):
    """J(θ) = ½·Σᵢ λᵢ(θᵢ − cᵢ)², with ∇J = λ·(θ − c) from the same call: its Hessian is diag(λ),
    so the minimum θ = c, gradient descent's iterates θ_t − c = (1 − ηλ)^t·(θ_0 − c) and its
    stability limit η < 2/λ_max are known in closed form."""
    from neuronlab import FunctionObjective

    lams = np.asarray(curvatures, dtype=np.float64)
    center = np.broadcast_to(np.asarray(center, dtype=np.float64), lams.shape)

    def loss_and_grad(theta):
        r = theta - center
        return 0.5 * float(lams @ (r * r)), lams * r

    return FunctionObjective(loss_and_grad, lams.size, grad=True)
