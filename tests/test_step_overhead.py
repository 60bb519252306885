"""What a fit and the η suggestions cost besides the passes over X (issue 12, item 4)."""

import numpy as np

from neuronlab import Neuron, NeuronObjective
from neuronlab.objectives import neuron as objectives_neuron


def _numpy_blas_threads():
    """The thread count of the BLAS that NumPy's products call (other BLAS copies that scipy or
    torch load later are not the ones the Gram matrix uses)."""
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info()
            if pool["user_api"] == "blas" and "numpy" in pool["filepath"]]


def test_the_stability_limit_forms_its_gram_matrix_with_blas_on_one_thread(monkeypatch):
    # OpenBLAS's own threads made the Gram product 6.0 s against 0.9 s on one thread on a shared
    # 2-core machine, and their summation order would follow the thread count

    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 30))
    y = (X[:, 0] > 0).astype(float)
    objective = NeuronObjective(Neuron(30, "sigmoid"), X, y, "log_loss")
    before = _numpy_blas_threads()
    seen = []
    real = objectives_neuron.gram_max_eigenvalue

    def spy(*args, **kwargs):
        seen.append(_numpy_blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(objectives_neuron, "gram_max_eigenvalue", spy)
    limit = objective.stability_limit()
    assert seen and seen[0] and all(n == 1 for n in seen[0])
    # and BLAS is given back its threads afterwards
    after = _numpy_blas_threads()
    monkeypatch.undo()
    Xt = np.column_stack([X, np.ones(len(X))])
    lam = np.linalg.eigvalsh(Xt.T @ Xt / len(X))[-1] / 4.0
    assert limit == np.float64(2.0 / lam) or abs(limit - 2.0 / lam) <= 1e-12 * (2.0 / lam)
    assert after == before
