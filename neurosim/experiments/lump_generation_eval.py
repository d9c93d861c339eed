"""``[multitask.sample]``: the trained lump samples p(image | condition) by its own reverse process,
as an evaluation of a ``kind = "multitask"`` run (docs/hypothesis.md §11).

On the final weights, through the ports of the scenario's noise-level task (``noise_level_task.py``):

* the denoising error MSE(D(x₀ + σε; σ, c), x₀) at σ ∈ :data:`DENOISE_SIGMAS` on held-out examples;
* ``per_class`` samples of every class for each guidance weight w (``lump_sampling.sample``: the
  noisy port starts at σ_max z, the lump relaxes, the port moves by the sampler's update, repeat;
  D_w = (1 + w) D(x | c) − w D(x | ∅) with the condition ports silenced for the second term), the
  condition of class y's samples being the condition fields of held-out examples of class y (the
  one-hot label, or a code with its noise);
* their metrics (``lump_sampling.sample_metrics``): the judging classifier's accuracy, the
  diversity ratio to the real test digits of the class, MMD² and W2 per class.

The first guidance weight's samples go to ``samples.npz`` (the report's sample grid) and its
trajectory to ``lump_trajectory.npz`` (the reverse process step by step).

With ``bp = true`` (:func:`write_samples_bp`) the same network trained on the task alone by the
exact gradient — the ``bp`` control, retrained if the run did not train it — is sampled by the
same code with the same starting noise and judged by the same metrics (``sampling_bp``,
``samples_bp.npz``): the lump's samples beside those of its backprop twin.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .lump_sampling import LumpDenoiser, LumpPorts, judge, sample, sample_metrics
from .multitask import Evaluation
from .multitask_controls import control_status
from .noise_level_task import NoiseLevelTask

#: the noise levels of the denoising-error table
DENOISE_SIGMAS = (0.1, 0.5, 1.0, 2.0)


def lump_ports(task: NoiseLevelTask, ports) -> LumpPorts:
    """The task's blocks in their sampling roles; every other port silent."""
    cond = {b: f for b, f in zip(task.condition, task.condition_fields) if b not in (task.noisy_block, task.level_block)}
    return LumpPorts(noisy=task.noisy_block, estimate=task.target[0], condition=cond, level=task.level_block,
                     embedding=task.embedding, n_embed=task.n_embed, sigma_range=(task.sigma_min, task.sigma_max),
                     silent=tuple(b for b in ports if b not in task.blocks))


def denoise_errors(net, params, task: NoiseLevelTask, data: dict, relax: dict, n_eval: int, ports) -> dict:
    """σ → the task's held-out MSE with every example shown at that σ."""
    ev = Evaluation()
    return {f"{s:g}": ev.probe(net, params, ports, replace(task, fixed_sigma=s), "mse", data, relax, n_eval)
            for s in DENOISE_SIGMAS}


def class_conditions(lp: LumpPorts, data: dict, per_class: int) -> tuple[np.ndarray, dict]:
    """(labels, block → values): ``per_class`` samples per class, each conditioned on one held-out
    example of its class (cycling if the class has fewer)."""
    y = data["_y"]
    idx = np.concatenate([np.resize(np.flatnonzero(y == c), per_class) for c in np.unique(y)])
    return y[idx], {b: np.asarray(data[f][idx], float) for b, f in lp.condition.items()}


def guidance_interval(options: dict) -> tuple | None:
    """``guidance_sigma`` of a ``[multitask.sample]`` table as (σ_lo, σ_hi), None when it is empty."""
    lo_hi = options.get("guidance_sigma") or []
    return (float(lo_hi[0]), float(lo_hi[1])) if lo_hi else None


