"""The event rule applied once per K segments: each projection logs its integration segments and
applies their summed update as one rank-K product (``plasticity.apply_every = K``).

The event rule (``plastic_rule.py``) integrates projection a→b over segments s = 1 … K, each with
its own constant Hebbian product H_s = ρ_a^sᵀρ_b^s/P, coefficient κ_s = Re η C(t_{s−1}, t_s) and
decay d_s = e^{−Δ_s/τ_avg}; per segment

    ΔW_s = κ_s (H_s − H̄_{s−1}),     H̄_s = H_s − d_s (H_s − H̄_{s−1}).

Unrolled from H̄₀ (the average when the log was last applied), the K segments sum to

    ΔW = Σ_r γ_r H_r − B₀ H̄₀,        H̄_K = (Π_r d_r) H̄₀ + Σ_r α_r H_r,

    B_K = 0,  B_{r−1} = κ_r + d_r B_r,  γ_r = κ_r − (1 − d_r) B_r,  α_r = (1 − d_r) Π_{u>r} d_u,

the same update and average as the per-segment rule in exact arithmetic (rounding differs). A
segment costs a copy of ρ_a and ρ_b into the log; the weights and averages are read and written
once per K segments instead of at every one, which on small blocks is most of the per-event cost.
What changes is *when* the weights move: the blocks' drive sees W as of the last application,
at most K segments old (the update itself, and H̄, are those of the exact rule). Every log is
applied when all synapses are brought up to date (``plastic_rule.flush``: an evaluation, a gated
task switch, the end of a kernel call), so a run's weights are current wherever Python reads them.

Serves real states on projections below the BLAS size (P·n_a·n_b < ``BLAS_MIN_WORK``): on larger
ones the segment's product is a BLAS call either way and the log would double its flops.

Segments in a row with the same ρ_a (every segment a change of b ended: about half of them when
a and b update alike) share one logged ρ_a, so the product runs over the runs of equal ρ_a, not
over the segments: Σ_{s in a run} γ_s ρ_aᵀρ_b^s = ρ_aᵀ(Σ_s γ_s ρ_b^s).

``lg`` = (lint, lflt, rows, scratch): lint (4, projections) holds each projection's capacity K
(0: not logged), segment count, offset in ``rows`` (its K·P·n_a rows of ρ_a, one per run, then
its K·P·n_b rows of ρ_b, one per segment) and run count; lflt (3, projections·K_max) each
segment's (k·K_max + s) κ, d and run; ``scratch`` the apply's right factor and its product.
(Four arrays, not eight: a call of more than 30 arguments compiles to a ``*args`` call, which
numba cannot inline.) A silent block's logged ρ is zero, so its segments add nothing but their
decay, as in the per-segment rule.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .drive import BLAS_MIN_WORK

U = np.uint64


@njit(cache=True, inline="always")
def log_segment(lint, lflt, rows, P, na, nb, ao, bo, r, k, kappa, decay):
    """Append projection k's closing segment (ρ_a from flat offset ao of r, ρ_b from bo, κ, d) to
    the log's arrays (``lg`` of the module docstring, passed one by one: every array an inlined
    helper binds costs two atomic operations); True when the log is then full."""
    s, cap, runs = lint[1, k], lint[0, k], lint[3, k]
    kmax = lflt.shape[1] // lint.shape[1]
    q = k * kmax + s
    lflt[0, q], lflt[1, q] = kappa, decay
    ao, bo = U(ao), U(bo)
    # ρ_a as in the run so far? (true whenever it was b that changed)
    same = runs > 0
    if same:
        last = U(lint[2, k] + (runs - 1) * P * na)
        for i in range(P * na):
            if rows[last + U(i)] != r[ao + U(i)]:
                same = False
                break
    if not same:
        seg_a = U(lint[2, k] + runs * P * na)
        for i in range(P * na):
            rows[seg_a + U(i)] = r[ao + U(i)]
        runs += 1
        lint[3, k] = runs
    lflt[2, q] = runs - 1
    seg_b = U(lint[2, k] + cap * P * na + s * P * nb)
    for i in range(P * nb):
        rows[seg_b + U(i)] = r[bo + U(i)]
    lint[1, k] = s + 1
    return s + 1 >= cap


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def apply_log(lint, lflt, rows, scratch, P, na, nb, o, k, hbar, w, total, apply, keep):
    """Apply projection k's logged segments (module docstring) to w, total and H̄ on the flat
    slice from o, and empty its log: [ΔW + B₀H̄₀ | H̄_K − ΠdH̄₀] = Aᵀ [Σγ B | Σα B], one GEMM over
    the runs, A (runs·P, n_a) the logged ρ_a of each run, each row of the right factor the sum
    over the run's segments of γ_s ρ_b^s (and α_s ρ_b^s)."""
    n, cap, runs = lint[1, k], lint[0, k], lint[3, k]
    if n == 0:
        return
    kmax = lflt.shape[1] // lint.shape[1]
    q0 = k * kmax
    m = runs * P
    sb = scratch[:m * 2 * nb].reshape((m, 2 * nb))
    out = scratch[m * 2 * nb:m * 2 * nb + na * 2 * nb].reshape((na, 2 * nb))
    sb[:, :] = 0.0
    a0, b0 = lint[2, k], lint[2, k] + cap * P * na
    bsum, prod = 0.0, 1.0
    for s in range(n - 1, -1, -1):
        kk, d = lflt[0, q0 + s], lflt[1, q0 + s]
        gam = (kk - (1.0 - d) * bsum) / P
        alp = (1.0 - d) * prod / P
        bsum = kk + d * bsum
        prod = prod * d
        run = int(lflt[2, q0 + s])
        for p in range(P):
            src = b0 + (s * P + p) * nb
            row = run * P + p
            for j in range(nb):
                v = rows[src + j]
                sb[row, j] += gam * v
                sb[row, nb + j] += alp * v
    np.dot(rows[a0:a0 + m * na].reshape((m, na)).T, sb, out)
    oo = U(o)
    for i in range(na):
        base = oo + U(i * nb)
        for j in range(nb):
            qq = base + U(j)
            hb = hbar[qq]
            dw = (out[i, j] - bsum * hb).real  # real states only (make_log); .real types the complex build
            if apply:
                w[qq] += dw
            if keep:
                total[qq] += dw
            hbar[qq] = prod * hb + out[i, nb + j]
    lint[1, k] = 0
    lint[3, k] = 0


def make_log(compiled, apply_every: int):
    """The ``lg`` tuple for ``compiled`` (module docstring): projections with P·n_a·n_b below
    ``BLAS_MIN_WORK`` and a real state dtype get capacity ``apply_every`` (none when it is 1)."""
    c = compiled
    P, sizes = c.n_particles, c.sizes
    n_proj = len(c.proj_names)
    k_max = max(int(apply_every), 1)
    real = not np.issubdtype(np.dtype(c.dtype), np.complexfloating)
    lint = np.zeros((4, n_proj), np.int64)
    used, n_scratch = 0, 1
    for k, (a, b) in enumerate(zip(c.proj_pre, c.proj_post)):
        na, nb = int(sizes[a]), int(sizes[b])
        if apply_every > 1 and real and P * na * nb < BLAS_MIN_WORK:
            lint[0, k], lint[2, k] = k_max, used
            used += k_max * P * (na + nb)
            n_scratch = max(n_scratch, k_max * P * 2 * nb + na * 2 * nb)
    return (lint, np.zeros((3, n_proj * k_max)), np.zeros(max(used, 1), c.dtype),
            np.zeros(n_scratch, c.dtype))
