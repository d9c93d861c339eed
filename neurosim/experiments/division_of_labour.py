"""Who does what: a block × task map of a trained multitask network (docs/hypothesis.md §9).

For every block b and task k, two measurements on the trained weights:

* **silencing** — task k's held-out score when block b is held at 0 during the evaluation
  (its free equilibrium with k's conditions clamped, the other ports silent, b clamped to 0),
  against the intact score. The drop d_kb is (intact − silenced) for an accuracy and
  (silenced − intact) for an error, so d > 0 always means "b was needed". It is also given as a
  fraction of what the whole hidden graph contributes,

      damage_kb = d_kb / d_k,all,

  with d_k,all the drop when every hidden block (every block no task clamps or nudges) is
  silenced at once — the readout then sees only its own bias and the condition ports directly
  wired to it. damage = 1: silencing b alone costs as much as silencing the whole graph.
* **gradient share** — where task k's exact gradient lands: with g = dC_k/dθ by implicit
  differentiation at the free fixed point (the bp control's gradient, over the examples whose free
  state is a fixed point and a strict minimum), each projection's ‖g_p‖² split equally between
  its two end blocks, plus the block's bias:

      share_kb = ( Σ_{p ∋ b} ½‖g_p‖² + ‖g_{bias b}‖² ) / ‖g‖²,     Σ_b share_kb = 1.

Roles in task k's evaluation: ``condition`` (k clamps it: silencing it removes that input),
``target`` (k reads it: silencing is not a measurement, NaN), ``silent`` (another task's port,
already held at 0: d = 0 by construction, not re-measured), ``hidden`` (free).

Files (the run directory): ``division_of_labour.npz`` (the arrays below) and
``division_of_labour.json`` (the same as nested lists, for reading by eye).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..learning.minima_gradient import implicit_gradient_that_fits, minima_gradient
from ..model.tasks import TaskSpec
from .multitask import EVAL_NOISE_SEED, PROBE_NOISE_SEED, Evaluation, score, silent
from .multitask_controls import MAX_RESIDUAL, MIN_EIG

FILE_NPZ = "division_of_labour.npz"
FILE_JSON = "division_of_labour.json"
ROLES = ("condition", "target", "silent", "hidden")


def roles(net, task: TaskSpec, ports) -> dict[str, str]:
    """Role of every block in ``task``'s evaluation (module docstring)."""
    out = {}
    for b in net.block_names():
        if b in task.condition:
            out[b] = "condition"
        elif b in task.target:
            out[b] = "target"
        elif b in ports:
            out[b] = "silent"
        else:
            out[b] = "hidden"
    return out


def silenced_score(net, params, task: TaskSpec, data: dict, relax: dict, n_eval: int, ports,
                   off, ev: Evaluation) -> float:
    """Task score with the block(s) ``off`` held at 0 (a name, a list, or None: intact). The
    condition noise comes from the same fixed stream as every evaluation, so intact and silenced
    see the same corruption."""
    sub = {k: v[:n_eval] for k, v in data.items()}
    n = len(sub["_y"])
    clamps = silent(ports, set(task.blocks), n, net)
    clamps.update(task.condition_values(sub, slice(None), np.random.default_rng(EVAL_NOISE_SEED)))
    for b in ([off] if isinstance(off, str) else off or []):
        clamps[b] = np.zeros((n, net.block(b).size))
    states = ev.free_equilibrium(net, params, clamps, relax)
    return score(task.metric, states, task.target, task.target_fields, sub)


def gradient_shares(net, params, task: TaskSpec, batch: dict, relax: dict, ports, ev: Evaluation):
    """(share per block, share per projection, examples used) of task k's exact gradient."""
    n = len(batch["_y"])
    clamps = silent(ports, set(task.blocks), n, net)
    clamps.update(task.condition_values(batch, slice(None), np.random.default_rng(PROBE_NOISE_SEED)))
    states = ev.free_equilibrium(net, params, clamps, relax)
    x_star = {b: np.real(v) for b, v in states.items() if b not in clamps}
    sq_w = {p.name: 0.0 for p in net.projections}
    sq_b = {b: 0.0 for b in net.block_names()}
    used = n
    for b, f in zip(task.target, task.target_fields):
        args = (net, params, clamps, b, batch[f], task.cost, x_star)
        g, kept = minima_gradient(*args, MIN_EIG, MAX_RESIDUAL)  # bp where it exists, as the bp control
        if g is None:  # no example at a strict minimum: the whole batch's gradient still says where it lands
            g, _ = implicit_gradient_that_fits(*args)
        used = min(used, int(kept.sum()))
        for name, w in g.weights.items():
            sq_w[name] += float(np.sum(w ** 2))
        for name, v in g.biases.items():
            sq_b[name] += float(np.sum(v ** 2))
    total = sum(sq_w.values()) + sum(sq_b.values())
    total = total if total > 0 else 1.0
    per_block = dict(sq_b)
    for p in net.projections:
        per_block[p.pre] += 0.5 * sq_w[p.name]
        per_block[p.post] += 0.5 * sq_w[p.name]
    return ({b: v / total for b, v in per_block.items()}, {k: v / total for k, v in sq_w.items()}, used)


