"""The drive of a block, −∂F/∂x_b for all P particles, shared by every scheduler and loop.

The block update (:mod:`.update`) integrates dx_b/dt = −∂F/∂x_b / τ_b with

    g_b  = ρ'(x_b) ⊙ ( b_b + Σ_(a→b) ρ(x_a) W_ab + Σ_(b→c) ρ(x_c) W_bcᵀ ) − x_b      (−∂E/∂x_b)
           + K_b softmax(β Kᵀ_b x_b)                                                 (memory term)
           − λ_b(t) ∂C_b/∂x_b                                                         (nudge)

``discrete`` (integrator 2) is another model, the iteration of the Hopfield energy
E_H = Σ_b Σ_i G_b(x_b,i) − Σ_(a→b) x_a W_ab x_b − Σ_b b_b·x_b (G_b' = ρ_b⁻¹) used by the public
EP code: one update is x_b ← ρ_b(h_b − λ ∂C/∂x_b) with h_b = b_b + Σ x_a W_ab + Σ x_c W_bcᵀ read
from the neighbours' *states* (the r buffer holds x in this mode), whatever Δ is. The drive is computed for all P
particles at once; couplings use BLAS through ``np.dot`` when the matrices are large enough to
amortise the call, and plain loops otherwise (small blocks, P = 1).

The argument tuples keep the signatures short:

* ``topo`` = (P, sizes, offsets, act, lo, hi, tau, w_off, mem_n, mem_off, mem_beta,
  adj_ptr, adj_proj, adj_other, adj_side, proj_pre, proj_post)
* ``nudge`` = (cost, lam_kind, lam_amp, lam_omega, lam_phase, lam_t_on, lam_t_off, iunit) per block,
  then ``lam_scale`` (P,): particle p feels s_p·λ_b(t), with λ_b(t) = amp (kind 0, constant),
  amp·cos(ωt + φ) (kind 1), amp·e^{i(ωt + φ)} (kind 2, complex states), each gated to
  t_on ≤ t < t_off. s = 1 everywhere is the plain nudge; particle groups with their own s_p relax
  several nudged phases in one call (e.g. +β and −β, :mod:`.groups`).

numba's on-disk cache keys a function on its own file only: after changing this file or
:mod:`.vexp`, delete the ``__pycache__/*.nb[ci]`` files of the engine (the other kernel modules
inline the code here).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..model.activations import drho_given_rho
from .vexp import rho_block, rho_rows

BLAS_MIN_WORK = 4096  # below this many multiply-adds a loop beats the BLAS call overhead


@njit(cache=True, inline="always")
def block_matrix(buf, P, offsets, b):
    n = offsets[b + 1] - offsets[b]
    return buf[P * offsets[b]:P * offsets[b + 1]].reshape((P, n))


@njit(cache=True)
def lam_at(nudge, b, t):
    """λ_b(t) of the nudge on block b (zero outside [t_on, t_off)), before the particle scale."""
    cost, kind, amp, omega, phase, t_on, t_off, iunit = nudge[:8]
    if cost[b] == 0 or t < t_on[b] or t >= t_off[b]:
        return amp[b] * 0.0
    if kind[b] == 0:
        return amp[b]
    theta = omega[b] * t + phase[b]
    if kind[b] == 1:
        return amp[b] * np.cos(theta)
    # iunit[0] is 1j for complex states (rotation is refused for real ones before we get here)
    return amp[b] * (np.cos(theta) + iunit[0] * np.sin(theta))


@njit(cache=True)
def refresh_rho(topo, b, x, r):
    P, offsets, act = topo[0], topo[2], topo[3]
    sl = slice(P * offsets[b], P * offsets[b + 1])
    rho_block(act[b], x[sl], r[sl])


@njit(cache=True, fastmath={"contract"})
def _acc_matmul(a, m, out, scratch, transpose):
    """out += a @ m (or a @ mᵀ when ``transpose``); a (P, k), out (P, n): BLAS when the product
    is large enough, else :func:`_acc_rows`' loops on the same (contiguous) buffers."""
    P, k = a.shape
    n = out.shape[1]
    if P * k * n >= BLAS_MIN_WORK:
        tmp = scratch[:P * n].reshape((P, n))
        if transpose:
            np.dot(a, m.T, tmp)
        else:
            np.dot(a, m, tmp)
        out += tmp
        return
    _acc_rows(a.reshape(P * k), 0, m.reshape(m.size), 0, out.reshape(P * n), 0, P, k, n, transpose)


