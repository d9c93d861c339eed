"""The plastic loops: the ``poisson`` event loop and the tick loop of ``loops.py`` with the
synapses learning at the blocks' own updates (``plastic_rule.py``) and a task timeline the kernel
plays itself, so a run goes from one evaluation to the next without returning to Python.

The timeline ``tl`` = (sw_time, sw_kind, sw_task, sw_stop, sw_val, cond_ptr, cond_blocks,
targ_ptr, targ_blocks, task_fade, task_lam, task_omega, task_cost, task_kind, vals, task_on,
task_start, task_stop, block_task, block_val, i_sw, trace):

* switch s at sw_time[s]: task sw_task[s] on (sw_kind 1, its episode ending at sw_stop[s], its
  values from vals[sw_val[s]:] — condition blocks then target blocks, (P, n) each) or off (0);
* on: the condition blocks are clamped to g(t)·data (g the fade gain), the target blocks freed
  and nudged with λ_k(t) = amp·cos(ω_k t) (kind 1) or amp·e^{iω_k t} (kind 2);
* off: the nudges cleared, every block of the task clamped to 0 (a silent port);
* while a task fades, its condition blocks are re-clamped to g(t)·data whenever a block that
  reads them updates (``poisson``) or every tick;
* ``trace`` (probe sample, task, 3) gets (clamped?, g(t), Re λ_k(t)) on the probe clock.

Before any state change (update, clamp, fade) the synapses reading the block are integrated up
to its time, so the learning integral sees every piece of the piecewise-constant H.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..model.activations import drho_given_rho
from .drive import (add_coupling, add_memory, add_nudge, block_matrix, compute_drive, lam_at,
                    refresh_rho)
from .fastpath import flow_update, small_blocks
from .heap import reschedule
from .loops import (DIVERGED, EVENTS_FULL, NEED_CLOCK_DRAWS, OK, PROBE_TOL, _record_probe, log_event,
                    phase_block, phase_span)
from .update import apply_step, step_size
from .plastic_deferred import apply_log, log_segment
from .plastic_rule import (RULE_NONE, bias_segment, flush, integrate_rows, segment_coefficients,
                           set_gates, touch)


@njit(cache=True)
def _input(topo, b, r, w, bias, hb, scratch):
    """h_b = b_b + Σ ρ(x_a) W_ab + Σ ρ(x_c) W_bcᵀ (P, n): the part of ``drive.compute_drive``
    that only the neighbours set — constant over the sub-steps of one update, computed once."""
    P, sizes, offsets, adj_ptr = topo[0], topo[1], topo[2], topo[11]
    n, off = sizes[b], offsets[b]
    for p in range(P):
        for i in range(n):
            hb[p, i] = bias[off + i]
    for j in range(adj_ptr[b], adj_ptr[b + 1]):
        add_coupling(topo, j, n, r, w, hb, scratch)


@njit(cache=True)
def _finish(topo, nudge, b, t, x, r, g, w, target, hb):
    """g_b ← ρ'(x_b) ⊙ h_b − x_b + memory term − λ_b(t) ∂C_b/∂x_b (the rest of compute_drive)."""
    P, sizes, offsets, act = topo[0], topo[1], topo[2], topo[3]
    n = sizes[b]
    xb, gb, rb = block_matrix(x, P, offsets, b), block_matrix(g, P, offsets, b), block_matrix(r, P, offsets, b)
    a = act[b]
    for p in range(P):
        for i in range(n):
            gb[p, i] = drho_given_rho(a, xb[p, i], rb[p, i]) * hb[p, i] - xb[p, i]
    add_memory(topo, b, w, xb, gb)
    add_nudge(topo, nudge, b, t, xb, gb, target)


@njit(cache=True)
def fade_gain(fade, start, stop, t):
    """g(t) = clip(min(t − start, stop − t)/fade, 0, 1) (1 without a fade)."""
    if fade <= 0:
        return 1.0
    return min(max(min(t - start, stop - t) / fade, 0.0), 1.0)


@njit(cache=True)
def _show(topo, pl, tl, b, t, x, r, w, bias):
    """Clamp condition block b to g(t)·(its task's data), after integrating its synapses."""
    P, offsets = topo[0], topo[2]
    k = tl[18][b]
    g = fade_gain(tl[9][k], tl[16][k], tl[17][k], t)
    touch(topo, pl, b, t, r, w, bias)
    vals, o = tl[14], tl[19][b]
    lo = P * offsets[b]
    for i in range(P * offsets[b], P * offsets[b + 1]):
        v = vals[o + i - lo]
        x[i] = g * v if g < 1.0 else v
    refresh_rho(topo, b, x, r)


