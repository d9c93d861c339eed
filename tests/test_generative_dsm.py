"""The DSM minimiser is the score of the σ-smoothed density (Vincent 2011).

At fixed σ, J_DSM(θ) = ½ E ‖−ε/σ² − s_θ(x + ε)‖² with s_θ(x) = Σ_j θ_j φ_j(x), φ_j Gaussian
RBFs on a grid. J_DSM is quadratic in θ, so its minimiser on a large sample is the least-squares
solution — exactly the DSM optimum within the function class, which must approach ∇ log p_σ.
"""
import numpy as np

from neurosim.data.toy2d import gaussian_mixture, gaussian_mixture_score

MEANS, STDS, WEIGHTS = [-1.5, 0.5, 2.0], [0.3, 0.5, 0.4], [0.3, 0.4, 0.3]
SIGMA = 0.3
CENTRES = np.linspace(-3.5, 4.0, 50)
WIDTH = 2.0 * (CENTRES[1] - CENTRES[0])


def features(x):
    return np.exp(-0.5 * ((x[:, None] - CENTRES[None]) / WIDTH) ** 2)


def fit_dsm(n, rng):
    x0 = gaussian_mixture(n, rng, MEANS, STDS, WEIGHTS)[:, 0]
    eps = SIGMA * rng.standard_normal(n)
    phi = features(x0 + eps)
    theta, *_ = np.linalg.lstsq(phi, -eps / SIGMA**2, rcond=None)
    return lambda x: features(x) @ theta


def relative_error(model):
    """‖ŝ − s‖ / ‖s‖ on a uniform grid over the bulk of p_σ (its 0.5 % – 99.5 % quantiles)."""
    rng = np.random.default_rng(99)
    bulk = gaussian_mixture(200_000, rng, MEANS, STDS, WEIGHTS)[:, 0] + SIGMA * rng.standard_normal(200_000)
    grid = np.linspace(*np.quantile(bulk, [0.005, 0.995]), 400)
    exact = gaussian_mixture_score(grid, MEANS, STDS, WEIGHTS, sigma=SIGMA)
    return np.linalg.norm(model(grid) - exact) / np.linalg.norm(exact)


def test_dsm_minimiser_matches_smoothed_score():
    err = relative_error(fit_dsm(400_000, np.random.default_rng(0)))
    print(f"DSM relative L2 error: {err:.4f}")
    assert err <= 0.05


def test_dsm_target_without_noise_level_is_wrong():
    """Control: the same fit against the unsmoothed score (σ → 0) is far from ∇ log p_σ."""
    unsmoothed = lambda x: gaussian_mixture_score(x, MEANS, STDS, WEIGHTS, sigma=0.0)
    assert relative_error(unsmoothed) > 0.2
