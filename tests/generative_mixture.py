"""Shared oracle for the sampler tests: a 2-D Gaussian mixture with analytic smoothed scores,
the samplers under test, and the W2-to-floor ratio they are judged by."""
import functools

import numpy as np

from neurosim.data.toy2d import gaussian_mixture, gaussian_mixture_score
from neurosim.generative import samplers as sp
from neurosim.generative.schedules import VP
from neurosim.metrics import w2

# 4 modes at radius 1.5, stds 0.4–0.5, unequal weights: overlapping enough that the W2 floor at
# n = 2000 is stable across seeds (≈ 0.12 ± 0.01), separated enough that mode weights matter.
MEANS = 1.5 * np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
STDS = np.array([0.4, 0.4, 0.5, 0.45])
WEIGHTS = np.array([0.3, 0.3, 0.2, 0.2])
N, SEEDS, FLOOR_PAIRS = 2000, (0, 1, 2, 3, 4), 10
VP_SCHEDULE = VP()


def data(n, rng):
    return gaussian_mixture(n, rng, MEANS, STDS, WEIGHTS)


def score(x, sigma):
    return gaussian_mixture_score(x, MEANS, STDS, WEIGHTS, sigma=sigma)


def vp_score(x, t):
    """Score of α_t x_0 + σ_t ε: means α μ_k, variances α² s_k² + σ²."""
    return gaussian_mixture_score(x, MEANS, STDS, WEIGHTS, sigma=VP_SCHEDULE.sigma(t),
                                  alpha=VP_SCHEDULE.alpha(t))


SAMPLERS = {
    "ancestral": lambda rng: sp.ancestral_sample(vp_score, (N, 2), rng, VP_SCHEDULE, n_steps=500),
    "euler": lambda rng: sp.euler_sample(score, (N, 2), rng, n_steps=200),
    "heun": lambda rng: sp.heun_sample(score, (N, 2), rng, n_steps=50),
    "langevin": lambda rng: sp.annealed_langevin_sample(
        score, (N, 2), rng, sigma_max=5.0, sigma_min=0.1, n_levels=15, n_steps_per_level=100,
        eps=5e-3),
}


@functools.lru_cache(maxsize=1)
def references_and_floor():
    """FLOOR_PAIRS fresh reference samples, and the floor: the mean over them of W2 to an
    independent exact sample of the same size."""
    refs = [data(N, np.random.default_rng(1000 + s)) for s in range(FLOOR_PAIRS)]
    floor = np.mean([w2(data(N, np.random.default_rng(2000 + s)), r) for s, r in enumerate(refs)])
    return refs, floor


def w2_ratio(draw, seeds=SEEDS):
    """mean over seeds of W2(draw(Generator(seed)), reference[seed]) / floor."""
    refs, floor = references_and_floor()
    return np.mean([w2(draw(np.random.default_rng(s)), refs[s]) for s in seeds]) / floor
