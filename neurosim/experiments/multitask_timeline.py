"""The task timeline compiled for the plastic loop (``engine/plastic_loop.py``): the switches of
one stretch of the run, the examples they show, and the tasks' clamps and nudges as arrays.

The examples are drawn from the data stream when a stretch is compiled, in the order of its
switches — the order the clamps switch on — so the stream is the same however the run is cut
into stretches. Tasks on at the start of a stretch keep the examples they show (``showing``).
"""
from __future__ import annotations

import numpy as np

from ..build import COSTS
from ..engine.plastic_sim import timeline_tuple
from ..model.tasks import Episode, TaskSpec


def switches(episodes: list[Episode]) -> list[tuple]:
    """(time, on/off, task, episode index) of every clamp switch, in time order (an off before an
    on at the same time, so a block handed from one task to the next is free when it starts)."""
    return sorted([(e.start, 1, e.task, i) for i, e in enumerate(episodes)] +
                  [(e.stop, 0, e.task, i) for i, e in enumerate(episodes)], key=lambda s: s[:3])


class TimelineCompiler:
    """Static task arrays for the active tasks (kernel task j = ``active[j]``) and, per stretch,
    the switch and value arrays."""

    def __init__(self, compiled, tasks: list[TaskSpec], active: list[int], omegas: list[float],
                 kind: int):
        self.c, self.tasks, self.active = compiled, tasks, active
        self.slot = {k: j for j, k in enumerate(active)}
        ids = compiled.index
        cond = [[ids(b) for b in tasks[k].condition] for k in active]
        targ = [[ids(b) for b in tasks[k].target] for k in active]
        i64 = np.int64
        self.static = dict(
            cond_ptr=np.cumsum([0] + [len(c) for c in cond]).astype(i64),
            cond_blocks=np.array([b for c in cond for b in c], dtype=i64),
            targ_ptr=np.cumsum([0] + [len(t) for t in targ]).astype(i64),
            targ_blocks=np.array([b for t in targ for b in t], dtype=i64),
            task_fade=np.array([tasks[k].fade for k in active], dtype=float),
            task_lam=np.array([tasks[k].lam for k in active], dtype=compiled.dtype),
            task_omega=np.asarray(omegas, dtype=float),
            task_cost=np.array([COSTS[tasks[k].cost] for k in active], dtype=i64),
            task_kind=np.full(len(active), kind, dtype=i64))

    def stretch(self, sw: list[tuple], episodes: list[Episode], showing: dict, data: dict,
                rng: np.random.Generator) -> tuple[dict, list]:
        """The timeline of the switches ``sw`` (the run's position given by ``showing``: task →
        (episode, condition values)); returns it and, per switch, the (episode, values) an on
        switch shows (None for an off)."""
        c, p = self.c, self.c.n_particles
        nb = c.n_blocks
        tl = timeline_tuple(nb, c.dtype, len(self.active), **self.static)
        chunks, pos = [], 0
        for k, (i, values) in showing.items():
            j = self.slot[k]
            tl["task_on"][j] = True
            tl["task_start"][j], tl["task_stop"][j] = episodes[i].start, episodes[i].stop
            for b in self.tasks[k].condition:
                bid = c.index(b)
                tl["block_task"][bid], tl["block_val"][bid] = j, pos
                chunks.append(np.asarray(values[b]).ravel())
                pos += chunks[-1].size
        shown, sw_val = [], []
        for _, on, k, i in sw:
            if not on:
                shown.append(None)
                sw_val.append(0)
                continue
            task = self.tasks[k]
            idx = rng.integers(0, len(data["_y"]), size=p)
            values = task.condition_values(data, idx, rng)
            shown.append((i, values))
            sw_val.append(pos)
            for v in [values[b] for b in task.condition] + [data[f][idx] for f in task.target_fields]:
                chunks.append(np.asarray(v).ravel())
                pos += chunks[-1].size
        tl.update(sw_time=np.array([s[0] for s in sw], dtype=float),
                  sw_kind=np.array([s[1] for s in sw], dtype=np.int64),
                  sw_task=np.array([self.slot[s[2]] for s in sw], dtype=np.int64),
                  sw_stop=np.array([episodes[s[3]].stop for s in sw], dtype=float),
                  sw_val=np.array(sw_val, dtype=np.int64),
                  vals=(np.concatenate(chunks).astype(c.dtype) if chunks else np.zeros(0, c.dtype)))
        return tl, shown
