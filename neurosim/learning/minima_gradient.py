"""bp where it exists: the implicit gradient over the particles whose free state is a fixed point
and a strict minimum, by the dense solve where the (P, N, N) Hessian fits in memory and matrix-free
(Hessian-vector products, :mod:`.matrix_free`) where it does not.

A particle p is kept when its stationarity residual max|x − Π(x − ∂E/∂x)| ≤ ``max_residual`` and
λ_min(H_p) > ``min_eig`` (H over the free units not on a bound). On the kept set S the gradient is
the implicit gradient of L_S = (1/|S|) Σ_{p∈S} C(x*_out,p, y_p):

    H_p μ_p = ∂L_S/∂x*_p  (p ∈ S),        dL_S/dθ = −Σ_{p∈S} μ_pᵀ ∂²E/∂x∂θ (x*_p).

Dense: one Hessian per batch; the curvature test is a Cholesky factorisation of H_p − min_eig·I
(it exists iff λ_min(H_p) > min_eig: N³/3 flops, against 4N³/3 for the eigenvalues' tridiagonal
reduction), and the
adjoint is solved for the kept particles only — the same arithmetic as
:func:`~.reference.implicit_gradient` on the batch of the kept particles, bit for bit.
Matrix-free: the curvature by Lanczos (an upper bound on λ_min, exact once the steps reach N) and
μ by conjugate gradients, memory O(P·N).
"""
from __future__ import annotations

import numpy as np

from .matrix_free import (CG_TOL, LANCZOS_STEPS, batched_cg, implicit_gradient_cg, lanczos_min_eig,
                          reduced_hessian_operator)
from .reference_derivatives import free_blocks, hessian, mixed_vjp
from .reference_implicit import adjoint_rhs, adjoint_system, held_out, implicit_gradient, projected_residual

#: above this the (P, N, N) float64 Hessian is not built (at a few hundred units the dense solve is faster)
DENSE_HESSIAN_BYTES = 64 << 20


def dense_fits(p: int, n: int) -> bool:
    """Whether P Hessians of N × N float64 stay within ``DENSE_HESSIAN_BYTES``."""
    return p * n * n * 8 <= DENSE_HESSIAN_BYTES


def implicit_gradient_that_fits(net, params, clamped: dict, out: str, target, kind: str, x_star: dict):
    """The whole batch's implicit gradient (grad, info): :func:`~.reference.implicit_gradient`
    where the dense Hessians fit, :func:`~.matrix_free.implicit_gradient_cg` (no curvature
    estimate: ``info["min_eigs"]`` nan) where they do not."""
    p = len(np.asarray(target))
    n = sum(net.block(b).size for b in free_blocks(net, clamped))
    if dense_fits(p, n):
        return implicit_gradient(net, params, clamped, out, target, kind, x_star=x_star)
    return implicit_gradient_cg(net, params, clamped, out, target, kind, x_star, min_eigs=False)


def above_curvature(h: np.ndarray, rows: np.ndarray, min_eig: float) -> np.ndarray:
    """Per particle of ``rows`` (mask, P): True iff H_p − min_eig·I has a Cholesky factor,
    i.e. λ_min(H_p) > min_eig; False elsewhere."""
    ok = np.zeros(len(h), dtype=bool)
    shift = min_eig * np.eye(h.shape[1])
    for i in np.flatnonzero(rows):
        try:
            np.linalg.cholesky(h[i] - shift)
            ok[i] = True
        except np.linalg.LinAlgError:
            pass
    return ok


def _kept(states: dict, keep: np.ndarray) -> dict:
    return states if keep.all() else {b: v[keep] for b, v in states.items()}


def minima_gradient(net, params, clamped: dict, out: str, target, kind: str, x_star: dict,
                    min_eig: float, max_residual: float, matrix_free: bool | None = None,
                    cg_tol: float = CG_TOL, lanczos_steps: int = LANCZOS_STEPS):
    """dL_S/dθ over the kept particles S (module docstring): ``(grad or None if S is empty, keep
    mask (P,))``. ``matrix_free``: True / False forces the solver; None (default) is matrix-free
    only when the dense Hessians would exceed ``DENSE_HESSIAN_BYTES``."""
    target, layout, states, x, g, fixed, _ = adjoint_system(net, params, clamped, x_star, out, target, kind)
    p = x.shape[0]
    keep = (np.abs(projected_residual(layout, x, g)).max(axis=1) if layout.n else np.zeros(p)) <= max_residual
    if matrix_free is None:
        matrix_free = not dense_fits(p, layout.n)
    if matrix_free:
        if keep.any():  # Lanczos on the particles at a fixed point only
            op = reduced_hessian_operator(net, params, _kept(states, keep), layout, fixed[keep])
            keep[keep] = lanczos_min_eig(op, int(keep.sum()), layout.n, lanczos_steps) > min_eig
    else:
        h = held_out(hessian(net, params, states, layout.blocks), fixed)
        keep = above_curvature(h, keep, min_eig)
    if not keep.any():
        return None, keep
    sub, sub_fixed = _kept(states, keep), fixed[keep]
    dl = adjoint_rhs(layout, sub, sub_fixed, out, target[keep], kind)
    if matrix_free:
        mu_vec, _, _ = batched_cg(reduced_hessian_operator(net, params, sub, layout, sub_fixed), dl, cg_tol)
    else:
        if not keep.all():
            h = h[keep]  # the kept particles' systems only; the whole batch's Hessians freed here
        mu_vec = np.linalg.solve(h, dl[:, :, None])[:, :, 0]
    return mixed_vjp(net, params, sub, layout.unpack(mu_vec)).scale(-1.0), keep
