"""Schedulers: who updates when. All of them call the same block kernel (``drive.compute_drive``
+ ``update.apply_step``); they differ only in the order of updates and the time each integrates.

* ``sync`` — every tick dt, all free blocks read the same state and update together (Jacobi).
* ``alternating`` — every tick, the colour classes of the graph in turn (even/odd layers of a
  layered graph), each class reading the newest states.
* ``random_sequential`` — every tick, all blocks one by one in a fresh random order.
* ``poisson`` — each block b has its own exponential clock of rate r_b (continuous time, as NEST's
  binary neurons); an update integrates the time elapsed since that block's previous update.
"""
from __future__ import annotations

import numpy as np

from . import loops
from .heap import heapify
from .update import step_size

SCHEDULERS = ("sync", "alternating", "random_sequential", "poisson")
INTEGRATORS = {"exp": 0, "euler": 1, "discrete": 2}
# unit exponentials pre-drawn per block and refilled from its own stream: the kernel returns to
# Python for each refill, and at 256 those returns were ≈ 13 % of the bare loop on 32-unit blocks
# (the values are the same for any batch size: one stream, drawn in order)
CLOCK_DRAWS = 2048


class TickScheduler:
    """sync / alternating / random_sequential: fixed ticks of length dt."""

    def __init__(self, kind: str, compiled, dt: float, integrator: str, seed_seq: np.random.SeedSequence):
        self.kind, self.dt = kind, float(dt)
        self.discrete = integrator == "discrete"
        self.gamma = np.array([step_size(INTEGRATORS[integrator], self.dt, tau)
                               for tau in compiled.tau])
        nb = compiled.n_blocks
        if kind == "sync":
            phases = [list(range(nb))]
        elif kind == "alternating":
            phases = [[compiled.index(n) for n in cls] for cls in compiled.net.colour_classes()]
        else:
            phases = [[b] for b in range(nb)]
        self.phase_ptr = np.cumsum([0] + [len(p) for p in phases]).astype(np.int64)
        self.phase_blocks = np.array([b for p in phases for b in p], dtype=np.int64)
        self.rng = np.random.default_rng(seed_seq) if kind == "random_sequential" else None
        self.n_blocks = nb
        self.ticks_done = 0

    def advance(self, sim, t_end: float):
        """Run whole ticks while t + dt ≤ t_end (up to rounding)."""
        n_total = int(np.floor((t_end - sim.t) / self.dt + 1e-9))
        n_free = max(1, int(sim.free.sum()))
        while n_total > 0:
            # a kernel call may write up to n_free events per tick and must not run out of room
            # (the kernel stops writing when the buffer is full, so events past it would be
            # neither stored nor counted); the buffer also counts when events are not kept
            n, perms = self.chunk(sim, n_total, n_free)
            status, done, n_probe, n_ev, bad = loops.run_ticks(
                sim.topo, sim.nudge_args, sim.x, sim.r, sim.g, sim.c.w, sim.c.bias, sim.target,
                sim.scratch, sim.free, self.gamma, self.discrete, sim.base, sim.j0, sim.t, self.dt, n,
                self.phase_ptr, self.phase_blocks, perms, *sim.probes.kernel_args(), *sim.events.kernel_args())
            self.account(sim, status, done, n_probe, n_ev, bad)
            n_total -= n

    def chunk(self, sim, n_total: int, n_free: int):
        """(n, perms): the ticks of the next kernel call — as many as the event buffer has room for
        at ``n_free`` events per tick (flushed first when it has less than one tick's room) — and
        their random block orders (empty unless ``random_sequential``)."""
        if sim.events.room() < n_free:
            sim.events.flush()
        n = min(n_total, max(1, sim.events.room() // n_free))
        perms = (np.argsort(self.rng.random((n, self.n_blocks)), axis=1).astype(np.int64)
                 if self.rng is not None else np.zeros((0, 0), dtype=np.int64))
        return n, perms

    def account(self, sim, status, done, n_probe, n_ev, bad):
        """After a tick kernel returned: keep its probe samples and events, move the clock by the
        ``done`` ticks it ran, and raise (naming block and time) if it stopped at a divergence."""
        sim.probes.advance(n_probe, done)
        sim.events.advance(n_ev)
        sim.t = sim.t + done * self.dt
        if status == loops.DIVERGED:
            sim.stop_diverged(bad)
        self.ticks_done += done

    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)`` to continue bit-identically: ticks done and the order stream."""
        return {}, {"ticks_done": self.ticks_done,
                    "rng": self.rng.bit_generator.state if self.rng is not None else None}

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        self.ticks_done = int(meta["ticks_done"])
        if self.rng is not None:
            self.rng.bit_generator.state = meta["rng"]


class PoissonScheduler:
    """Every block on its own exponential clock; a binary heap of (time, seq, block)."""

    def __init__(self, compiled, dt: float, integrator: str, seed_seq: np.random.SeedSequence,
                 t0: float = 0.0):
        nb = compiled.n_blocks
        self.max_step = float(dt)
        self.integrator = INTEGRATORS[integrator]
        self.rate = compiled.rate.astype(np.float64)
        self.rngs = [np.random.default_rng(s) for s in seed_seq.spawn(nb)]
        self.draws = np.stack([rng.exponential(size=CLOCK_DRAWS) for rng in self.rngs])
        self.draw_pos = np.ones(nb, dtype=np.int64)
        self.heap_t = t0 + self.draws[:, 0] / self.rate
        self.heap_seq = np.arange(nb, dtype=np.int64)
        self.heap_id = np.arange(nb, dtype=np.int64)
        self.seq = nb
        self.last = np.full(nb, float(t0))
        heapify(self.heap_t, self.heap_seq, self.heap_id)

    def advance(self, sim, t_end: float):
        while True:
            status, t, self.seq, n_probe, n_ev, b = loops.run_events(
                sim.topo, sim.nudge_args, sim.x, sim.r, sim.g, sim.c.w, sim.c.bias, sim.target,
                sim.scratch, sim.base, sim.j0, sim.free, self.integrator, self.max_step, t_end,
                self.heap_t, self.heap_seq,
                self.heap_id, self.seq, self.last, self.rate, self.draws, self.draw_pos,
                *sim.probes.kernel_args(), *sim.events.kernel_args())
            if self.account(sim, status, t, t_end, n_probe, n_ev, b):
                return

    def account(self, sim, status, t, t_end, n_probe, n_ev, b) -> bool:
        """After an event kernel (plain or plastic) returned: keep its probe samples and events;
        True when it reached t_end. A block out of pre-drawn intervals gets the next ones from
        its own stream; a divergence raises (naming block and time); EVENTS_FULL needs nothing
        (the event recorder flushed in ``advance``): the caller calls the kernel again."""
        sim.probes.advance(n_probe, None)
        sim.events.advance(n_ev)
        if status == loops.OK:
            sim.t = t_end
            return True
        if status == loops.NEED_CLOCK_DRAWS:
            self.draws[b] = self.rngs[b].exponential(size=self.draws.shape[1])
            self.draw_pos[b] = 0
        elif status == loops.DIVERGED:
            sim.t = t
            sim.stop_diverged(b)
        return False

    #: the clocks: pending update times (a heap), the pre-drawn intervals, each block's last update
    CLOCK_ARRAYS = ("draws", "draw_pos", "heap_t", "heap_seq", "heap_id", "last")

    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)`` to continue bit-identically: the clocks and every block's stream."""
        return ({k: getattr(self, k).copy() for k in self.CLOCK_ARRAYS},
                {"seq": int(self.seq), "rngs": [rng.bit_generator.state for rng in self.rngs]})

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        # a checkpoint written with another CLOCK_DRAWS keeps its own width: the refills draw
        # as many, so the run continues exactly as it would have
        self.draws = np.array(arrays["draws"], dtype=np.float64)
        for k in self.CLOCK_ARRAYS:
            if k != "draws":
                getattr(self, k)[...] = arrays[k]
        self.seq = int(meta["seq"])
        for rng, state in zip(self.rngs, meta["rngs"], strict=True):
            rng.bit_generator.state = state


def make_scheduler(kind: str, compiled, dt: float, integrator: str, seed_seq, t0: float = 0.0):
    if kind not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {kind!r}; expected one of {SCHEDULERS}")
    if integrator not in INTEGRATORS:
        raise ValueError(f"unknown integrator {integrator!r}; expected one of {tuple(INTEGRATORS)}")
    if kind == "poisson":
        return PoissonScheduler(compiled, dt, integrator, seed_seq, t0)
    return TickScheduler(kind, compiled, dt, integrator, seed_seq)
