"""The block update from a drive: the projected step of the flow, or the discrete replacement.

Over an elapsed time Δ, with g_b the drive of :mod:`.drive`:

    x_b ← Π_b( x_b + γ g_b ),   γ = 1 − e^{−Δ/τ_b}  (``exp``)  or  min(Δ/τ_b, 1)  (``euler``)

Π_b projects onto the activation's state domain (hard_sigmoid: [0, 1]). With ``euler`` and Δ = τ
the update is the fixed-point form x_b ← Π_b(ρ'(x_b) ⊙ h_b). ``discrete`` (γ = 1) replaces x_b by
the drive itself, x_b ← ρ_b(h_b − λ ∂C/∂x_b).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .vexp import rho_rows


@njit(cache=True)
def apply_discrete(topo, b, x, r, g):
    """x_b ← g_b (the discrete iteration's next state) and r_b ← x_b; False if non-finite."""
    P, offsets = topo[0], topo[2]
    return discrete_rows(x, r, g, P * offsets[b], P * offsets[b + 1])


@njit(cache=True)
def discrete_rows(x, r, g, i0, i1):
    """:func:`apply_discrete` on the flat range [i0, i1) of the buffers (whole particle rows)."""
    finite = True
    for i in range(i0, i1):
        v = g[i]
        if not np.isfinite(v):
            finite = False
        x[i] = v
        r[i] = v
    return finite


@njit(cache=True, inline="always")
def update_block(topo, b, gamma, discrete, x, r, g):
    """One block update from the drive in g_b: the discrete replacement or the projected step."""
    P, offsets = topo[0], topo[2]
    return update_rows(topo, b, gamma, discrete, x, r, g, P * offsets[b], P * offsets[b + 1])


@njit(cache=True, inline="always")
def update_rows(topo, b, gamma, discrete, x, r, g, i0, i1):
    """:func:`update_block` on the rows of block b that lie in the flat range [i0, i1) (a particle
    group, :mod:`.groups`; the other particles keep their state)."""
    if discrete:
        return discrete_rows(x, r, g, i0, i1)
    return step_rows(topo, b, gamma, x, r, g, i0, i1)


@njit(cache=True)
def apply_step(topo, b, gamma, x, r, g):
    """x_b ← Π_b(x_b + γ g_b), refresh ρ(x_b); returns False if the block went non-finite."""
    P, offsets = topo[0], topo[2]
    return step_rows(topo, b, gamma, x, r, g, P * offsets[b], P * offsets[b + 1])


@njit(cache=True, inline="always")
def project(v, bounded, l, h):
    """Π_b(v): the real part clipped to [l, h] when the state domain is ``bounded``."""
    if bounded:
        re = v.real
        if re < l:
            return v - re + l
        if re > h:
            return v - re + h
    return v


@njit(cache=True)
def step_rows(topo, b, gamma, x, r, g, i0, i1):
    """:func:`apply_step` on the flat range [i0, i1) of block b's rows (reading only the topo
    fields it needs, indexing the flat buffers, no views: on small blocks the bookkeeping is
    the cost, see :func:`~.drive.drive_into`)."""
    a, l, h = topo[3][b], topo[4][b], topo[5][b]
    bounded = l > -np.inf or h < np.inf
    finite = True
    u0 = np.uint64(i0)  # unsigned indices: no wraparound test per access (drive._acc_rows)
    for q in range(i1 - i0):
        i = u0 + np.uint64(q)
        v = project(x[i] + gamma * g[i], bounded, l, h)
        if not np.isfinite(v):
            finite = False
        x[i] = v
    rho_rows(a, x, i0, r, i0, i1 - i0)
    return finite


@njit(cache=True)
def step_size(integrator, delta, tau):
    """γ of an update over Δ: 1 − e^{−Δ/τ} (exp, 0), min(Δ/τ, 1) (euler, 1), 1 (discrete, 2)."""
    if integrator == 2:
        return 1.0
    if integrator == 0:
        return 1.0 - np.exp(-delta / tau)
    return min(delta / tau, 1.0)
