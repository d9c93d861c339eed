"""Sampling with the block network: every model call of a sampler relaxes the network (or runs its
feed-forward view), with classifier-free guidance and score composition on top.

The score of the α = 1 schedules (VE, EDM) is s = (D(x; σ) − x)/σ²
(:func:`~neurosim.generative.samplers.score_from_denoiser`); the VP score of the ancestral sampler
is (α x̂ − x)/σ², the score of N(α x̂, σ² I).
"""
from __future__ import annotations

import numpy as np

from ..generative import samplers as sa
from ..generative.objective import FLOW_OBJECTIVES, Objective

FLOW_SAMPLERS = sa.ODE_METHODS


def _guided(fn, guidance: float, cond):
    """f(x, u) with the condition ``cond``; (1 + w) f(·|c) − w f(·|∅) when w ≠ 0."""
    if cond is None or not guidance:
        return lambda x, u: fn(x, u, cond, "c")
    return sa.classifier_free_guidance(lambda x, u: fn(x, u, cond, "c"), lambda x, u: fn(x, u, None, "null"),
                                       guidance)


def sample(model, objective: Objective, n: int, dim: int, rng: np.random.Generator,
           sampler: str = "euler", steps: int = 100, cond=None, guidance: float = 0.0,
           compose=None, langevin: dict | None = None) -> np.ndarray:
    """n samples from ``model`` (a :class:`~neurosim.experiments.denoiser.NetworkDenoiser`).

    ``cond``: (n, c) condition rows (None: the null condition). ``compose``: a list of condition
    arrays whose scores are summed (score composition; needs a score-based objective).
    """
    model.reset()

    def fn(x, u, c, key):
        return model.predict(x, u, c, key=key)

    if objective.kind in FLOW_OBJECTIVES:
        if sampler not in FLOW_SAMPLERS:
            raise ValueError(f"flow objectives sample with 'euler' or 'heun', not {sampler!r}")
        vf = _guided(fn, guidance, cond)
        return sa.flow_sample(lambda x, t: vf(x, t), (n, dim), rng, n_steps=steps, method=sampler)
    s = objective.schedule
    conds = compose if compose is not None else [cond]

    def score_fn(x, sigma, alpha=1.0, t=None):
        total = 0.0
        for i, c in enumerate(conds):
            guided = _guided(lambda xx, uu, cc, key: fn(xx, uu, cc, f"{key}{i}"), guidance, c)
            if s.name == "vp":
                x0 = objective.x0_hat(lambda xi, _u: guided(xi, t), x, alpha, sigma)
                total = total + (alpha * x0 - x) / sigma ** 2
            else:
                denoise = lambda xx, ss: objective.x0_hat(guided, xx, 1.0, ss)  # noqa: E731
                total = total + sa.score_from_denoiser(denoise)(x, sigma)
        return total

    if sampler in FLOW_SAMPLERS:
        if s.name == "vp":
            raise ValueError("the EDM-grid ODE samplers need a VE or EDM schedule (α = 1); use 'ancestral' for VP")
        smin, smax = getattr(s, "sigma_min", 0.002), getattr(s, "sigma_max", 80.0)
        return sa.edm_sample(score_fn, (n, dim), rng, n_steps=steps, sigma_min=smin, sigma_max=smax,
                             method=sampler)
    if sampler == "ancestral":
        if s.name != "vp":
            raise ValueError("the ancestral sampler needs a VP schedule")
        return sa.ancestral_sample(lambda x, t: score_fn(x, float(s.sigma(t)), float(s.alpha(t)), t),
                                   (n, dim), rng, schedule=s, n_steps=steps)
    if sampler == "langevin":
        if s.name == "vp":
            raise ValueError("annealed Langevin needs a VE or EDM schedule (α = 1)")
        lg = langevin or {}
        return sa.annealed_langevin_sample(score_fn, (n, dim), rng, sigma_max=lg.get("sigma_max", 3.0),
                                           sigma_min=lg.get("sigma_min", 0.05), n_levels=lg.get("levels", 10),
                                           n_steps_per_level=steps, eps=lg.get("eps", 1.25e-3))
    raise ValueError(f"unknown sampler {sampler!r}")
