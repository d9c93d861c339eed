"""Nudged tasks: λ schedules, phases, and the relaxation machinery every estimator shares.

A *nudged task* pulls a readout block toward a target with F = E + λ(t) C(x_out, y), C the
squared error ½‖x − y‖² (``mse``) or the softmax cross-entropy −yᵀ log softmax(x) (``ce``).
The estimators of :mod:`neurosim.learning.estimators` differ only in the λ they apply and in how
they combine the local products ∂E/∂θ observed at each phase:

* **phases** (relax to a fixed point at a constant λ, possibly complex; or hard-clamp the readout
  to the target, ``Phase(clamp=True)``): a contrast Σ_k c_k ∂E/∂θ(x_{λ_k}) + c_0 ∂E/∂θ(x_0);
  :func:`one_sided`, :func:`symmetric`, :func:`random_sign`, :func:`circle` return the (λ_k, c_k);
* **continuous** schedules (λ(t) = |β| e^{iωt} rotating, or β cos ωt) with online demodulation of
  ∂E/∂θ(x(t)) against the broadcast reference (:class:`Demodulator`).

The local products (:func:`energy_param_grads`) per parameter, averaged over the P particles:

    ∂E/∂W_ab = −ρ(x_a)ᵀ ρ(x_b) / P        ∂E/∂b_b = −Σ_p ρ(x_b,p) / P  (0 for clamped blocks)
    ∂E/∂K_m  = −x_mᵀ softmax(β K_mᵀ x_m) / P

Each one reads only the pre/post activity of its own projection (or block).

Relaxation: :class:`PhaseRunner` holds one :class:`~neurosim.engine.simulator.Simulator` with the
input blocks hard-clamped (taken from the compiled network's pool and reset, so a training run
re-binds one simulator per batch instead of building one), runs a phase for at most its duration
and stops early once the stationarity residual max|Π(x + g) − x| (g = −∂F/∂x) falls below
``RelaxConfig.tol``. For real states without memories, :meth:`PhaseRunner.contrast` keeps each
phase's ρ buffer and forms the whole contrast with one call of
:func:`~neurosim.learning.products.contrast_products`; its real nudged phases (symmetric EP's
±β) relax together, as K groups of one K·P-particle simulator from the same free state
(:mod:`neurosim.engine.groups`: each group is nudged with its own λ and stops on its own residual,
so the gradient is the sequential one to rounding).

With ``integrator = "discrete"`` (the public EP code's x ← ρ(h) iteration, see
:mod:`neurosim.engine.drive`) the couplings and the products read the states themselves:
∂E/∂W_ab = −x_aᵀ x_b / P, ∂E/∂b_b = −Σ_p x_b,p / P.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..build import Compiled
from ..engine.groups import rows_of, spread
from ..engine.simulator import acquire_simulator, release_simulator
from ..model import energy as en
from ..model.activations import HOLOMORPHIC
from ..model.network import Params
from .products import contrast_products, to_params


@dataclass
class RelaxConfig:
    """How every phase relaxes. Durations are simulated time (units of τ); ``tol`` (if set) ends
    a phase early once the stationarity residual is below it, checked every ``check_every``."""

    scheduler: str = "sync"
    dt: float = 0.5
    integrator: str = "euler"
    free_duration: float = 200.0
    nudged_duration: float = 200.0
    seed: int = 0
    tol: float | None = 1e-11
    check_every: float = 5.0
    #: record the residual at the end of every phase without ``tol`` (one more drive pass)
    residuals: bool = True


@dataclass(frozen=True)
class Phase:
    """One nudged phase: relax at constant λ = ``lam`` (complex allowed), or hard-clamp the
    readout to the target (``clamp``, the CHL "clamped" phase)."""

    lam: complex = 0.0
    clamp: bool = False


# -- phase schedules: lists of (phase, coefficient c_k) ----------------------------------------
def one_sided(beta: float):
    """EP, one-sided: ĝ = (1/β)(∂E/∂θ(x_β) − ∂E/∂θ(x_0)); bias O(β)."""
    return [(Phase(beta), 1.0 / beta)], -1.0 / beta


def symmetric(beta: float):
    """EP, symmetric: ĝ = (∂E/∂θ(x_β) − ∂E/∂θ(x_−β)) / 2β; bias O(β²)."""
    return [(Phase(beta), 0.5 / beta), (Phase(-beta), -0.5 / beta)], 0.0


def random_sign(beta: float, rng: np.random.Generator):
    """One-sided EP with β's sign drawn ±1 at random each call: unbiased to O(β²) on average."""
    return one_sided(beta * (1.0 if rng.random() < 0.5 else -1.0))


