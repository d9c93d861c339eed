"""Noise schedules: the forward process q(x_t | x_0) = N(α_t x_0, σ_t² I) (docs/generative.md).

Every schedule exposes the same interface, so objectives and samplers never branch on its kind:

* ``alpha(t)``, ``sigma(t)``      — signal and noise scales at schedule time t
* ``dsigma_dt(t)``                — σ'(t), needed by the probability-flow ODE dx = −σ'σ ∇log p dt
* ``log_snr(t)``                  — λ(t) = log(α_t² / σ_t²)
* ``sample_t(rng, n)``            — the training distribution of t
* ``t_min``, ``t_max``            — the time interval the schedule is used on

=====  ==========================================================  ==================================
name   σ(t), α(t)                                                  training t
=====  ==========================================================  ==================================
vp     linear β: log α = −¼ t²(β_max − β_min) − ½ t β_min;          uniform on [t_min, t_max]
       cosine: α = cos(π/2 (t+s)/(1+s)) / cos(π/2 s/(1+s));
       both with σ = √(1 − α²)
ve     σ = σ_min (σ_max/σ_min)^t, α = 1                            uniform on [0, 1]
edm    σ = t, α = 1 (Karras et al. 2022)                           ln σ ~ N(P_mean, P_std²)
=====  ==========================================================  ==================================
"""
from __future__ import annotations

import numpy as np

from ..options import at_least, between, greater_than, option_ranges


def _arr(t):
    return np.asarray(t, dtype=np.float64)


