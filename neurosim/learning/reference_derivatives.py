"""The free units of a clamped network and the derivatives of E the references need: the
Hessian H = ∂²E/∂x² over the free units, its product with a vector, and the mixed product
μᵀ ∂²E/∂x∂θ (docs/reference-gradients.md). Plain numpy, independent of the engine."""
from __future__ import annotations

import numpy as np

from ..model import energy as en
from ..model.activations import STATE_BOUNDS, drho, rho
from ..model.network import Network, Params
from .gradients import zeros_like


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