def sample_study(net, params, task: NoiseLevelTask, train: dict, test: dict, relax: dict, ports, options: dict,
                 seed) -> tuple[dict, dict]:
    """(metrics, the first guidance weight's :func:`lump_sampling.sample` result). ``options``: the
    ``[multitask.sample]`` table; ``seed``: the sampling noise's stream (the same for every w, so
    the weights are compared on the same starting noise)."""
    lp = lump_ports(task, ports)
    labels, cond = class_conditions(lp, test, options["per_class"])
    clf = judge(train["image"], train["_y"])
    out = {"sampler": options["sampler"], "steps": options["steps"], "per_class": options["per_class"],
           "guidance_sigma": list(guidance_interval(options) or ()), "guidance": {}}
    first = None
    for w in options["guidance"]:
        t0 = time.perf_counter()
        den = LumpDenoiser(net, params, lp, relax, warm=options["warm"])
        res = sample(den, cond, len(labels), np.random.default_rng(seed), sampler=options["sampler"],
                     n_steps=options["steps"], sigma_min=task.sigma_min, sigma_max=task.sigma_max, guidance=w,
                     guidance_sigma=guidance_interval(options))
        m = sample_metrics(res["samples"], labels, test["image"], test["_y"], clf)
        m.update(wall_seconds=time.perf_counter() - t0, relaxations=den.n_relaxations, residual_max=den.worst_residual)
        out["guidance"][f"{w:g}"] = m
        if first is None:
            first = dict(res, labels=labels)
    w0 = out["guidance"][f"{options['guidance'][0]:g}"]
    # the headline figures: the first guidance weight's
    out.update(judge_accuracy=w0["judge_accuracy"], diversity_ratio=w0["diversity_ratio_mean"],
               mmd2=w0["mmd2_mean"], w2=w0["w2_mean"], judge_accuracy_real=w0["judge_accuracy_real"])
    return out, first


def write_samples(run_dir, net, params, tasks, train: dict, test: dict, relax: dict, n_eval: int, ports,
                  options: dict, seed, suffix: str = "") -> dict:
    """Run :func:`sample_study` and :func:`denoise_errors` for the task ``options["task"]``; write
    ``samples{suffix}.npz`` and ``lump_trajectory{suffix}.npz``; return the metrics
    (``metrics.json``'s ``sampling``)."""
    task = next(t for t in tasks if t.name == options["task"])
    metrics, first = sample_study(net, params, task, train, test, relax, ports, options, seed)
    metrics["task"] = task.name
    metrics["denoise_mse"] = denoise_errors(net, params, task, test, relax, n_eval, ports)
    save_samples(run_dir, first, test, suffix)
    return metrics


def sampling_seed(scenario):
    """The sampling noise's stream of a run: the same for the lump, its twin and a resample."""
    return scenario.seed_sequence("training").spawn(1)[0]


def sampled_task(tasks, options: dict) -> int:
    """The index of the ``[multitask.sample]`` table's task among ``tasks``."""
    return next(i for i, t in enumerate(tasks) if t.name == options["task"])


def write_samples_bp(run_dir, run, metrics: dict, seed, twin: tuple | None = None) -> dict:
    """``metrics.json``'s ``sampling_bp``: the task's bp control (``run.bp_network``, ``run`` a
    ``MultitaskRun``) sampled and judged as :func:`write_samples` does the lump, with the same
    ``seed`` (the same starting noise), into ``samples_bp.npz``. ``status`` is the control's
    (``control_status``: it failed, or ended no better than the untrained network); a failed
    control is not sampled — its samples would be a fact about the failure, not about bp.
    ``twin``: (params, failure, excluded fraction) of a saved twin (``lump_resample.read_bp_twin``)
    instead of ``run.bp_network``."""
    options = run.mt["sample"]
    k = sampled_task(run.tasks, options)
    task = run.tasks[k]
    params, failure, excluded = twin if twin is not None else run.bp_network(k)
    final = None if failure else Evaluation().task(run.net, params, task, run.test, run.relax, run.n_eval, run.ports)
    status = control_status(task.metric, final, metrics["tasks"][task.name]["initial"], None, failure)
    out = {"status": status, f"task_{task.metric}": final, "excluded_fraction": excluded,
           "headline_guidance": f"{options['guidance'][0]:g}"}  # the weight of the headline figures
    if status != "ok":
        return out
    return {**out, **write_samples(run_dir, run.net, params, run.tasks, run.train, run.test, run.relax, run.n_eval,
                                   run.ports, options, seed, suffix="_bp")}


def save_samples(run_dir, first: dict, test: dict, suffix: str = "") -> None:
    """``samples{suffix}.npz`` (clipped to the pixel range [0, 1], beside 200 real test digits) and
    ``lump_trajectory{suffix}.npz`` of one :func:`sample_study` result."""
    run_dir = Path(run_dir)
    np.savez(run_dir / f"samples{suffix}.npz", samples=np.clip(first["samples"], 0, 1),
             reference=test["image"][:200], labels=first["labels"])
    np.savez(run_dir / f"lump_trajectory{suffix}.npz", trajectory=first["trajectory"],
             estimates=first["estimates"], sigmas=first["sigmas"], labels=first["labels"])
