"""The block update of the event loops on small blocks, with no array views and no reference counts.

On 32-unit blocks an update is a few hundred multiply-adds, and the bookkeeping around them was
the cost: every array a numba function binds — a slice, a reshape, an argument of an inlined
helper, a field of the ``topo`` tuple — takes a reference count and releases it, two atomic
operations, and the compiler removes such pairs only when no other release lies between them
(a loop body with one release keeps every pair around it). Measured with ``perf`` on the bench's
64 × 32 poisson loop, the counts took a third of the time.

So :func:`flow_update` is the drive (:func:`~.drive.drive_into`) and the step
(:func:`~.update.step_rows`) of a block written on the flat buffers and the topology's
arrays passed one by one (bound once per kernel call), indexing at the block's offsets, and
inlined into the loop (called, it counted its 13 array arguments in and out: 26 atomic
operations an update, 6 % of the loop's time):

    g_b = ρ'(x_b) ⊙ (base_b + Σ_j ρ(x_o) W) − x_b,    x_b ← Π_b(x_b + γ g_b),   r_b ← ρ(x_b)

with the couplings by :func:`~.drive._acc_rows` and ρ by :func:`~.vexp.rho_rows`, the same
arithmetic in the same order as those functions, so the same bits (tested against them). It
serves the blocks :func:`small_blocks` marks — every coupling below the BLAS size, no memory —
and only while the block carries no nudge (``drive_into`` and its views do the rest).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..model.activations import drho_given_rho
from .drive import BLAS_MIN_WORK, _acc_rows
from .update import project
from .vexp import rho_rows


@njit(cache=True)
def small_blocks(topo, out):
    """out[b] ← True when block b's update can take :func:`flow_update`: no memory and every
    coupling smaller than :data:`~.drive.BLAS_MIN_WORK` multiply-adds."""
    P, sizes, mem_n, adj_ptr, adj_other = topo[0], topo[1], topo[8], topo[11], topo[13]
    for b in range(sizes.shape[0]):
        ok = mem_n[b] == 0
        for j in range(adj_ptr[b], adj_ptr[b + 1]):
            if P * sizes[adj_other[j]] * sizes[b] >= BLAS_MIN_WORK:
                ok = False
        out[b] = ok


@njit(cache=True, inline="always")
def flow_update(P, sizes, offsets, act, lo, hi, w_off, adj_ptr, adj_proj, adj_other, adj_side,
                x, r, g, w, base, b, j0, gamma, bias, use_base):
    """One continuous-mode update of small block b from ``base`` (its bias and clamped
    neighbours' drive, :func:`~.drive.static_drive`) when ``use_base``, else from ``bias``, and
    the adjacency rows from ``j0`` (module docstring); False if the block went non-finite."""
    n = sizes[b]
    m = P * n
    u0 = np.uint64(P * offsets[b])  # unsigned: no wraparound test per access (drive._acc_rows)
    if use_base:
        for q in range(m):
            g[u0 + np.uint64(q)] = base[u0 + np.uint64(q)]
    else:
        off = offsets[b]
        for p in range(P):
            for i in range(n):
                g[u0 + np.uint64(p * n + i)] = bias[off + i]
    for j in range(j0, adj_ptr[b + 1]):
        o = adj_other[j]
        _acc_rows(r, P * offsets[o], w, w_off[adj_proj[j]], g, P * offsets[b], P, sizes[o], n,
                  adj_side[j] != 0)
    a, l, h = act[b], lo[b], hi[b]
    bounded = l > -np.inf or h < np.inf
    finite = True
    for q in range(m):
        i = u0 + np.uint64(q)
        xi = x[i]
        g[i] = drho_given_rho(a, xi, r[i]) * g[i] - xi
        # g as stored (rounded to the state dtype), as step_rows reads it
        v = project(xi + gamma * g[i], bounded, l, h)
        if not np.isfinite(v):
            finite = False
        x[i] = v
    rho_rows(a, x, P * offsets[b], r, P * offsets[b], m)
    return finite