@njit(cache=True, fastmath={"contract"})
def _acc_rows(r, ro, w, wo, g, go, P, k, n, transpose):
    """g[go:go + P·n] (P, n) += r[ro:ro + P·k] (P, k) times w[wo:] read as (k, n), or as (n, k)
    transposed, on flat offsets: no views (a view is a reference count taken and released, two
    atomic operations, and on 32-unit blocks those were a third of an event's time).

    The transposed product's sums Σ_j r_pj w_ij run in the plain order j = 0 … k−1, eight outputs
    i at a time (the eight sums side by side vectorise): the same bits however the compiler
    vectorises. (Letting it re-associate the sum instead made the bits depend on whether a
    caller was compiled in the same process or loaded from numba's cache, which inline this
    function differently: 1e-14 apart after a few epochs.)
    """
    # unsigned offsets: a signed index gets a negative-index (wraparound) test per access,
    # which keeps these loops from vectorising (2.5x slower on 32 × 32)
    ro, wo, go = np.uint64(ro), np.uint64(wo), np.uint64(go)
    if transpose:
        n8 = n - n % 8
        uk = np.uint64(k)
        for p in range(P):
            ai = ro + np.uint64(p * k)
            oi = go + np.uint64(p * n)
            i = 0
            while i < n8:
                m0 = wo + np.uint64(i * k)
                m1, m2, m3 = m0 + uk, m0 + np.uint64(2) * uk, m0 + np.uint64(3) * uk
                m4, m5, m6, m7 = (m0 + np.uint64(4) * uk, m0 + np.uint64(5) * uk,
                                  m0 + np.uint64(6) * uk, m0 + np.uint64(7) * uk)
                z = g[oi] * 0.0
                s0, s1, s2, s3, s4, s5, s6, s7 = z, z, z, z, z, z, z, z
                for j in range(k):
                    uj = np.uint64(j)
                    a = r[ai + uj]
                    s0 += a * w[m0 + uj]
                    s1 += a * w[m1 + uj]
                    s2 += a * w[m2 + uj]
                    s3 += a * w[m3 + uj]
                    s4 += a * w[m4 + uj]
                    s5 += a * w[m5 + uj]
                    s6 += a * w[m6 + uj]
                    s7 += a * w[m7 + uj]
                q = oi + np.uint64(i)
                g[q] += s0
                g[q + np.uint64(1)] += s1
                g[q + np.uint64(2)] += s2
                g[q + np.uint64(3)] += s3
                g[q + np.uint64(4)] += s4
                g[q + np.uint64(5)] += s5
                g[q + np.uint64(6)] += s6
                g[q + np.uint64(7)] += s7
                i += 8
            while i < n:
                mi = wo + np.uint64(i * k)
                s = g[oi] * 0.0
                for j in range(k):
                    s += r[ai + np.uint64(j)] * w[mi + np.uint64(j)]
                g[oi + np.uint64(i)] += s
                i += 1
    else:
        for p in range(P):
            oi = go + np.uint64(p * n)
            for j in range(k):
                apj = r[ro + np.uint64(p * k + j)]
                mi = wo + np.uint64(j * n)
                for i in range(n):
                    g[oi + np.uint64(i)] += apj * w[mi + np.uint64(i)]


@njit(cache=True, inline="always")
def coupling_operands(topo, j, n, r, w):
    """(ρ(x_o) as (P, k), the weight matrix, transposed?) of adjacency row j of a block of n
    units: the coupling is ρ(x_o) W_ob (o the projection's pre block) or ρ(x_o) W_boᵀ."""
    P, sizes, offsets, w_off = topo[0], topo[1], topo[2], topo[7]
    k, o = topo[12][j], topo[13][j]
    ro = block_matrix(r, P, offsets, o)
    if topo[14][j] == 0:
        return ro, w[w_off[k]:w_off[k + 1]].reshape((sizes[o], n)), False
    return ro, w[w_off[k]:w_off[k + 1]].reshape((n, sizes[o])), True


