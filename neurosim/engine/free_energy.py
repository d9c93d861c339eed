"""The free energy F(x) = E(x) + Σ_b λ_b(t) C_b(x_b) per particle (the energy probes read it).

    E(x) = Σ_b [ ½‖x_b‖² − b_b·ρ(x_b) − (1/β_b) log Σ_m exp(β_b x_b·K_b,m) ] − Σ_(a→b) ρ(x_a) W_ab ρ(x_b)

C_b is ½‖x_b − y_b‖² (mse) or −y_bᵀ log softmax(x_b) (ce), and particle p feels s_p·λ_b(t) (the
``lam_scale`` of the nudge tuple); the argument tuples are those of :mod:`.drive`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .drive import block_matrix, lam_at, row_logsumexp


@njit(cache=True)
def energy(topo, nudge, t, x, r, w, bias, target, out):
    """F(x) = E(x) + Σ_b λ_b(t) C_b(x_b) per particle, into ``out`` (P,)."""
    (P, sizes, offsets, act, lo, hi, tau, w_off, mem_n, mem_off, mem_beta,
     adj_ptr, adj_proj, adj_other, adj_side, proj_pre, proj_post) = topo
    nb = sizes.shape[0]
    for p in range(P):
        out[p] = out[p] * 0.0
    for b in range(nb):
        n = sizes[b]
        xb = block_matrix(x, P, offsets, b)
        rb = block_matrix(r, P, offsets, b)
        for p in range(P):
            s = out[p] * 0.0
            for i in range(n):
                s += 0.5 * xb[p, i] * xb[p, i] - bias[offsets[b] + i] * rb[p, i]
            out[p] += s
        m = mem_n[b]
        if m > 0:
            kmat = w[mem_off[b]:mem_off[b] + n * m].reshape((n, m))
            z = np.dot(xb, kmat)
            z *= mem_beta[b]
            for p in range(P):
                out[p] -= row_logsumexp(z[p]) / mem_beta[b]
        cost = nudge[0][b]
        if cost != 0:
            lam = lam_at(nudge, b, t)
            tb = block_matrix(target, P, offsets, b)
            for p in range(P):
                c = out[p] * 0.0
                if cost == 1:
                    for i in range(n):
                        d = xb[p, i] - tb[p, i]
                        c += 0.5 * d * d
                else:
                    lse = row_logsumexp(xb[p])
                    for i in range(n):
                        c -= tb[p, i] * (xb[p, i] - lse)
                out[p] += lam * nudge[8][p] * c
    for k in range(proj_pre.shape[0]):
        a, b = proj_pre[k], proj_post[k]
        ra = block_matrix(r, P, offsets, a)
        rb = block_matrix(r, P, offsets, b)
        wk = w[w_off[k]:w_off[k + 1]].reshape((sizes[a], sizes[b]))
        hb = np.dot(ra, wk)
        for p in range(P):
            s = out[p] * 0.0
            for i in range(sizes[b]):
                s += hb[p, i] * rb[p, i]
            out[p] -= s
