"""Event-driven plasticity: the synapses' integrals in continuous time, for the numba loops of
``plastic_loop.py``.

Projection k (a→b) sees H_k(t) = ρ(x_a)ᵀρ(x_b)/P. Under every scheduler a block's state only
changes at its own updates (and at the clamp changes of the task timeline), so H_k is constant
between two changes of x_a or x_b. Whenever one of them is about to change at time t, the
synapses integrate exactly over [t₀, t], t₀ = the projection's previous integration, Δ = t − t₀:

    D₀ = H − H̄(t₀),   H − H̄(t) = D₀ e^{−(t−t₀)/τ_avg}            (running average in continuous time)
    ΔW = η(t) Re[D₀ · C(t₀, t)],   C = ∫_{t₀}^{t} e^{−(s−t₀)/τ_avg} ref(s) ds
    H̄(t) = H + (H̄(t₀) − H) e^{−Δ/τ_avg}

with the rule's reference signal (the same as the sampled rule's, ``learning/plasticity.py``):

* ``hep_continuous``  ref(s) = Σ_m e^{−iω_m s}/|β|:   C = Σ_m e^{−iω_m t₀}(1 − e^{−Δz_m})/(z_m |β|),
  z_m = 1/τ_avg + iω_m;
* ``baseline_hebb``   ref(s) = Σ_m 2cos(ω_m s)/β:     C = 2 Re[the same sum] (D₀ is real);
* ``baseline_only``   ref(s) = 1:                       C = τ_avg (1 − e^{−Δ/τ_avg}).

The integral is exact in the rhythm and in H̄ (no sampling clock), and exact in H because H is
piecewise constant. Biases integrate ρ̄(x_b) (the particle mean) the same way, times the bias
learning-rate scale, whenever x_b changes. η(t) = lr · f(t/horizon) of the run's schedule.

**Gated rhythms** (``flags[2]``, the scenario's ``plasticity.rhythm_gate``): the reference is
the sum over the rhythms of the tasks that are on, ref(s) = Σ_m g_m(s)·(rhythm m), g_m = 1 while
a task nudged at ω_m is on, else 0 — the synapse demodulates with the rhythms actually played,
not with every task's. The gates only change at a task switch, where every synapse is first
brought up to the switch time, so each integral above sees constant gates and stays exact.

``pl`` (the plasticity tuple every loop carries) = (rule, omegas, beta, tau_avg, lr, schedule,
lr_final, horizon, bias_scale, flags, hbar, bbar, total_w, total_b, last_k, last_b, hbuf, gate);
``flags[0]`` applies ΔW to the weights, ``flags[1]`` adds it to ``total_w``/``total_b`` too,
``flags[2]`` gates the rhythms by the tasks (``gate`` is then set by :func:`set_gates`); the
four fields after ``gate`` are the segment log of ``plastic_deferred.py`` (``apply_every``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .drive import BLAS_MIN_WORK, block_matrix
from .plastic_deferred import apply_log, log_segment

RULE_NONE, RULE_HEP, RULE_HEBB, RULE_ONLY = 0, 1, 2, 3
RULE_IDS = {"none": RULE_NONE, "hep_continuous": RULE_HEP, "baseline_hebb": RULE_HEBB,
            "baseline_only": RULE_ONLY}
SCHEDULE_IDS = {"constant": 0, "cosine": 1}


@njit(cache=True, inline="always")
def rule_coefficient(rule, omegas, gate, beta, tau_avg, t0, t1):
    """C(t₀, t₁) of the module docstring (complex; real for the real-valued rules), summed over
    the rhythms m whose gate[m] is open (all of them, or under ``rhythm_gate`` those of the tasks
    that are on: constant over [t₀, t₁], since every synapse is brought up to a switch first)."""
    d = t1 - t0
    if rule == RULE_ONLY:
        return complex(tau_avg * (1.0 - np.exp(-d / tau_avg)), 0.0)
    tot = 0j
    for m in range(omegas.shape[0]):
        if gate[m] == 0.0:
            continue
        z = complex(1.0 / tau_avg, omegas[m])
        term = np.exp(complex(0.0, -omegas[m] * t0)) * (1.0 - np.exp(-d * z)) / z
        if rule == RULE_HEP:
            tot += term
        else:
            tot += 2.0 * term.real
    return tot / beta


@njit(cache=True, inline="always")
def lr_value(lr, schedule, final, horizon, t):
    """η(t): lr, or lr·(f + (1 − f)·½(1 + cos π t/T)) under the cosine schedule."""
    if schedule == 0:
        return lr
    s = min(max(t / horizon, 0.0), 1.0)
    return lr * (final + (1.0 - final) * 0.5 * (1.0 + np.cos(np.pi * s)))


@njit(cache=True, inline="always")
def segment_coefficients(rule, omegas, gate, beta, tau_avg, lr, schedule, final, horizon, scale,
                         t0, t):
    """(C(t₀, t)·η(t)·scale, e^{−(t−t₀)/τ_avg}): what a segment [t₀, t] of a synapse's integral
    needs besides H (module docstring); ``scale`` 1 for weights, the bias scale for biases."""
    coef = rule_coefficient(rule, omegas, gate, beta, tau_avg, t0, t) * (
        lr_value(lr, schedule, final, horizon, t) * scale)
    return coef, np.exp(-(t - t0) / tau_avg)


@njit(cache=True, inline="always")
def bias_segment(r, bias, bbar, total_b, P, n, off, coef, decay, apply, keep):
    """Block (offset off, n units) biases over one segment: signal ρ̄(x_b), the particle mean."""
    u0 = np.uint64(P * off)
    for i in range(n):
        m = r[u0 + np.uint64(i)] * 0.0
        for p in range(P):
            m += r[u0 + np.uint64(p * n + i)]
        m /= P
        d = m - bbar[off + i]
        dw = (d * coef).real
        if apply:
            bias[off + i] += dw
        if keep:
            total_b[off + i] += dw
        bbar[off + i] = m - d * decay


@njit(cache=True, inline="always")
def _is_silent(r, P, offsets, b):
    """True when ρ(x_b) is zero for every particle (an idle port): H is then zero too."""
    for i in range(P * offsets[b], P * offsets[b + 1]):
        if r[i] != 0:
            return False
    return True


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _hebb(ra, rb, out):
    """out (n_a, n_b) ← ρ_aᵀ ρ_b / P (BLAS)."""
    np.dot(ra.T, rb, out)
    out /= ra.shape[0]


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _update_small(r, ao, bo, P, na, nb, row, hbar, w, total, o, coef, decay, apply, keep, hep):
    """:func:`_update` with H computed row by row (small blocks, no BLAS): row i of ρ_aᵀρ_b/P
    (ρ_a, ρ_b the (P, n_a), (P, n_b) rows of r from offsets ao, bo) goes to row[:n_b] and is used
    while it is in cache; one call per projection. Flat unsigned offsets, no views: a view is a
    reference count (two atomic operations) and a signed offset a wraparound test per access,
    which keeps the loops from vectorising."""
    ao, bo, o = np.uint64(ao), np.uint64(bo), np.uint64(o)
    c = coef.real
    for i in range(na):
        for j in range(nb):
            row[j] = row[j] * 0.0
        for p in range(P):
            a = r[ao + np.uint64(p * na + i)] / P
            rp = bo + np.uint64(p * nb)
            for j in range(nb):
                row[j] += a * r[rp + np.uint64(j)]
        base = o + np.uint64(i * nb)
        if apply and not keep and not hep:  # the run's case, kept branch-free so it vectorises
            for j in range(nb):
                q = base + np.uint64(j)
                d = row[j] - hbar[q]
                w[q] += d.real * c
                hbar[q] = row[j] - d * decay
            continue
        for j in range(nb):
            q = base + np.uint64(j)
            d = row[j] - hbar[q]
            dw = (d * coef).real if hep else d.real * c
            if apply:
                w[q] += dw
            if keep:
                total[q] += dw
            hbar[q] = row[j] - d * decay


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _update(h, hbar, w, total, o, coef, decay, apply, keep, hep):
    """ΔW = Re[(h − H̄)·coef] on the flat slice o … o + len(h); H̄ ← h − (h − H̄)·decay."""
    n = h.shape[0]
    if hep:
        for i in range(n):
            d = h[i] - hbar[o + i]
            dw = (d * coef).real
            if apply:
                w[o + i] += dw
            if keep:
                total[o + i] += dw
            hbar[o + i] = h[i] - d * decay
        return
    c = coef.real
    if apply and not keep:
        for i in range(n):
            d = h[i] - hbar[o + i]
            w[o + i] += d.real * c
            hbar[o + i] = h[i] - d * decay
        return
    for i in range(n):
        d = h[i] - hbar[o + i]
        dw = d.real * c
        if apply:
            w[o + i] += dw
        if keep:
            total[o + i] += dw
        hbar[o + i] = h[i] - d * decay


@njit(cache=True, inline="always")
def integrate_projection(topo, pl, k, t, r, w):
    """Integrate projection k's synapses over [last_k, t] (module docstring); last_k ← t."""
    integrate_rows(topo[0], topo[1], topo[2], topo[7], topo[15], topo[16], pl[0], pl[1], pl[17],
                   pl[2], pl[3], pl[4], pl[5], pl[6], pl[7], pl[9], pl[10], pl[12], pl[14], pl[16],
                   pl[18], pl[19], pl[20], pl[21], k, t, r, w)


