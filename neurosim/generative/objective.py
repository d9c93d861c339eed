"""The objective a generative run trains the network on: noisy inputs, the noise level u fed to the
embedding, and the readout's target — one path for training and for the tests.

* flows (``icfm``, ``otcfm``): x_0 ~ N(0, I) paired with the data x_1, the input is ψ_t and the
  target the velocity (:func:`~neurosim.generative.objectives.icfm_batch`, ``otcfm_batch``);
* ``dsm``: :func:`~neurosim.generative.objectives.make_dsm_batch` draws t, ε and x_t = α x_0 + σ ε;
  the input is c_in x_t (:func:`~neurosim.generative.schedules.preconditioning`) and the target is
  the parametrisation's (x_0, ε, score, velocity) or, for ``edm``, the target of Karras et al.'s
  raw network F: (x_0 − c_skip x_t)/c_out, so that D = c_skip x_t + c_out F.

u ∈ [0, 1]: flow time t, VP time t, or the normalised ln σ between the schedule's σ_min and σ_max.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import objectives as ob
from .schedules import get_schedule, preconditioning

FLOW_OBJECTIVES = ("icfm", "otcfm")
OBJECTIVES = FLOW_OBJECTIVES + ("dsm",)
#: what the readout estimates under dsm: a prediction kind, or Karras et al.'s preconditioned F
PARAMETRISATIONS = ob.KINDS + ("edm",)


@dataclass
class Objective:
    kind: str                   # icfm | otcfm | dsm
    schedule: object = None
    parametrisation: str = "eps"
    sigma_min: float = 0.0
    sigma_data: float = 0.5

    @classmethod
    def from_spec(cls, g: dict):
        sched = get_schedule(g["schedule"], **g["schedule_options"]) if g["objective"] == "dsm" else None
        return cls(g["objective"], sched, g["parametrisation"], g["sigma_min"], g["sigma_data"])

    # noise level → u ∈ [0, 1] for the embedding
    def u_of_sigma(self, sigma):
        s = self.schedule
        lo, hi = np.log(getattr(s, "sigma_min", 0.002)), np.log(getattr(s, "sigma_max", 80.0))
        return np.clip((np.log(np.maximum(sigma, 1e-12)) - lo) / (hi - lo), 0.0, 1.0)

    def u_of_t(self, t):
        if self.kind != "dsm" or self.schedule.name == "vp":
            return np.asarray(t, float)
        return self.u_of_sigma(np.asarray(t, float) if self.schedule.name == "edm" else self.schedule.sigma(t))

    def batch(self, x1, rng):
        """(network x input, u, target) for clean samples ``x1``."""
        if self.kind in FLOW_OBJECTIVES:
            x0 = rng.standard_normal(x1.shape)
            fn = ob.otcfm_batch if self.kind == "otcfm" else ob.icfm_batch
            return fn(x0, x1, rng, sigma_min=self.sigma_min)
        s = self.schedule
        edm = self.parametrisation == "edm"
        xt, t, target, _ = ob.make_dsm_batch(x1, s, rng, target="x0" if edm else self.parametrisation)
        alpha, sigma = s.alpha(t)[:, None], s.sigma(t)[:, None]
        c_skip, c_out, c_in, _ = preconditioning(sigma, self.sigma_data, alpha)
        if edm:
            target = (target - c_skip * xt) / c_out
        return c_in * xt, self.u_of_t(t), target

    # -- model calls for the samplers -----------------------------------------------------------
    def x0_hat(self, model_fn, x, alpha, sigma):
        """x̂ from the network's output at the noisy point x (α, σ scalars): D(x; σ) =
        c_skip x + c_out F(c_in x) for ``edm``, else the prediction converted to x̂."""
        c_skip, c_out, c_in, _ = preconditioning(sigma, self.sigma_data, alpha)
        out = model_fn(c_in * x, self.u_of_sigma(sigma) if self.schedule.name != "vp" else None)
        if self.parametrisation == "edm":
            return c_skip * x + c_out * out
        return ob.to_x0(out, self.parametrisation, x, alpha, sigma)
