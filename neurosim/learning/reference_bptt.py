"""Backprop through n synchronous relaxation steps x_{t+1} = Π(x_t − γ ∂E/∂x(x_t)), loss on x_n:
λ_n = ∂L/∂x_n, λ_t = ν_t − γ H(x_t) ν_t, dL/dθ = −γ Σ_t ν_tᵀ ∂²E/∂x∂θ (x_t), ν_t = Π'(z_t) ⊙ λ_{t+1}."""
from __future__ import annotations

import numpy as np

from ..model import energy as en
from ..model.network import Network, Params
from .gradients import zeros_like
from .reference_derivatives import FreeLayout, _full_states, _n_particles, free_blocks, hvp, mixed_vjp
from .reference_implicit import _check_out, loss_at


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
        grad = grad + mixed_vjp(net, params, st, nu_d).scale(-step)
        lam = nu - step * layout.pack(hvp(net, params, st, nu_d))
    return grad
