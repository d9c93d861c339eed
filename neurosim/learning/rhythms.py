"""One rhythm per task: frequencies a synapse can tell apart, and the demodulation that does it.

Task k nudges its targets with λ_k(t) = β cos(ω_k t). To first order in β every Hebbian product
is H(t) = H₀ + β Σ_k G_k cos(ω_k t − φ_k) + O(β²), with G_k = −dC_k/dW (the task's gradient, φ_k
its response lag). A synapse that demodulates at ω_k over a window [t₀, t₀ + T],

    U_k = (2/(βT)) ∫ (H − H̄) cos(ω_k t) dt,                                           (1)

returns G_k cos φ_k plus, from every other task j, the leak

    G_j · L(ω_k, ω_j, T),   L = (2/T) ∫ cos(ω_k t) cos(ω_j t) dt                      (2)

and, from the nonlinear terms, every mixing product at ±ω_i ± ω_j (order 2), ±ω_i ± ω_j ± ω_l
(order 3) … that lands near ω_k. Both vanish by construction when

* the frequencies are **harmonics of one base rhythm**, ω_k = m_k ω₀ with distinct integers m_k,
  and the window is a whole number of base periods T₀ = 2π/ω₀: then L = δ_kj exactly, and
  a constant H₀ (or a baseline H̄ that is constant over the window) drops out;
* the multiples are **free of low-order mixing**: no m_k equals |Σ_i n_i m_i| with integers
  n_i, Σ|n_i| ≤ order, other than m_k itself (:func:`mixing_collisions`). {3, 4, 5} is free to
  order 2 (1, 2, 6, 7, 8, 9, 10 are the products) but not to order 3 (3 + 5 − 4 = 4).

Periods that are not commensurate on the window (the 6, 8, 10 τ of the complex-state study over
a window of 24 τ, say) leak by :func:`leakage`; periods commensurate only on a long base period
(6, 8, 10 τ: T₀ = 120 τ) need that long a window for (2) to vanish.

Everything here is pure arithmetic on arrays; the measurement on a network is
``experiments/rhythm_separation.py``.
"""
from __future__ import annotations

import itertools

import numpy as np


def harmonic_omegas(base_period: float, multiples) -> np.ndarray:
    """ω_k = 2π m_k / T₀."""
    m = np.asarray(multiples, dtype=float)
    if base_period <= 0 or np.any(m <= 0) or len(set(m.tolist())) != len(m):
        raise ValueError("need a positive base period and distinct positive multiples")
    return 2 * np.pi * m / float(base_period)


def mixing_collisions(multiples, order: int = 2) -> list[tuple[int, tuple[int, ...]]]:
    """Every (k, n) with integer coefficients n (Σ|n_i| ≤ ``order``, n ≠ ±e_k) such that
    |Σ_i n_i m_i| = m_k: a nonlinear product of the rhythms that a synapse demodulating at ω_k
    would take for task k's signal. Empty: the set is mixing-free to that order."""
    m = [int(x) for x in multiples]
    out = []
    rng = range(-order, order + 1)
    for n in itertools.product(rng, repeat=len(m)):
        if sum(abs(c) for c in n) > order or sum(abs(c) for c in n) < 2:
            continue
        f = abs(sum(c * x for c, x in zip(n, m)))
        for k, mk in enumerate(m):
            if f == mk:
                out.append((k, tuple(n)))
    return out


def leakage(omega_a: float, omega_b: float, window: float, t0: float = 0.0) -> float:
    """L(ω_a, ω_b, T) = (2/T) ∫_{t₀}^{t₀+T} cos(ω_a t) cos(ω_b t) dt, exactly: the fraction of a
    signal β G cos(ω_b t) that a demodulator (1) at ω_a reports (1 for ω_a = ω_b over whole periods)."""
    def sinc_int(w):  # ∫ cos(w t) dt over the window
        if abs(w) < 1e-12:
            return window
        return (np.sin(w * (t0 + window)) - np.sin(w * t0)) / w
    return float((sinc_int(omega_a - omega_b) + sinc_int(omega_a + omega_b)) / window)


def leakage_matrix(omegas, window: float, t0: float = 0.0) -> np.ndarray:
    """L[k, j] = :func:`leakage` (ω_k, ω_j, T): row k is what demodulator k reports of each rhythm."""
    w = np.asarray(omegas, dtype=float)
    return np.array([[leakage(a, b, window, t0) for b in w] for a in w])


def demodulation_weights(t, omega: float, beta: float, delta: float) -> np.ndarray:
    """c_s = 2 δ cos(ω t_s) / (β T) with T = S δ: U = Σ_s c_s (H_s − H̄_s) is the sampled (1),
    each sample standing for the time δ it covers."""
    t = np.asarray(t, dtype=float)
    return 2.0 * delta * np.cos(omega * t) / (beta * len(t) * delta)


def demodulate(h, t, omega: float, beta: float, delta: float, baseline=None) -> np.ndarray:
    """The sampled (1) of a series ``h`` (S, …) at times ``t`` (S,); ``baseline`` (S, …) is
    subtracted first (the synapse's running average H̄), or nothing (None)."""
    h = np.asarray(h, dtype=float)
    if baseline is not None:
        h = h - np.asarray(baseline, dtype=float)
    c = demodulation_weights(t, omega, beta, delta)
    return np.tensordot(c, h, axes=(0, 0))


def whole_periods(window: float, base_period: float) -> float:
    """The longest multiple of T₀ that fits in ``window`` (at least one T₀)."""
    return max(1, int(np.floor(window / base_period + 1e-9))) * base_period
