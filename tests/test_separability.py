"""Linear separability, decided by a certificate either way (Newton on the log loss), agrees with
the linear program it replaced, and deciding the built-in sets needs no scipy.optimize (whose
import was most of the time `neuronlab train obesity` reported)."""

import subprocess
import sys

import numpy as np
import pytest

from neuronlab.estimators.separability import _newton, linearly_separable
from neuronlab.io.tables import Standardizer, load_dataset


def by_linear_program(X, target) -> bool:
    from scipy.optimize import linprog

    signs = 2.0 * target - 1.0
    U = signs[:, None] * np.column_stack([X, np.ones(len(X))])
    return linprog(np.zeros(U.shape[1]), A_ub=-U, b_ub=-np.ones(len(X)), bounds=(None, None),
                   method="highs").status == 0


def u_rows(X, target):
    return (2.0 * target - 1.0)[:, None] * np.column_stack([X, np.ones(len(X))])


def random_problems(seed, count):
    rng = np.random.default_rng(seed)
    while count:
        n, k = int(rng.integers(3, 60)), int(rng.integers(1, 6))
        X = rng.standard_normal((n, k))
        target = (X @ rng.standard_normal(k) + 0.3 * rng.normal() > 0).astype(float)
        if rng.random() < 0.5:  # a row or two on the wrong side: usually no longer separable
            flip = rng.integers(0, n, size=int(rng.integers(1, 3)))
            target[flip] = 1 - target[flip]
        if rng.random() < 0.3:  # ties and repeated rows
            X = np.round(X)
        if target.min() != target.max():
            count -= 1
            yield X, target


@pytest.mark.parametrize("seed", [0, 1])
def test_it_agrees_with_the_linear_program(seed):
    answers = []
    for X, target in random_problems(seed, 150):
        answer = linearly_separable(X, target)
        assert answer == by_linear_program(X, target), (X.tolist(), target.tolist())
        assert _newton(u_rows(X, target)) is not None  # decided without the linear program
        answers.append(answer)
    assert 20 < sum(answers) < 130  # both answers were asked for


@pytest.mark.parametrize("name", ["obesity", "breast_cancer", "linear", "xor", "circles", "moons"])
def test_the_built_in_sets_are_decided_by_a_certificate(name):
    data = load_dataset(name)
    X = Standardizer().fit_transform(data.X)
    target = (data.y == data.labels[1]).astype(float)
    assert _newton(u_rows(X, target)) == by_linear_program(X, target)


def test_training_obesity_does_not_import_scipy_optimize(tmp_path):
    code = ("import sys\nfrom neuronlab.apps.cli import main\n"
            "assert main(['train', 'obesity', '--quiet']) == 0\n"
            "print('scipy.optimize' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False"


class _Recorded:
    """An estimator stand-in whose _z (z = X·w) notes how many rows each call read."""

    def __init__(self, w):
        self.w, self.calls = w, []

    def _z(self, X):
        self.calls.append(X.shape[0])
        return X @ self.w


def test_the_on_their_side_scan_reads_the_first_rows_first():
    from neuronlab.estimators.neuron import _all_on_their_side

    rng = np.random.default_rng(0)
    X = rng.standard_normal((300_000, 3))
    w = np.array([1.0, -2.0, 0.5])
    target = (X @ w > 0).astype(float)
    # separable by w: every row is read, in blocks of 1024, 2048, … capped at 2^16
    est = _Recorded(w)
    assert _all_on_their_side(est, X, target)
    assert sum(est.calls) == X.shape[0]
    assert est.calls[:7] == [1024, 2048, 4096, 8192, 16384, 32768, 65536]
    assert max(est.calls) == 65536
    # a row on the wrong side among the first: one small block is read, not 2^16 rows
    flipped = target.copy()
    flipped[10] = 1 - flipped[10]
    est = _Recorded(w)
    assert not _all_on_their_side(est, X, flipped)
    assert est.calls == [1024]
    # the last row on the wrong side is still found
    flipped = target.copy()
    flipped[-1] = 1 - flipped[-1]
    est = _Recorded(w)
    assert not _all_on_their_side(est, X, flipped)
    assert sum(est.calls) == X.shape[0]
