"""Training targets: denoising score matching in four parametrisations, conditional flow
matching (independent and minibatch-OT pairing), and spike noise.

Notation (docs/generative.md): x_t = α x_0 + σ ε, ε ~ N(0, I). The four things a denoiser can predict
for a given x_t, and how each is tied to the denoised estimate x̂ (the hub of every conversion):

==========  ===========================  ========================================================
kind        definition                   from x̂
==========  ===========================  ========================================================
"x0"        x̂ ≈ E[x_0 | x_t]             x̂
"eps"       ε̂ ≈ E[ε | x_t]               ε̂ = (x_t − α x̂)/σ
"score"     s = ∇ log p_t(x_t) = −ε̂/σ    s = −(x_t − α x̂)/σ²
"velocity"  v = α ε − σ x_0              v = α ε̂ − σ x̂       (VP v-prediction, Salimans & Ho 2022)
==========  ===========================  ========================================================

An error Δx̂ in x̂ is an error c·Δx̂ in the other kinds, with c = 1, α/σ, α/σ², (α² + σ²)/σ.
"""
from __future__ import annotations

import numpy as np

KINDS = ("x0", "eps", "score", "velocity")


def _col(a, like):
    """Broadcast a per-sample scalar (n,) against an (n, d) batch."""
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape + (1,) * (np.ndim(like) - a.ndim)) if a.ndim else a


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown prediction kind {kind!r}; known: {KINDS}")


def to_x0(pred, kind, x_t, alpha, sigma):
    """x̂ from any prediction: x̂ = pred ("x0"); (x_t − σ ε̂)/α ("eps"); (x_t + σ² s)/α ("score");
    (α x_t − σ v)/(α² + σ²) ("velocity")."""
    _check_kind(kind)
    a, s = _col(alpha, x_t), _col(sigma, x_t)
    if kind == "x0":
        return pred
    if kind == "eps":
        return (x_t - s * pred) / a
    if kind == "score":
        return (x_t + s**2 * pred) / a
    return (a * x_t - s * pred) / (a**2 + s**2)


def from_x0(x0_hat, kind, x_t, alpha, sigma):
    """Any prediction from x̂: ε̂ = (x_t − α x̂)/σ, s = −ε̂/σ, v = α ε̂ − σ x̂."""
    _check_kind(kind)
    a, s = _col(alpha, x_t), _col(sigma, x_t)
    if kind == "x0":
        return x0_hat
    eps = (x_t - a * x0_hat) / s
    if kind == "eps":
        return eps
    if kind == "score":
        return -eps / s
    return a * eps - s * x0_hat


def convert_prediction(pred, kind_from, kind_to, x_t, alpha, sigma):
    """Re-express a prediction of kind ``kind_from`` for the noisy x_t = α x_0 + σ ε as ``kind_to``
    (via x̂; see module table). ``alpha``, ``sigma`` are scalars or per-sample (n,) arrays."""
    if kind_from == kind_to:
        _check_kind(kind_from)
        return pred
    return from_x0(to_x0(pred, kind_from, x_t, alpha, sigma), kind_to, x_t, alpha, sigma)


