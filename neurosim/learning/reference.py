"""Exact (non-local) reference gradients, in plain numpy — the yardstick every local rule is
measured against. Nothing here calls the numba engine: this module is its independent check.

Setting and symbols (docs/reference-gradients.md). E(x; θ) is the network energy

    E(x) = Σ_b [ ½‖x_b‖² − b_bᵀ ρ(x_b) ] − Σ_(a→b) ρ(x_a)ᵀ W_ab ρ(x_b) + Σ_m E_lse,m(x_m),

θ = (W, b, K). Blocks named in ``clamped`` are held at given values (the condition / input);
the other blocks are *free*. The free fixed point x*(θ) minimises E over the free units (with
the state of ``hard_sigmoid`` blocks restricted to STATE_BOUNDS = [0, 1]); the readout block
``out`` carries the loss

    L(θ) = (1/P) Σ_p C(x*_out,p, y_p),   C = ½‖x − y‖² (``mse``) or −yᵀ log softmax(x) (``ce``).

Three references:

* :func:`implicit_gradient` — implicit differentiation at x* (the gradient EP / hEP estimate).
  With g = ∂E/∂x and H = ∂²E/∂x² over the free units, g(x*, θ) = 0 gives
  dx*/dθ = −H⁻¹ ∂g/∂θ, hence the adjoint (one linear solve per particle)

      H μ = ∂L/∂x*,        dL/dθ = −μᵀ ∂²E/∂x∂θ,

  with, summed over particles,  dL/db_b = Σ_p μ_b ⊙ ρ'(x_b),
  dL/dW_ab = Σ_p [ (μ_a ⊙ ρ'(x_a))ᵀ ρ(x_b) + ρ(x_a)ᵀ (μ_b ⊙ ρ'(x_b)) ],
  dL/dK = Σ_p [ μ sᵀ + x (β (s ⊙ Kᵀμ − s sᵀKᵀμ))ᵀ ],  s = softmax(βKᵀx)  (μ = 0 on clamped blocks).
  ``hard_sigmoid`` units that sit on a bound are constant under small changes of θ
  (strict complementarity), so their rows/columns are removed from H and μ = 0 there.
* :func:`bptt_gradient` — backprop through n synchronous relaxation steps
  x_{t+1} = Π(x_t − γ ∂E/∂x(x_t)), loss on x_n. Reverse pass with ν_t = Π'(z_t) ⊙ λ_{t+1}:

      λ_n = ∂L/∂x_n,   λ_t = ν_t − γ H(x_t) ν_t,   dL/dθ = −γ Σ_t ν_tᵀ ∂²E/∂x∂θ (x_t).

  As n → ∞ (contracting relaxation) it tends to the implicit gradient.
* :func:`feedforward_gradient` — ordinary backprop through the feed-forward view of a layered
  graph: a_0 = ρ(x_in), x_l = S(a_{l−1} W_l + b_l), a_l = ρ(x_l), cost on x_L; S clips to the
  activation's STATE_BOUNDS (identity if none). This is the ``bp_ff`` rule.

All gradients are of L with the 1/P average, returned as :class:`Params` shaped like ``params``
(biases of clamped blocks, and any parameter the loss does not depend on, get zeros).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..model import energy as en
from ..model.activations import STATE_BOUNDS, drho, rho
from ..model.network import Network, Params
from .gradients import zeros_like


# ------------------------------------------------------------------------------------------
# layout of the free units
# ------------------------------------------------------------------------------------------
class FreeLayout:
    """Flat indexing of the free blocks' units: block → slice of a length-N vector."""

    def __init__(self, net: Network, free_blocks):
        self.blocks = list(free_blocks)
        self.slices = {}
        i = 0
        for b in self.blocks:
            n = net.block(b).size
            self.slices[b] = slice(i, i + n)
            i += n
        self.n = i
        self.lo = np.full(self.n, -np.inf)
        self.hi = np.full(self.n, np.inf)
        for b in self.blocks:
            bounds = STATE_BOUNDS.get(net.block(b).activation)
            if bounds is not None:
                self.lo[self.slices[b]], self.hi[self.slices[b]] = bounds
        self.bounded = np.isfinite(self.lo) | np.isfinite(self.hi)

    def pack(self, states) -> np.ndarray:
        return np.concatenate([np.asarray(states[b], dtype=float) for b in self.blocks], axis=1)

    def unpack(self, vec) -> dict:
        return {b: vec[:, s] for b, s in self.slices.items()}

    def project(self, vec):
        return np.clip(vec, self.lo, self.hi) if self.bounded.any() else vec

    def on_bound(self, vec):
        """Mask of bounded units sitting on a bound, (P, N)."""
        return self.bounded & ((vec <= self.lo) | (vec >= self.hi))


