"""Parameter layouts: named blocks of one flat parameter vector θ.

A strategy sees θ as one float64 vector; a model sees it as named arrays — the
neuron as w (its n weights) and b (its bias), a dense layer as W (n_in × n_out) and
b (n_out).  A :class:`ParameterLayout` is that mapping: an ordered list of blocks,
each a name and a shape, laid end to end in θ.  ``view(θ, name)`` is a NumPy view of
one block (never a copy), so a model reads its weights where they are and an update
of θ in place updates them.

This module is part of the core: it imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Block", "ParameterLayout"]


@dataclass(frozen=True)
class Block:
    """One named block of θ: entries ``start … start + size − 1``, seen with ``shape``.

    ``penalised`` says whether a weight penalty (α·‖·‖) applies to it: weights yes,
    biases no.
    """

    name: str
    shape: tuple[int, ...]
    start: int
    penalised: bool

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def stop(self) -> int:
        return self.start + self.size

    def labels(self) -> list[str]:
        """One label per entry, in θ's order: ``b`` for a single number, ``w1 … wn`` for a
        vector (counted from 1, as the course writes w₁), ``W[1,1] … `` for a matrix, and
        ``b1[1] …`` for a vector whose name ends in a digit (a layer's), so that no two read alike."""
        if self.shape == ():
            return [self.name]
        if len(self.shape) == 1 and not self.name[-1].isdigit():
            return [f"{self.name}{i + 1}" for i in range(self.shape[0])]
        return [f"{self.name}[{','.join(str(i + 1) for i in index)}]" for index in np.ndindex(*self.shape)]


class ParameterLayout:
    """Named blocks laid end to end in one flat θ.

    ``blocks`` is a sequence of (name, shape, penalised); a shape of ``()`` is one
    number.  The neuron with n inputs is ``[("w", (n,), True), ("b", (), False)]``; a
    dense network lists ``W1``, ``b1``, ``W2``, ``b2``, … with W of shape (n_in, n_out)
    and b of shape (n_out,).

    >>> layout = ParameterLayout([("w", (2,), True), ("b", (), False)])
    >>> theta = np.array([0.5, -1.0, 0.25])
    >>> layout.view(theta, "w"), float(layout.view(theta, "b"))
    (array([ 0.5, -1. ]), 0.25)
    >>> layout.param_names
    ['w1', 'w2', 'b']
    """

    def __init__(self, blocks):
        laid_out = []
        start = 0
        for name, shape, penalised in blocks:
            shape = tuple(int(d) for d in shape)
            if any(d < 1 for d in shape):
                raise ValueError(f"block {name!r} must have a shape of whole numbers ≥ 1, got {shape}")
            if any(b.name == name for b in laid_out):
                raise ValueError(f"two blocks are named {name!r}; each block needs its own name")
            laid_out.append(Block(str(name), shape, start, bool(penalised)))
            start = laid_out[-1].stop
        if not laid_out:
            raise ValueError("a layout needs at least one block")
        self.blocks: tuple[Block, ...] = tuple(laid_out)
        self._by_name = {b.name: b for b in laid_out}
        # where each block lies in θ, and its shape: a view is one slice and one reshape
        self._where = {b.name: (slice(b.start, b.stop), b.shape) for b in laid_out}
        self.size = start

    @property
    def names(self) -> list[str]:
        """The blocks' names, in θ's order."""
        return [b.name for b in self.blocks]

    @property
    def param_names(self) -> list[str]:
        """One label per entry of θ (see :meth:`Block.labels`)."""
        return [label for b in self.blocks for label in b.labels()]

    @property
    def penalised(self) -> list[str]:
        """The names of the blocks a weight penalty applies to."""
        return [b.name for b in self.blocks if b.penalised]

    def block(self, name: str) -> Block:
        if name not in self._by_name:
            raise KeyError(f"no block {name!r} in this layout; it has {', '.join(self.names)}")
        return self._by_name[name]

    def view(self, theta: np.ndarray, name: str) -> np.ndarray:
        """Block ``name`` of θ with its shape: a view into θ (writing to it writes θ)."""
        if theta.shape != (self.size,):
            raise ValueError(f"θ must hold {self.size} numbers ({', '.join(self.names)}), got shape {theta.shape}")
        if name not in self._where:
            self.block(name)  # the KeyError that names the blocks there are
        where, shape = self._where[name]
        return theta[where].reshape(shape)

    def indices(self, name: str) -> np.ndarray:
        """The positions in θ of block ``name``'s entries (to pick them out of a matrix over θ,
        such as a Hessian)."""
        b = self.block(name)
        return np.arange(b.start, b.stop)

    def views(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Every block of θ by name, each a view (see :meth:`view`)."""
        return {b.name: self.view(theta, b.name) for b in self.blocks}

    def pack(self, **values) -> np.ndarray:
        """A new float64 θ with each block set from ``values`` (one array per block name)."""
        missing = set(self.names) - set(values)
        unknown = set(values) - set(self.names)
        if missing or unknown:
            raise ValueError(f"pack needs exactly the blocks {', '.join(self.names)}; "
                             f"missing {sorted(missing)}, unknown {sorted(unknown)}")
        theta = np.empty(self.size)
        for name, value in values.items():
            self.view(theta, name)[...] = value
        return theta

    def __repr__(self) -> str:
        inside = ", ".join(f"{b.name}{list(b.shape)}" + ("" if b.penalised else " (not penalised)")
                           for b in self.blocks)
        return f"ParameterLayout({inside})"