def error_scale(kind, alpha, sigma):
    """c with Δ(kind) = c Δx̂ at fixed x_t: 1, α/σ, α/σ², (α² + σ²)/σ."""
    _check_kind(kind)
    alpha, sigma = np.asarray(alpha, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    return {"x0": np.ones_like(sigma), "eps": alpha / sigma, "score": alpha / sigma**2,
            "velocity": (alpha**2 + sigma**2) / sigma}[kind]


def loss_weight(weighting, kind, alpha, sigma, sigma_data=0.5):
    """Per-sample weight of ‖pred − target‖² in the parametrisation ``kind``.

    "uniform": 1 in the target's own space (e.g. the simple DDPM loss for kind="eps").
    "snr":     x̂-space weight α²/σ² (= uniform ε-loss; Kingma et al. 2021), divided by c².
    "edm":     x̂-space weight (σ̄² + σ_d²)/(σ̄ σ_d)² with σ̄ = σ/α the EDM noise level, divided by c².
    Dividing by c² (see :func:`error_scale`) makes "snr"/"edm" the same loss whatever ``kind`` is.
    """
    alpha, sigma = np.asarray(alpha, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    if weighting == "uniform":
        return np.ones_like(sigma)
    if weighting == "snr":
        w_x0 = alpha**2 / sigma**2
    elif weighting == "edm":
        s_bar = sigma / alpha
        w_x0 = (s_bar**2 + sigma_data**2) / (s_bar * sigma_data) ** 2
    else:
        raise ValueError(f"unknown weighting {weighting!r}")
    return w_x0 / error_scale(kind, alpha, sigma) ** 2


def make_dsm_batch(x0, schedule, rng: np.random.Generator, target: str = "eps",
                   weighting: str = "uniform"):
    """One denoising-score-matching minibatch.

    t ~ schedule.sample_t, ε ~ N(0, I), x_t = α_t x_0 + σ_t ε; the target is x_0, ε,
    −ε/σ_t (the DSM target ∇ log N(x_t; α x_0, σ² I)), or α ε − σ x_0.
    Returns (x_t, t, target, weight); for the EDM schedule t is σ itself.
    Minimising mean(weight · ‖model(x_t, t) − target‖²) is J_DSM up to the weighting.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    t = schedule.sample_t(rng, len(x0))
    alpha, sigma = schedule.alpha(t), schedule.sigma(t)
    eps = rng.standard_normal(x0.shape)
    x_t = _col(alpha, x0) * x0 + _col(sigma, x0) * eps
    target_value = from_x0(x0, target, x_t, alpha, sigma) if target != "eps" else eps
    weight = loss_weight(weighting, target, alpha, sigma,
                         getattr(schedule, "sigma_data", 0.5))
    return x_t, t, target_value, weight


def icfm_batch(x0, x1, rng: np.random.Generator, sigma_min: float = 0.0):
    """Conditional flow matching minibatch (Lipman et al. 2022; I-CFM pairing as given).

    t ~ U(0, 1), ψ_t = t x_1 + (1 − (1 − σ_min) t) x_0, target u = x_1 − (1 − σ_min) x_0 = dψ_t/dt.
    x_0 are prior samples, x_1 data samples, paired row by row. Returns (ψ_t, t, u).
    """
    x0, x1 = np.asarray(x0, dtype=np.float64), np.asarray(x1, dtype=np.float64)
    t = rng.uniform(0.0, 1.0, size=len(x0))
    tc = _col(t, x0)
    psi = tc * x1 + (1.0 - (1.0 - sigma_min) * tc) * x0
    return psi, t, x1 - (1.0 - sigma_min) * x0


def otcfm_batch(x0, x1, rng: np.random.Generator, sigma_min: float = 0.0):
    """OT-CFM (Tong et al. 2023): re-pair the minibatch by the exact assignment
    π = argmin Σ_i ‖x0_i − x1_π(i)‖², then :func:`icfm_batch` on (x0, x1[π])."""
    from neurosim.metrics import ot_assignment  # scipy.optimize: imported when a batch needs it
    x1 = np.asarray(x1, dtype=np.float64)
    return icfm_batch(x0, x1[ot_assignment(x0, x1)], rng, sigma_min)


def spike_corrupt(x_prob, rng: np.random.Generator) -> np.ndarray:
    """Spike noise: x' ~ Bernoulli(x) elementwise for an activation x ∈ [0, 1] (float 0/1).
    E[x' | x] = x, so the continuous activation is the clean target of its spiked version."""
    x_prob = np.asarray(x_prob, dtype=np.float64)
    if np.any((x_prob < 0) | (x_prob > 1)):
        raise ValueError("spike probabilities must lie in [0, 1]")
    return (rng.random(x_prob.shape) < x_prob).astype(np.float64)
