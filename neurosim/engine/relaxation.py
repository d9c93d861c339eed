"""Phase relaxation in one kernel call: ticks, the stationarity residual, and the tolerance check.

A training phase is "relax at fixed clamps and λ until stationary or out of time". The
Python loop of :meth:`Simulator.relax` (run a chunk, compute the residual, repeat) costs a kernel
call, a full drive pass and numpy glue per chunk; :func:`relax_ticks` runs the same chunks and the
same checks inside numba, computes the clamped neighbours' drive once per call, and returns the
residual only when it is asked for. The chunk lengths are computed by the caller exactly as the
Python loop would, so the states, times and stopping tick are those of that loop.

Residual: max over free units of |Π(x + g) − x| with g = −∂F/∂x (the continuous modes; the real
part is projected for complex states), or max |ρ(h) − x| for the discrete iteration.

Particle groups: the P particles may be G groups of P/G consecutive particles (rows) relaxing
different phases at once, e.g. +β and −β from the same free state (the nudge's per-particle scale
gives each group its λ). The residual is then checked per group, and a group whose residual is
≤ tol stops being updated while the others go on: each group's states, stopping chunk and residual
are those of the phase relaxed alone (particles do not interact), at one kernel call for all.

numba's on-disk cache keys a function on its own file only, so the cached kernels here would keep
the code they inlined from :mod:`.drive`, :mod:`.update` or :mod:`.vexp` after those change:
``kernel_cache.py`` clears the package's caches when any kernel source changes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .drive import drive_into, static_drive
from .loops import DIVERGED, OK
from .update import update_rows


@njit(cache=True)
def residual(topo, nudge, t, x, r, g, w, bias, target, scratch, free, base, j0, use_base, discrete,
             out):
    """out[k] ← the stationarity residual (module docstring) of particle group k (``out.shape[0]``
    groups of P/G rows, 0 if no block is free); returns the largest.

    All drives are computed from the same state first (as :meth:`Simulator.drive`)."""
    P, sizes, offsets, lo, hi = topo[0], topo[1], topo[2], topo[4], topo[5]
    nb = free.shape[0]
    G = out.shape[0]
    pg = P // G
    for b in range(nb):
        if free[b]:
            jb = j0[b] if use_base else topo[11][b]
            drive_into(topo, nudge, b, t, x, r, g, w, bias, target, scratch, base, jb, use_base,
                       discrete)
    for k in range(G):
        out[k] = 0.0
    for b in range(nb):
        if not free[b]:
            continue
        l, h = lo[b], hi[b]
        bounded = l > -np.inf or h < np.inf
        rows = pg * sizes[b]
        for k in range(G):
            worst = out[k]
            i0 = P * offsets[b] + k * rows
            for i in range(i0, i0 + rows):
                if discrete:
                    d = abs(g[i] - x[i])
                elif bounded:
                    xr = x[i].real
                    re = min(max(xr + g[i].real, l), h) - xr
                    d = abs(g[i] * 0.0 + re + (g[i] - g[i].real))
                else:
                    d = abs(g[i])
                if d > worst:
                    worst = d
            out[k] = worst
    return out.max()


@njit(cache=True)
def relax_ticks(topo, nudge, x, r, g, w, bias, target, scratch, base, j0, free, gamma, discrete,
                t0, dt, chunks, tol, want_residual, phase_ptr, phase_blocks, fresh_base, res_out):
    """Run the tick chunks ``chunks`` (ticks per chunk) from t0 under the phases of a sync or
    alternating scheduler; with ``tol`` ≥ 0 check the residual before the first chunk and after
    each one and stop once it is ≤ tol (as :meth:`Simulator.relax`). Time runs
    t = t_chunk + k·dt inside a chunk and t_chunk += n·dt after it, as in chunked ``run`` calls.

    ``res_out`` (G,): the particle groups (module docstring; G = 1: all particles relax one
    phase), filled with each group's residual when one is computed (else −1). With G > 1 and a
    ``tol``, a group at tolerance is no longer updated and the run stops when all are.

    ``fresh_base``: compute the clamped drive (else ``base`` and ``j0`` hold it from an earlier
    call with the same clamps and weights). Returns (status, ticks done, updates done, time
    reached, largest residual (−1 if not computed), diverged block).
    """
    if fresh_base:
        static_drive(topo, free, r, w, bias, base, j0, scratch)
    P, sizes, offsets = topo[0], topo[1], topo[2]
    G = res_out.shape[0]
    pg = P // G
    active = np.ones(G, dtype=np.bool_)
    cur = np.empty(G)
    res_out[:] = -1.0
    if tol >= 0:
        residual(topo, nudge, t0, x, r, g, w, bias, target, scratch, free, base, j0, True,
                 discrete, cur)
        for k in range(G):
            res_out[k] = cur[k]
            active[k] = not cur[k] <= tol  # a NaN residual keeps running, as the Python loop
    t_chunk = t0
    ticks = 0
    updates = 0
    n_phases = phase_ptr.shape[0] - 1
    for c in range(chunks.shape[0]):
        if not active.any():
            break
        n = chunks[c]
        for tick in range(n):
            t = t_chunk + tick * dt
            for ph in range(n_phases):
                for q in range(phase_ptr[ph], phase_ptr[ph + 1]):
                    b = phase_blocks[q]
                    if free[b]:
                        drive_into(topo, nudge, b, t, x, r, g, w, bias, target, scratch, base,
                                   j0[b], True, discrete)
                for q in range(phase_ptr[ph], phase_ptr[ph + 1]):
                    b = phase_blocks[q]
                    if free[b]:
                        rows = pg * sizes[b]
                        for k in range(G):
                            if not active[k]:
                                continue
                            i0 = P * offsets[b] + k * rows
                            if not update_rows(topo, b, gamma[b], discrete, x, r, g, i0, i0 + rows):
                                return (DIVERGED, ticks + tick, updates, t_chunk + tick * dt,
                                        res_out.max(), b)
                        updates += 1
        t_chunk = t_chunk + n * dt
        ticks += n
        if tol >= 0 or (want_residual and c == chunks.shape[0] - 1):
            residual(topo, nudge, t_chunk, x, r, g, w, bias, target, scratch, free, base, j0,
                     True, discrete, cur)
            for k in range(G):
                if active[k]:  # a stopped group keeps the residual it stopped at
                    res_out[k] = cur[k]
                    if tol >= 0:
                        active[k] = not cur[k] <= tol
    if want_residual and res_out[0] < 0:
        residual(topo, nudge, t_chunk, x, r, g, w, bias, target, scratch, free, base, j0, True,
                 discrete, res_out)
    return OK, ticks, updates, t_chunk, res_out.max(), -1
