"""A denoising task over a whole noise schedule, with the noise level on its own port.

:class:`NoiseLevelTask` is a :class:`~neurosim.model.tasks.TaskSpec` whose examples are clean
images x₀ shown as x_σ = x₀ + σ ε on the noisy-image port, σ drawn per example, and e(u(σ)) on a
noise-level port (``generative/embedding.embed``), with

    ln σ ~ U(ln σ_min, ln σ_max),     u(σ) = ln(σ/σ_min) / ln(σ_max/σ_min) ∈ [0, 1].

Its target (the clean image on the estimate port) is nudged as in every task, so trained online
its estimate port's free equilibrium is D(x_σ; σ, c) — the denoiser the reverse process of
``experiments/lump_sampling.py`` needs (same σ ↦ u map: ``LumpPorts.sigma_range``).

The other condition blocks show their data fields as in :class:`TaskSpec`; the level block is a
condition block whose values do not come from a data field (its field, ``level``, is made here).
The held-out evaluation (:meth:`NoiseLevelTask.evaluated`) shows every example at one σ,
``eval_sigma``. :func:`noise_level_task` makes one from a ``[[tasks]]`` entry's ``noise_level`` table.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ..generative.embedding import embed
from ..model.tasks import TaskSpec


@dataclass(frozen=True)
class NoiseLevelTask(TaskSpec):
    noisy_block: str = ""
    level_block: str = ""
    sigma_min: float = 0.02
    sigma_max: float = 2.0
    embedding: str = "fourier"
    n_embed: int = 4
    fixed_sigma: float | None = None    # evaluation at one noise level (None: drawn per example)
    eval_sigma: float = 0.5             # the σ of the held-out evaluation

    def evaluated(self) -> "NoiseLevelTask":
        return replace(self, fixed_sigma=self.eval_sigma)

    def level_u(self, sigma) -> np.ndarray:
        """u(σ) of the module docstring, clipped to [0, 1]."""
        s = np.asarray(sigma, dtype=float)
        return np.clip(np.log(s / self.sigma_min) / np.log(self.sigma_max / self.sigma_min), 0.0, 1.0)

    def condition_values(self, data: dict, idx, rng: np.random.Generator) -> dict:
        """Block → (P, n): x₀ + σ ε on the noisy port, e(u(σ)) on the level port, the data fields
        elsewhere; one σ per example (ln-uniform), or ``fixed_sigma`` for every example."""
        out = {}
        for b, f in zip(self.condition, self.condition_fields):
            if b != self.level_block:
                out[b] = np.asarray(data[f][idx], dtype=float)
        n = len(out[self.noisy_block])
        if self.fixed_sigma is not None:
            sigma = np.full(n, float(self.fixed_sigma))
        else:
            sigma = np.exp(rng.uniform(np.log(self.sigma_min), np.log(self.sigma_max), size=n))
        out[self.noisy_block] = out[self.noisy_block] + sigma[:, None] * rng.standard_normal(out[self.noisy_block].shape)
        out[self.level_block] = embed(self.level_u(sigma), self.embedding, self.n_embed)
        return out


def noise_level_task(spec: TaskSpec, table: dict) -> NoiseLevelTask:
    """The :class:`NoiseLevelTask` of a ``[[tasks]]`` entry ``spec`` with a (validated)
    ``noise_level`` table: noisy and level blocks, [σ_min, σ_max], embedding, evaluation σ."""
    base = {f.name: getattr(spec, f.name) for f in fields(TaskSpec)}
    lo, hi = table["sigma"]
    return NoiseLevelTask(**base, noisy_block=table["noisy"], level_block=table["level"], sigma_min=float(lo),
                          sigma_max=float(hi), embedding=table["embedding"], n_embed=table["n_embed"],
                          eval_sigma=table["eval_sigma"])