@njit(cache=True)
def _silence(topo, pl, b, t, x, r, w, bias):
    P, offsets = topo[0], topo[2]
    touch(topo, pl, b, t, r, w, bias)
    for i in range(P * offsets[b], P * offsets[b + 1]):
        x[i] = x[i] * 0.0
    refresh_rho(topo, b, x, r)


@njit(cache=True)
def _switch(topo, nudge, pl, tl, s, t, x, r, w, bias, target, free):
    """Play switch s at time t (module docstring)."""
    P, sizes, offsets = topo[0], topo[1], topo[2]
    cost, kind, amp, omega, phase, t_on, t_off = nudge[0], nudge[1], nudge[2], nudge[3], nudge[4], nudge[5], nudge[6]
    k = tl[2][s]
    cond_ptr, cond_blocks, targ_ptr, targ_blocks = tl[5], tl[6], tl[7], tl[8]
    task_on, block_task, block_val = tl[15], tl[18], tl[19]
    if pl[9][2]:
        # gated rhythms: the gates change here, so every synapse's integral ends here first
        flush(topo, pl, t, r, w, bias)
        task_on[k] = tl[1][s] == 1
        set_gates(pl, task_on, tl[11])
    if tl[1][s] == 1:
        task_on[k] = True
        tl[16][k], tl[17][k] = t, tl[3][s]
        o = tl[4][s]
        for q in range(cond_ptr[k], cond_ptr[k + 1]):
            b = cond_blocks[q]
            block_task[b], block_val[b] = k, o
            free[b] = False
            _show(topo, pl, tl, b, t, x, r, w, bias)
            o += P * sizes[b]
        vals = tl[14]
        for q in range(targ_ptr[k], targ_ptr[k + 1]):
            b = targ_blocks[q]
            free[b] = True
            for i in range(P * sizes[b]):
                target[P * offsets[b] + i] = vals[o + i]
            o += P * sizes[b]
            cost[b], kind[b], amp[b], omega[b], phase[b] = tl[12][k], tl[13][k], tl[10][k], tl[11][k], 0.0
            t_on[b], t_off[b] = -np.inf, np.inf
    else:
        task_on[k] = False
        for q in range(targ_ptr[k], targ_ptr[k + 1]):
            b = targ_blocks[q]
            cost[b] = 0
            free[b] = False
            _silence(topo, pl, b, t, x, r, w, bias)
        for q in range(cond_ptr[k], cond_ptr[k + 1]):
            b = cond_blocks[q]
            block_task[b] = -1
            free[b] = False
            _silence(topo, pl, b, t, x, r, w, bias)


@njit(cache=True)
def _probe(topo, nudge, tl, t, x, r, w, bias, target, probe_idx, probe_state, probe_energy,
           probe_time, s, ebuf):
    """The engine's probe sample s at t, plus each task's (clamped, g, Re λ) at t."""
    _record_probe(topo, nudge, t, x, r, w, bias, target, probe_idx, probe_state, probe_energy,
                  probe_time, s, ebuf)
    trace = tl[21]
    for k in range(trace.shape[1]):
        if tl[15][k]:
            trace[s, k, 0] = 1.0
            trace[s, k, 1] = fade_gain(tl[9][k], tl[16][k], tl[17][k], t)
            trace[s, k, 2] = lam_at(nudge, tl[8][tl[7][k]], t).real
        else:
            trace[s, k, 0] = trace[s, k, 1] = trace[s, k, 2] = 0.0


@njit(cache=True)
def _fading(tl, b):
    k = tl[18][b]
    return k >= 0 and tl[9][k] > 0


