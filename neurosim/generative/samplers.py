"""Samplers driven by a score or denoiser callable; each is deterministic given its Generator.

Model interfaces (x has shape (n, d); the noise argument is a Python/numpy scalar):

* ``score_fn(x, sigma) -> ∇_x log p(x; σ)`` — the score of the data smoothed by N(0, σ² I)
  (EDM / VE convention, α = 1);
* ``denoise_fn(x, sigma) -> x̂``         — Tweedie: x̂ = x + σ² ∇ log p(x; σ);
* ``vp_score_fn(x, t) -> ∇ log p_t(x)``  — the score of the VP marginal of α_t x_0 + σ_t ε at
  schedule time t (only the ancestral sampler uses it, because p_t depends on α_t too);
* ``velocity_fn(x, t) -> v``             — a flow-matching velocity field, t ∈ [0, 1].
"""
from __future__ import annotations

import numpy as np

from neurosim.generative.schedules import VP, karras_sigmas

#: the samplers a generative run may name: the EDM-grid / flow ODE methods, DDPM ancestral, Langevin
ODE_METHODS = ("euler", "heun")
SAMPLERS = ODE_METHODS + ("ancestral", "langevin")


# --- adapters and model combinators -------------------------------------------------------------

def score_from_denoiser(denoise_fn):
    """s(x; σ) = (D(x; σ) − x)/σ²."""
    return lambda x, sigma: (denoise_fn(x, sigma) - x) / sigma**2


def denoiser_from_score(score_fn):
    """D(x; σ) = x + σ² s(x; σ)  (Tweedie's formula)."""
    return lambda x, sigma: x + sigma**2 * score_fn(x, sigma)


def classifier_free_guidance(cond_fn, uncond_fn, w: float):
    """Guided model (Ho & Salimans 2022): f_w(x, σ) = (1 + w) f(x, σ | c) − w f(x, σ | ∅).
    Works for scores, noise or denoiser predictions alike (the combination is affine)."""
    return lambda x, sigma: (1.0 + w) * cond_fn(x, sigma) - w * uncond_fn(x, sigma)


def compose_scores(*score_fns):
    """s(x | c1, …, ck) = Σ_i s(x | c_i): the score of the product Π_i p(x | c_i) (up to Z)."""
    if not score_fns:
        raise ValueError("need at least one score function")
    return lambda x, sigma: sum(f(x, sigma) for f in score_fns)


# --- ancestral DDPM on the VP schedule ----------------------------------------------------------

def ancestral_sample(vp_score_fn, shape, rng: np.random.Generator, schedule: VP | None = None,
                     n_steps: int = 1000) -> np.ndarray:
    """Ancestral sampling with the optimal Gaussian reverse step (docs/generative.md).

    On the grid t_N = t_max > … > t_0 = 0 (uniform), for each s < t:
    α_{t|s} = α_t/α_s, σ_{t|s}² = σ_t² − α_{t|s}² σ_s², σ̃² = σ_{t|s}² σ_s² / σ_t²,
    μ = x_t/α_{t|s} + (σ_{t|s}²/α_{t|s}) s(x_t; t),   x_s = μ + σ̃ z.
    The score form is used because it never divides by α_t (which vanishes for cosine at t = 1).
    The last step (s = 0, σ_s = 0) has σ̃ = 0 and μ = x̂, Tweedie's denoised estimate.
    x_{t_N} ~ N(0, I).
    """
    schedule = schedule or VP()
    ts = np.linspace(0.0, schedule.t_max, n_steps + 1)
    x = rng.standard_normal(shape)
    for s, t in zip(ts[-2::-1], ts[:0:-1]):
        a_ts = schedule.alpha(t) / schedule.alpha(s)
        var_s = schedule.sigma(s) ** 2
        var_ts = schedule.sigma(t) ** 2 - a_ts**2 * var_s
        x = x / a_ts + (var_ts / a_ts) * vp_score_fn(x, t)
        if s > 0:
            x = x + np.sqrt(var_ts * var_s / schedule.sigma(t) ** 2) * rng.standard_normal(shape)
    return x


# --- probability-flow ODE on the EDM grid -------------------------------------------------------

