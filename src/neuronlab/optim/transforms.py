"""Gradient transformations and learning-rate schedules, composable in the optax manner.

A :class:`GradientTransformation` is a pair of functions:

    state = init(θ)
    direction, state = update(g, state, θ)

It turns the gradient g = ∇J(θ) into a *direction* d; the strategy then steps
θ ← θ − η_t·d with the learning rate η_t of its schedule.  Unlike optax, the state's arrays
are updated in place and d may be a buffer of the state, valid until the next ``update``
(copy it to keep it): a network's step is a few element-wise passes over θ, and a fresh
θ-sized array per operation cost a quarter of a Fashion-MNIST step.  Each
``init`` makes new arrays, so two runs never share a state.  Transformations chain:
``chain(clip_by_global_norm(1.0), scale_by_adam())`` clips g, then feeds it to
Adam.  Gradient descent is the empty chain (d = g).

Schedules are functions of the step t = 0, 1, 2, … returning η_t; they are small
classes so that they print themselves and compare equal by their settings.

This module is part of the core: it imports numpy only (and neuronlab's own checks); Adam on a
large float64 θ runs one compiled loop (``_adam_numba``) when numba is installed.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np

from ..core.validation import check_positive

__all__ = [
    "GradientTransformation",
    "identity",
    "chain",
    "trace",
    "scale_by_adagrad",
    "scale_by_rms",
    "scale_by_adam",
    "clip",
    "clip_by_global_norm",
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "LinearWarmup",
    "SCHEDULES",
    "get_schedule",
]


class GradientTransformation(NamedTuple):
    """``init(θ) -> state`` and ``update(g, state, θ) -> (direction, state)``."""

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray], tuple[np.ndarray, Any]]


def identity() -> GradientTransformation:
    """d = g: plain gradient descent."""
    return GradientTransformation(lambda theta: (), lambda g, state, theta: (g, state))


def chain(*transformations: GradientTransformation) -> GradientTransformation:
    """Apply the transformations in order: the output of one is the input of the next."""

    def init(theta):
        return tuple(t.init(theta) for t in transformations)

    def update(g, states, theta):
        new_states = []
        for t, state in zip(transformations, states):
            g, state = t.update(g, state, theta)
            new_states.append(state)
        return g, tuple(new_states)

    return GradientTransformation(init, update)


def _check_fraction(name, value, inclusive_zero=True):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
        0.0 <= value < 1.0 if inclusive_zero else 0.0 < value < 1.0
    )
    if not ok:
        raise ValueError(f"{name} must be a number in {'[0' if inclusive_zero else '(0'}, 1), got {value!r}")


def trace(decay: float = 0.9, nesterov: bool = False) -> GradientTransformation:
    """Momentum (heavy ball): v ← μ·v + g, d = v; Nesterov: d = g + μ·v.

    With a constant η this is PyTorch's ``SGD(momentum=μ, nesterov=...)``:
    θ ← θ − η·v.  The velocity v remembers past gradients, so steps build up along
    directions where the gradient keeps its sign and cancel where it flips.
    """
    _check_fraction("momentum", decay)

    def init(theta):
        return np.zeros_like(theta), np.empty_like(theta)

    def update(g, state, theta):
        velocity, direction = state
        velocity *= decay
        velocity += g
        if not nesterov:
            return velocity, state
        np.multiply(velocity, decay, out=direction)
        return np.add(g, direction, out=direction), state

    return GradientTransformation(init, update)


def scale_by_adagrad(eps: float = 1e-10, initial: float = 0.0) -> GradientTransformation:
    """Adagrad: G ← G + g², d = g / (√G + ε) — each parameter's step shrinks with
    the total size of its past gradients."""
    check_positive("eps", eps)

    def init(theta):
        return np.full_like(theta, initial), np.empty_like(theta)

    def update(g, state, theta):
        total, direction = state
        total += np.multiply(g, g, out=direction)
        return _divide_by_root(g, total, eps, direction), state

    return GradientTransformation(init, update)


def _divide_by_root(numerator, square, eps, out):
    """out = numerator / (√square + ε), in place."""
    np.sqrt(square, out=out)
    out += eps
    return np.divide(numerator, out, out=out)


def _decay_into(average, decay, g, scratch, squared=False):
    """average ← decay·average + (1 − decay)·g (or ·g² with ``squared``), in place."""
    average *= decay
    np.multiply(g, 1.0 - decay, out=scratch)
    if squared:
        scratch *= g
    average += scratch


def scale_by_rms(decay: float = 0.9, eps: float = 1e-8) -> GradientTransformation:
    """RMSProp: s ← ρ·s + (1 − ρ)·g², d = g / (√s + ε) — like Adagrad, but it forgets."""
    _check_fraction("rho", decay, inclusive_zero=False)
    check_positive("eps", eps)

    def init(theta):
        return np.zeros_like(theta), np.empty_like(theta)

    def update(g, state, theta):
        mean_square, direction = state
        _decay_into(mean_square, decay, g, direction, squared=True)
        return _divide_by_root(g, mean_square, eps, direction), state

    return GradientTransformation(init, update)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """Adam: m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,  with bias corrections
    m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ) at update t = 1, 2, …:  d = m̂ / (√v̂ + ε)."""
    _check_fraction("beta1", b1)
    _check_fraction("beta2", b2)
    check_positive("eps", eps)

    def init(theta):
        return [0, np.zeros_like(theta), np.zeros_like(theta), np.empty_like(theta), np.empty_like(theta)]

    def update(g, state, theta):
        state[0] += 1
        count, m, v, m_hat, direction = state
        compiled = _compiled_adam(g, m)
        if compiled is not None:
            compiled(g, m, v, direction, b1, b2, 1.0 - b1**count, 1.0 - b2**count, eps)
            return direction, state
        _decay_into(m, b1, g, m_hat)
        _decay_into(v, b2, g, direction, squared=True)
        np.divide(m, 1.0 - b1**count, out=m_hat)
        np.divide(v, 1.0 - b2**count, out=direction)
        return _divide_by_root(m_hat, direction, eps, direction), state

    return GradientTransformation(init, update)


#: from this many weights on, Adam's update runs as one compiled loop (when numba is there);
#: below, NumPy's calls cost less than the compiled call and its first-use import
COMPILED_ADAM_FROM = 8192
_ADAM = None


def _compiled_adam(g, m):
    """The compiled Adam loop for float64 θ of at least COMPILED_ADAM_FROM weights, or None
    (float32 arithmetic would round differently in it: its NumPy path keeps float32)."""
    global _ADAM
    if m.shape[0] < COMPILED_ADAM_FROM or m.dtype != np.float64 or g.dtype != np.float64 or m.ndim != 1:
        return None
    if _ADAM is None:
        try:
            from ._adam_numba import adam_direction
        except ImportError:  # numba is missing: NumPy's calls do the same
            adam_direction = False
        _ADAM = adam_direction
    return _ADAM or None


def clip(max_delta: float) -> GradientTransformation:
    """Clip each component of g to [−max_delta, max_delta]."""
    check_positive("max_delta", max_delta)
    return GradientTransformation(
        lambda theta: (), lambda g, state, theta: (np.clip(g, -max_delta, max_delta), state)
    )


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """g ← g·min(1, max_norm/‖g‖): the direction kept, the length at most max_norm."""
    check_positive("max_norm", max_norm)

    def update(g, state, theta):
        norm = float(np.linalg.norm(g))
        return (g * (max_norm / norm) if norm > max_norm else g), state

    return GradientTransformation(lambda theta: (), update)


# --- schedules ---------------------------------------------------------------------

class Schedule:
    """η_t as a function of the update count t = 0, 1, 2, …"""

    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)


class Constant(Schedule):
    """η_t = η."""

    def __init__(self, learning_rate: float):
        check_positive("learning_rate", learning_rate)
        self.learning_rate = learning_rate

    def __call__(self, t):
        return float(self.learning_rate)


class StepDecay(Schedule):
    """η_t = η·γ^⌊t/k⌋: multiply by γ (``drop``) every k (``every``) steps."""

    def __init__(self, learning_rate: float, drop: float = 0.5, every: int = 100):
        check_positive("learning_rate", learning_rate)
        _check_fraction("drop", drop, inclusive_zero=False)
        check_positive("every", every, integer=True)
        self.learning_rate, self.drop, self.every = learning_rate, drop, every

    def __call__(self, t):
        return float(self.learning_rate * self.drop ** (t // self.every))


class ExponentialDecay(Schedule):
    """η_t = η·γ^(t/k): smoothly, a factor γ (``rate``) every k (``decay_steps``) steps."""

    def __init__(self, learning_rate: float, rate: float = 0.5, decay_steps: int = 100):
        check_positive("learning_rate", learning_rate)
        _check_fraction("rate", rate, inclusive_zero=False)
        check_positive("decay_steps", decay_steps, integer=True)
        self.learning_rate, self.rate, self.decay_steps = learning_rate, rate, decay_steps

    def __call__(self, t):
        return float(self.learning_rate * self.rate ** (t / self.decay_steps))


class InverseTimeDecay(Schedule):
    """η_t = η / (1 + κ·t/k) (κ = ``rate``, k = ``decay_steps``): the 1/t decay under which
    stochastic gradient descent converges."""

    def __init__(self, learning_rate: float, rate: float = 1.0, decay_steps: int = 100):
        check_positive("learning_rate", learning_rate)
        check_positive("rate", rate)
        check_positive("decay_steps", decay_steps, integer=True)
        self.learning_rate, self.rate, self.decay_steps = learning_rate, rate, decay_steps

    def __call__(self, t):
        return float(self.learning_rate / (1.0 + self.rate * t / self.decay_steps))


class CosineDecay(Schedule):
    """η_t = η_min + (η − η_min)·½(1 + cos(π·min(t, T)/T)): from η down to η_min
    (= ``final_fraction``·η) over T (``decay_steps``) steps, then flat."""

    def __init__(self, learning_rate: float, decay_steps: int = 1000, final_fraction: float = 0.0):
        check_positive("learning_rate", learning_rate)
        check_positive("decay_steps", decay_steps, integer=True)
        _check_fraction("final_fraction", final_fraction)
        self.learning_rate, self.decay_steps, self.final_fraction = (
            learning_rate, decay_steps, final_fraction
        )

    def __call__(self, t):
        low = self.final_fraction * self.learning_rate
        progress = min(t, self.decay_steps) / self.decay_steps
        return float(low + (self.learning_rate - low) * 0.5 * (1.0 + math.cos(math.pi * progress)))


class LinearWarmup(Schedule):
    """η_t = then(0)·(t + 1)/W for t < W (``warmup_steps``), then η_t = then(t − W).

    Starts small while the first gradients are large and unreliable, reaches the
    schedule's first value at step W − 1, then follows it.
    """

    def __init__(self, then: Schedule, warmup_steps: int = 100):
        if not callable(then):
            raise TypeError(f"then must be a schedule (a function of t), got {then!r}")
        check_positive("warmup_steps", warmup_steps, integer=True)
        self.then, self.warmup_steps = then, warmup_steps

    def __call__(self, t):
        if t < self.warmup_steps:
            return float(self.then(0) * (t + 1) / self.warmup_steps)
        return float(self.then(t - self.warmup_steps))


SCHEDULES = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "inverse_time": InverseTimeDecay,
    "cosine": CosineDecay,
}


def get_schedule(schedule, learning_rate: float, warmup_steps: int = 0, **options) -> Callable:
    """A schedule from a name in SCHEDULES (starting at η = ``learning_rate``), a
    Schedule, or any function t → η_t; with ``warmup_steps`` > 0, a linear warm-up first."""
    if schedule is None:
        schedule = "constant"
    if isinstance(schedule, str):
        key = schedule.replace("-", "_")
        if key not in SCHEDULES:
            raise ValueError(
                f"unknown learning-rate schedule {schedule!r}; choose one of: {', '.join(SCHEDULES)}"
            )
        try:
            schedule = SCHEDULES[key](learning_rate, **options)
        except TypeError as e:
            raise TypeError(f"schedule {schedule!r}: {e}") from None
    elif options:
        raise TypeError("schedule options go with a schedule name, not with a schedule object")
    elif not callable(schedule):
        raise TypeError(f"schedule must be a name such as 'cosine' or a function of t, got {schedule!r}")
    if warmup_steps:
        schedule = LinearWarmup(schedule, warmup_steps)
    return schedule