def circle(beta: float, n: int):
    """Holomorphic EP: N points β_k = |β| e^{2πik/N};  ĝ = Re (1/(N|β|)) Σ_k ∂E/∂θ(x_{β_k}) e^{−2πik/N}.

    The constant term c_0 = −Σ_k c_k subtracts the free phase: it vanishes for N ≥ 2 and makes
    N = 1 the one-sided estimate (and N = 2 the symmetric one). Error O(|β|^N).
    """
    r = abs(beta)
    ks = np.arange(n)
    zs = np.exp(2j * np.pi * ks / n)
    phases = [(Phase(complex(r * z) if n > 2 else float((r * z).real)), complex(1.0 / (n * r * z)))
              for z in zs]
    return phases, -sum(c for _, c in phases)


def clamped_phase():
    """CHL: ĝ = ∂E/∂θ(x_clamped) − ∂E/∂θ(x_0) (readout clamped to the target)."""
    return [(Phase(clamp=True), 1.0)], -1.0


# -- local products ------------------------------------------------------------------------------
def energy_param_grads(compiled: Compiled, states: dict, clamped_blocks, couple_states: bool = False
                       ) -> Params:
    """∂E/∂θ at ``states`` (block → (P, n), real or complex), averaged over particles (see module
    doc); ``couple_states``: the discrete iteration's products of the states themselves."""
    net = compiled.net
    g = Params()
    p = next(iter(states.values())).shape[0]
    r = {b.name: (states[b.name] if couple_states else en.rho(b.activation, states[b.name]))
         for b in net.blocks}
    for proj in net.projections:
        g.weights[proj.name] = -(r[proj.pre].T @ r[proj.post]) / p
    for b in net.blocks:
        g.biases[b.name] = (np.zeros(b.size, dtype=r[b.name].dtype) if b.name in clamped_blocks
                            else -r[b.name].mean(axis=0))
    for name, mem in net.memories.items():
        k = compiled.memory(name).real.astype(np.float64)
        x = states[name]
        z = mem.beta * (x @ k)
        z = np.exp(z - z.real.max(axis=1, keepdims=True))
        g.memories[name] = -(x.T @ (z / z.sum(axis=1, keepdims=True))) / p
    return g


def combine(terms) -> Params:
    """Σ c·g over (c, g: Params); keeps complex values (take :func:`real_part` at the end)."""
    out = None
    for c, g in terms:
        out = g.scale(c) if out is None else out + g.scale(c)
    return out


def real_part(g: Params) -> Params:
    """Re g as float64 (:meth:`Params.real`)."""
    return g.real()


# -- relaxation ----------------------------------------------------------------------------------
_COMPLEX_TWINS: dict = {}


def complex_twin(compiled: Compiled) -> Compiled:
    """A complex128 copy of ``compiled`` (cached per compiled object), loaded with its current params."""
    key = id(compiled)
    twin = _COMPLEX_TWINS.get(key)
    if twin is None or twin[0] is not compiled:
        _COMPLEX_TWINS.clear()
        twin = (compiled, compiled.with_dtype(np.complex128))
        _COMPLEX_TWINS[key] = twin
    else:
        twin[1].load_params(compiled.params())
    return twin[1]


def require_holomorphic(compiled: Compiled, estimator: str) -> None:
    bad = sorted({b.name for b in compiled.net.blocks if b.activation not in HOLOMORPHIC})
    if bad:
        raise ValueError(f"{estimator} needs complex states and holomorphic activations; blocks {bad} "
                         f"use {sorted({compiled.net.block(b).activation for b in bad})} "
                         f"(use one of {sorted(HOLOMORPHIC)})")


