"""How many threads neuronlab's compiled passes over the data may use.

``NEURONLAB_THREADS`` (a whole number ≥ 1) in the environment sets it, as
``OMP_NUM_THREADS`` does for OpenMP programs; without it, every core this process may
run on.  Read at each pass, so a change of the variable takes effect at the next one.
The results do not depend on it: a pass is cut into the same chunks on any number of
threads, and their sums are added in the same order.
"""

from __future__ import annotations

import os

__all__ = ["THREADS_VARIABLE", "thread_setting"]

THREADS_VARIABLE = "NEURONLAB_THREADS"


def thread_setting() -> int | None:
    """The thread count ``NEURONLAB_THREADS`` asks for, or None when it is unset (or empty).

    ValueError naming the variable when it is not a whole number ≥ 1."""
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if not text:
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{THREADS_VARIABLE} must be a whole number of threads ≥ 1, got {text!r}; "
                         f"unset it to use every core")
    return count