@njit(cache=True, inline="always")
def add_coupling(topo, j, n, r, w, out, scratch):
    """out (P, n) += ρ(x_o) W_ob, or ρ(x_o) W_boᵀ, for adjacency row j of a block of n units
    (o its other block; the side says which end of the projection the block is)."""
    ro, m, transpose = coupling_operands(topo, j, n, r, w)
    _acc_matmul(ro, m, out, scratch, transpose)


@njit(cache=True, inline="always")
def fused_discrete(topo, b, j, n, r, w, base, gf, scratch):
    """The discrete drive of a block whose only non-clamped coupling is adjacency row j and that
    has no memory and no nudge: scratch ← ρ(x_o)W by one BLAS call, scratch ← base + scratch,
    g_b ← ρ(scratch). False (nothing written) when the product is too small for BLAS.

    The same additions as the general path (g ← base, g += product, copy to scratch, ρ), in one
    pass over the block instead of three; IEEE addition commutes, so the bits are the same."""
    ro, m, transpose = coupling_operands(topo, j, n, r, w)
    P, k = ro.shape
    if P * k * n < BLAS_MIN_WORK:
        return False
    sz = P * n
    tmp = scratch[:sz].reshape((P, n))
    if transpose:
        np.dot(ro, m.T, tmp)
    else:
        np.dot(ro, m, tmp)
    sf = scratch[:sz]
    g0 = P * topo[2][b]
    bf = base[g0:g0 + sz]
    for q in range(sz):
        sf[q] = bf[q] + sf[q]
    rho_block(topo[3][b], sf, gf)
    return True


@njit(cache=True, inline="always")
def add_coupling_rows(topo, j, n, r, w, g, go, scratch):
    """:func:`add_coupling` into the flat rows g[go:go + P·n]: the small product by
    :func:`_acc_rows` (no views), a BLAS-sized one through :func:`add_coupling`."""
    P, sizes, offsets = topo[0], topo[1], topo[2]
    k, o = topo[12][j], topo[13][j]
    ko = sizes[o]
    if P * ko * n >= BLAS_MIN_WORK:
        add_coupling(topo, j, n, r, w, g[go:go + P * n].reshape((P, n)), scratch)
        return
    _acc_rows(r, P * offsets[o], w, topo[7][k], g, go, P, ko, n, topo[14][j] != 0)


@njit(cache=True, inline="always")
def row_logsumexp(row):
    """log Σ_i exp(row_i), shifted by the largest real part so that it cannot overflow."""
    zmax = row[0].real
    for i in range(1, row.shape[0]):
        zmax = max(zmax, row[i].real)
    tot = row[0] * 0.0
    for i in range(row.shape[0]):
        tot += np.exp(row[i] - zmax)
    return zmax + np.log(tot)


@njit(cache=True)
def compute_drive(topo, nudge, b, t, x, r, g, w, bias, target, scratch):
    """g_b ← −∂F/∂x_b for all particles (see module docstring)."""
    drive_into(topo, nudge, b, t, x, r, g, w, bias, target, scratch, x, topo[11][b], False, False)