def free_blocks(net: Network, clamped) -> list[str]:
    """Blocks not in ``clamped``, in the network's block order."""
    for b in clamped:
        if b not in net.graph:
            raise ValueError(f"clamped block {b!r} is not in the network")
    return [b for b in net.block_names() if b not in clamped]


def _n_particles(clamped, x0) -> int:
    for src in (clamped, x0 or {}):
        for v in src.values():
            return np.asarray(v).shape[0]
    return 1


def _full_states(layout: FreeLayout, vec, clamped) -> dict:
    states = {b: np.asarray(v, dtype=float) for b, v in clamped.items()}
    states.update(layout.unpack(vec))
    return states


# ------------------------------------------------------------------------------------------
# Hessian, Hessian-vector product, mixed second derivative
# ------------------------------------------------------------------------------------------
def hessian(net: Network, params: Params, states: dict, free_blocks) -> np.ndarray:
    """∂²E/∂x² over the units of ``free_blocks`` (in that order), per particle: (P, N, N).

    Diagonal blocks: diag(1 − ρ''(x_b) ⊙ (b_b + Σ couplings' input)) + the lse terms
    −βK(diag(s) − ssᵀ)Kᵀ; off-diagonal blocks for a→b: −ρ'(x_a) W_ab ρ'(x_b) (and its transpose).
    """
    layout = FreeLayout(net, free_blocks)
    sl = layout.slices
    p = np.asarray(states[layout.blocks[0]]).shape[0] if layout.blocks else 1
    h = np.zeros((p, layout.n, layout.n))
    diag = np.zeros((p, layout.n))
    for b in layout.blocks:
        blk = net.block(b)
        diag[:, sl[b]] += en.block_curvature(states[b], params.biases[b], blk.activation)
    for proj in net.projections:
        a, b = proj.pre, proj.post
        if a not in sl and b not in sl:
            continue
        act_a, act_b = net.block(a).activation, net.block(b).activation
        d_a, d_b, cross = en.coupling_curvature(states[a], states[b], params.weights[proj.name],
                                                act_a, act_b)
        if a in sl:
            diag[:, sl[a]] += d_a
        if b in sl:
            diag[:, sl[b]] += d_b
        if a in sl and b in sl:
            h[:, sl[a], sl[b]] += cross
            h[:, sl[b], sl[a]] += cross.transpose(0, 2, 1)
    for b, mem in net.memories.items():
        if b in sl:
            h[:, sl[b], sl[b]] += en.lse_hessian(states[b], params.memories[b], mem.beta)
    idx = np.arange(layout.n)
    h[:, idx, idx] += diag
    return h


def hvp(net: Network, params: Params, states: dict, v: dict) -> dict:
    """(∂²E/∂x²) v restricted to the blocks of ``v`` (the others are held fixed): dict → (P, n)."""
    out = {}
    for b, vb in v.items():
        blk = net.block(b)
        out[b] = en.block_curvature(states[b], params.biases[b], blk.activation) * vb
    for proj in net.projections:
        a, b = proj.pre, proj.post
        if a not in v and b not in v:
            continue
        v_a = v.get(a, np.zeros_like(states[a]))
        v_b = v.get(b, np.zeros_like(states[b]))
        hv_a, hv_b = en.coupling_hvp(states[a], states[b], params.weights[proj.name],
                                     net.block(a).activation, net.block(b).activation, v_a, v_b)
        if a in v:
            out[a] = out[a] + hv_a
        if b in v:
            out[b] = out[b] + hv_b
    for b, mem in net.memories.items():
        if b in v:
            out[b] = out[b] + en.lse_hvp(states[b], params.memories[b], mem.beta, v[b])
    return out


