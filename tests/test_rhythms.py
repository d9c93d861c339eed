"""One rhythm per task: harmonic frequencies separate exactly, non-commensurate ones leak."""
import numpy as np
import pytest

from neurosim.learning.rhythms import (demodulate, harmonic_omegas, leakage, leakage_matrix, mixing_collisions,
                                       whole_periods)


def test_harmonics_of_one_base_rhythm_do_not_leak_over_whole_base_periods():
    w = harmonic_omegas(40.0, [3, 4, 5])
    np.testing.assert_allclose(leakage_matrix(w, 40.0, t0=7.3), np.eye(3), atol=1e-12)
    np.testing.assert_allclose(leakage_matrix(w, 80.0), np.eye(3), atol=1e-12)
    # over a window that is not a whole base period they do
    assert np.abs(leakage_matrix(w, 30.0) - np.eye(3)).max() > 0.05


def test_the_periods_of_the_complex_state_study_leak_over_one_slow_period():
    w = 2 * np.pi / np.array([6.0, 8.0, 10.0])
    off = np.abs(leakage_matrix(w, 24.0) - np.eye(3)).max()
    assert off > 0.05
    # commensurate on 120 τ only
    np.testing.assert_allclose(leakage_matrix(w, 120.0), np.eye(3), atol=1e-12)


def test_leakage_is_the_integral_it_names():
    t = np.linspace(2.0, 2.0 + 17.0, 200001)
    a, b = 0.9, 1.3
    numeric = 2 / 17.0 * np.trapezoid(np.cos(a * t) * np.cos(b * t), t)
    assert leakage(a, b, 17.0, t0=2.0) == pytest.approx(numeric, abs=1e-8)


def test_mixing_collisions_find_the_products_that_land_on_a_rhythm():
    assert mixing_collisions([3, 4, 5], order=2) == []
    assert (1, (1, -1, 1)) in mixing_collisions([3, 4, 5], order=3)   # 3 − 4 + 5 = 4
    assert (2, (1, 1, 0)) in mixing_collisions([2, 3, 5], order=2)    # 2 + 3 = 5
    assert (1, (2, 0)) in mixing_collisions([2, 4], order=2)          # 2·2 = 4


def test_demodulation_recovers_each_task_from_a_sum_of_rhythms_and_its_mixing_products():
    """H = H0 + β Σ_k G_k cos(ω_k t) + β² (products at ω_i ± ω_j): demodulating at ω_k returns G_k
    exactly for harmonics free of order-2 mixing; the study's 6/8/10 τ over 24 τ do not."""
    rng = np.random.default_rng(0)
    g = rng.standard_normal((3, 5))
    beta, delta = 0.25, 0.05

    def series(omegas, window):
        t = np.arange(int(round(window / delta))) * delta + delta / 2   # midpoint samples
        h = 3.0 + beta * sum(np.cos(w * t)[:, None] * g[k] for k, w in enumerate(omegas))
        for i in range(3):
            for j in range(3):
                h = h + beta ** 2 * 0.7 * np.cos((omegas[i] + omegas[j]) * t)[:, None] * g[(i + j) % 3]
                h = h + beta ** 2 * 0.7 * np.cos((omegas[i] - omegas[j]) * t)[:, None] * g[(i + 2 * j) % 3]
        return t, h

    w = harmonic_omegas(40.0, [3, 4, 5])
    t, h = series(w, 40.0)
    for k in range(3):
        u = demodulate(h, t, w[k], beta, delta)
        np.testing.assert_allclose(u, g[k], atol=1e-3)
    w_study = 2 * np.pi / np.array([6.0, 8.0, 10.0])
    t, h = series(w_study, 24.0)
    err = max(np.abs(demodulate(h, t, w_study[k], beta, delta) - g[k]).max() for k in range(3))
    assert err > 0.1


def test_whole_periods_and_bad_input():
    assert whole_periods(100.0, 40.0) == 80.0 and whole_periods(10.0, 40.0) == 40.0
    with pytest.raises(ValueError):
        harmonic_omegas(40.0, [3, 3])
