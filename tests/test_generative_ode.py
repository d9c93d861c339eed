"""Deterministic samplers (Euler/Heun probability-flow ODE on the EDM grid, flow ODE), adapters,
guidance and composition wrappers (every sampler against the mixture: test_generative_samplers.py)."""
import numpy as np
import pytest

from generative_mixture import N, score, w2_ratio
from neurosim.generative import samplers as sp


def test_wrong_score_is_detected():
    """The W2 criterion has teeth: a sampler driven by a shrunk score (modes too wide) fails it."""
    wrong = lambda x, sigma: 0.7 * score(x, sigma)
    assert w2_ratio(lambda rng: sp.heun_sample(wrong, (N, 2), rng, n_steps=50), seeds=(0, 1)) > 1.15


def test_adapters_and_guidance():
    rng = np.random.default_rng(3)
    x, sigma = rng.standard_normal((10, 2)), 0.6
    denoise = sp.denoiser_from_score(score)
    np.testing.assert_allclose(denoise(x, sigma), x + sigma**2 * score(x, sigma))
    np.testing.assert_allclose(sp.score_from_denoiser(denoise)(x, sigma), score(x, sigma), atol=1e-12)
    s1 = lambda x, s: -x / (1 + s**2)
    s2 = lambda x, s: -(x - 1.0) / (0.5 + s**2)
    np.testing.assert_allclose(sp.compose_scores(s1, s2)(x, sigma), s1(x, sigma) + s2(x, sigma))
    guided = sp.classifier_free_guidance(s2, s1, w=2.0)
    np.testing.assert_allclose(guided(x, sigma), 3.0 * s2(x, sigma) - 2.0 * s1(x, sigma))
    np.testing.assert_allclose(sp.classifier_free_guidance(s2, s1, 0.0)(x, sigma), s2(x, sigma))


def test_flow_ode_maps_standard_normal_to_target_gaussian():
    """x_t = (1 − t) x_0 + t x_1, x_0 ~ N(0, I), x_1 ~ N(m, C) independent: p_t = N(t m, Σ_t),
    Σ_t = (1 − t)² I + t² C, and the marginal velocity E[x_1 − x_0 | x_t = x] is
    v(x, t) = m + (t C − (1 − t) I) Σ_t⁻¹ (x − t m)."""
    m, c = np.array([2.0, -1.0]), np.array([[1.0, 0.6], [0.6, 0.5]])
    eye = np.eye(2)

    def velocity(x, t):
        gain = (t * c - (1 - t) * eye) @ np.linalg.inv((1 - t) ** 2 * eye + t**2 * c)
        return m + (x - t * m) @ gain.T

    n = 20_000
    x = sp.flow_sample(velocity, (n, 2), np.random.default_rng(4), n_steps=100, method="heun")
    se = np.sqrt(np.diag(c) / n)
    assert np.all(np.abs(x.mean(0) - m) < 4 * se)
    np.testing.assert_allclose(np.cov(x.T), c, atol=0.03)
    x_euler = sp.flow_sample(velocity, (n, 2), np.random.default_rng(4), n_steps=100)
    np.testing.assert_allclose(np.cov(x_euler.T), c, atol=0.05)