def mixed_vjp(net: Network, params: Params, states: dict, mu: dict) -> Params:
    """∂/∂θ Σ_p μ_pᵀ ∂E/∂x(x_p; θ), i.e. μᵀ ∂²E/∂x∂θ summed over particles (μ = 0 off ``mu``).

    biases: −Σ_p μ_b ⊙ ρ'(x_b); weights a→b: −[(μ_a ⊙ ρ'(x_a))ᵀρ(x_b) + ρ(x_a)ᵀ(μ_b ⊙ ρ'(x_b))];
    memories: −[μᵀs + xᵀ β(s ⊙ Kᵀμ − s sᵀKᵀμ)] with s = softmax(βKᵀx).
    """
    g = zeros_like(params)
    for b, m in mu.items():
        g.biases[b] = -np.sum(m * drho(net.block(b).activation, states[b]), axis=0)
    for proj in net.projections:
        a, b = proj.pre, proj.post
        if a not in mu and b not in mu:
            continue
        act_a, act_b = net.block(a).activation, net.block(b).activation
        w = np.zeros_like(params.weights[proj.name])
        if a in mu:
            w -= (mu[a] * drho(act_a, states[a])).T @ rho(act_b, states[b])
        if b in mu:
            w -= rho(act_a, states[a]).T @ (mu[b] * drho(act_b, states[b]))
        g.weights[proj.name] = w
    for b, mem in net.memories.items():
        if b not in mu:
            continue
        k, beta, x, m = params.memories[b], mem.beta, states[b], mu[b]
        s = en.softmax(beta * (x @ k))
        km = m @ k
        ds = beta * (s * km - s * np.sum(s * km, axis=1, keepdims=True))
        g.memories[b] = -(m.T @ s + x.T @ ds)
    return g


def _scale(g: Params, c: float) -> Params:
    return Params({k: c * v for k, v in g.weights.items()}, {k: c * v for k, v in g.biases.items()},
                  {k: c * v for k, v in g.memories.items()})


def _add(g1: Params, g2: Params) -> Params:
    return Params({k: v + g2.weights[k] for k, v in g1.weights.items()},
                  {k: v + g2.biases[k] for k, v in g1.biases.items()},
                  {k: v + g2.memories[k] for k, v in g1.memories.items()})


# ------------------------------------------------------------------------------------------
# the free fixed point
# ------------------------------------------------------------------------------------------
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
        h = hessian(net, params, _full_states(layout, x, clamped), blocks)
        fixed = layout.bounded & (((x <= layout.lo) & (g > 0)) | ((x >= layout.hi) & (g < 0)))
        h = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, h)
        idx = np.arange(layout.n)
        h[:, idx, idx] = np.where(fixed, 1.0, h[:, idx, idx])
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
    target = _check_out(net, clamped, out, target, kind)
    if x_star is None:
        x_star = solve_fixed_point(net, params, clamped)
    blocks = free_blocks(net, clamped)
    layout = FreeLayout(net, blocks)
    states = dict(x_star)
    states.update({b: np.asarray(v, float) for b, v in clamped.items()})
    x = layout.pack(states)
    p = x.shape[0]
    g = layout.pack(en.network_grad(net, params, states))
    fixed = layout.on_bound(x)
    h = hessian(net, params, states, blocks)
    h = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, h)
    idx = np.arange(layout.n)
    h[:, idx, idx] = np.where(fixed, 1.0, h[:, idx, idx])
    dl = np.zeros((p, layout.n))
    if particles is None:
        dl[:, layout.slices[out]] = en.cost_grad(kind, states[out], target) / p
    else:
        mask = np.asarray(particles, dtype=bool)
        dl[:, layout.slices[out]] = en.cost_grad(kind, states[out], target) * mask[:, None] / max(mask.sum(), 1)
    dl = np.where(fixed, 0.0, dl)
    mu_vec = np.linalg.solve(h, dl[:, :, None])[:, :, 0]
    mu = layout.unpack(mu_vec)
    grad = _scale(mixed_vjp(net, params, states, mu), -1.0)
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


