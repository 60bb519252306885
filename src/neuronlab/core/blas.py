"""BLAS on one thread, for the span of a ``with``: ``with one_blas_thread(): ...``.

Two reasons, both measured here:

- the same bits on any machine: OpenBLAS's product of a 4,096 × 300 and a 300 × 64 matrix,
  and its dot product of two long vectors, differ in the last bits between one thread and
  two, so anything computed with BLAS's own threads would depend on how many it found
  (``tests/test_network_estimators.py::test_same_seed_same_bits_on_one_or_two_blas_threads``);
- speed for small products: waking a second thread for a mini-batch's product costs more than
  it saves, and on a busy machine many times more (Fashion-MNIST, batch 200: 1.7 s an epoch
  on one thread, 7 s on two; see BENCHMARKS.md).

Through threadpoolctl, imported on first use (not on ``import neuronlab``'s path).
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["one_blas_thread"]

_BLAS = None


def _blas_controllers():
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas").lib_controllers
    return _BLAS


class _OneThread:
    """Sets every BLAS library to one thread for the span of a ``with``, then back.  Nested
    spans (a fit's run holding it, each pass inside asking again) cost a counter: the
    libraries are asked only by the outermost, which restores them."""

    depth = 0
    lock = threading.Lock()

    def __init__(self, libraries):
        self.libraries = libraries

    def __enter__(self):
        with _OneThread.lock:
            if _OneThread.depth == 0:
                _OneThread.before = [lib.num_threads for lib in self.libraries]
                for lib, n in zip(self.libraries, _OneThread.before):
                    if n != 1:
                        lib.set_num_threads(1)
            _OneThread.depth += 1

    def __exit__(self, *exc):
        with _OneThread.lock:
            _OneThread.depth -= 1
            if _OneThread.depth == 0:
                for lib, n in zip(self.libraries, _OneThread.before):
                    if n != 1:
                        lib.set_num_threads(n)
        return False


def one_blas_thread():
    """A context in which every BLAS library uses one thread (nothing to do without BLAS)."""
    blas = _blas_controllers()
    return _OneThread(blas) if blas else contextlib.nullcontext()
