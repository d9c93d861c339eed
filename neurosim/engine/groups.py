"""Particle groups: several phases of one batch relaxed together, as G·P particles of one simulator.

A phase contrast (symmetric EP's +β and −β, any set of real nudges) relaxes K phases from the
same free state, with the same clamps and weights; only λ differs. Particles never interact, so
the K phases can run as K groups of the batch's P particles in one simulator of K·P particles:
group k is rows kP … (k+1)P − 1 of every block, and the nudge's per-particle scale s gives it
its own λ (λ_b(t) = 1, s_p = λ_k on group k: s_p·λ_b(t) = λ_k exactly). One kernel call per
tick then multiplies (K·P, n) matrices instead of K calls on (P, n), and each group stops on its
own residual (:mod:`.relaxation`), so its states equal those of the phase relaxed alone (up to
the BLAS's rounding of a taller matrix, ~1e-16).

:func:`grouped` is the K·P-particle network sharing the weight and bias buffers (no copy: a
parameter update is seen by both); :func:`spread` starts a grouped simulator at a P-particle
simulator's state (clamps, states, the clamped inputs' drive); :func:`rows_of` reads one group's
rows back in the P-particle layout.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..build import Compiled
from .simulator import Simulator, acquire_simulator

def grouped(compiled: Compiled, groups: int) -> Compiled:
    """``compiled`` for ``groups``·P particles, sharing its weight and bias buffers (kept on the
    network itself, remade if its buffers were replaced)."""
    hit = compiled.grouped.get(int(groups))
    if hit is not None and hit.w is compiled.w and hit.bias is compiled.bias:
        return hit
    twin = dataclasses.replace(compiled, n_particles=compiled.n_particles * int(groups), sim_pool={}, grouped={})
    compiled.grouped[int(groups)] = twin
    return twin


def tile(compiled: Compiled, src: np.ndarray, dst: np.ndarray, groups: int) -> None:
    """dst (G·P layout) ← src (P layout) repeated in every group, block by block."""
    for lo, hi, n in compiled.spans:  # P·offset bounds of each block
        dst[groups * lo:groups * hi].reshape(groups, hi - lo)[...] = src[lo:hi]


def rows_of(compiled: Compiled, buf: np.ndarray, groups: int, k: int, out: np.ndarray) -> np.ndarray:
    """out (P layout) ← group k's rows of ``buf`` (G·P layout); ``compiled`` is the P-particle one."""
    for lo, hi, _ in compiled.spans:  # P·offset bounds of each block
        out[lo:hi] = buf[groups * lo:groups * hi].reshape(groups, hi - lo)[k]
    return out


def spread(sim: Simulator, groups: int, x: np.ndarray | None = None,
           r: np.ndarray | None = None) -> Simulator:
    """A ``groups``·P-particle simulator (from the grouped network's pool) whose every group is
    at ``sim``'s state (or at the buffers ``x``, ``r`` of it), with its clamps, its time and, when
    ``sim`` holds it, its clamped inputs' drive (kept: the caller guarantees fixed weights, as
    ``sim.keep_static_drive``). Give it back with ``release_simulator``."""
    c = sim.c
    g = acquire_simulator(grouped(c, groups), sim.scheduler_name, sim.dt, sim.integrator)
    tile(c, sim.x if x is None else x, g.x, groups)
    tile(c, sim.r if r is None else r, g.r, groups)
    g.free[...] = sim.free
    g.t = sim.t
    g.keep_static_drive = True
    if sim._base_ok:
        # the clamped neighbours' drive is the same in every group: copied, not recomputed
        tile(c, sim.base, g.base, groups)
        g.j0[...] = sim.j0
        g._base_ok = True
    return g