@njit(cache=True, inline="always")
def drive_into(topo, nudge, b, t, x, r, g, w, bias, target, scratch, base, j0, use_base, discrete):
    """The drive of block b into g_b, starting from ``base`` (the bias and the couplings of
    adjacency rows before ``j0``, see :func:`static_drive`) when ``use_base``, else from the bias.

    Continuous modes: g_b = ρ'(x_b) ⊙ h_b − x_b + memory − λ∂C/∂x_b (−∂F/∂x_b).
    ``discrete``: g_b = ρ(h_b + memory − λ∂C/∂x_b), the block's next state, with the couplings
    reading the neighbours' states themselves (their r buffer holds x, see :func:`apply_discrete`).

    Inlined into the loops and cheap in bookkeeping, because on small blocks the bookkeeping
    is most of an update: a call copies the topo and nudge tuples (26 arrays) and counts a
    reference to each (atomic), every view (a slice, a (P, n) reshape) takes and releases one
    more count, two atomic operations. So it reads only the tuple fields it uses, indexes the
    flat buffers at the block's offset (the small couplings too, :func:`add_coupling_rows`), and
    builds views only for a BLAS-sized coupling and for a memory or a nudge when the block has one.
    """
    P, offsets = topo[0], topo[2]
    n, off = topo[1][b], offsets[b]
    m, g0 = P * n, P * off
    j1 = topo[11][b + 1]
    if (discrete and use_base and j1 == j0 + 1 and topo[8][b] == 0 and nudge[0][b] == 0
            and fused_discrete(topo, b, j0, n, r, w, base, g[g0:g0 + m], scratch)):
        return  # the common case of a layered net's tick (one free neighbour), one pass
    u0 = np.uint64(g0)  # unsigned indices: no wraparound test per access (see _acc_rows)
    if use_base:
        for q in range(m):
            g[u0 + np.uint64(q)] = base[u0 + np.uint64(q)]
    else:
        for p in range(P):
            for i in range(n):
                g[u0 + np.uint64(p * n + i)] = bias[off + i]
    for j in range(j0, j1):
        add_coupling_rows(topo, j, n, r, w, g, g0, scratch)
    a = topo[3][b]
    if not discrete:
        for q in range(m):
            u = u0 + np.uint64(q)
            g[u] = drho_given_rho(a, x[u], r[u]) * g[u] - x[u]
    if topo[8][b] > 0 or nudge[0][b] != 0:
        xb, gb = x[g0:g0 + m].reshape((P, n)), g[g0:g0 + m].reshape((P, n))
        add_memory(topo, b, w, xb, gb)
        add_nudge(topo, nudge, b, t, xb, gb, target)
    if discrete:
        # ρ from a copy in scratch (free again once the couplings are added): with dst = src the
        # compiler's run-time overlap check fails and the logistic runs scalar, 2.5-6x slower
        for q in range(m):
            scratch[q] = g[g0 + q]
        rho_rows(a, scratch, 0, g, g0, m)


@njit(cache=True, inline="always")
def add_memory(topo, b, w, xb, gb):
    """gb += K_b softmax(β_b K_bᵀ x_b) per particle (nothing when block b has no memories)."""
    n, m = topo[1][b], topo[8][b]
    if m > 0:
        off = topo[9][b]
        kmat = w[off:off + n * m].reshape((n, m))
        z = np.dot(xb, kmat)
        z *= topo[10][b]  # in place: z keeps the state dtype (float32 stays float32)
        for p in range(xb.shape[0]):
            lse = row_logsumexp(z[p])
            for q in range(m):
                z[p, q] = np.exp(z[p, q] - lse)
        gb += np.dot(z, kmat.T)


@njit(cache=True, inline="always")
def add_nudge(topo, nudge, b, t, xb, gb, target):
    """gb −= s_p λ_b(t) ∂C_b/∂x_b per particle p: x_b − y_b (mse) or softmax(x_b) − y_b (ce)."""
    cost = nudge[0][b]
    if cost == 0:
        return
    P, n = topo[0], topo[1][b]
    lam = lam_at(nudge, b, t)
    scale = nudge[8]
    tb = block_matrix(target, P, topo[2], b)
    if cost == 1:
        for p in range(P):
            lp = lam * scale[p]
            for i in range(n):
                gb[p, i] -= lp * (xb[p, i] - tb[p, i])
    else:
        for p in range(P):
            lp = lam * scale[p]
            lse = row_logsumexp(xb[p])
            for i in range(n):
                gb[p, i] -= lp * (np.exp(xb[p, i] - lse) - tb[p, i])


@njit(cache=True)
def static_drive(topo, free, r, w, bias, base, j0, scratch):
    """For every free block b: base_b = b_b + Σ ρ(x_o) W over its leading adjacency rows whose
    other block o is clamped, and j0[b] = the first row not folded in.

    A clamped neighbour's contribution is constant while the clamps hold, so a phase computes it
    once instead of at every update; rows are folded in adjacency order only up to the first free
    neighbour, so the per-update sum adds the remaining terms in the same order as
    :func:`compute_drive` (bit-identical drives).
    """
    P, sizes, offsets = topo[0], topo[1], topo[2]
    adj_ptr, adj_other = topo[11], topo[13]
    for b in range(sizes.shape[0]):
        j0[b] = adj_ptr[b]
        if not free[b]:
            continue
        n = sizes[b]
        bb = block_matrix(base, P, offsets, b)
        for p in range(P):
            for i in range(n):
                bb[p, i] = bias[offsets[b] + i]
        j = adj_ptr[b]
        while j < adj_ptr[b + 1] and not free[adj_other[j]]:
            add_coupling(topo, j, n, r, w, bb, scratch)
            j += 1
        j0[b] = j