# ------------------------------------------------------------------------------------------
# BPTT through the synchronous relaxation
# ------------------------------------------------------------------------------------------
def _relax(net, params, clamped, n_steps, step, x0):
    blocks = free_blocks(net, clamped)
    layout = FreeLayout(net, blocks)
    p = _n_particles(clamped, x0)
    if x0 is None:
        x = np.zeros((p, layout.n))
    else:
        x = layout.pack({b: np.broadcast_to(np.asarray(x0[b], float), (p, net.block(b).size))
                         for b in blocks}).copy()
    traj, masks = [x], []
    for _ in range(int(n_steps)):
        st = _full_states(layout, x, clamped)
        z = x - step * layout.pack(en.network_grad(net, params, st))
        masks.append(~layout.bounded | ((z > layout.lo) & (z < layout.hi)))
        x = layout.project(z)
        traj.append(x)
    return layout, traj, masks


def relax(net: Network, params: Params, clamped: dict, n_steps: int, step: float,
          x0: dict | None = None) -> dict:
    """n synchronous (Jacobi) steps x ← Π(x − γ ∂E/∂x) on the free blocks: final states, all blocks."""
    layout, traj, _ = _relax(net, params, clamped, n_steps, step, x0)
    return _full_states(layout, traj[-1], clamped)


def unrolled_loss(net: Network, params: Params, clamped: dict, out: str, target, kind: str,
                  n_steps: int, step: float, x0: dict | None = None) -> float:
    """L on the state after ``n_steps`` relaxation steps (the function :func:`bptt_gradient` differentiates)."""
    target = _check_out(net, clamped, out, target, kind)
    return loss_at(relax(net, params, clamped, n_steps, step, x0), out, target, kind)


def bptt_gradient(net: Network, params: Params, clamped: dict, out: str, target, kind: str,
                  n_steps: int, step: float, x0: dict | None = None) -> Params:
    """dL/dθ through n relaxation steps x_{t+1} = Π(x_t − γ ∂E/∂x(x_t)) from x0 (zeros if None).

    Reverse pass over the stored trajectory: λ_n = (1/P) ∂C/∂x_n (readout block);
    ν_t = Π'(z_t) ⊙ λ_{t+1} (Π' = 1 inside the bounds, 0 where clipped);
    dL/dθ −= γ ν_tᵀ ∂²E/∂x∂θ(x_t);  λ_t = ν_t − γ H(x_t) ν_t.
    """
    target = _check_out(net, clamped, out, target, kind)
    layout, traj, masks = _relax(net, params, clamped, n_steps, step, x0)
    p = traj[0].shape[0]
    lam = np.zeros((p, layout.n))
    final = _full_states(layout, traj[-1], clamped)
    lam[:, layout.slices[out]] = en.cost_grad(kind, final[out], target) / p
    grad = zeros_like(params)
    for t in range(len(masks) - 1, -1, -1):
        nu = np.where(masks[t], lam, 0.0)
        st = _full_states(layout, traj[t], clamped)
        nu_d = layout.unpack(nu)
        grad = _add(grad, _scale(mixed_vjp(net, params, st, nu_d), -step))
        lam = nu - step * layout.pack(hvp(net, params, st, nu_d))
    return grad


