"""How many threads neuronlab's compiled passes over the data may use.

In order of precedence:

- a fit's ``n_jobs`` (the neuron estimators' parameter, held for the run by
  :func:`run_threads`), with joblib's meaning: k > 0 threads, −1 every core this process may
  run on, −2 all but one (cores + 1 + n_jobs, at least 1), None no say;
- ``NEURONLAB_THREADS`` (a whole number ≥ 1) in the environment, as ``OMP_NUM_THREADS`` is
  for OpenMP programs; read at each pass, so a change takes effect at the next one;
- else every core this process may run on.

The results do not depend on it: a pass is cut into the same chunks on any number of
threads, and their sums are added in the same order.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

__all__ = ["THREADS_VARIABLE", "check_n_jobs", "pool_threads", "run_threads", "thread_setting"]

THREADS_VARIABLE = "NEURONLAB_THREADS"

# the thread count of the run in progress (None outside a run, or when it has no say)
_RUN_THREADS: contextvars.ContextVar[int | None] = contextvars.ContextVar("neuronlab_run_threads", default=None)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_n_jobs(n_jobs) -> None:
    """ValueError naming ``n_jobs`` unless it is None or a whole number other than 0."""
    if n_jobs is None:
        return
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None, a whole number of threads ≥ 1, or −1 for every core "
                         f"(−2 for all but one…), got {n_jobs!r}")


@contextlib.contextmanager
def run_threads(n_jobs):
    """Within the block, the compiled passes use the threads ``n_jobs`` asks for (None: no
    change).  A fit holds this for its whole run."""
    check_n_jobs(n_jobs)
    if n_jobs is None:
        yield
        return
    count = n_jobs if n_jobs > 0 else max(1, _cores() + 1 + n_jobs)
    token = _RUN_THREADS.set(int(count))
    try:
        yield
    finally:
        _RUN_THREADS.reset(token)


def pool_threads() -> int:
    """The threads a pool of Python threads over blocks of data may use (NumPy and BLAS let go of
    the interpreter): what :func:`thread_setting` asks for, else every core this process may
    run on."""
    return thread_setting() or _cores()


def thread_setting() -> int | None:
    """The thread count asked for — by the run's ``n_jobs``, else by ``NEURONLAB_THREADS`` —
    or None when neither says (every core).

    ValueError naming the variable when it is not a whole number ≥ 1."""
    count = _RUN_THREADS.get()
    if count is not None:
        return count
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
