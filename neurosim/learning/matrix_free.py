"""The implicit gradient without the Hessian matrix: Hessian-vector products, conjugate gradients
and Lanczos, batched over particles — memory O(P·N) instead of the dense O(P·N²).

Same quantities as :func:`~neurosim.learning.reference.implicit_gradient` (its docstring has the
derivation): with H the Hessian of E over the free units not on a bound (rows and columns of
units on a bound replaced by the identity),

    H μ = ∂L/∂x*   (per particle, by CG: r ← b − Hμ, stop when ‖r‖ ≤ tol·‖b‖),
    dL/dθ = −μᵀ ∂²E/∂x∂θ,

and the smallest eigenvalue of H per particle, the curvature check of the bp control, from
``LANCZOS_STEPS`` Lanczos steps (full reorthogonalisation) started at a fixed random vector: the
smallest Ritz value, an upper bound on λ_min that is exact once the steps reach N.
"""
from __future__ import annotations

import numpy as np

from .reference import FreeLayout, hvp, loss_at, mixed_vjp, projected_residual
from .reference_implicit import adjoint_system

LANCZOS_STEPS = 30
CG_TOL = 1e-13


def reduced_hessian_operator(net, params, states: dict, layout: FreeLayout, fixed: np.ndarray):
    """v (P, N) ↦ H v with the rows and columns of ``fixed`` units replaced by the identity."""
    keep = ~fixed

    def apply(v):
        hv = layout.pack(hvp(net, params, states, layout.unpack(np.where(keep, v, 0.0))))
        return np.where(keep, hv, v)
    return apply


def batched_cg(op, b: np.ndarray, tol: float = CG_TOL, max_iter: int | None = None):
    """Solve op(x) = b row by row (each row a particle's SPD system) by conjugate gradients;
    returns (x, converged (P,), iterations)."""
    p, n = b.shape
    max_iter = 4 * n + 50 if max_iter is None else max_iter
    x = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    rr = np.einsum("pi,pi->p", r, r)
    goal = (tol ** 2) * np.maximum(rr, 1e-300)
    done = rr <= goal
    it = 0
    while not done.all() and it < max_iter:
        it += 1
        hd = op(d)
        dhd = np.einsum("pi,pi->p", d, hd)
        ok = ~done & (dhd > 0)
        alpha = np.where(ok, rr / np.where(ok, dhd, 1.0), 0.0)
        x += alpha[:, None] * d
        r -= alpha[:, None] * hd
        rr_new = np.einsum("pi,pi->p", r, r)
        beta = np.where(ok, rr_new / np.where(rr > 0, rr, 1.0), 0.0)
        d = np.where(ok[:, None], r + beta[:, None] * d, d)
        done |= (rr_new <= goal) | (dhd <= 0)  # dhd ≤ 0: not positive definite, stop that row
        rr = np.where(ok, rr_new, rr)
    return x, rr <= goal, it


def lanczos_min_eig(op, p: int, n: int, steps: int = LANCZOS_STEPS, seed: int = 0) -> np.ndarray:
    """Smallest Ritz value per particle after min(steps, n) Lanczos steps of ``op``."""
    m = min(steps, n)
    if n == 0:
        return np.full(p, np.inf)
    q = np.random.default_rng(seed).standard_normal((p, n))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    basis = np.zeros((m, p, n))
    alpha, beta = np.zeros((p, m)), np.zeros((p, m))
    alive = np.ones(p, dtype=bool)
    for j in range(m):
        basis[j] = q
        w = op(q)
        alpha[:, j] = np.einsum("pi,pi->p", q, w)
        # full reorthogonalisation against every vector so far (twice is enough)
        for _ in range(2):
            w -= np.einsum("jp,jpi->pi", np.einsum("jpi,pi->jp", basis[:j + 1], w), basis[:j + 1])
        if j + 1 == m:
            break
        beta[:, j] = np.linalg.norm(w, axis=1)
        alive &= beta[:, j] > 1e-10
        q = np.where(alive[:, None], w / np.where(beta[:, j] > 0, beta[:, j], 1.0)[:, None], 0.0)
    out = np.empty(p)
    for i in range(p):
        # a row whose Krylov space closed early has an exact tridiagonal of that size
        size = m
        zero = np.flatnonzero(beta[i, :m - 1] <= 1e-10)
        if zero.size:
            size = int(zero[0]) + 1
        t = np.diag(alpha[i, :size]) + np.diag(beta[i, :size - 1], 1) + np.diag(beta[i, :size - 1], -1)
        out[i] = np.linalg.eigvalsh(t)[0]
    return out


def implicit_gradient_cg(net, params, clamped: dict, out: str, target, kind: str, x_star: dict,
                         particles=None, tol: float = CG_TOL, lanczos_steps: int = LANCZOS_STEPS,
                         min_eigs: bool = True):
    """:func:`~neurosim.learning.reference.implicit_gradient` without forming H (module
    docstring): same (grad, info) keys; ``info["cg_converged"]`` per particle."""
    target, layout, states, x, g, fixed, dl = adjoint_system(net, params, clamped, x_star, out, target,
                                                              kind, particles)
    p = x.shape[0]
    op = reduced_hessian_operator(net, params, states, layout, fixed)
    mu_vec, converged, iterations = batched_cg(op, dl, tol)
    mu = layout.unpack(mu_vec)
    grad = mixed_vjp(net, params, states, mu).scale(-1.0)
    eig = lanczos_min_eig(op, p, layout.n, lanczos_steps) if min_eigs else np.full(p, np.nan)
    res_p = np.abs(projected_residual(layout, x, g)).max(axis=1) if layout.n else np.zeros(p)
    info = {"x_star": states, "mu": mu, "loss": loss_at(states, out, target, kind),
            "residual": float(res_p.max()), "n_on_bound": int(fixed.sum()),
            "min_eig": float(eig.min()), "residuals": res_p, "min_eigs": eig,
            "cg_converged": converged, "cg_iterations": iterations}
    return grad, info