# ------------------------------------------------------------------------------------------
# ordinary backprop on the feed-forward view of a layered graph
# ------------------------------------------------------------------------------------------
def _layered_weights(net: Network, params: Params, layers):
    layers = list(layers)
    if len(layers) < 2:
        raise ValueError("layers must list at least an input and an output block")
    names = set(net.block_names())
    for b in layers:
        if b not in names:
            raise ValueError(f"layer {b!r} is not a block of the network")
    if len(set(layers)) != len(layers) or set(layers) != names:
        raise ValueError(f"layers {layers} must list every block of the network exactly once "
                         f"(blocks: {net.block_names()})")
    if net.memories:
        raise ValueError("the feed-forward view has no memory (log-sum-exp) terms; "
                         f"network has memories on {sorted(net.memories)}")
    pos = {b: i for i, b in enumerate(layers)}
    ws = [None] * (len(layers) - 1)
    for proj in net.projections:
        i, j = pos[proj.pre], pos[proj.post]
        if abs(i - j) != 1:
            raise ValueError(f"projection {proj.name} does not join consecutive layers of {layers}; "
                             "the feed-forward view needs a layered graph")
        w = params.weights[proj.name]
        ws[min(i, j)] = (proj.name, w if i < j else w.T, i > j)
    for l, w in enumerate(ws):
        if w is None:
            raise ValueError(f"no projection between layers {layers[l]!r} and {layers[l + 1]!r}")
    return layers, ws


def _state_map(act, h):
    bounds = STATE_BOUNDS.get(act)
    if bounds is None:
        return h, np.ones_like(h)
    lo, hi = bounds
    return np.clip(h, lo, hi), ((h > lo) & (h < hi)).astype(float)


def feedforward_forward(net: Network, params: Params, x_in, layers) -> dict:
    """Feed-forward pass: a_0 = ρ(x_in); x_l = S(a_{l−1} W_l + b_l), a_l = ρ(x_l). Returns block → (P, n)
    (x_in included). The ``bp_ff`` rule's ``predict``."""
    layers, ws = _layered_weights(net, params, layers)
    x = {layers[0]: np.asarray(x_in, float)}
    a = rho(net.block(layers[0]).activation, x[layers[0]])
    for l in range(1, len(layers)):
        blk = net.block(layers[l])
        x[blk.name], _ = _state_map(blk.activation, a @ ws[l - 1][1] + params.biases[blk.name])
        a = rho(blk.activation, x[blk.name])
    return x


def feedforward_loss(net: Network, params: Params, x_in, out: str, target, kind: str, layers) -> float:
    """L = (1/P) Σ_p C(x_L,p, y_p) of the feed-forward pass."""
    if out != list(layers)[-1]:
        raise ValueError(f"readout {out!r} must be the last layer ({list(layers)[-1]!r})")
    return loss_at(feedforward_forward(net, params, x_in, layers), out, target, kind)


def feedforward_gradient(net: Network, params: Params, x_in, out: str, target, kind: str, layers) -> Params:
    """Backprop of L through the feed-forward view: δ_L = (1/P) ∂C/∂x_L; for l = L … 1:
    e_l = δ_l ⊙ S'(h_l), dW_l = a_{l−1}ᵀ e_l, db_l = Σ_p e_l, δ_{l−1} = (e_l W_lᵀ) ⊙ ρ'(x_{l−1}).
    The input block's bias gets zero gradient; a projection declared out→in gets the transpose."""
    layers, ws = _layered_weights(net, params, layers)
    if out != layers[-1]:
        raise ValueError(f"readout {out!r} must be the last layer ({layers[-1]!r})")
    target = np.asarray(target, float)
    x, hs, acts = {layers[0]: np.asarray(x_in, float)}, {}, {}
    acts[layers[0]] = rho(net.block(layers[0]).activation, x[layers[0]])
    for l in range(1, len(layers)):
        blk = net.block(layers[l])
        hs[blk.name] = acts[layers[l - 1]] @ ws[l - 1][1] + params.biases[blk.name]
        x[blk.name], _ = _state_map(blk.activation, hs[blk.name])
        acts[blk.name] = rho(blk.activation, x[blk.name])
    p = x[out].shape[0]
    grad = zeros_like(params)
    delta = en.cost_grad(kind, x[out], target) / p
    for l in range(len(layers) - 1, 0, -1):
        blk = net.block(layers[l])
        _, sprime = _state_map(blk.activation, hs[blk.name])
        e = delta * sprime
        name, w, transposed = ws[l - 1]
        dw = acts[layers[l - 1]].T @ e
        grad.weights[name] = dw.T if transposed else dw
        grad.biases[blk.name] = e.sum(axis=0)
        prev = net.block(layers[l - 1])
        delta = (e @ w.T) * drho(prev.activation, x[prev.name])
    return grad
