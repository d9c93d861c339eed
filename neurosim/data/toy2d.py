"""Toy distributions in 1-D and 2-D, with the analytic scores that make them test oracles.

All generators take ``(n, rng)`` with ``rng`` a ``numpy.random.Generator`` and return float64
arrays of shape (n, d) — a 1-D distribution returns shape (n, 1).

Gaussian mixtures are described by ``means`` (K, d) (or (K,) for 1-D), ``stds`` (K,) isotropic or
(K, d) diagonal, and ``weights`` (K,) summing to 1. Their noised versions are closed-form: if
x_0 ~ Σ_k w_k N(μ_k, diag s_k²) and x = α x_0 + σ ε, then x ~ Σ_k w_k N(α μ_k, diag(α² s_k² + σ²)).
"""
from __future__ import annotations

import numpy as np

from ..options import at_least, greater_than, option_ranges


def standard_normal(n: int, rng: np.random.Generator, dim: int = 2) -> np.ndarray:
    """x ~ N(0, I_dim), shape (n, dim)."""
    return rng.standard_normal((n, dim))


@option_ranges(noise=at_least(0))
def moons(n: int, rng: np.random.Generator, noise: float = 0.1) -> np.ndarray:
    """scikit-learn's two moons (``make_moons(n, noise=noise)``, isotropic Gaussian noise of std
    ``noise``), seeded from ``rng`` so the draw is reproducible and still sklearn's distribution."""
    from sklearn.datasets import make_moons  # here, not at import: sklearn costs ~1-3 s to import

    seed = int(rng.integers(2**31 - 1))
    return make_moons(n_samples=n, noise=noise, random_state=seed)[0].astype(np.float64)


def eight_gaussians_params(radius: float = 2.0, std: float = 0.2):
    """(means, stds, weights) of 8 equally weighted isotropic Gaussians with centres
    radius·(cos 2πk/8, sin 2πk/8), k = 0…7, and per-coordinate standard deviation ``std``."""
    angles = 2.0 * np.pi * np.arange(8) / 8
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return means, np.full(8, float(std)), np.full(8, 1.0 / 8)


@option_ranges(radius=greater_than(0), std=greater_than(0))
def eight_gaussians(n: int, rng: np.random.Generator, radius: float = 2.0,
                    std: float = 0.2) -> np.ndarray:
    """8 Gaussians on a circle of radius ``radius`` (default 2), each mode isotropic with
    per-coordinate std ``std`` (default 0.2), equal weights. No further rescaling (unlike torchcfm,
    which scales radius-1 centres by 5 and divides the sample by √2)."""
    return gaussian_mixture(n, rng, *eight_gaussians_params(radius, std))


def _mixture(means, stds, weights):
    means = np.asarray(means, dtype=np.float64)
    means = means[:, None] if means.ndim == 1 else means
    stds = np.asarray(stds, dtype=np.float64)
    stds = np.broadcast_to(stds[:, None] if stds.ndim == 1 else stds, means.shape)
    if np.any(stds < 0):
        raise ValueError("stds must be non-negative")
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(means),) or np.any(weights < 0) or not np.isclose(weights.sum(), 1.0):
        raise ValueError("weights must be K non-negative numbers summing to 1")
    return means, stds, weights


def gaussian_mixture(n: int, rng: np.random.Generator, means, stds, weights) -> np.ndarray:
    """x = μ_k + s_k ⊙ z, k ~ Categorical(w), z ~ N(0, I); shape (n, d)."""
    means, stds, weights = _mixture(means, stds, weights)
    k = rng.choice(len(weights), size=n, p=weights)
    return means[k] + stds[k] * rng.standard_normal((n, means.shape[1]))


def _component_terms(x, means, stds, weights, sigma, alpha):
    """Per-component log(w_k N(x; α μ_k, diag v_k)) and (x − α μ_k)/v_k, v_k = α² s_k² + σ²."""
    var = alpha**2 * stds**2 + sigma**2                            # (K, d)
    diff = x[:, None, :] - alpha * means[None]                    # (n, K, d)
    log_comp = (np.log(weights)[None]
                - 0.5 * (diff**2 / var[None]).sum(-1)
                - 0.5 * np.log(2.0 * np.pi * var).sum(-1)[None])  # (n, K)
    return log_comp, diff / var[None]


def _logsumexp(a, axis: int, keepdims: bool = False):
    """ln Σ exp(a) along ``axis``, computed as m + ln Σ exp(a − m) with m = max(a) so no term
    overflows (numpy only: scipy's version costs more per call than these small arrays)."""
    m = a.max(axis=axis, keepdims=True)
    out = m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _as_points(x, d):
    x = np.asarray(x, dtype=np.float64)
    return (x[:, None], True) if (x.ndim == 1 and d == 1) else (x, False)


def gaussian_mixture_logpdf(x, means, stds, weights, sigma: float = 0.0, alpha: float = 1.0):
    """ln p(x) for x = α x_0 + σ ε, x_0 ~ mixture: ln Σ_k w_k N(x; α μ_k, diag(α² s_k² + σ²))."""
    means, stds, weights = _mixture(means, stds, weights)
    x, _ = _as_points(x, means.shape[1])
    log_comp, _ = _component_terms(x, means, stds, weights, sigma, alpha)
    return _logsumexp(log_comp, axis=1)


def gaussian_mixture_score(x, means, stds, weights, sigma: float = 0.0, alpha: float = 1.0):
    """∇_x ln p(x) of the same density: −Σ_k r_k(x) (x − α μ_k)/(α² s_k² + σ²), with
    r_k(x) the posterior responsibility softmax_k ln(w_k N(x; α μ_k, α² s_k² + σ²)).
    Same shape as x."""
    means, stds, weights = _mixture(means, stds, weights)
    x, flat = _as_points(x, means.shape[1])
    log_comp, scaled_diff = _component_terms(x, means, stds, weights, sigma, alpha)
    resp = np.exp(log_comp - _logsumexp(log_comp, axis=1, keepdims=True))
    score = -(resp[:, :, None] * scaled_diff).sum(1)
    return score[:, 0] if flat else score