@njit(cache=True)
def run_plastic_events(topo, nudge, pl, tl, x, r, g, w, bias, target, scratch, free, integrator,
                       max_step, t_end, heap_t, heap_seq, heap_id, seq, last, rate, draws, draw_pos,
                       probe_next, probe_dt, probe_idx, probe_state, probe_energy, probe_time, n_probe,
                       ev_time, ev_block, n_ev):
    """``loops.run_events`` with plasticity and the timeline (the neighbours' input of an update
    computed once for all its sub-steps, the neighbours being frozen during them): before the event at t_next, the
    switches due by then (probes due before a switch see the state before it); at the event, a
    free block's fading neighbours are re-clamped to g(t_next)·data, its synapses integrated to
    t_next, and it updates. At t_end every synapse is brought up to t_end. Same returns as run_events."""
    P, sizes = topo[0], topo[1]
    tau, adj_ptr, adj_other = topo[6], topo[11], topo[13]
    offsets, act, lo, hi, w_off = topo[2], topo[3], topo[4], topo[5], topo[7]
    adj_proj, adj_side, cost = topo[12], topo[14], nudge[0]
    small = np.zeros(tau.shape[0], dtype=np.bool_)
    small_blocks(topo, small)
    proj_pre, proj_post = topo[15], topo[16]
    rule, omegas, beta, tau_avg, lr, schedule, final, horizon = pl[:8]
    flags, hbar, total_w, last_k, pbuf, gate = pl[9], pl[10], pl[12], pl[14], pl[16], pl[17]
    lint, lflt, rows, lscr = pl[18], pl[19], pl[20], pl[21]
    bias_scale, bbar, total_b, last_b = pl[8], pl[11], pl[13], pl[15]
    set_gates(pl, tl[15], tl[11])
    ebuf = np.zeros(P, dtype=x.dtype)
    hbuf = np.zeros(P * np.max(sizes), dtype=x.dtype)
    k_draws = draws.shape[1]
    sw_time, i_sw = tl[0], tl[20]
    n_sw = sw_time.shape[0]
    probe_base, k0, tol = probe_next, n_probe, PROBE_TOL * probe_dt
    while True:
        t_next = heap_t[0]
        t_stop = min(t_next, t_end)
        while i_sw[0] < n_sw and sw_time[i_sw[0]] <= t_stop:
            ts = sw_time[i_sw[0]]
            while n_probe < probe_time.shape[0] and probe_next < ts:
                _probe(topo, nudge, tl, probe_next, x, r, w, bias, target, probe_idx, probe_state,
                       probe_energy, probe_time, n_probe, ebuf)
                n_probe += 1
                probe_next = probe_base + (n_probe - k0) * probe_dt
            _switch(topo, nudge, pl, tl, i_sw[0], ts, x, r, w, bias, target, free)
            i_sw[0] += 1
        while n_probe < probe_time.shape[0] and probe_next <= t_next and probe_next <= t_end + tol:
            _probe(topo, nudge, tl, min(probe_next, t_end), x, r, w, bias, target, probe_idx,
                   probe_state, probe_energy, probe_time, n_probe, ebuf)
            n_probe += 1
            probe_next = probe_base + (n_probe - k0) * probe_dt
        if t_next > t_end:
            flush(topo, pl, t_end, r, w, bias)
            return OK, t_end, seq, n_probe, n_ev, -1
        b = heap_id[0]
        if draw_pos[b] >= k_draws:
            return NEED_CLOCK_DRAWS, t_next, seq, n_probe, n_ev, b
        if free[b]:
            if n_ev >= ev_time.shape[0]:
                return EVENTS_FULL, t_next, seq, n_probe, n_ev, b
            # a fading condition block is re-clamped when a block that reads it updates: its
            # ramp is then as fine as its readers see it, and costs no extra integration
            for j in range(adj_ptr[b], adj_ptr[b + 1]):
                o = adj_other[j]
                if not free[o] and _fading(tl, o):
                    _show(topo, pl, tl, o, t_next, x, r, w, bias)
            # touch(), with the tuples' fields bound above (plastic_rule.integrate_rows); a
            # logged projection and the biases bind only the arrays their segment touches: every
            # array an inlined helper binds costs two atomic operations, and on 32-unit blocks
            # integrate_rows' twenty cost more than the segment itself
            if rule != RULE_NONE:
                for j in range(adj_ptr[b], adj_ptr[b + 1]):
                    k = adj_proj[j]
                    t0 = last_k[k]
                    if lint[0, k] == 0:
                        integrate_rows(P, sizes, offsets, w_off, proj_pre, proj_post, rule, omegas,
                                       gate, beta, tau_avg, lr, schedule, final, horizon, flags,
                                       hbar, total_w, last_k, pbuf, lint, lflt, rows, lscr, k,
                                       t_next, r, w)
                    elif t_next > t0:
                        last_k[k] = t_next
                        pa, pb = proj_pre[k], proj_post[k]
                        coef, decay = segment_coefficients(rule, omegas, gate, beta, tau_avg, lr,
                                                           schedule, final, horizon, 1.0, t0, t_next)
                        if log_segment(lint, lflt, rows, P, sizes[pa], sizes[pb], P * offsets[pa],
                                       P * offsets[pb], r, k, coef.real, decay):
                            apply_log(lint, lflt, rows, lscr, P, sizes[pa], sizes[pb], w_off[k], k,
                                      hbar, w, total_w, flags[0], flags[1])
                t0 = last_b[b]
                if t_next > t0:
                    last_b[b] = t_next
                    coef, decay = segment_coefficients(rule, omegas, gate, beta, tau_avg, lr,
                                                       schedule, final, horizon, bias_scale, t0,
                                                       t_next)
                    bias_segment(r, bias, bbar, total_b, P, sizes[b], offsets[b], coef, decay,
                                 flags[0], flags[1])
            elapsed = t_next - last[b]
            n_sub = max(1, int(np.ceil(elapsed / max_step - 1e-9)))
            gamma = step_size(integrator, elapsed / n_sub, tau[b])
            if small[b] and cost[b] == 0:
                # fastpath: the input recomputed at each sub-step from the frozen neighbours,
                # the same bits as computing it once, without views or reference counts
                for sub in range(n_sub):
                    if not flow_update(P, sizes, offsets, act, lo, hi, w_off, adj_ptr, adj_proj,
                                       adj_other, adj_side, x, r, g, w, x, b, adj_ptr[b], gamma,
                                       bias, False):
                        return DIVERGED, t_next, seq, n_probe, n_ev, b
            else:
                hb = hbuf[:P * sizes[b]].reshape((P, sizes[b]))
                _input(topo, b, r, w, bias, hb, scratch)
                for sub in range(n_sub):
                    _finish(topo, nudge, b, last[b] + (sub + 1) * elapsed / n_sub, x, r, g, w,
                            target, hb)
                    if not apply_step(topo, b, gamma, x, r, g):
                        return DIVERGED, t_next, seq, n_probe, n_ev, b
            n_ev = log_event(ev_time, ev_block, n_ev, t_next, b)
        last[b] = t_next
        seq = reschedule(heap_t, heap_seq, heap_id, b, t_next, draws, draw_pos, rate, seq)


