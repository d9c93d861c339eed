"""Every sampler reproduces a known mixture: the probability-flow ODE (Euler, Heun on the EDM grid)
and the stochastic ones (ancestral DDPM on VP, annealed Langevin)."""
import numpy as np
import pytest

from generative_mixture import SAMPLERS, score, w2_ratio
from neurosim.generative import samplers as sp


@pytest.mark.parametrize("name", ["euler", "heun", "ancestral", "langevin"])
def test_sampler_reproduces_mixture(name):
    ratio = w2_ratio(SAMPLERS[name])
    print(f"{name}: W2 / floor = {ratio:.3f}")
    assert ratio <= 1.15


def test_samplers_deterministic_given_generator():
    for name in ("euler", "langevin"):
        draw = lambda: sp.annealed_langevin_sample(score, (50, 2), np.random.default_rng(7),
                                                   n_levels=3, n_steps_per_level=5) \
            if name == "langevin" else sp.euler_sample(score, (50, 2), np.random.default_rng(7))
        np.testing.assert_array_equal(draw(), draw())


