"""Energy terms and their local gradients, in plain numpy (the engine's kernels implement the
same formulas in numba; tests check one against the other).

Sign convention (Scellier & Bengio 2017, "Equilibrium Propagation"; docs/design.md):

    E(x) = Σ_b [ ½‖x_b‖² − b_bᵀ ρ(x_b) ]  −  Σ_(a→b) ρ(x_a)ᵀ W_ab ρ(x_b)  +  Σ_m E_lse,m(x_m)
    F(x) = E(x) + Σ_k λ_k C_k(x)          (tasks add nudging costs)

States have shape (P, n): P particles. Every function returns per-particle values of shape (P,)
or gradients of the state's shape.
"""
from __future__ import annotations

import numpy as np

from .activations import d2rho, drho, rho


def block_energy(x, bias, act):
    """E_b = ½‖x‖² − bᵀρ(x), per particle."""
    return 0.5 * np.sum(x * x, axis=1) - rho(act, x) @ bias


def block_grad(x, bias, act):
    """∂E_b/∂x = x − ρ'(x) ⊙ b."""
    return x - drho(act, x) * bias


def coupling_energy(x_a, x_b, w, act_a, act_b):
    """E_ab = −ρ(x_a)ᵀ W ρ(x_b), per particle."""
    return -np.sum((rho(act_a, x_a) @ w) * rho(act_b, x_b), axis=1)


def coupling_grads(x_a, x_b, w, act_a, act_b):
    """(∂E_ab/∂x_a, ∂E_ab/∂x_b) = (−ρ'(x_a) ⊙ ρ(x_b)Wᵀ, −ρ'(x_b) ⊙ ρ(x_a)W)."""
    r_a, r_b = rho(act_a, x_a), rho(act_b, x_b)
    return -drho(act_a, x_a) * (r_b @ w.T), -drho(act_b, x_b) * (r_a @ w)


def lse_energy(x, k, beta):
    """E_lse = −(1/β) log Σ_μ exp(β K_μᵀ x), per particle (log-sum-exp evaluated stably)."""
    z = beta * (x @ k)
    m = z.max(axis=1, keepdims=True)
    return -(m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))) / beta


def lse_grad(x, k, beta):
    """∂E_lse/∂x = −K softmax(β Kᵀx)."""
    z = beta * (x @ k)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return -(z / z.sum(axis=1, keepdims=True)) @ k.T


def softmax(x):
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def cost_value(kind, x, target):
    """Nudging cost per particle: ``mse`` C = ½‖x − y‖²; ``ce`` C = −Σ_i y_i log softmax(x)_i."""
    if kind == "mse":
        d = x - target
        return 0.5 * np.sum(d * d, axis=1)
    if kind == "ce":
        z = x - x.max(axis=1, keepdims=True)
        return -np.sum(target * (z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))), axis=1)
    raise ValueError(f"unknown cost {kind!r}; expected 'mse' or 'ce'")


def cost_grad(kind, x, target):
    """∂C/∂x: ``mse`` x − y; ``ce`` softmax(x) − y (for targets that sum to one)."""
    if kind == "mse":
        return x - target
    if kind == "ce":
        return softmax(x) - target * 1.0
    raise ValueError(f"unknown cost {kind!r}; expected 'mse' or 'ce'")


def network_energy(net, params, states):
    """E(x) of a whole :class:`~neurosim.model.network.Network`; ``states`` maps block → (P, n)."""
    total = 0.0
    for blk in net.blocks:
        total = total + block_energy(states[blk.name], params.biases[blk.name], blk.activation)
    for proj in net.projections:
        a, b = net.block(proj.pre), net.block(proj.post)
        total = total + coupling_energy(states[a.name], states[b.name], params.weights[proj.name],
                                        a.activation, b.activation)
    for name, mem in net.memories.items():
        total = total + lse_energy(states[name], params.memories[name], mem.beta)
    return total