@njit(cache=True)
def run_plastic_ticks(topo, nudge, pl, tl, x, r, g, w, bias, target, scratch, free, gamma,
                      t0, dt, n_ticks, phase_ptr, phase_blocks, perms,
                      probe_next, probe_dt, probe_idx, probe_state, probe_energy, probe_time, n_probe,
                      ev_time, ev_block, n_ev):
    """``loops.run_ticks`` with plasticity and the timeline: at the start t of a tick, the
    switches due by t and the fades' re-clamps; every block that updates has its synapses
    integrated to t + dt (when its new state appears) first. Same returns as run_ticks."""
    P = topo[0]
    nb = topo[1].shape[0]
    ebuf = np.zeros(P, dtype=x.dtype)
    use_perm = perms.shape[0] > 0
    sw_time, i_sw = tl[0], tl[20]
    n_sw = sw_time.shape[0]
    probe_base, k0, tol = probe_next, n_probe, PROBE_TOL * probe_dt
    set_gates(pl, tl[15], tl[11])
    t = t0
    for tick in range(n_ticks):
        while i_sw[0] < n_sw and sw_time[i_sw[0]] <= t + 1e-9:
            _switch(topo, nudge, pl, tl, i_sw[0], t, x, r, w, bias, target, free)
            i_sw[0] += 1
        for b in range(nb):
            if not free[b] and _fading(tl, b):
                _show(topo, pl, tl, b, t, x, r, w, bias)
        while n_probe < probe_time.shape[0] and probe_next <= t + tol:
            _probe(topo, nudge, tl, t, x, r, w, bias, target, probe_idx, probe_state,
                   probe_energy, probe_time, n_probe, ebuf)
            n_probe += 1
            probe_next = probe_base + (n_probe - k0) * probe_dt
        for b in range(nb):
            if free[b]:
                touch(topo, pl, b, t + dt, r, w, bias)
        n_phases = nb if use_perm else phase_ptr.shape[0] - 1
        for ph in range(n_phases):
            lo_i, hi_i = phase_span(use_perm, ph, phase_ptr)
            for q in range(lo_i, hi_i):
                b = phase_block(use_perm, perms, tick, q, phase_blocks)
                if free[b]:
                    compute_drive(topo, nudge, b, t, x, r, g, w, bias, target, scratch)
            for q in range(lo_i, hi_i):
                b = phase_block(use_perm, perms, tick, q, phase_blocks)
                if free[b]:
                    if not apply_step(topo, b, gamma[b], x, r, g):
                        return DIVERGED, tick, n_probe, n_ev, b
                    n_ev = log_event(ev_time, ev_block, n_ev, t + dt, b)
        t = t0 + (tick + 1) * dt
    while n_probe < probe_time.shape[0] and probe_next <= t + tol:
        _probe(topo, nudge, tl, t, x, r, w, bias, target, probe_idx, probe_state,
               probe_energy, probe_time, n_probe, ebuf)
        n_probe += 1
        probe_next = probe_base + (n_probe - k0) * probe_dt
    flush(topo, pl, t, r, w, bias)
    return OK, n_ticks, n_probe, n_ev, -1
