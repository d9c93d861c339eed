"""Driving the plastic loops (``plastic_loop.py``) on a :class:`~neurosim.engine.simulator.Simulator`:
the same buffers, scheduler clocks, probes and event recorder as ``Simulator.run``, plus the
plasticity tuple and a task timeline.
"""
from __future__ import annotations

import numpy as np

from .plastic_loop import run_plastic_events, run_plastic_ticks
from .scheduler import PoissonScheduler

#: positions in the timeline tuple (plastic_loop's module docstring)
TIMELINE_FIELDS = ("sw_time", "sw_kind", "sw_task", "sw_stop", "sw_val", "cond_ptr", "cond_blocks",
                   "targ_ptr", "targ_blocks", "task_fade", "task_lam", "task_omega", "task_cost",
                   "task_kind", "vals", "task_on", "task_start", "task_stop", "block_task",
                   "block_val", "i_sw", "trace")


def timeline_tuple(n_blocks: int, dtype, n_tasks: int = 0, **fields) -> dict:
    """A timeline with no switches and no tasks, updated by ``fields`` (name → array)."""
    i64, f64 = np.int64, np.float64
    tl = {"sw_time": np.zeros(0), "sw_kind": np.zeros(0, i64), "sw_task": np.zeros(0, i64),
          "sw_stop": np.zeros(0), "sw_val": np.zeros(0, i64),
          "cond_ptr": np.zeros(n_tasks + 1, i64), "cond_blocks": np.zeros(0, i64),
          "targ_ptr": np.zeros(n_tasks + 1, i64), "targ_blocks": np.zeros(0, i64),
          "task_fade": np.zeros(n_tasks), "task_lam": np.zeros(n_tasks, dtype),
          "task_omega": np.zeros(n_tasks), "task_cost": np.zeros(n_tasks, i64),
          "task_kind": np.zeros(n_tasks, i64), "vals": np.zeros(0, dtype),
          "task_on": np.zeros(n_tasks, np.bool_), "task_start": np.zeros(n_tasks, f64),
          "task_stop": np.zeros(n_tasks, f64), "block_task": np.full(n_blocks, -1, i64),
          "block_val": np.zeros(n_blocks, i64), "i_sw": np.zeros(1, i64),
          "trace": np.zeros((0, n_tasks, 3))}
    tl.update(fields)
    return tl


def run_plastic(sim, pl: tuple, tl: dict, duration: float) -> np.ndarray:
    """Advance ``sim`` by ``duration`` with the synapses learning and the timeline ``tl`` playing;
    returns the task traces (samples, tasks, 3) recorded on the probe clock during the call."""
    if duration < 0:
        raise ValueError(f"duration must be non-negative, got {duration}")
    t_end = sim.t + duration
    sim.probes.begin(sim.t, t_end)
    n_tasks = tl["task_fade"].shape[0]
    tl["trace"] = np.zeros((sim.probes.time.shape[0], n_tasks, 3))
    args = tuple(tl[k] for k in TIMELINE_FIELDS)
    try:
        if isinstance(sim.scheduler, PoissonScheduler):
            _events(sim, pl, args, t_end)
        else:
            _ticks(sim, pl, args, t_end)
        count = sim.probes.count
    finally:
        sim.probes.end()
    return tl["trace"][:count].copy()


def _events(sim, pl, tl, t_end):
    s = sim.scheduler
    while True:
        status, t, s.seq, n_probe, n_ev, b = run_plastic_events(
            sim.topo, sim.nudge_args, pl, tl, sim.x, sim.r, sim.g, sim.c.w, sim.c.bias, sim.target,
            sim.scratch, sim.free, s.integrator, s.max_step, t_end, s.heap_t, s.heap_seq,
            s.heap_id, s.seq, s.last, s.rate, s.draws, s.draw_pos, *sim.probes.kernel_args(),
            *sim.events.kernel_args())
        if s.account(sim, status, t, t_end, n_probe, n_ev, b):
            return


def _ticks(sim, pl, tl, t_end):
    s = sim.scheduler
    n_total = int(np.floor((t_end - sim.t) / s.dt + 1e-9))
    n_free = sim.c.n_blocks  # the timeline may free blocks during the call
    while n_total > 0:
        n, perms = s.chunk(sim, n_total, n_free)
        status, done, n_probe, n_ev, bad = run_plastic_ticks(
            sim.topo, sim.nudge_args, pl, tl, sim.x, sim.r, sim.g, sim.c.w, sim.c.bias, sim.target,
            sim.scratch, sim.free, s.gamma, sim.t, s.dt, n, s.phase_ptr, s.phase_blocks, perms,
            *sim.probes.kernel_args(), *sim.events.kernel_args())
        s.account(sim, status, done, n_probe, n_ev, bad)
        n_total -= n
