"""The free fixed point x*(θ) by a projected Newton solve, and dL/dθ by implicit
differentiation at it: H μ = ∂L/∂x*, dL/dθ = −μᵀ ∂²E/∂x∂θ (docs/reference-gradients.md)."""
from __future__ import annotations

import warnings

import numpy as np

from ..model import energy as en
from ..model.network import Network, Params
from .reference_derivatives import FreeLayout, _full_states, _n_particles, free_blocks, hessian, mixed_vjp


def projected_residual(layout: FreeLayout, vec, grad) -> np.ndarray:
    """r = x − Π(x − ∂E/∂x): zero exactly at a (box-constrained) stationary point; = ∂E/∂x if unbounded."""
    return vec - layout.project(vec - grad)


def solve_fixed_point(net: Network, params: Params, clamped: dict, x0: dict | None = None,
                      tol: float = 1e-12, max_iter: int = 20000, step: float = 0.5,
                      newton_below: float = 1e-3, return_info: bool = False):
    """Minimise E over the free blocks (clamped blocks fixed): returns block → (P, n) for all blocks.

    Phase 1: projected gradient descent x ← Π(x − γ_p ∂E/∂x) with a per-particle step γ_p that is
    halved whenever the particle's energy would rise. Phase 2 (once max|r| < ``newton_below``): Newton
    polishing with the per-particle Hessian on the units not held at a bound (active set), a
    gradient step as fallback for a particle whose residual would not shrink or whose energy
    would rise. Stops when
    max_p ‖x − Π(x − ∂E/∂x)‖_∞ ≤ ``tol``; warns if ``max_iter`` is reached first.
    ``x0`` (block → (P, n), free blocks only are read) defaults to zeros projected onto the bounds.
    """
    blocks = free_blocks(net, clamped)
    layout = FreeLayout(net, blocks)
    p = _n_particles(clamped, x0)
    if x0 is not None:
        x = layout.pack({b: np.broadcast_to(np.asarray(x0[b], float), (p, net.block(b).size))
                         for b in blocks})
    else:
        x = np.zeros((p, layout.n))
    x = layout.project(x.copy())

    def grad_energy(vec):
        st = _full_states(layout, vec, clamped)
        return layout.pack(en.network_grad(net, params, st)), en.network_energy(net, params, st)

    g, e = grad_energy(x)
    gamma = np.full(p, float(step))
    it, n_newton = 0, 0
    res = np.abs(projected_residual(layout, x, g)).max(axis=1) if layout.n else np.zeros(p)
    # phase 1: projected gradient descent with per-particle step control
    while res.max() > max(tol, newton_below) and it < max_iter:
        it += 1
        x_new = layout.project(x - gamma[:, None] * g)
        g_new, e_new = grad_energy(x_new)
        ok = e_new <= e + 1e-14 * np.abs(e)
        x[ok], g[ok], e[ok] = x_new[ok], g_new[ok], e_new[ok]
        gamma[~ok] *= 0.5
        gamma[ok] = np.minimum(gamma[ok] * 1.1, step)
        res = np.abs(projected_residual(layout, x, g)).max(axis=1)
    # phase 2: active-set Newton polishing
    while res.max() > tol and it < max_iter:
        it += 1
        n_newton += 1
        fixed = layout.bounded & (((x <= layout.lo) & (g > 0)) | ((x >= layout.hi) & (g < 0)))
        h = held_out(hessian(net, params, _full_states(layout, x, clamped), blocks), fixed)
        rhs = np.where(fixed, 0.0, g)
        try:
            dx = np.linalg.solve(h, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            dx = gamma[:, None] * g
        x_new = layout.project(x - dx)
        g_new, e_new = grad_energy(x_new)
        res_new = np.abs(projected_residual(layout, x_new, g_new)).max(axis=1)
        ok = ((res_new < res) | (res_new <= tol)) & (e_new <= e + 1e-10 * (1.0 + np.abs(e)))
        if not ok.all():  # fallback: a projected gradient step for those particles
            x_gd = layout.project(x - gamma[:, None] * g)
            g_gd, e_gd = grad_energy(x_gd)
            x_new[~ok], g_new[~ok], e_new[~ok] = x_gd[~ok], g_gd[~ok], e_gd[~ok]
            res_new = np.abs(projected_residual(layout, x_new, g_new)).max(axis=1)
        x, g, e = x_new, g_new, e_new
        res = res_new
        if n_newton > 200 and np.all(ok):
            break
    if res.max() > tol:
        warnings.warn(f"solve_fixed_point: residual {res.max():.3e} > tol {tol:.1e} after {it} "
                      "iterations", RuntimeWarning, stacklevel=2)
    states = _full_states(layout, x, clamped)
    if return_info:
        return states, {"residual": float(res.max()), "iterations": it, "newton_steps": n_newton}
    return states


def held_out(h: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """H (P, N, N) with the rows and columns of the ``fixed`` units (P, N) replaced by the identity:
    those units do not move, so μ = 0 there and the rest of the system is H over the others.
    In place (no second (P, N, N) array at the memory peak); returns ``h``."""
    np.putmask(h, fixed[:, :, None] | fixed[:, None, :], 0.0)
    idx = np.arange(h.shape[1])
    h[:, idx, idx] = np.where(fixed, 1.0, h[:, idx, idx])
    return h


def _check_out(net, clamped, out, target, kind):
    if out not in net.graph:
        raise ValueError(f"readout block {out!r} is not in the network")
    if out in clamped:
        raise ValueError(f"readout block {out!r} is clamped; it must be free")
    if kind not in ("mse", "ce"):
        raise ValueError(f"unknown cost {kind!r}; expected 'mse' or 'ce'")
    target = np.asarray(target, dtype=float)
    if target.ndim != 2 or target.shape[1] != net.block(out).size:
        raise ValueError(f"target must have shape (P, {net.block(out).size}), got {target.shape}")
    return target


def adjoint_system(net, params, clamped, x_star, out, target, kind, particles=None):
    """What both implicit-gradient solvers share: the checked target, the free units' layout, the
    states at x* (clamped blocks at their values), x and g = ∂E/∂x packed over the free units, the
    units on a bound (``fixed``), and the adjoint's right-hand side dl = ∂L/∂x* (zero where fixed;
    L averages over ``particles``, all of them by default)."""
    target = _check_out(net, clamped, out, target, kind)
    layout = FreeLayout(net, free_blocks(net, clamped))
    states = dict(x_star)
    states.update({b: np.asarray(v, float) for b, v in clamped.items()})
    x = layout.pack(states)
    p = x.shape[0]
    g = layout.pack(en.network_grad(net, params, states))
    fixed = layout.on_bound(x)
    return target, layout, states, x, g, fixed, adjoint_rhs(layout, states, fixed, out, target, kind, particles)


def adjoint_rhs(layout: FreeLayout, states: dict, fixed, out: str, target, kind: str, particles=None):
    """dl = ∂L/∂x* (P, N) for L = (1/|S|) Σ_{p∈S} C(x_out,p, y_p), S = ``particles`` (a boolean
    mask; every particle by default), zero on the ``fixed`` units."""
    p = fixed.shape[0]
    dl = np.zeros((p, layout.n))
    if particles is None:
        dl[:, layout.slices[out]] = en.cost_grad(kind, states[out], target) / p
    else:
        mask = np.asarray(particles, dtype=bool)
        dl[:, layout.slices[out]] = en.cost_grad(kind, states[out], target) * mask[:, None] / max(mask.sum(), 1)
    return np.where(fixed, 0.0, dl)


def loss_at(states: dict, out: str, target, kind: str) -> float:
    """L = (1/P) Σ_p C(x_out,p, y_p)."""
    return float(np.mean(en.cost_value(kind, states[out], np.asarray(target, float))))


def fixed_point_loss(net: Network, params: Params, clamped: dict, out: str, target, kind: str,
                     x0: dict | None = None, tol: float = 1e-12) -> float:
    """L(θ) at the free fixed point (re-solved): the function :func:`implicit_gradient` differentiates."""
    target = _check_out(net, clamped, out, target, kind)
    return loss_at(solve_fixed_point(net, params, clamped, x0=x0, tol=tol), out, target, kind)


def implicit_gradient(net: Network, params: Params, clamped: dict, out: str, target, kind: str,
                      x_star: dict | None = None, particles=None):
    """Exact dL/dθ at the free fixed point by implicit differentiation (module docstring).

    Solves H μ = ∂L/∂x* per particle (H over the free units not on a bound; ∂L/∂x*_out =
    (1/P) ∂C/∂x_out), then dL/dθ = −μᵀ ∂²E/∂x∂θ. ``x_star`` skips the fixed-point solve.
    ``particles`` (a boolean mask, optional) restricts the loss to those particles:
    L = (1/|S|) Σ_{p∈S} C_p, μ = 0 elsewhere.
    Returns (grad: Params, info) with info keys ``x_star``, ``mu`` (block → (P, n)), ``loss``,
    ``residual`` (max projected gradient at x*), ``n_on_bound``, ``min_eig`` (smallest eigenvalue
    of the reduced Hessian over particles; must be > 0 at a minimum), and per particle
    ``residuals`` and ``min_eigs`` ((P,) each).
    """
    if x_star is None:
        _check_out(net, clamped, out, target, kind)
        x_star = solve_fixed_point(net, params, clamped)
    target, layout, states, x, g, fixed, dl = adjoint_system(net, params, clamped, x_star, out, target,
                                                              kind, particles)
    p = x.shape[0]
    h = held_out(hessian(net, params, states, layout.blocks), fixed)
    mu_vec = np.linalg.solve(h, dl[:, :, None])[:, :, 0]
    mu = layout.unpack(mu_vec)
    grad = mixed_vjp(net, params, states, mu).scale(-1.0)
    eig = np.linalg.eigvalsh(h)
    res_p = np.abs(projected_residual(layout, x, g)).max(axis=1) if layout.n else np.zeros(p)
    info = {
        "x_star": states,
        "mu": mu,
        "loss": loss_at(states, out, target, kind),
        "residual": float(res_p.max()),
        "n_on_bound": int(fixed.sum()),
        "min_eig": float(eig.min()) if layout.n else np.inf,
        "residuals": res_p,
        "min_eigs": eig.min(axis=1) if layout.n else np.full(p, np.inf),
    }
    return grad, info