def division_of_labour(net, params, tasks: list[TaskSpec], train: dict, test: dict, relax: dict,
                       n_eval: int, ports, grad_batch: int = 32, seed: int = 0) -> dict:
    """The map (module docstring) as arrays: ``blocks`` (B,), ``tasks`` (K,), ``metric`` (K,),
    ``intact``/``reference`` (K,; the reference: every hidden block silenced), ``silenced``/``drop``/``damage``/``grad_share`` (B, K),
    ``role`` (B, K), ``projections`` (Q,) with ``proj_share`` (Q, K), ``grad_examples`` (K,)
    and ``residual_max`` (the largest stationarity residual any of its relaxations ended at)."""
    blocks = net.block_names()
    nb, nk = len(blocks), len(tasks)
    out = {k: np.full((nb, nk), np.nan) for k in ("silenced", "drop", "damage", "grad_share")}
    role = np.empty((nb, nk), dtype=object)
    projs = [p.name for p in net.projections]
    proj_share = np.zeros((len(projs), nk))
    intact, reference, used = np.zeros(nk), np.zeros(nk), np.zeros(nk, dtype=int)
    ev = Evaluation()
    idx = np.random.default_rng(seed).choice(len(train["_y"]), size=min(grad_batch, len(train["_y"])),
                                             replace=False)
    batch = {k: v[idx] for k, v in train.items()}
    for j, task in enumerate(tasks):
        r = roles(net, task, ports)
        intact[j] = silenced_score(net, params, task, test, relax, n_eval, ports, None, ev)
        reference[j] = silenced_score(net, params, task, test, relax, n_eval, ports,
                                      [b for b in blocks if r[b] == "hidden"], ev)
        sign = 1.0 if task.metric == "accuracy" else -1.0
        skill = sign * (intact[j] - reference[j])
        for i, b in enumerate(blocks):
            role[i, j] = r[b]
            if r[b] == "target":
                continue
            s = intact[j] if r[b] == "silent" else silenced_score(net, params, task, test, relax, n_eval,
                                                                  ports, b, ev)
            out["silenced"][i, j] = s
            out["drop"][i, j] = sign * (intact[j] - s) if r[b] != "silent" else 0.0
            out["damage"][i, j] = out["drop"][i, j] / skill if abs(skill) > 0 else np.nan
        shares, pshares, used[j] = gradient_shares(net, params, task, batch, relax, ports, ev)
        out["grad_share"][:, j] = [shares[b] for b in blocks]
        proj_share[:, j] = [pshares[p] for p in projs]
    return {"blocks": np.array(blocks), "tasks": np.array([t.name for t in tasks]),
            "metric": np.array([t.metric for t in tasks]), "intact": intact, "reference": reference,
            **out, "role": role.astype(str), "projections": np.array(projs), "proj_share": proj_share,
            "grad_examples": used, "residual_max": np.float64(ev.worst_residual)}


def write_division(run_dir, net, params, tasks, train, test, relax, n_eval, ports, **kw) -> dict:
    """Compute the map, write ``division_of_labour.npz`` and ``.json`` into ``run_dir``; return a
    summary for metrics.json: per task the hidden block whose silencing moves the score most and
    the block that takes the largest gradient share."""
    m = division_of_labour(net, params, tasks, train, test, relax, n_eval, ports, **kw)
    run_dir = Path(run_dir)
    np.savez(run_dir / FILE_NPZ, **m)
    as_json = {k: (v.tolist() if isinstance(v, np.ndarray) else float(v)) for k, v in m.items()}
    as_json = {k: _nan_to_none(v) for k, v in as_json.items()}
    (run_dir / FILE_JSON).write_text(json.dumps(as_json, indent=1), encoding="utf-8")
    summary = {"residual_max": float(m["residual_max"])}
    for j, name in enumerate(m["tasks"]):
        damage = np.where(m["role"][:, j] == "hidden", m["damage"][:, j], np.nan)
        entry = {"grad_largest": str(m["blocks"][int(np.nanargmax(m["grad_share"][:, j]))])}
        if np.isfinite(damage).any():  # the hidden block whose silencing moves the score most (signed)
            i = int(np.nanargmax(np.abs(damage)))
            entry.update(hidden_largest_effect=str(m["blocks"][i]), hidden_damage=float(damage[i]))
        summary[str(name)] = entry
    return summary


def _nan_to_none(v):
    if isinstance(v, list):
        return [_nan_to_none(x) for x in v]
    return None if isinstance(v, float) and not np.isfinite(v) else v
