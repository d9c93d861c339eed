"""The two loops that drive the block update: ticks (sync, alternating, random_sequential) and
Poisson events, with the probes recorded on their own clock inside the loop.

Both return a status (``OK``, ``DIVERGED``, ``NEED_CLOCK_DRAWS``, ``EVENTS_FULL``) the Python
scheduler acts on (:mod:`.scheduler`); the drive and the update are :mod:`.drive` and
:mod:`.update`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .drive import drive_into, static_drive
from .fastpath import flow_update, small_blocks
from .free_energy import energy
from .heap import reschedule
from .update import step_size, update_block

OK, DIVERGED, NEED_CLOCK_DRAWS, EVENTS_FULL = 0, 1, 2, 3
PROBE_TOL = 1e-9  # a probe is due when within PROBE_TOL·interval of now (as ProbeRecorder.begin)


@njit(cache=True)
def _record_probe(topo, nudge, t, x, r, w, bias, target, probe_idx, probe_state, probe_energy,
                  probe_time, s, ebuf):
    probe_time[s] = t
    for i in range(probe_idx.shape[0]):
        probe_state[s, i] = x[probe_idx[i]]
    if probe_energy.shape[1] > 0:
        energy(topo, nudge, t, x, r, w, bias, target, ebuf)
        for p in range(ebuf.shape[0]):
            probe_energy[s, p] = ebuf[p]


@njit(cache=True, inline="always")
def phase_span(use_perm, ph, phase_ptr):
    """[lo, hi) of phase ph's entries: the scheduler's phases, or one block per phase when a
    tick has its own random order (``perms``)."""
    if use_perm:
        return ph, ph + 1
    return phase_ptr[ph], phase_ptr[ph + 1]


@njit(cache=True, inline="always")
def phase_block(use_perm, perms, tick, q, phase_blocks):
    """The block of entry q in this tick's order."""
    return perms[tick, q] if use_perm else phase_blocks[q]


@njit(cache=True, inline="always")
def log_event(ev_time, ev_block, n_ev, t, b):
    """Append the update (t, b) to the event buffer if it has room; returns the new count."""
    if n_ev < ev_time.shape[0]:
        ev_time[n_ev] = t
        ev_block[n_ev] = b
        n_ev += 1
    return n_ev


@njit(cache=True)
def run_ticks(topo, nudge, x, r, g, w, bias, target, scratch, free, gamma, discrete, base, j0,
              t0, dt, n_ticks, phase_ptr, phase_blocks, perms,
              probe_next, probe_dt, probe_idx, probe_state, probe_energy, probe_time, n_probe,
              ev_time, ev_block, n_ev):
    """Advance ``n_ticks`` ticks of length dt from t0.

    A tick runs its phases in order; inside a phase all blocks compute their drive from the same
    state first and then apply it (Jacobi). ``perms`` (n_ticks, B) overrides the phases with one
    phase per block in a fresh random order each tick (random_sequential) when non-empty.
    The clamped neighbours' drive is computed once per call (:func:`static_drive`);
    ``discrete`` replaces each update by the iteration x_b ← ρ(h_b) (:func:`drive_into`).
    Returns (status, ticks done, probes written, events written, diverged block).
    """
    P = topo[0]
    nb = topo[1].shape[0]
    ebuf = np.zeros(P, dtype=x.dtype)
    static_drive(topo, free, r, w, bias, base, j0, scratch)
    use_perm = perms.shape[0] > 0
    # sample k of this call is due at probe_base + k·probe_dt (no accumulated rounding); a
    # sample is due at t when it is within a hair (relative to the interval) of t
    probe_base, k0, tol = probe_next, n_probe, PROBE_TOL * probe_dt
    t = t0
    for tick in range(n_ticks):
        while n_probe < probe_time.shape[0] and probe_next <= t + tol:
            _record_probe(topo, nudge, t, x, r, w, bias, target, probe_idx, probe_state,
                          probe_energy, probe_time, n_probe, ebuf)
            n_probe += 1
            probe_next = probe_base + (n_probe - k0) * probe_dt
        n_phases = nb if use_perm else phase_ptr.shape[0] - 1
        for ph in range(n_phases):
            lo_i, hi_i = phase_span(use_perm, ph, phase_ptr)
            for q in range(lo_i, hi_i):
                b = phase_block(use_perm, perms, tick, q, phase_blocks)
                if free[b]:
                    drive_into(topo, nudge, b, t, x, r, g, w, bias, target, scratch, base, j0[b],
                               True, discrete)
            for q in range(lo_i, hi_i):
                b = phase_block(use_perm, perms, tick, q, phase_blocks)
                if free[b]:
                    if not update_block(topo, b, gamma[b], discrete, x, r, g):
                        return DIVERGED, tick, n_probe, n_ev, b
                    n_ev = log_event(ev_time, ev_block, n_ev, t + dt, b)
        t = t0 + (tick + 1) * dt
    while n_probe < probe_time.shape[0] and probe_next <= t + tol:
        _record_probe(topo, nudge, t, x, r, w, bias, target, probe_idx, probe_state,
                      probe_energy, probe_time, n_probe, ebuf)
        n_probe += 1
        probe_next = probe_base + (n_probe - k0) * probe_dt
    return OK, n_ticks, n_probe, n_ev, -1


