"""The simulator: state buffers, clamps, nudges, a scheduler and probes around the kernels."""
from __future__ import annotations

import numpy as np

from ..build import COSTS, Compiled
from . import free_energy, relaxation
from .drive import drive_into, lam_at, refresh_rho
from .loops import DIVERGED
from .probes import EventRecorder, ProbeRecorder, ProbeSpec
from .scheduler import make_scheduler
from .threads import configure_blas_threads

LAMBDA_KINDS = {"constant": 0, "sinusoid": 1, "rotation": 2}


class SimulationDiverged(RuntimeError):
    """A block's state became NaN or infinite."""


class Simulator:
    """Relaxes a :class:`~neurosim.build.Compiled` network under a scheduler.

    Time t is simulated time in units of τ. ``run(duration)`` advances the network; clamps and
    nudges set between runs take effect from the current t. ``integrator = "discrete"`` runs the
    iteration x_b ← ρ(h_b) of the public EP code instead of the flow (see :mod:`.drive`):
    couplings then read the states themselves, and ``drive()`` returns the step ρ(h) − x.
    ``reset(seed)`` returns a simulator to its just-built state, so a training loop can keep one
    per network instead of building one per batch.
    """

    def __init__(self, compiled: Compiled, scheduler: str = "sync", dt: float = 0.1,
                 integrator: str = "exp", seed=0, probes: ProbeSpec | None = None,
                 record_events: bool | None = None):
        configure_blas_threads()
        self.c = compiled
        self.t = 0.0
        self.dt = float(dt)
        self.scheduler_name = scheduler
        self.integrator = integrator
        self.discrete = integrator == "discrete"
        self.x = compiled.new_state()
        self.r = np.empty_like(self.x)
        self.g = np.zeros_like(self.x)
        self.target = np.zeros_like(self.x)
        self.base = np.zeros_like(self.x)  # bias + clamped neighbours' drive (drive.static_drive)
        self.j0 = np.zeros(compiled.n_blocks, dtype=np.int64)
        self.scratch = np.zeros(compiled.n_particles * int(compiled.sizes.max()), dtype=compiled.dtype)
        self.free = np.ones(compiled.n_blocks, dtype=np.bool_)
        nb = compiled.n_blocks
        self.nudge_cost = np.zeros(nb, dtype=np.int64)
        self.lam_kind = np.zeros(nb, dtype=np.int64)
        self.lam_amp = np.zeros(nb, dtype=compiled.dtype)
        self.lam_omega = np.zeros(nb)
        self.lam_phase = np.zeros(nb)
        self.lam_t_on = np.full(nb, -np.inf)
        self.lam_t_off = np.full(nb, np.inf)
        #: s_p: particle p feels s_p·λ_b(t) (ones: the plain nudge; see :meth:`scale_nudge`)
        self.lam_scale = np.ones(compiled.n_particles, dtype=compiled.dtype)
        c = compiled
        self.topo = (c.n_particles, c.sizes, c.offsets, c.act, c.lo, c.hi, c.tau, c.w_off,
                     c.mem_block, c.mem_off, c.mem_beta, c.adj_ptr, c.adj_proj, c.adj_other,
                     c.adj_side, c.proj_pre, c.proj_post)
        self.nudge_args = (self.nudge_cost, self.lam_kind, self.lam_amp, self.lam_omega,
                           self.lam_phase, self.lam_t_on, self.lam_t_off,
                           np.array([1j if np.issubdtype(compiled.dtype, np.complexfloating) else 0],
                                    dtype=compiled.dtype), self.lam_scale)
        self.probe_spec = probes
        if self.discrete and probes is not None and probes.energy:
            raise ValueError("energy probes need a continuous integrator (exp or euler); the "
                             "discrete iteration's Hopfield energy is not implemented (energy = false)")
        if record_events is None:
            record_events = probes is not None and probes.events
        self._record_events = record_events
        self.reset(seed)

    def reset(self, seed=0):
        """Back to the just-built state (t = 0, zero states, nothing clamped or nudged, fresh
        probes, events and scheduler clocks seeded by ``seed``), keeping the buffers."""
        self.t = 0.0
        for buf in (self.x, self.g, self.target):
            buf[...] = 0
        self.free[...] = True
        self.nudge_cost[...] = 0
        self.lam_kind[...] = 0
        self.lam_amp[...] = 0
        self.lam_omega[...] = 0
        self.lam_phase[...] = 0
        self.lam_t_on[...] = -np.inf
        self.lam_t_off[...] = np.inf
        self.lam_scale[...] = 1
        self.probes = ProbeRecorder(self.c, self.probe_spec)
        if getattr(self, "events", None) is not None and not self._record_events:
            self.events.count = self.events.total = 0  # nothing kept: only the counters to clear
        else:
            self.events = EventRecorder(self._record_events)
        sch = getattr(self, "scheduler", None)
        if sch is not None and self.scheduler_name in ("sync", "alternating"):
            sch.ticks_done = 0  # no clock and no random stream to re-seed
        else:
            seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
            self.scheduler = make_scheduler(self.scheduler_name, self.c, self.dt, self.integrator, seq)
        self.refresh()
        #: reuse the clamped neighbours' drive across relax() calls until a clamp changes
        #: (set by a caller that knows the weights stay fixed meanwhile, e.g. one EP batch)
        self.keep_static_drive = False
        self._base_ok = False
        return self

    # -- state --------------------------------------------------------------------------------
    def refresh(self):
        """Recompute ρ(x) for every block (after writing states directly)."""
        self._base_ok = False
        if self.discrete:
            self.r[...] = self.x
            return
        for b in range(self.c.n_blocks):
            refresh_rho(self.topo, b, self.x, self.r)

    def _refresh_block(self, b: int):
        if self.discrete:
            sl = self.c.block_slice(b)
            self.r[sl] = self.x[sl]
        else:
            refresh_rho(self.topo, b, self.x, self.r)

    def state(self, block) -> np.ndarray:
        """The (P, n) state view of a block (a view: writing it needs :meth:`refresh`)."""
        return self.c.view(self.x, block)

    def set_state(self, block, values):
        b = self._id(block)
        self.state(b)[...] = values
        self._refresh_block(b)
        if not self.free[b]:
            self._base_ok = False

    def states(self) -> dict[str, np.ndarray]:
        return {n: self.state(n).copy() for n in self.c.names}

    def _id(self, block) -> int:
        return self.c.index(block) if isinstance(block, str) else int(block)

    # -- clamps and nudges --------------------------------------------------------------------
    def clamp(self, block, values):
        """Hard clamp: fix the block's state to ``values`` and stop updating it."""
        self.set_state(block, values)
        self.free[self._id(block)] = False
        self._base_ok = False

    def unclamp(self, block):
        self.free[self._id(block)] = True
        self._base_ok = False

    def nudge(self, block, target, lam, cost: str = "mse", kind: str = "constant",
              omega: float = 0.0, phase: float = 0.0, t_on: float = -np.inf, t_off: float = np.inf):
        """Add λ(t)·C(x_block, target) to the energy.

        λ(t) = lam (``constant``), lam·cos(ωt + φ) (``sinusoid``), lam·e^{i(ωt + φ)} (``rotation``,
        complex states), applied while t_on ≤ t < t_off (a step when t_on is finite).
        """
        b = self._id(block)
        if cost not in COSTS:
            raise ValueError(f"unknown cost {cost!r}; expected one of {sorted(COSTS)}")
        if kind not in LAMBDA_KINDS:
            raise ValueError(f"unknown λ schedule {kind!r}; expected one of {sorted(LAMBDA_KINDS)}")
        if kind == "rotation" and not np.issubdtype(self.c.dtype, np.complexfloating):
            raise ValueError("a rotating λ needs complex states (build with dtype=complex128)")
        self.c.view(self.target, b)[...] = target
        self.nudge_cost[b] = COSTS[cost]
        self.lam_kind[b] = LAMBDA_KINDS[kind]
        self.lam_amp[b] = lam
        self.lam_omega[b], self.lam_phase[b] = omega, phase
        self.lam_t_on[b], self.lam_t_off[b] = t_on, t_off

    def scale_nudge(self, scale):
        """Per-particle factors s_p (length P): particle p feels s_p·λ_b(t) on every nudged block
        (ones restore the plain nudge; :mod:`.groups` relaxes ±β as two particle groups)."""
        scale = np.asarray(scale)
        if scale.shape != self.lam_scale.shape:
            raise ValueError(f"scale_nudge needs {self.lam_scale.shape[0]} factors (one per particle), "
                             f"got shape {scale.shape}")
        self.lam_scale[...] = scale

    def clear_nudge(self, block):
        self.nudge_cost[self._id(block)] = 0

    def lam(self, block, t: float | None = None):
        """λ_b(t) as the kernels see it."""
        return lam_at(self.nudge_args, self._id(block), self.t if t is None else t)

    # -- running ------------------------------------------------------------------------------
    def run(self, duration: float):
        """Advance the simulation by ``duration`` (simulated time)."""
        if duration < 0:
            raise ValueError(f"duration must be non-negative, got {duration}")
        t_end = self.t + duration
        self.probes.begin(self.t, t_end)
        try:
            self.scheduler.advance(self, t_end)
        finally:
            self.probes.end()
        return self

    def stop_diverged(self, b: int):
        """Raise SimulationDiverged naming block ``b``, the time and the scheduler."""
        raise SimulationDiverged(
            f"block {self.c.names[b]!r} became non-finite (NaN or Inf) at t = {self.t:.6g} "
            f"under the {self.scheduler_name} scheduler; lower dt or the weight gains")

    def energy(self) -> np.ndarray:
        """F(x) = E(x) + Σ λ C per particle at the current state and time."""
        if self.discrete:
            raise ValueError("energy probes need a continuous integrator (exp or euler); the "
                             "discrete iteration's Hopfield energy is not implemented")
        out = np.zeros(self.c.n_particles, dtype=self.c.dtype)
        free_energy.energy(self.topo, self.nudge_args, self.t, self.x, self.r, self.c.w,
                           self.c.bias, self.target, out)
        return out

    def drive(self) -> np.ndarray:
        """−∂F/∂x for every free block at the current state (zero for clamped blocks); for the
        discrete iteration the step ρ(h) − x."""
        self.g[:] = 0
        for b in range(self.c.n_blocks):
            if self.free[b]:
                drive_into(self.topo, self.nudge_args, b, self.t, self.x, self.r, self.g,
                           self.c.w, self.c.bias, self.target, self.scratch, self.x,
                           self.c.adj_ptr[b], False, self.discrete)
                if self.discrete:
                    sl = self.c.block_slice(b)
                    self.g[sl] -= self.x[sl]
        return self.g.copy()

    def residual(self) -> float:
        """max over free units of |Π(x + g) − x|, g = −∂F/∂x: zero exactly at a (projected)
        fixed point; max |ρ(h) − x| for the discrete iteration. Complex states are projected on
        their real part only. (``relax`` computes the same inside its kernel,
        :func:`relaxation.residual`; this numpy form keeps a plain ``run`` from compiling it.)"""
        g = self.drive()
        c, worst = self.c, 0.0
        for b in np.flatnonzero(self.free):
            b = int(b)
            x = self.state(b)
            step = c.view(g, b)
            if not self.discrete and (np.isfinite(c.lo[b]) or np.isfinite(c.hi[b])):
                re = np.clip(x.real + step.real, c.lo[b], c.hi[b]) - x.real
                step = re + 1j * step.imag if np.iscomplexobj(step) else re
            worst = max(worst, float(np.max(np.abs(step))))
        return worst

    def relaxes_in_kernel(self) -> bool:
        """Whether :func:`relaxation.relax_ticks` may run the phase: a sync or alternating
        scheduler with nothing recorded (probes and kept events need the general loop)."""
        return (self.scheduler_name in ("sync", "alternating") and self.probe_spec is None
                and not self._record_events)

    def relax(self, duration: float, tol: float | None = None, check_every: float = 5.0,
              residual: bool = True, groups: int = 1) -> float | None:
        """Run for at most ``duration``, stopping once ``residual()`` ≤ ``tol`` (checked before
        starting and every ``check_every``); with no ``tol``, run the whole ``duration``.
        Returns the residual reached (None when ``residual`` is False and there is no ``tol``:
        the residual costs one more drive pass).

        ``groups`` = G > 1: the particles are G groups of P/G consecutive ones relaxing separate
        phases (:mod:`.groups`); each group stops on its own residual, and ``group_residuals``
        holds them (the return value is the largest). Needs the kernel path (sync or
        alternating, nothing recorded)."""
        if duration < 0:
            raise ValueError(f"duration must be non-negative, got {duration}")
        if groups != 1 and (groups < 1 or self.c.n_particles % groups):
            raise ValueError(f"groups = {groups} does not divide the {self.c.n_particles} particles")
        if self.relaxes_in_kernel():
            return self._relax_kernel(duration, tol, check_every, residual, groups)
        if groups != 1:
            raise ValueError(f"particle groups need the sync or alternating scheduler without "
                             f"probes or recorded events (this one: {self.scheduler_name})")
        if tol is None:
            self.run(duration)
            return self.residual() if residual else None
        done, res = 0.0, self.residual()
        while res > tol and done < duration - 1e-12:
            step = min(check_every, duration - done)
            self.run(step)
            done += step
            res = self.residual()
        return res

    def _chunks(self, duration: float, tol, check_every: float) -> np.ndarray:
        """Ticks per chunk, as the chunked ``run`` calls of the Python loop would do them."""
        dt, t = self.dt, self.t
        if tol is None:
            return np.array([int(np.floor((t + duration - t) / dt + 1e-9))], dtype=np.int64)
        out, done = [], 0.0
        while done < duration - 1e-12:
            step = min(check_every, duration - done)
            n = int(np.floor((t + step - t) / dt + 1e-9))
            out.append(n)
            t += n * dt
            done += step
        return np.array(out, dtype=np.int64)

    def _relax_kernel(self, duration, tol, check_every, want_residual, groups=1):
        sch = self.scheduler
        self.group_residuals = np.empty(groups)
        status, ticks, updates, t, res, bad = relaxation.relax_ticks(
            self.topo, self.nudge_args, self.x, self.r, self.g, self.c.w, self.c.bias, self.target,
            self.scratch, self.base, self.j0, self.free, sch.gamma, sch.discrete, self.t, self.dt,
            self._chunks(duration, tol, check_every), -1.0 if tol is None else float(tol),
            bool(want_residual), sch.phase_ptr, sch.phase_blocks,
            not (self.keep_static_drive and self._base_ok), self.group_residuals)
        self._base_ok = True
        self.events.total += updates
        sch.ticks_done += ticks
        self.t = float(t)
        if status == DIVERGED:
            self.stop_diverged(bad)
        return float(res) if res >= 0 else None

    def traces(self) -> dict[str, np.ndarray]:
        """Everything recorded so far: probes, and ``event_time`` / ``event_block``."""
        out = self.probes.traces()
        out["event_time"], out["event_block"] = self.events.arrays()
        out["block_names"] = np.array(self.c.names)
        return out

    @property
    def n_events(self) -> int:
        return self.events.total

    # -- checkpoints --------------------------------------------------------------------------
    #: buffers that, with the compiled weights and biases, are the whole simulated state
    STATE_BUFFERS = ("x", "r", "g", "target", "scratch", "free", "nudge_cost", "lam_kind", "lam_amp",
                     "lam_omega", "lam_phase", "lam_t_on", "lam_t_off", "lam_scale")

    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: everything a resumed simulator needs to continue bit-identically —
        states, clamps, nudges, the weight and bias buffers, the scheduler's clocks and random
        streams, and what the probes and the event recorder hold so far."""
        arrays = {f"sim/{k}": getattr(self, k).copy() for k in self.STATE_BUFFERS}
        arrays["sim/w"], arrays["sim/bias"] = self.c.w.copy(), self.c.bias.copy()
        s_arrays, s_meta = self.scheduler.state_dict()
        arrays.update({f"scheduler/{k}": v for k, v in s_arrays.items()})
        arrays.update({f"probes/{k}": v for k, v in self.probes.state_dict().items()})
        e_arrays, e_meta = self.events.state_dict()
        arrays.update({f"events/{k}": v for k, v in e_arrays.items()})
        meta = {"t": self.t, "scheduler": self.scheduler_name, "scheduler_state": s_meta, "events": e_meta}
        return arrays, meta

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        """Restore :meth:`state_dict` into this simulator (built for the same network and
        particles); buffers are written in place because the kernels' argument tuples hold them."""
        if meta["scheduler"] != self.scheduler_name:
            raise ValueError(f"state of a {meta['scheduler']!r} simulator, this one is {self.scheduler_name!r}")
        for k in self.STATE_BUFFERS:
            # checkpoints written before the per-particle nudge scale existed hold none: ones
            getattr(self, k)[...] = arrays.get(f"sim/{k}", 1) if k == "lam_scale" else arrays[f"sim/{k}"]
        self._base_ok = False
        self.c.w[...], self.c.bias[...] = arrays["sim/w"], arrays["sim/bias"]
        self.t = float(meta["t"])
        self.scheduler.load_state_dict(_under("scheduler/", arrays), meta["scheduler_state"])
        self.probes.load_state_dict(_under("probes/", arrays))
        self.events.load_state_dict(_under("events/", arrays), meta["events"])


def acquire_simulator(compiled: Compiled, scheduler: str = "sync", dt: float = 0.1,
                      integrator: str = "exp", seed=0) -> Simulator:
    """A just-reset simulator of ``compiled``: an idle one from the network's pool (same scheduler,
    dt and integrator, no probes) if there is one, else a new one. Hand it back with
    :func:`release_simulator`; a simulator is never given to two holders at once."""
    idle = compiled.sim_pool.get((scheduler, float(dt), integrator))
    if idle:
        return idle.pop().reset(seed)
    return Simulator(compiled, scheduler=scheduler, dt=dt, integrator=integrator, seed=seed)


def release_simulator(sim: Simulator) -> None:
    """Put ``sim`` back into its compiled network's pool (only probe-free simulators are kept)."""
    if sim.probe_spec is None and not sim._record_events:
        sim.c.sim_pool.setdefault((sim.scheduler_name, sim.dt, sim.integrator), []).append(sim)


def _under(prefix: str, arrays: dict) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