class PhaseRunner:
    """One simulator for a problem: inputs hard-clamped, free phase, then nudged phases.

    ``complex_states`` builds it on the complex128 twin (needed for complex λ). :meth:`release`
    hands the simulator back to the compiled network's pool (the estimators do once done).
    """

    #: relax a contrast's real nudged phases together as particle groups (:mod:`neurosim.engine.groups`)
    #: when the scheduler allows it; False: one phase after the other (the same gradient)
    batch_phases = True

    def __init__(self, problem, complex_states: bool = False):
        self.problem = problem
        self.relax = problem.relax
        c = complex_twin(problem.compiled) if complex_states else problem.compiled
        self.compiled = c
        r = self.relax
        self.sim = acquire_simulator(c, r.scheduler, r.dt, r.integrator, r.seed)
        for block, values in problem.clamped.items():
            self.sim.clamp(block, values)
        # the weights stay fixed while a runner lives: the clamped inputs' drive is computed
        # once for all its phases (a clamp of the readout, CHL, recomputes it)
        self.sim.keep_static_drive = True
        if problem.init_state:
            for block, values in problem.init_state.items():
                if block not in problem.clamped:
                    self.sim.set_state(block, values)
        self.out = problem.out
        self.residuals: list[float] = []
        # the one-call contrast needs real products of ρ (or of x) only: no memories
        self._flat = (not np.issubdtype(c.dtype, np.complexfloating)) and not c.net.memories

    def release(self) -> None:
        """Return the simulator to the pool; the runner is unusable afterwards."""
        if self.sim is not None:
            release_simulator(self.sim)
            self.sim = None

    # -- measurements ---------------------------------------------------------------------------
    def residual(self) -> float:
        """max over free units of |Π(x + g) − x| at the current time (``Simulator.residual``)."""
        return self.sim.residual()

    def states(self) -> dict:
        return self.sim.states()

    def param_grads(self, states=None) -> Params:
        return energy_param_grads(self.compiled, self.states() if states is None else states,
                                  self.problem.clamped, couple_states=self.sim.discrete)

    # -- phases ---------------------------------------------------------------------------------
    def run_to_fixed_point(self, duration: float, guard=None, every_step: bool = True) -> float | None:
        """Relax for at most ``duration``; stop once the residual ≤ tol. Returns the residual
        (None when neither ``tol`` nor ``RelaxConfig.residuals`` asks for it).

        ``guard`` (an :class:`~neurosim.learning.analytic.AnalyticGuard`) checks the states after
        every step (``every_step``) or at the end of every check interval."""
        if guard is None:
            res = self.sim.relax(duration, self.relax.tol, self.relax.check_every,
                                 residual=self.relax.residuals)
        else:
            res = guard.relax(self.sim, duration, self.relax.tol, self.relax.check_every, every_step)
        if res is not None:
            self.residuals.append(res)
        return res

    def free(self) -> dict:
        """Free phase (λ = 0) from the initial state; returns the free fixed point."""
        self.sim.clear_nudge(self.out)
        self.run_to_fixed_point(self.relax.free_duration)
        self.free_state = self.states()
        self._free_x, self._free_r = self.sim.x.copy(), self.sim.r.copy()
        return self.free_state

    def set_state(self, states: dict) -> None:
        if states is getattr(self, "free_state", None):
            # the free fixed point as the buffers held it (clamped blocks are the same)
            self.sim.x[...], self.sim.r[...] = self._free_x, self._free_r
            return
        for b in self.compiled.names:
            if self.sim.free[self.compiled.index(b)]:
                self.sim.set_state(b, states[b])

    def _relax_nudged(self, phase: Phase, guard=None) -> None:
        p = self.problem
        self.set_state(self.free_state)
        if phase.clamp:
            self.sim.clear_nudge(p.out)
            self.sim.clamp(p.out, p.target)
            try:
                self.run_to_fixed_point(self.relax.nudged_duration)
            finally:
                self.sim.unclamp(p.out)
            return
        self.sim.nudge(p.out, p.target, phase.lam, cost=p.cost)
        try:
            self.run_to_fixed_point(self.relax.nudged_duration, guard,
                                    every_step=complex(phase.lam).imag != 0)
        finally:
            self.sim.clear_nudge(p.out)

    def nudged(self, phase: Phase, guard=None) -> dict:
        """From the free fixed point, relax under ``phase``; returns the nudged fixed point.
        A ``guard`` watches a complex λ's phase after every step, a real one at its end (its
        states stay real, only non-finite values can occur)."""
        self._relax_nudged(phase, guard)
        return self.states()

    def _groupable(self, phases, guard) -> bool:
        """Whether the phases can relax as particle groups of one simulator: two or more real
        constant nudges, no clamped readout, no guard (it checks a phase's own states), and the
        relaxation kernel's scheduler (sync or alternating, nothing recorded)."""
        return (self.batch_phases and guard is None and len(phases) > 1
                and all(not ph.clamp and complex(ph.lam).imag == 0 for ph, _ in phases)
                and self.sim.relaxes_in_kernel())

    def _relax_grouped(self, phases, rs) -> None:
        """rs[k] ← ρ buffer at phase k's nudged fixed point, all K phases relaxed at once from
        the free fixed point: group k of a K·P-particle simulator is nudged with λ_k (the nudge's
        per-particle scale) and stops on its own residual, so each group ends where the phase
        relaxed alone would (:mod:`neurosim.engine.groups`)."""
        p, k = self.problem, len(phases)
        sim = spread(self.sim, k, self._free_x, self._free_r)
        try:
            sim.nudge(p.out, np.tile(np.asarray(p.target), (k, 1)), 1.0, cost=p.cost)
            sim.scale_nudge(np.repeat([complex(ph.lam).real for ph, _ in phases],
                                      self.compiled.n_particles))
            res = sim.relax(self.relax.nudged_duration, self.relax.tol, self.relax.check_every,
                            residual=self.relax.residuals, groups=k)
            if res is not None:
                self.residuals.extend(float(v) for v in sim.group_residuals)
            for q in range(k):
                rows_of(self.compiled, sim.r, k, q, rs[q])
        finally:
            release_simulator(sim)

    def contrast(self, phases, c0, guard=None) -> Params:
        """Re[ Σ_k c_k ∂E/∂θ(x_{λ_k}) + c_0 ∂E/∂θ(x_0) ] over the given phases (free phase first)."""
        coefs = [complex(c) for _, c in phases] + ([complex(c0)] if c0 != 0 else [])
        if not self._flat or any(c.imag != 0 for c in coefs):
            terms = [(c, self.param_grads(self.nudged(ph, guard))) for ph, c in phases]
            if c0 != 0:
                terms.append((c0, self.param_grads(self.free_state)))
            return real_part(combine(terms))
        rs = np.empty((len(coefs), self.sim.r.size), dtype=self.sim.r.dtype)
        if self._groupable(phases, guard):
            self._relax_grouped(phases, rs)
        else:
            for q, (ph, _) in enumerate(phases):
                self._relax_nudged(ph, guard)
                rs[q] = self.sim.r
        if c0 != 0:
            rs[-1] = self._free_r
        c = self.compiled
        gw, gb = np.empty_like(c.w), np.empty_like(c.bias)
        cp = np.array([z.real for z in coefs], dtype=np.float64) / c.n_particles
        contrast_products(self.sim.topo, rs, cp.astype(c.dtype), self.sim.free, gw, gb)
        return to_params(c, gw, gb)


@dataclass
class Demodulator:
    """Online lock-in: accumulates ∫ g(t) r(t) dt for a reference r(t), per parameter.

    ``reference(t)`` is the broadcast signal (e^{−iωt} for hEP, cos ωt for baseline_hebb); each
    accumulator holds one complex array per parameter. ``mean`` (optional exponential running
    average with time constant ``tau_avg``) is the baseline H̄ that ``baseline_hebb`` subtracts.
    """

    reference: object
    tau_avg: float | None = None
    acc: Params | None = None
    mean: Params | None = None
    time: float = 0.0

    def add(self, g: Params, t: float, dt: float) -> None:
        if self.tau_avg is not None:
            if self.mean is None:
                self.mean = combine([(1.0, g)])
            else:
                a = min(dt / self.tau_avg, 1.0)
                self.mean = combine([(1.0 - a, self.mean), (a, g)])
            g = combine([(1.0, g), (-1.0, self.mean)])
        term = combine([(self.reference(t) * dt, g)])
        self.acc = term if self.acc is None else combine([(1.0, self.acc), (1.0, term)])
        self.time += dt
