"""Are two classes linearly separable?  Decided by a certificate either way, found in milliseconds.

Write uᵢ = sᵢ·(xᵢ, 1) with sᵢ = ±1 the class of row i.  By Gordan's theorem exactly one holds:

- **separable**: some v = (w, b) has uᵢ·v > 0 for every row (every row strictly on its side);
- **not separable**: some μ ≥ 0, μ ≠ 0 has Σ μᵢ uᵢ = 0 (the convex hulls of the classes meet).

Both are found by Newton's method on the log loss J(v) = Σ log(1 + e^(−uᵢ·v)) in the d + 1
unknowns (w, b): when the classes overlap J has a minimum, where ∇J = −Σ λᵢ uᵢ = 0 with
λᵢ = σ(−uᵢ·v) > 0, so λ (projected onto {μ : Σ μᵢ uᵢ = 0} to remove the rounding left in ∇J)
is the certificate μ; when they do not, J has no minimum and Newton's steps soon put every row
on its side, and that v is the certificate.  Each step costs one pass over the rows (n·(d+1)²)
and needs numpy only.  In the rare case neither appears within the steps allowed, the answer
is left to a linear program (scipy's HiGHS), whose import alone costs more than the rest.
"""

from __future__ import annotations

import numpy as np

NEWTON_STEPS = 50


def _hull_certificate(U, lam) -> bool:
    """Whether λ, projected onto {μ : Uᵀμ = 0}, stays ≥ 0 (then it proves the hulls meet) — on
    the rows near the boundary, where λ is not negligible: a certificate over some of the rows
    is one for all, and far rows' λ (e^(−margin)) drown in the projection's rounding."""
    for share in (1e-3, 1e-6, 0.0):
        near = lam >= share * lam.max()
        coef = np.linalg.lstsq(U[near], lam[near], rcond=None)[0]
        mu = lam[near] - U[near] @ coef
        top = mu.max()
        # μ ≠ 0 beyond rounding, and ≥ 0 up to the rounding of the projection
        if top > 1e-6 * lam[near].max() and mu.min() >= -1e-12 * top:
            return True
    return False


def _newton(U) -> bool | None:
    """True (separable), False (not separable), or None (undecided after NEWTON_STEPS)."""
    n, k = U.shape
    v = np.zeros(k)
    margins = np.zeros(n)
    loss = n * np.log(2.0)
    for _ in range(NEWTON_STEPS):
        if np.all(margins > 0):
            return True
        lam = np.exp(-np.logaddexp(0.0, margins))  # σ(−m), without overflow or a premature 0
        if _hull_certificate(U, lam):
            return False
        grad = -(U.T @ lam)
        curvature = lam * (1.0 - lam)
        hessian = U.T @ (curvature[:, None] * U) + 1e-12 * np.eye(k)
        step = -np.linalg.lstsq(hessian, grad, rcond=None)[0]
        # backtracking: a Newton step may overshoot where J is flat
        t = 1.0
        while t > 1e-8:
            trial = v + t * step
            trial_margins = U @ trial
            trial_loss = float(np.sum(np.logaddexp(0.0, -trial_margins)))
            if trial_loss < loss:
                break
            t *= 0.5
        else:
            return None
        v, margins, loss = trial, trial_margins, trial_loss
    return True if np.all(margins > 0) else None


def linearly_separable(X, target, max_size: int = 2_000_000) -> bool:
    """Whether some (w, b) puts every row strictly on its own side: sᵢ·(w·xᵢ + b) > 0, with
    sᵢ = +1 for target 1 and −1 for target 0 (see the module's docstring for how)."""
    n, p = np.shape(X)
    if n * (p + 1) > max_size:  # beyond this the check costs more than the fit: not claimed (asked
        return False  # before U, a float64 copy of X and more, is made)
    X = np.asarray(X, dtype=np.float64)
    signs = 2.0 * np.asarray(target, dtype=np.float64) - 1.0
    U = signs[:, None] * np.column_stack([X, np.ones(X.shape[0])])
    answer = _newton(U)
    if answer is not None:
        return answer
    from scipy.optimize import linprog  # only here: scipy is not needed to train

    result = linprog(np.zeros(U.shape[1]), A_ub=-U, b_ub=-np.ones(U.shape[0]), bounds=(None, None),
                     method="highs")
    return result.status == 0
