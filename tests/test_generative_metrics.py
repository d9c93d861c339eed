"""Exact W2, its finite-sample floor, and unbiased MMD²; toy generators."""
import numpy as np

from neurosim.data import toy2d
from neurosim.metrics import mmd, w2, w2_floor


def test_w2_self_is_zero_and_shift_is_shift():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 2))
    assert w2(a, a[rng.permutation(500)]) < 1e-12
    shift = np.array([0.3, -0.4])
    np.testing.assert_allclose(w2(a, a + shift), 0.5, rtol=1e-10)


def test_w2_floor_is_positive_and_shrinks_with_n():
    gen = lambda n, r: toy2d.standard_normal(n, r, 2)
    small = w2_floor(gen, 100, np.random.default_rng(1), repeats=3)
    large = w2_floor(gen, 1000, np.random.default_rng(1), repeats=3)
    assert 0 < large < small


def test_mmd_identical_near_zero_shifted_positive():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((1000, 2)), rng.standard_normal((1000, 2))
    # the unbiased estimator on a = b drops the diagonal from two terms only: O(k(0)/m), not 0
    assert abs(mmd(a, a)) < 3 * 3 / len(a)
    assert abs(mmd(a, b)) < 5e-3
    assert mmd(a, b + 0.5) > 20 * abs(mmd(a, b))
    assert mmd(a, b + 0.5, bandwidths=[1.0]) > 0


def test_toy_generators_shapes_and_moments():
    rng = np.random.default_rng(3)
    assert toy2d.moons(100, rng).shape == (100, 2)
    np.testing.assert_array_equal(toy2d.moons(50, np.random.default_rng(4)),
                                  toy2d.moons(50, np.random.default_rng(4)))
    x = toy2d.eight_gaussians(40_000, rng, radius=2.0, std=0.2)
    np.testing.assert_allclose(np.sqrt((x**2).sum(1)).mean(), 2.0, atol=0.02)
    means, _, _ = toy2d.eight_gaussians_params(2.0, 0.2)
    nearest = means[np.argmin(((x[:, None] - means) ** 2).sum(-1), axis=1)]
    np.testing.assert_allclose((x - nearest).std(0), 0.2, rtol=0.03)


def test_mixture_score_is_gradient_of_logpdf_1d_and_2d():
    rng = np.random.default_rng(5)
    for means, stds, weights in [([-1.0, 2.0], [0.3, 0.6], [0.4, 0.6]),
                                 (rng.standard_normal((3, 2)), [0.3, 0.5, 0.4], [0.2, 0.5, 0.3])]:
        d = np.ndim(means[0]) + 1 if np.ndim(means) == 2 else 1
        x = rng.standard_normal((20, d))
        for sigma, alpha in [(0.0, 1.0), (0.5, 1.0), (0.4, 0.7)]:
            score = toy2d.gaussian_mixture_score(x, means, stds, weights, sigma, alpha)
            h = 1e-6
            fd = np.stack([(toy2d.gaussian_mixture_logpdf(x + h * e, means, stds, weights, sigma, alpha)
                            - toy2d.gaussian_mixture_logpdf(x - h * e, means, stds, weights, sigma, alpha))
                           / (2 * h) for e in np.eye(d)], axis=1)
            np.testing.assert_allclose(score, fd, atol=1e-6)


def test_smoothed_mixture_density_matches_noised_samples():
    """ln p of α x_0 + σ ε integrates to 1 and matches a histogram of noised samples (1-D)."""
    means, stds, weights = [-1.0, 1.5], [0.3, 0.5], [0.3, 0.7]
    sigma, alpha = 0.4, 0.8
    grid = np.linspace(-6, 6, 4001)
    dens = np.exp(toy2d.gaussian_mixture_logpdf(grid, means, stds, weights, sigma, alpha))
    np.testing.assert_allclose(np.trapezoid(dens, grid), 1.0, atol=1e-8)
    rng = np.random.default_rng(6)
    x = alpha * toy2d.gaussian_mixture(200_000, rng, means, stds, weights)[:, 0] \
        + sigma * rng.standard_normal(200_000)
    hist, edges = np.histogram(x, bins=40, range=(-3, 3), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    ref = np.exp(toy2d.gaussian_mixture_logpdf(centres, means, stds, weights, sigma, alpha))
    np.testing.assert_allclose(hist * ((x > -3) & (x < 3)).mean(), ref, atol=0.01)
