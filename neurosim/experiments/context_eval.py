"""Scores in company: each task evaluated with the other tasks' conditions clamped as well.

The run's own evaluation (``multitask.Evaluation``) holds every other port at 0, as a task alone
sees the lump. During the concurrent run a task is mostly on together with others, so its
hidden blocks are driven by their conditions too. Here, for each task k, every other task j's
condition blocks are clamped to held-out examples (the test set shifted by j + 1 places, so they
are other examples than k's, with j's condition noise and masks from a fixed stream) and j's
targets are free and un-nudged; task k's conditions are clamped as in its own evaluation, the
network relaxes to its free equilibrium and k's targets are scored with k's metric. With
``presence`` p < 1 each other task is shown on each example with probability p (its condition
blocks at 0 for that example otherwise, from a fixed stream): about the company of a typical
moment of a run whose tasks are each on a fraction p of the time.
"""
from __future__ import annotations

import numpy as np

from .multitask import EVAL_NOISE_SEED, Evaluation, score, silent


def in_context_scores(net, params, tasks, ports, data: dict, relax: dict, n_eval: int,
                      presence: float = 1.0) -> dict:
    """task name → {"silent": the run's own score, "in_context": the score with the other tasks'
    conditions clamped (each on an example with probability ``presence``)}, and
    "eval_residual": the largest stationarity residual."""
    if not 0.0 < presence <= 1.0:
        raise ValueError(f"presence must be in (0, 1], got {presence}")
    sub = {k: v[:n_eval] for k, v in data.items()}
    n = len(sub["_y"])
    used = {b for t in tasks for b in t.blocks}
    ev, out = Evaluation(), {}
    for k, task in enumerate(tasks):
        probe = task.evaluated()
        alone = ev.probe(net, params, ports, probe, probe.metric, data, relax, n_eval)
        clamps = silent(ports, used, n, net)
        rng = np.random.default_rng(EVAL_NOISE_SEED + 1)
        pick = np.random.default_rng(EVAL_NOISE_SEED + 2)  # its own stream: p = 1 draws no noise from it
        for j, other in enumerate(tasks):
            if j != k:
                idx = np.roll(np.arange(n), j + 1)
                shown = pick.random(n) < presence
                for b, v in other.evaluated().condition_values(sub, idx, rng).items():
                    clamps[b] = v * shown[:, None]
        clamps.update(probe.condition_values(sub, slice(None), np.random.default_rng(EVAL_NOISE_SEED)))
        states = ev.free_equilibrium(net, params, clamps, relax)
        out[task.name] = {"silent": alone, "in_context": score(probe.metric, states, probe.target,
                                                               probe.target_fields, sub)}
    out["eval_residual"] = ev.worst_residual
    return out