class Schedule:
    """Common interface; subclasses define ``alpha``, ``sigma``, ``dsigma_dt`` and ``sample_t``."""

    name = "base"
    t_min = 0.0
    t_max = 1.0

    def alpha(self, t):
        raise NotImplementedError

    def sigma(self, t):
        raise NotImplementedError

    def dsigma_dt(self, t):
        raise NotImplementedError

    def log_snr(self, t):
        """λ(t) = 2 (ln α_t − ln σ_t)."""
        return 2.0 * (np.log(self.alpha(t)) - np.log(self.sigma(t)))

    def sample_t(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """t ~ U(t_min, t_max), shape (n,)."""
        return rng.uniform(self.t_min, self.t_max, size=n)

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


@option_ranges(beta_min=at_least(0), beta_max=greater_than(0), s=at_least(0), t_min=between(0, 1),
               t_max=between(0, 1))
class VP(Schedule):
    """Variance-preserving schedule, α_t² + σ_t² = 1.

    ``kind="linear"``: the continuous DDPM schedule of Song et al. 2021,
    β(t) = β_min + t (β_max − β_min), α_t = exp(−½ ∫₀ᵗ β) = exp(−¼ t² (β_max − β_min) − ½ t β_min).
    ``kind="cosine"``: Nichol & Dhariwal 2021, α_t = cos(π/2 (t+s)/(1+s)) / cos(π/2 s/(1+s)).
    σ_t = √(1 − α_t²).
    """

    name = "vp"

    def __init__(self, kind: str = "linear", beta_min: float = 0.1, beta_max: float = 20.0,
                 s: float = 0.008, t_min: float = 1e-3, t_max: float | None = None):
        if kind not in ("linear", "cosine"):
            raise ValueError(f"unknown VP kind {kind!r}")
        self.kind = kind
        self.beta_min, self.beta_max, self.s = float(beta_min), float(beta_max), float(s)
        self.t_min = float(t_min)
        # the cosine schedule reaches α = 0 at t = 1, where x̂ = (x_t + σ² s)/α is undefined
        self.t_max = float(t_max if t_max is not None else (1.0 if kind == "linear" else 0.999))

    def _phase(self, t):
        return 0.5 * np.pi * (_arr(t) + self.s) / (1.0 + self.s)

    def log_alpha(self, t):
        """ln α_t (see class docstring)."""
        t = _arr(t)
        if self.kind == "linear":
            return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min
        return np.log(np.cos(self._phase(t))) - np.log(np.cos(self._phase(0.0)))

    def dlog_alpha_dt(self, t):
        """d ln α / dt = −½ β(t) (linear); −tan(φ) π / (2(1+s)) with φ = π/2 (t+s)/(1+s) (cosine)."""
        t = _arr(t)
        if self.kind == "linear":
            return -0.5 * (self.beta_min + t * (self.beta_max - self.beta_min))
        return -np.tan(self._phase(t)) * 0.5 * np.pi / (1.0 + self.s)

    def alpha(self, t):
        return np.exp(self.log_alpha(t))

    def sigma(self, t):
        """σ_t = √(1 − α_t²), via expm1 so that σ stays accurate as t → 0."""
        return np.sqrt(-np.expm1(2.0 * self.log_alpha(t)))

    def dsigma_dt(self, t):
        """σ' = −α α' / σ = −α² (d ln α/dt) / σ."""
        return -self.alpha(t) ** 2 * self.dlog_alpha_dt(t) / self.sigma(t)


@option_ranges(sigma_min=greater_than(0), sigma_max=greater_than(0))
class VE(Schedule):
    """Variance-exploding schedule: σ(t) = σ_min (σ_max/σ_min)^t, α = 1, t ∈ [0, 1]."""

    name = "ve"

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0):
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)

    def alpha(self, t):
        return np.ones_like(_arr(t))

    def sigma(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** _arr(t)

    def dsigma_dt(self, t):
        """σ' = σ ln(σ_max/σ_min)."""
        return self.sigma(t) * np.log(self.sigma_max / self.sigma_min)


def karras_sigmas(n: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                  rho: float = 7.0) -> np.ndarray:
    """σ_i = (σ_max^{1/ρ} + i/(N−1) (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i = 0 … N−1 (decreasing).

    The terminal σ_N = 0 of Karras Algorithm 1 is not included; samplers append it.
    """
    if n < 2:
        raise ValueError("need at least two noise levels")
    ramp = np.linspace(0.0, 1.0, n)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    return (hi + ramp * (lo - hi)) ** rho


@option_ranges(sigma_min=greater_than(0), sigma_max=greater_than(0), rho=greater_than(0),
               sigma_data=greater_than(0), p_std=greater_than(0))
class EDM(Schedule):
    """Karras et al. 2022 ("EDM"): σ(t) = t, α = 1, so t *is* the noise level.

    Training: ln σ ~ N(P_mean, P_std²); loss weight λ(σ) = (σ² + σ_d²)/(σ σ_d)².
    Preconditioning D(x; σ) = c_skip x + c_out F(c_in x; c_noise) with
    c_skip = σ_d²/(σ²+σ_d²), c_out = σ σ_d/√(σ²+σ_d²), c_in = 1/√(σ²+σ_d²), c_noise = ¼ ln σ.
    """

    name = "edm"

    def __init__(self, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0,
                 sigma_data: float = 0.5, p_mean: float = -1.2, p_std: float = 1.2):
        self.sigma_min, self.sigma_max, self.rho = float(sigma_min), float(sigma_max), float(rho)
        self.sigma_data, self.p_mean, self.p_std = float(sigma_data), float(p_mean), float(p_std)
        self.t_min, self.t_max = self.sigma_min, self.sigma_max

    def alpha(self, t):
        return np.ones_like(_arr(t))

    def sigma(self, t):
        return _arr(t)

    def dsigma_dt(self, t):
        return np.ones_like(_arr(t))

    def sample_t(self, rng, n):
        """σ = exp(P_mean + P_std z), z ~ N(0, 1)."""
        return np.exp(self.p_mean + self.p_std * rng.standard_normal(n))

    def sampling_grid(self, n: int) -> np.ndarray:
        """The N-level Karras grid from σ_max to σ_min (see :func:`karras_sigmas`)."""
        return karras_sigmas(n, self.sigma_min, self.sigma_max, self.rho)

    def loss_weight(self, sigma):
        """λ(σ) = (σ² + σ_d²) / (σ σ_d)², which makes the effective target of F unit-variance."""
        sigma = _arr(sigma)
        return (sigma**2 + self.sigma_data**2) / (sigma * self.sigma_data) ** 2

    def preconditioning(self, sigma):
        """(c_skip, c_out, c_in, c_noise) of the class docstring (:func:`preconditioning`)."""
        return preconditioning(sigma, self.sigma_data)

    def precondition(self, raw_fn):
        """Wrap a raw network F(x_in, c_noise) into the denoiser D(x; σ) = c_skip x + c_out F(c_in x; c_noise)."""
        def denoise(x, sigma):
            c_skip, c_out, c_in, c_noise = self.preconditioning(sigma)
            return c_skip * x + c_out * raw_fn(c_in * x, c_noise)
        return denoise


def preconditioning(sigma, sigma_data: float, alpha=1.0):
    """(c_skip, c_out, c_in, c_noise) of EDM for data of standard deviation σ_d:

    c_skip = σ_d²/(σ² + σ_d²), c_out = σ σ_d/√(σ² + σ_d²), c_noise = ¼ ln σ, and the input scale
    c_in = 1/√(α² σ_d² + σ²), which gives the noisy input α x_0 + σ ε unit variance under any
    schedule (α = 1 is Karras et al.'s; c_skip and c_out assume α = 1)."""
    sigma = _arr(sigma)
    sd2 = sigma_data**2
    c_in = 1.0 / np.sqrt(alpha**2 * sd2 + sigma**2)
    return sd2 / (sigma**2 + sd2), sigma * sigma_data / np.sqrt(sigma**2 + sd2), c_in, 0.25 * np.log(sigma)


SCHEDULES = {cls.name: cls for cls in (VP, VE, EDM)}


def get_schedule(name: str, **params) -> Schedule:
    """Build the schedule registered under ``name`` ("vp", "ve", "edm") with its parameters."""
    try:
        cls = SCHEDULES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; known: {sorted(SCHEDULES)}") from None
    return cls(**params)
