"""Numba kernels: the one block update shared by every scheduler, the energy, and the two loops
(tick-based and event-based) that drive it.

The block update integrates dx_b/dt = −∂F/∂x_b / τ_b over an elapsed time Δ:

    g_b  = ρ'(x_b) ⊙ ( b_b + Σ_(a→b) ρ(x_a) W_ab + Σ_(b→c) ρ(x_c) W_bcᵀ ) − x_b      (−∂E/∂x_b)
           + K_b softmax(β Kᵀ_b x_b)                                                 (memory term)
           − λ_b(t) ∂C_b/∂x_b                                                         (nudge)
    x_b ← Π_b( x_b + γ g_b ),   γ = 1 − e^{−Δ/τ_b}  (``exp``)  or  min(Δ/τ_b, 1)  (``euler``)

Π_b projects onto the activation's state domain (hard_sigmoid: [0, 1]). With ``euler`` and Δ = τ
the update is the fixed-point form x_b ← Π_b(ρ'(x_b) ⊙ h_b).

``discrete`` (integrator 2) is another model, the iteration of the Hopfield energy
E_H = Σ_b Σ_i G_b(x_b,i) − Σ_(a→b) x_a W_ab x_b − Σ_b b_b·x_b (G_b' = ρ_b⁻¹) used by the public
EP code: one update is x_b ← ρ_b(h_b − λ ∂C/∂x_b) with h_b = b_b + Σ x_a W_ab + Σ x_c W_bcᵀ read
from the neighbours' *states* (the r buffer holds x in this mode), whatever Δ is. The drive is computed for all P
particles at once; couplings use BLAS through ``np.dot`` when the matrices are large enough to
amortise the call, and plain loops otherwise (small blocks, P = 1).

The argument tuples keep the signatures short:

* ``topo`` = (P, sizes, offsets, act, lo, hi, tau, w_off, mem_n, mem_off, mem_beta,
  adj_ptr, adj_proj, adj_other, adj_side, proj_pre, proj_post)
* ``nudge`` = (cost, lam_kind, lam_amp, lam_omega, lam_phase, lam_t_on, lam_t_off, iunit) per block;
  λ_b(t) = amp (kind 0, constant), amp·cos(ωt + φ) (kind 1), amp·e^{i(ωt + φ)} (kind 2, complex
  states), each gated to t_on ≤ t < t_off.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..model.activations import drho_given_rho, rho_scalar
from .vexp import rho_block

BLAS_MIN_WORK = 4096  # below this many multiply-adds a loop beats the BLAS call overhead

OK, DIVERGED, NEED_CLOCK_DRAWS, EVENTS_FULL = 0, 1, 2, 3
PROBE_TOL = 1e-9  # a probe is due when within PROBE_TOL·interval of now (as ProbeRecorder.begin)


@njit(cache=True, inline="always")
def block_matrix(buf, P, offsets, b):
    n = offsets[b + 1] - offsets[b]
    return buf[P * offsets[b]:P * offsets[b + 1]].reshape((P, n))


@njit(cache=True)
def lam_at(nudge, b, t):
    """λ_b(t) of the nudge on block b (zero outside [t_on, t_off))."""
    cost, kind, amp, omega, phase, t_on, t_off, iunit = nudge
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


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _acc_matmul(a, m, out, scratch, transpose):
    """out += a @ m (or a @ mᵀ when ``transpose``); a (P, k), out (P, n).

    Re-association is allowed so the small loops vectorise; results stay deterministic for a
    given build, which is all the determinism guarantee asks.
    """
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
    if transpose:
        for p in range(P):
            for i in range(n):
                s = out[p, i] * 0.0
                for j in range(k):
                    s += a[p, j] * m[i, j]
                out[p, i] += s
    else:
        for p in range(P):
            for j in range(k):
                apj = a[p, j]
                for i in range(n):
                    out[p, i] += apj * m[j, i]


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


@njit(cache=True)
def drive_into(topo, nudge, b, t, x, r, g, w, bias, target, scratch, base, j0, use_base, discrete):
    """The drive of block b into g_b, starting from ``base`` (the bias and the couplings of
    adjacency rows before ``j0``, see :func:`static_drive`) when ``use_base``, else from the bias.

    Continuous modes: g_b = ρ'(x_b) ⊙ h_b − x_b + memory − λ∂C/∂x_b (−∂F/∂x_b).
    ``discrete``: g_b = ρ(h_b + memory − λ∂C/∂x_b), the block's next state, with the couplings
    reading the neighbours' states themselves (their r buffer holds x, see :func:`apply_discrete`).
    """
    (P, sizes, offsets, act, lo, hi, tau, w_off, mem_n, mem_off, mem_beta,
     adj_ptr, adj_proj, adj_other, adj_side, proj_pre, proj_post) = topo
    n = sizes[b]
    off = offsets[b]
    xb = block_matrix(x, P, offsets, b)
    gb = block_matrix(g, P, offsets, b)
    if use_base:
        bb = block_matrix(base, P, offsets, b)
        for p in range(P):
            for i in range(n):
                gb[p, i] = bb[p, i]
    else:
        for p in range(P):
            for i in range(n):
                gb[p, i] = bias[off + i]
    for j in range(j0, adj_ptr[b + 1]):
        k = adj_proj[j]
        o = adj_other[j]
        ro = block_matrix(r, P, offsets, o)
        if adj_side[j] == 0:
            wk = w[w_off[k]:w_off[k + 1]].reshape((sizes[o], n))
            _acc_matmul(ro, wk, gb, scratch, False)
        else:
            wk = w[w_off[k]:w_off[k + 1]].reshape((n, sizes[o]))
            _acc_matmul(ro, wk, gb, scratch, True)
    a = act[b]
    if not discrete:
        rb = block_matrix(r, P, offsets, b)
        for p in range(P):
            for i in range(n):
                gb[p, i] = drho_given_rho(a, xb[p, i], rb[p, i]) * gb[p, i] - xb[p, i]
    m = mem_n[b]
    if m > 0:
        kmat = w[mem_off[b]:mem_off[b] + n * m].reshape((n, m))
        beta = mem_beta[b]
        z = np.dot(xb, kmat)
        z *= beta  # in place: z keeps the state dtype (float32 stays float32)
        for p in range(P):
            lse = row_logsumexp(z[p])
            for q in range(m):
                z[p, q] = np.exp(z[p, q] - lse)
        gb += np.dot(z, kmat.T)
    cost = nudge[0][b]
    if cost != 0:
        lam = lam_at(nudge, b, t)
        tb = block_matrix(target, P, offsets, b)
        if cost == 1:
            for p in range(P):
                for i in range(n):
                    gb[p, i] -= lam * (xb[p, i] - tb[p, i])
        else:
            for p in range(P):
                lse = row_logsumexp(xb[p])
                for i in range(n):
                    gb[p, i] -= lam * (np.exp(xb[p, i] - lse) - tb[p, i])
    if discrete:
        flat = g[P * off:P * (off + n)]
        rho_block(a, flat, flat)


@njit(cache=True)
def static_drive(topo, free, r, w, bias, base, j0, scratch):
    """For every free block b: base_b = b_b + Σ ρ(x_o) W over its leading adjacency rows whose
    other block o is clamped, and j0[b] = the first row not folded in.

    A clamped neighbour's contribution is constant while the clamps hold, so a phase computes it
    once instead of at every update; rows are folded in adjacency order only up to the first free
    neighbour, so the per-update sum adds the remaining terms in the same order as
    :func:`compute_drive` (bit-identical drives).
    """
    P, sizes, offsets, w_off = topo[0], topo[1], topo[2], topo[7]
    adj_ptr, adj_proj, adj_other, adj_side = topo[11], topo[12], topo[13], topo[14]
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
            k, o = adj_proj[j], adj_other[j]
            ro = block_matrix(r, P, offsets, o)
            if adj_side[j] == 0:
                _acc_matmul(ro, w[w_off[k]:w_off[k + 1]].reshape((sizes[o], n)), bb, scratch, False)
            else:
                _acc_matmul(ro, w[w_off[k]:w_off[k + 1]].reshape((n, sizes[o])), bb, scratch, True)
            j += 1
        j0[b] = j


@njit(cache=True)
def apply_discrete(topo, b, x, r, g):
    """x_b ← g_b (the discrete iteration's next state) and r_b ← x_b; False if non-finite."""
    P, offsets = topo[0], topo[2]
    finite = True
    for i in range(P * offsets[b], P * offsets[b + 1]):
        v = g[i]
        if not np.isfinite(v):
            finite = False
        x[i] = v
        r[i] = v
    return finite


@njit(cache=True, inline="always")
def update_block(topo, b, gamma, discrete, x, r, g):
    """One block update from the drive in g_b: the discrete replacement or the projected step."""
    if discrete:
        return apply_discrete(topo, b, x, r, g)
    return apply_step(topo, b, gamma, x, r, g)


@njit(cache=True)
def apply_step(topo, b, gamma, x, r, g):
    """x_b ← Π_b(x_b + γ g_b), refresh ρ(x_b); returns False if the block went non-finite."""
    P, offsets, act, lo, hi = topo[0], topo[2], topo[3], topo[4], topo[5]
    a = act[b]
    l, h = lo[b], hi[b]
    bounded = l > -np.inf or h < np.inf
    finite = True
    for i in range(P * offsets[b], P * offsets[b + 1]):
        v = x[i] + gamma * g[i]
        if bounded:
            re = v.real
            if re < l:
                v = v - re + l
            elif re > h:
                v = v - re + h
        if not np.isfinite(v):
            finite = False
        x[i] = v
    sl = slice(P * offsets[b], P * offsets[b + 1])
    rho_block(a, x[sl], r[sl])
    return finite


@njit(cache=True)
def step_size(integrator, delta, tau):
    """γ of an update over Δ: 1 − e^{−Δ/τ} (exp, 0), min(Δ/τ, 1) (euler, 1), 1 (discrete, 2)."""
    if integrator == 2:
        return 1.0
    if integrator == 0:
        return 1.0 - np.exp(-delta / tau)
    return min(delta / tau, 1.0)


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
                out[p] += lam * c
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
            if use_perm:
                lo_i, hi_i = ph, ph + 1
            else:
                lo_i, hi_i = phase_ptr[ph], phase_ptr[ph + 1]
            for q in range(lo_i, hi_i):
                b = perms[tick, q] if use_perm else phase_blocks[q]
                if free[b]:
                    drive_into(topo, nudge, b, t, x, r, g, w, bias, target, scratch, base, j0[b],
                               True, discrete)
            for q in range(lo_i, hi_i):
                b = perms[tick, q] if use_perm else phase_blocks[q]
                if free[b]:
                    if not update_block(topo, b, gamma[b], discrete, x, r, g):
                        return DIVERGED, tick, n_probe, n_ev, b
                    if n_ev < ev_time.shape[0]:
                        ev_time[n_ev] = t + dt
                        ev_block[n_ev] = b
                        n_ev += 1
        t = t0 + (tick + 1) * dt
    while n_probe < probe_time.shape[0] and probe_next <= t + tol:
        _record_probe(topo, nudge, t, x, r, w, bias, target, probe_idx, probe_state,
                      probe_energy, probe_time, n_probe, ebuf)
        n_probe += 1
        probe_next = probe_base + (n_probe - k0) * probe_dt
    return OK, n_ticks, n_probe, n_ev, -1


@njit(cache=True)
def _heap_sift_down(ht, hs, hid, size, i):
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        c = left
        right = left + 1
        if right < size and (ht[right] < ht[left] or (ht[right] == ht[left] and hs[right] < hs[left])):
            c = right
        if ht[c] < ht[i] or (ht[c] == ht[i] and hs[c] < hs[i]):
            ht[c], ht[i] = ht[i], ht[c]
            hs[c], hs[i] = hs[i], hs[c]
            hid[c], hid[i] = hid[i], hid[c]
            i = c
        else:
            return


@njit(cache=True)
def heapify(ht, hs, hid):
    size = ht.shape[0]
    for i in range(size // 2 - 1, -1, -1):
        _heap_sift_down(ht, hs, hid, size, i)


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
            for sub in range(n_sub):
                drive_into(topo, nudge, b, last[b] + (sub + 1) * elapsed / n_sub, x, r, g, w,
                           bias, target, scratch, base, j0[b], True, discrete)
                if not update_block(topo, b, gamma, discrete, x, r, g):
                    return DIVERGED, t_next, seq, n_probe, n_ev, b
            ev_time[n_ev] = t_next
            ev_block[n_ev] = b
            n_ev += 1
        last[b] = t_next
        heap_t[0] = t_next + draws[b, draw_pos[b]] / rate[b]
        draw_pos[b] += 1
        heap_seq[0] = seq
        seq += 1
        _heap_sift_down(heap_t, heap_seq, heap_id, heap_t.shape[0], 0)