def edm_sample(score_fn, shape, rng: np.random.Generator, n_steps: int = 18,
               sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0,
               method: str = "heun") -> np.ndarray:
    """Karras et al. 2022, Algorithm 1 (deterministic): integrate dx/dσ = −σ ∇ log p(x; σ)
    = (x − D(x; σ))/σ over the grid σ_0 = σ_max > … > σ_{N−1} = σ_min (:func:`karras_sigmas`),
    σ_N = 0, from x ~ N(0, σ_max² I).

    Euler:  x_{i+1} = x_i + (σ_{i+1} − σ_i) d_i,   d_i = −σ_i s(x_i; σ_i).
    Heun:   also d' = −σ_{i+1} s(x_{i+1}; σ_{i+1}) and x_{i+1} = x_i + (σ_{i+1} − σ_i)(d_i + d')/2,
            except on the final step to σ = 0 (Euler there). 2N − 1 model calls.
    """
    if method not in ("euler", "heun"):
        raise ValueError(f"unknown method {method!r}")
    sigmas = np.append(karras_sigmas(n_steps, sigma_min, sigma_max, rho), 0.0)
    x = sigma_max * rng.standard_normal(shape)
    for s_cur, s_next in zip(sigmas[:-1], sigmas[1:]):
        d = -s_cur * score_fn(x, s_cur)
        x_next = x + (s_next - s_cur) * d
        if method == "heun" and s_next > 0:
            d_next = -s_next * score_fn(x_next, s_next)
            x_next = x + (s_next - s_cur) * 0.5 * (d + d_next)
        x = x_next
    return x


def euler_sample(score_fn, shape, rng, n_steps: int = 18, **grid):
    """:func:`edm_sample` with ``method="euler"``."""
    return edm_sample(score_fn, shape, rng, n_steps, method="euler", **grid)


def heun_sample(score_fn, shape, rng, n_steps: int = 18, **grid):
    """:func:`edm_sample` with ``method="heun"``."""
    return edm_sample(score_fn, shape, rng, n_steps, method="heun", **grid)


# --- annealed Langevin dynamics -----------------------------------------------------------------

def langevin_sigmas(sigma_max: float, sigma_min: float, n_levels: int) -> np.ndarray:
    """Geometric noise levels σ_1 = σ_max > … > σ_L = σ_min."""
    return np.geomspace(sigma_max, sigma_min, n_levels)


def annealed_langevin_sample(score_fn, shape, rng: np.random.Generator, sigma_max: float = 10.0,
                             sigma_min: float = 0.01, n_levels: int = 20,
                             n_steps_per_level: int = 100, eps: float = 2e-5,
                             x_init=None) -> np.ndarray:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    For each level σ_i of :func:`langevin_sigmas`, step α_i = ε σ_i²/σ_L², repeat T times:
    x ← x + (α_i/2) s(x; σ_i) + √α_i z,  z ~ N(0, I).
    Starts from x ~ N(0, σ_1² I) unless ``x_init`` is given. Returns samples of p(x; σ_L)
    (no final denoising step), i.e. of the data only up to the smoothing σ_L.
    """
    x = sigma_max * rng.standard_normal(shape) if x_init is None else np.array(x_init, dtype=np.float64)
    for sigma in langevin_sigmas(sigma_max, sigma_min, n_levels):
        step = eps * sigma**2 / sigma_min**2
        for _ in range(n_steps_per_level):
            x = x + 0.5 * step * score_fn(x, sigma) + np.sqrt(step) * rng.standard_normal(shape)
    return x


# --- flow ODE (flow matching) -------------------------------------------------------------------

def flow_sample(velocity_fn, shape, rng: np.random.Generator, n_steps: int = 100,
                method: str = "euler", x0=None) -> np.ndarray:
    """Integrate dx/dt = v(x, t) from t = 0 (x ~ N(0, I), or ``x0``) to t = 1 on a uniform grid.

    Euler: x ← x + h v(x, t).  Heun: x̃ = x + h v(x, t), x ← x + h (v(x, t) + v(x̃, t + h))/2.
    """
    if method not in ("euler", "heun"):
        raise ValueError(f"unknown method {method!r}")
    x = rng.standard_normal(shape) if x0 is None else np.array(x0, dtype=np.float64)
    ts = np.linspace(0.0, 1.0, n_steps + 1)
    for t, t_next in zip(ts[:-1], ts[1:]):
        h = t_next - t
        v = velocity_fn(x, t)
        if method == "heun":
            v = 0.5 * (v + velocity_fn(x + h * v, t_next))
        x = x + h * v
    return x
