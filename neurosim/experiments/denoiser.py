"""The block network as the denoiser / velocity field (docs/generative-network.md).

Layout (docs/generative-network.md). One clamped **input block** holds three named fields side by
side, and a free **readout block** holds the estimate:

    input = [ x_t (d) | e(u) (n_embed) | c (n_cond) ]   (hard-clamped; identity activation)
    input → hidden … → out                              (out: identity, d units, nudged)

* x_t — the noisy sample (diffusion) or the point ψ_t on the flow path, scaled by c_in(σ) for DSM;
* e(u) — the noise-level / flow-time embedding of u ∈ [0, 1] (u = t for flows and VP/VE; the
  normalised log σ for EDM): ``fourier`` = [u, sin(πku), cos(πku)]_{k=1..K} (2K + 1 features) or
  ``onehot`` (K bins);
* c — the condition (a one-hot class, known pixels, …); the **null condition** is c = 0 (classifier-
  free guidance trains with c dropped to 0 at a rate p_uncond).

The three fields share one block because the layered view that ``bp_ff`` and ``pc`` need has one
clamped input (``estimators.layered_order``); the energy is the same as with three input blocks
joined to the first hidden block (a block's coupling to the next is ρ(x_in)ᵀW, row blocks of W).

The estimate is the readout's **free equilibrium** (or the feed-forward pass for ``bp_ff`` / ``pc``,
the rules that train the feed-forward view). Training a batch is one :class:`~neurosim.learning.
estimators.Problem` (inputs clamped, readout nudged toward the DSM/CFM target with ½‖·‖²), so any
estimator applies. Sampling: :meth:`NetworkDenoiser.predict` relaxes the network with the new x_t
clamped, warm-started from the previous step's state (the sampler's steps are sequences of events
on the same graph).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..build import compiled_for
from ..engine.simulator import Simulator
from ..generative.embedding import embed, embed_dim
from ..learning.nudging import RelaxConfig
from ..model.network import Network, Params
from .readout import relax_clamped

# -- the network ---------------------------------------------------------------------------------
def denoiser_network(data_dim: int, hidden=(64, 64), activation: str = "hard_sigmoid",
                     embedding: str = "fourier", n_embed: int = 8, cond_dim: int = 0,
                     gain: float = 1.0, input_block: str = "input", output_block: str = "out",
                     hidden_bias: float = 0.0) -> Network:
    """The chain input → h1 → … → out with the input layout of the module doc."""
    net = Network()
    net.add_block(input_block, data_dim + embed_dim(embedding, n_embed) + cond_dim, "identity")
    prev = input_block
    for i, n in enumerate(hidden):
        name = f"h{i + 1}"
        net.add_block(name, int(n), activation, bias=hidden_bias)
        net.add_projection(prev, name, gain=gain)
        prev = name
    net.add_block(output_block, data_dim, "identity")
    net.add_projection(prev, output_block, gain=gain)
    return net


@dataclass
class NetworkDenoiser:
    """A block network whose readout equilibrium is a denoising / velocity estimate.

    ``view``: ``"relax"`` (the free equilibrium on the scheduler) or ``"ff"`` (the feed-forward pass;
    used for rules that train it, ``estimator_class(rule).view == "ff"``).
    """

    net: Network
    params: Params
    data_dim: int
    embedding: str = "fourier"
    n_embed: int = 8
    cond_dim: int = 0
    input_block: str = "input"
    output_block: str = "out"
    #: how the network relaxes for an estimate and for training (the estimators' one config)
    relax: RelaxConfig = field(default_factory=lambda: RelaxConfig(dt=1.0, free_duration=30.0,
                                                                   nudged_duration=10.0, tol=None))
    warm_duration: float | None = None   # relaxation per sampler step when warm-started
    view: str = "relax"
    seed: int = 0
    _compiled: dict = field(default_factory=dict, repr=False)
    _layers: list | None = field(default=None, repr=False)
    _sims: dict = field(default_factory=dict, repr=False)
    n_relaxations: int = 0

    def __post_init__(self):
        n_in = self.net.block(self.input_block).size
        want = self.data_dim + embed_dim(self.embedding, self.n_embed) + self.cond_dim
        if n_in != want:
            raise ValueError(f"input block {self.input_block!r} has {n_in} units; the layout needs "
                             f"{want} = {self.data_dim} (x) + {embed_dim(self.embedding, self.n_embed)} "
                             f"({self.embedding} embedding, n = {self.n_embed}) + {self.cond_dim} (condition)")
        if self.net.block(self.output_block).size != self.data_dim:
            raise ValueError(f"readout block {self.output_block!r} must have {self.data_dim} units")

    # -- inputs ---------------------------------------------------------------------------------
    def inputs(self, x, u, cond=None) -> np.ndarray:
        """The clamped input rows [x | e(u) | c] (c = 0, the null condition, when None)."""
        x = np.asarray(x, dtype=np.float64)
        p = x.shape[0]
        parts = [x, embed(u, self.embedding, self.n_embed, p)]
        if self.cond_dim:
            c = np.zeros((p, self.cond_dim)) if cond is None else np.broadcast_to(
                np.asarray(cond, dtype=np.float64), (p, self.cond_dim))
            parts.append(c)
        return np.concatenate(parts, axis=1)

    def compiled(self, p: int):
        return compiled_for(self._compiled, self.net, self.params, p)

    def layers(self) -> list[str]:
        if self._layers is None:
            from ..learning.estimators import layered_order
            self._layers = layered_order(self.net, {self.input_block: None}, self.output_block)
        return self._layers

    # -- training -------------------------------------------------------------------------------
    def problem(self, x, u, cond, target, seed: int = 0):
        """The supervised Problem: input clamped, readout nudged toward ``target`` (½‖·‖²)."""
        from ..learning.estimators import Problem
        inp = self.inputs(x, u, cond)
        return Problem(compiled=self.compiled(inp.shape[0]), clamped={self.input_block: inp},
                       out=self.output_block, target=np.asarray(target, dtype=np.float64), cost="mse",
                       relax=replace(self.relax, seed=int(seed)))

    # -- inference ------------------------------------------------------------------------------
    def predict(self, x, u, cond=None, key=None, warm: bool = True) -> np.ndarray:
        """The readout's estimate for inputs (x, u, c): feed-forward pass or free equilibrium.

        Relaxation is warm-started from the last state of the simulator kept under (``key``, P)
        (one per stream of calls, e.g. the conditional and the null-condition calls of guidance):
        the first call relaxes for ``free_duration``, later ones for ``warm_duration``."""
        inp = self.inputs(x, u, cond)
        p = inp.shape[0]
        if self.view == "ff":
            from ..learning.reference import feedforward_forward
            return feedforward_forward(self.net, self.params, inp, self.layers())[self.output_block]
        sim = self._sims.get((key, p)) if warm else None
        duration = self.relax.free_duration
        if sim is None:
            sim = Simulator(self.compiled(p), scheduler=self.relax.scheduler, dt=self.relax.dt,
                            integrator=self.relax.integrator, seed=np.random.SeedSequence([self.seed, p]))
            if warm:
                self._sims[(key, p)] = sim
        elif self.warm_duration:
            duration = self.warm_duration
        # a fixed duration per call: the sampler's steps take the same time whatever the residual
        relax_clamped(sim, {self.input_block: inp}, replace(self.relax, tol=None), duration)
        self.n_relaxations += 1
        return sim.state(self.output_block).copy()

    def reset(self):
        """Forget warm-start states (call after the parameters change)."""
        self._sims.clear()