@njit(cache=True, inline="always")
def integrate_rows(P, sizes, offsets, w_off, proj_pre, proj_post, rule, omegas, gate, beta, tau_avg,
                   lr, schedule, final, horizon, flags, hbar, total_w, last_k, hbuf, lint, lflt, rows,
                   lscr, k, t, r, w):
    """:func:`integrate_projection` from the tuples' fields, bound once by a loop that calls it
    at every event (passing the tuples to an inlined function counts a reference to each of
    their arrays, two atomic operations apiece). A projection with a segment log (``lint[0, k]`` > 0)
    logs the segment and applies the log when it is full (``plastic_deferred.py``)."""
    t0 = last_k[k]
    if t <= t0:
        return
    last_k[k] = t
    a, b = proj_pre[k], proj_post[k]
    na, nb = sizes[a], sizes[b]
    o = w_off[k]
    coef, decay = segment_coefficients(rule, omegas, gate, beta, tau_avg, lr, schedule, final,
                                       horizon, 1.0, t0, t)
    apply, keep, hep = flags[0], flags[1], rule == RULE_HEP
    if lint[0, k] > 0:
        if log_segment(lint, lflt, rows, P, na, nb, P * offsets[a], P * offsets[b], r, k,
                       coef.real, decay):
            apply_log(lint, lflt, rows, lscr, P, na, nb, o, k, hbar, w, total_w, apply, keep)
        return
    if _is_silent(r, P, offsets, a) or _is_silent(r, P, offsets, b):
        h = hbuf[:na * nb]
        h[:] = 0.0
        _update(h, hbar, w, total_w, o, coef, decay, apply, keep, hep)
        return
    if P * na * nb >= BLAS_MIN_WORK:
        _hebb(block_matrix(r, P, offsets, a), block_matrix(r, P, offsets, b),
              hbuf[:na * nb].reshape((na, nb)))
        _update(hbuf[:na * nb], hbar, w, total_w, o, coef, decay, apply, keep, hep)
        return
    _update_small(r, P * offsets[a], P * offsets[b], P, na, nb, hbuf, hbar, w, total_w, o, coef,
                  decay, apply, keep, hep)


