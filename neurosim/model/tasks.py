"""Concurrent tasks: which blocks each task clamps and nudges, and when.

A task k has condition blocks C_k (hard-clamped to data), target blocks X_k (nudged toward data
with λ_k(t) C_k), a data stream, and a clock: examples arrive at Poisson times of rate r_k and stay
for a duration drawn uniformly from [d_min, d_max].

**Ownership rule.** A block belongs to at most one task at a time. An example that arrives while
one of its blocks is held by another task waits until every block it needs is free, then starts
and keeps its full duration; arrivals of a task that is still busy or waiting are dropped (the
next example replaces a stale one). Tasks that share no blocks therefore never wait on each
other; the scenario's overlap fraction measures how much they actually ran at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TaskSpec:
    name: str
    condition: tuple[str, ...]          # blocks clamped to data
    condition_fields: tuple[str, ...]   # which data field each condition block shows
    target: tuple[str, ...]             # blocks nudged toward data
    target_fields: tuple[str, ...]
    metric: str = "mse"                 # "accuracy" (argmax vs the class) or "mse"
    rate: float = 0.05                  # arrivals per τ
    duration: tuple[float, float] = (20.0, 40.0)
    lam: float = 0.5                    # |β|: amplitude of λ_k(t) (the plasticity's β)
    period: float = 8.0                 # period of this task's λ_k(t) rhythm, in τ
    cost: str = "mse"
    condition_noise: tuple[float, ...] = ()  # std of Gaussian noise added to each condition block
    fade: float = 0.0                   # conditions fade in and out linearly over this time, in τ
    mask_block: str = ""                # condition block shown through a random mask per example ("": none)
    mask_fraction: float = 1.0          # fraction of its units given; the rest are silent (0)

    def fade_gain(self, t: float, start: float, stop: float) -> float:
        """g(t) ∈ [0, 1], the factor on the condition clamps at time t of an episode [start, stop]:
        a linear rise over ``fade`` after the start, a linear fall over ``fade`` before the stop.

        Why: a step in the clamps moves the Hebbian products H by ΔH, and a synapse demodulating
        at ω turns that into an update of size ≈ 2ΔH/(βω) that carries no gradient. A linear
        ramp of length f has, at ω, the step's spectrum times sinc(ωf/2), which is ≤ 2/(ωf) and
        zero at f = T = 2π/ω; measured on a small network, fades of T/2 … 1.25 T cut that leak
        by 2.5–10× (docs/hypothesis.md)."""
        if self.fade <= 0:
            return 1.0
        return float(np.clip(min(t - start, stop - t) / self.fade, 0.0, 1.0))

    def condition_values(self, data: dict, idx, rng: np.random.Generator) -> dict:
        """Block → (P, n) values of the condition blocks for examples ``idx``: the data field,
        plus fresh Gaussian noise of the block's ``condition_noise`` std (the task's noise
        process: a denoising task sees a new corruption at every presentation); on ``mask_block``,
        :meth:`random_mask` times the values (random-mask inpainting)."""
        out = {}
        for i, (b, f) in enumerate(zip(self.condition, self.condition_fields)):
            values = data[f][idx]
            std = self.condition_noise[i] if i < len(self.condition_noise) else 0.0
            out[b] = values + std * rng.standard_normal(values.shape) if std > 0 else values
            if b == self.mask_block:
                out[b] = out[b] * self.random_mask(np.shape(values), rng)
        return out

    def random_mask(self, shape, rng: np.random.Generator) -> np.ndarray:
        """(P, n) 0/1 mask with exactly k = round(f n) ones per row at a uniformly random subset of
        the n units (f = ``mask_fraction``): row p keeps unit i iff rank_p(i) < k, the ranks of
        i.i.d. uniforms being a uniform random permutation. Drawn from ``rng`` at every
        presentation, so each example shows a different subset of its pixels."""
        rows, n = shape
        k = int(round(self.mask_fraction * n))
        ranks = rng.random((rows, n)).argsort(axis=1).argsort(axis=1)
        return (ranks < k).astype(float)

    def evaluated(self) -> "TaskSpec":
        """The task as the held-out evaluation shows it (a task that draws a random setting per
        example, such as a noise level, fixes it here so every evaluation sees the same one)."""
        return self

    @property
    def blocks(self) -> tuple[str, ...]:
        return self.condition + self.target


@dataclass
class Episode:
    task: int
    arrival: float
    start: float
    stop: float


def timeline(tasks: list[TaskSpec], horizon: float, rng: np.random.Generator) -> list[Episode]:
    """Every episode (clamp on/off interval) of every task up to ``horizon``, in start order.

    Arrivals are drawn per task from ``rng`` (task order fixed), then scheduled by the ownership
    rule in arrival order (ties by task index), so the timeline is deterministic for a seed.
    """
    arrivals = []
    for k, task in enumerate(tasks):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / task.rate)
            if t >= horizon:
                break
            arrivals.append((t, k, rng.uniform(*task.duration)))
    arrivals.sort()
    busy_until: dict[str, float] = {}
    task_free_at = [0.0] * len(tasks)
    episodes = []
    for t, k, dur in arrivals:
        if task_free_at[k] > t:
            continue  # this task is still running or waiting: drop the arrival
        start = max([t] + [busy_until.get(b, 0.0) for b in tasks[k].blocks])
        stop = start + dur
        if start >= horizon:
            continue
        stop = min(stop, horizon)
        for b in tasks[k].blocks:
            busy_until[b] = stop
        task_free_at[k] = stop
        episodes.append(Episode(k, t, start, stop))
    episodes.sort(key=lambda e: (e.start, e.task))
    return episodes


def overlap_fraction(episodes: list[Episode], horizon: float, at_least: int = 2) -> float:
    """Fraction of [0, horizon) during which at least ``at_least`` tasks were clamped."""
    edges = sorted([(e.start, 1) for e in episodes] + [(e.stop, -1) for e in episodes])
    active, last, covered = 0, 0.0, 0.0
    for t, d in edges:
        if active >= at_least:
            covered += t - last
        active += d
        last = t
    return covered / horizon if horizon > 0 else 0.0


def busy_fraction(episodes: list[Episode], k: int, horizon: float) -> float:
    return sum(e.stop - e.start for e in episodes if e.task == k) / horizon