@njit(cache=True)
def run_events(topo, nudge, x, r, g, w, bias, target, scratch, base, j0, free, integrator, max_step,
               t_end, heap_t, heap_seq, heap_id, seq, last, rate, draws, draw_pos,
               probe_next, probe_dt, probe_idx, probe_state, probe_energy, probe_time, n_probe,
               ev_time, ev_block, n_ev):
    """Poisson scheduler: pop (time, seq, block) from the heap until ``t_end``.

    Each block has its own exponential clock of rate r_b; its inter-event intervals are the
    pre-drawn unit exponentials ``draws[b]`` (from the block's own random stream) divided by r_b.
    An update integrates the block's flow over the time elapsed since its previous update (in
    sub-steps of at most ``max_step``, the other blocks held fixed). Ties in time are
    broken by the sequence number. Probes due at or before the next event are recorded first.
    Returns (status, t, seq, probes written, events written, block).
    """
    P = topo[0]
    tau = topo[6]
    ebuf = np.zeros(P, dtype=x.dtype)
    discrete = integrator == 2
    static_drive(topo, free, r, w, bias, base, j0, scratch)
    # the small blocks' updates go through fastpath.flow_update, with the topology's arrays
    # bound here once (fastpath's docstring: no reference counting per event)
    small = np.zeros(tau.shape[0], dtype=np.bool_)
    small_blocks(topo, small)
    sizes, offsets, act, lo, hi, w_off = topo[1], topo[2], topo[3], topo[4], topo[5], topo[7]
    adj_ptr, adj_proj, adj_other, adj_side = topo[11], topo[12], topo[13], topo[14]
    cost = nudge[0]
    k_draws = draws.shape[1]
    # sample k of this call is due at probe_base + k·probe_dt, computed, not accumulated: a sum
    # of many intervals can overshoot t_end by an ulp and lose the run's last sample
    probe_base, k0, tol = probe_next, n_probe, PROBE_TOL * probe_dt
    while True:
        t_next = heap_t[0]
        while n_probe < probe_time.shape[0] and probe_next <= t_next and probe_next <= t_end + tol:
            _record_probe(topo, nudge, min(probe_next, t_end), x, r, w, bias, target, probe_idx,
                          probe_state, probe_energy, probe_time, n_probe, ebuf)
            n_probe += 1
            probe_next = probe_base + (n_probe - k0) * probe_dt
        if t_next > t_end:
            return OK, t_end, seq, n_probe, n_ev, -1
        b = heap_id[0]
        if draw_pos[b] >= k_draws:
            return NEED_CLOCK_DRAWS, t_next, seq, n_probe, n_ev, b
        if free[b]:
            if n_ev >= ev_time.shape[0]:
                return EVENTS_FULL, t_next, seq, n_probe, n_ev, b
            # integrate the block's own flow over the elapsed time (neighbours frozen), in
            # sub-steps no longer than max_step, so a long wait cannot overshoot
            elapsed = t_next - last[b]
            n_sub = 1 if discrete else max(1, int(np.ceil(elapsed / max_step - 1e-9)))
            gamma = step_size(integrator, elapsed / n_sub, tau[b])
            fast = small[b] and not discrete and cost[b] == 0
            for sub in range(n_sub):
                if fast:
                    if not flow_update(P, sizes, offsets, act, lo, hi, w_off, adj_ptr, adj_proj,
                                       adj_other, adj_side, x, r, g, w, base, b, j0[b], gamma, bias,
                                       True):
                        return DIVERGED, t_next, seq, n_probe, n_ev, b
                    continue
                drive_into(topo, nudge, b, last[b] + (sub + 1) * elapsed / n_sub, x, r, g, w,
                           bias, target, scratch, base, j0[b], True, discrete)
                if not update_block(topo, b, gamma, discrete, x, r, g):
                    return DIVERGED, t_next, seq, n_probe, n_ev, b
            n_ev = log_event(ev_time, ev_block, n_ev, t_next, b)
        last[b] = t_next
        seq = reschedule(heap_t, heap_seq, heap_id, b, t_next, draws, draw_pos, rate, seq)