@njit(cache=True, inline="always")
def integrate_bias(topo, pl, b, t, r, bias):
    """Integrate block b's biases (signal ρ̄(x_b), times the bias scale) over [last_b, t]."""
    last_b = pl[15]
    t0 = last_b[b]
    if t <= t0:
        return
    last_b[b] = t
    coef, decay = segment_coefficients(pl[0], pl[1], pl[17], pl[2], pl[3], pl[4], pl[5], pl[6],
                                       pl[7], pl[8], t0, t)
    bias_segment(r, bias, pl[11], pl[13], topo[0], topo[1][b], topo[2][b], coef, decay, pl[9][0],
                 pl[9][1])


@njit(cache=True, inline="always")
def touch(topo, pl, b, t, r, w, bias):
    """x_b is about to change at t: bring every synapse that reads it up to t."""
    if pl[0] == RULE_NONE:
        return
    adj_ptr, adj_proj = topo[11], topo[12]
    for j in range(adj_ptr[b], adj_ptr[b + 1]):
        integrate_projection(topo, pl, adj_proj[j], t, r, w)
    integrate_bias(topo, pl, b, t, r, bias)


@njit(cache=True)
def flush(topo, pl, t, r, w, bias):
    """Bring every synapse up to t and apply every segment log (the weights are then current
    for an evaluation)."""
    if pl[0] == RULE_NONE:
        return
    P, sizes, w_off, proj_pre, proj_post = topo[0], topo[1], topo[7], topo[15], topo[16]
    for k in range(proj_pre.shape[0]):
        integrate_projection(topo, pl, k, t, r, w)
        if pl[18][1, k] > 0:
            apply_log(pl[18], pl[19], pl[20], pl[21], P, sizes[proj_pre[k]], sizes[proj_post[k]],
                      w_off[k], k, pl[10], w, pl[12], pl[9][0], pl[9][1])
    for b in range(topo[1].shape[0]):
        integrate_bias(topo, pl, b, t, r, bias)


@njit(cache=True)
def set_gates(pl, task_on, task_omega):
    """gate[m] ← 1 if a task k with task_omega[k] = omegas[m] is on, else 0 (under ``flags[2]``;
    otherwise every gate stays open)."""
    if not pl[9][2]:
        return
    omegas, gate = pl[1], pl[17]
    for m in range(omegas.shape[0]):
        gate[m] = 0.0
        for k in range(task_on.shape[0]):
            if task_on[k] and task_omega[k] == omegas[m]:
                gate[m] = 1.0


@njit(cache=True)
def start_averages(topo, pl, t, r):
    """H̄ ← H, ρ̄ ← ρ̄ at t and every integration clock at t (the sampled rule's first sample)."""
    P, sizes, offsets, w_off, proj_pre, proj_post = topo[0], topo[1], topo[2], topo[7], topo[15], topo[16]
    hbar, bbar, last_k, last_b = pl[10], pl[11], pl[14], pl[15]
    pl[18][1] = 0  # no logged segment survives a restart of the averages
    pl[18][3] = 0
    for k in range(proj_pre.shape[0]):
        a, b = proj_pre[k], proj_post[k]
        n = sizes[a] * sizes[b]
        h = hbar[w_off[k]:w_off[k] + n].reshape((sizes[a], sizes[b]))
        _hebb(block_matrix(r, P, offsets, a), block_matrix(r, P, offsets, b), h)
        last_k[k] = t
    for b in range(sizes.shape[0]):
        rb = block_matrix(r, P, offsets, b)
        for i in range(sizes[b]):
            m = rb[0, i] * 0.0
            for p in range(P):
                m += rb[p, i]
            bbar[offsets[b] + i] = m / P
        last_b[b] = t