def network_grad(net, params, states):
    """∂E/∂x_b for every block, as a dict block → (P, n)."""
    grads = {b.name: block_grad(states[b.name], params.biases[b.name], b.activation) for b in net.blocks}
    for proj in net.projections:
        a, b = net.block(proj.pre), net.block(proj.post)
        ga, gb = coupling_grads(states[a.name], states[b.name], params.weights[proj.name],
                                a.activation, b.activation)
        grads[a.name] = grads[a.name] + ga
        grads[b.name] = grads[b.name] + gb
    for name, mem in net.memories.items():
        grads[name] = grads[name] + lse_grad(states[name], params.memories[name], mem.beta)
    return grads


# -- second derivatives (used by the exact references in neurosim.learning.reference) ----------
def block_curvature(x, bias, act):
    """Diagonal of ∂²E_b/∂x² : 1 − ρ''(x) ⊙ b."""
    return 1.0 - d2rho(act, x) * bias


def coupling_curvature(x_a, x_b, w, act_a, act_b):
    """Second derivatives of E_ab = −ρ(x_a)ᵀ W ρ(x_b).

    Returns (diag_a, diag_b, cross): diag_a = −ρ''(x_a) ⊙ ρ(x_b)Wᵀ and diag_b = −ρ''(x_b) ⊙ ρ(x_a)W
    (the diagonals of ∂²E_ab/∂x_a² and ∂²E_ab/∂x_b², shape (P, n)), and
    cross[p, i, j] = ∂²E_ab/∂x_a,i ∂x_b,j = −ρ'(x_a,i) W_ij ρ'(x_b,j), shape (P, n_a, n_b).
    """
    r_a, r_b = rho(act_a, x_a), rho(act_b, x_b)
    diag_a = -d2rho(act_a, x_a) * (r_b @ w.T)
    diag_b = -d2rho(act_b, x_b) * (r_a @ w)
    cross = -drho(act_a, x_a)[:, :, None] * w[None, :, :] * drho(act_b, x_b)[:, None, :]
    return diag_a, diag_b, cross


def coupling_hvp(x_a, x_b, w, act_a, act_b, v_a, v_b):
    """Hessian-vector product of E_ab: (H v)_a, (H v)_b for directions v_a, v_b (each (P, n)).

    (Hv)_a = diag_a ⊙ v_a − ρ'(x_a) ⊙ (ρ'(x_b) ⊙ v_b) Wᵀ,  (Hv)_b = diag_b ⊙ v_b − ρ'(x_b) ⊙ (ρ'(x_a) ⊙ v_a) W.
    """
    r_a, r_b = rho(act_a, x_a), rho(act_b, x_b)
    d_a, d_b = drho(act_a, x_a), drho(act_b, x_b)
    hv_a = -d2rho(act_a, x_a) * (r_b @ w.T) * v_a - d_a * ((d_b * v_b) @ w.T)
    hv_b = -d2rho(act_b, x_b) * (r_a @ w) * v_b - d_b * ((d_a * v_a) @ w)
    return hv_a, hv_b


def lse_hessian(x, k, beta):
    """∂²E_lse/∂x² = −β K (diag(s) − s sᵀ) Kᵀ with s = softmax(β Kᵀx); shape (P, n, n)."""
    s = softmax(beta * (x @ k))
    ks = s[:, None, :] * k[None, :, :]                       # K diag(s), (P, n, m)
    kss = (s @ k.T)                                          # K s, (P, n)
    return -beta * (ks @ k.T[None] - kss[:, :, None] * kss[:, None, :])


def lse_hvp(x, k, beta, v):
    """(∂²E_lse/∂x²) v = −β K (s ⊙ Kᵀv − s (sᵀKᵀv))."""
    s = softmax(beta * (x @ k))
    kv = v @ k
    return -beta * (s * kv - s * np.sum(s * kv, axis=1, keepdims=True)) @ k.T
