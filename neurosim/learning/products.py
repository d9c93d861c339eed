"""The local products of a whole contrast in one kernel call.

A phase-based estimator combines the products ∂E/∂θ at K phase states linearly,
ĝ = Σ_k c_k ∂E/∂θ(x_k), with (module :mod:`.nudging`)

    ∂E/∂W_ab = −ρ(x_a)ᵀ ρ(x_b) / P        ∂E/∂b_b = −Σ_p ρ(x_b,p) / P   (0 for clamped b)

:func:`contrast_products` evaluates the sum for every projection and bias from the phases' ρ
buffers (the engine's ``r``, so the discrete iteration's products x_aᵀ x_b come out as well). A
projection with a clamped end reads the same ρ(x_a) in every phase, so its sum is one GEMM,
−ρ(x_a)ᵀ (Σ_k c_k ρ(x_b,k)) / P, instead of K (the input layer's product is the largest one).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..engine.drive import block_matrix
from ..model.network import Params


@njit(cache=True)
def contrast_products(topo, rs, coefs, free, gw, gb):
    """gw (weight layout) and gb (bias layout) ← Σ_k P·coefs[k] ∂E/∂θ at the ρ buffers rs[k].

    ``coefs`` are the contrast's c_k already divided by P, in the buffers' dtype (so float32
    products stay float32)."""
    P, sizes, offsets, w_off, pre, post = topo[0], topo[1], topo[2], topo[7], topo[15], topo[16]
    K = rs.shape[0]
    gw[:] = 0
    gb[:] = 0
    for k in range(pre.shape[0]):
        a, b = pre[k], post[k]
        wk = gw[w_off[k]:w_off[k + 1]].reshape((sizes[a], sizes[b]))
        if free[a] and free[b]:
            for q in range(K):
                ra = block_matrix(rs[q], P, offsets, a)
                rb = block_matrix(rs[q], P, offsets, b)
                wk -= coefs[q] * np.dot(ra.T, rb)
        elif free[b] or free[a]:
            # one end clamped: ρ of it is the same in every phase
            f = b if free[b] else a
            dsum = np.zeros((P, sizes[f]), dtype=gw.dtype)
            for q in range(K):
                dsum += coefs[q] * block_matrix(rs[q], P, offsets, f)
            if free[b]:
                wk -= np.dot(block_matrix(rs[0], P, offsets, a).T, dsum)
            else:
                wk -= np.dot(dsum.T, block_matrix(rs[0], P, offsets, b))
        else:
            wk -= np.sum(coefs) * np.dot(block_matrix(rs[0], P, offsets, a).T,
                                   block_matrix(rs[0], P, offsets, b))
    for b in range(sizes.shape[0]):
        if not free[b]:
            continue
        bb = gb[offsets[b]:offsets[b + 1]]
        for q in range(K):
            rb = block_matrix(rs[q], P, offsets, b)
            for p in range(P):
                for i in range(sizes[b]):
                    bb[i] -= coefs[q] * rb[p, i]


def to_params(compiled, gw, gb) -> Params:
    """The flat weight / bias gradients as float64 :class:`Params` (clamped biases are zero)."""
    g = Params()
    for k, name in enumerate(compiled.proj_names):
        n_a, n_b = compiled.sizes[compiled.proj_pre[k]], compiled.sizes[compiled.proj_post[k]]
        w = gw[compiled.w_off[k]:compiled.w_off[k + 1]].reshape(n_a, n_b)
        g.weights[name] = w.astype(np.float64, copy=False)  # gw is the caller's fresh buffer
    for b, name in enumerate(compiled.names):
        g.biases[name] = gb[compiled.offsets[b]:compiled.offsets[b + 1]].astype(np.float64, copy=False)
    return g
