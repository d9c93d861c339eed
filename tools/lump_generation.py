#!/usr/bin/env python
"""Train the lump with a noise-level denoising task concurrently with the others, then let it
sample p(image | label) by its own reverse process (docs/hypothesis.md §11).

    python tools/lump_generation.py [--scenario scenarios/brain_generative.toml] [--out runs/lump_gen]
                                    [--set KEY=VALUE ...] [--per-class 20] [--steps 18] [--guidance 0 1]

The scenario's ``generate`` task becomes a :class:`~neurosim.experiments.noise_level_task.NoiseLevelTask`
(its noisy-image port ``gen_noisy`` shows x₀ + σε with ln σ ~ U(ln σ_min, ln σ_max), the level
port ``gen_level`` e(u(σ))), the concurrent run learns every task online as ``kind = "multitask"``
does, and on the final weights:

* classification accuracy and the denoising error at σ = 0.1, 0.5, 1, 2 (held-out digits);
* samples from the network's reverse process (``experiments/lump_sampling.py``) for every class,
  for each guidance weight, scored by a judging classifier, diversity, MMD and W2 per class.

Writes OUT/samples.npz (the first guidance weight's samples: the report's sample grid),
OUT/lump_trajectory.npz, OUT/lump_generation.json, OUT/params.npz and the report.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

import neurosim.api as ns
from neurosim.data import load_dataset
from neurosim.data.multimodal import modality_fields
from neurosim.experiments.lump_sampling import LumpDenoiser, LumpPorts, judge, sample, sample_metrics
from neurosim.experiments.multitask import ConcurrentRun, Evaluation, port_blocks, score, silent, task_specs
from neurosim.experiments.setup import make_network
from neurosim.experiments.noise_level_task import NoiseLevelTask
from neurosim.model.tasks import TaskSpec


def noise_level_tasks(scenario, name="generate", noisy="gen_noisy", level="gen_level", sigma=(0.02, 2.0)):
    tasks = []
    for t in task_specs(scenario):
        if t.name == name:
            base = {f.name: getattr(t, f.name) for f in dataclasses.fields(TaskSpec)}
            base.update(condition=t.condition + (level,), condition_fields=t.condition_fields + ("level",),
                        condition_noise=())
            t = NoiseLevelTask(**base, noisy_block=noisy, level_block=level, sigma_min=sigma[0], sigma_max=sigma[1])
        tasks.append(t)
    return tasks


def denoise_error(net, params, task: NoiseLevelTask, data, relax, n_eval, ports, sigma) -> float:
    t = dataclasses.replace(task, fixed_sigma=sigma)
    sub = {k: v[:n_eval] for k, v in data.items()}
    clamps = silent(ports, set(t.blocks), len(sub["_y"]), net)
    clamps.update(t.condition_values(sub, slice(None), np.random.default_rng(12345)))
    states = Evaluation().free_equilibrium(net, params, clamps, relax)
    return score("mse", states, t.target, t.target_fields, sub)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="scenarios/brain_generative.toml")
    ap.add_argument("--out", default="runs/lump_gen")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--steps", type=int, default=18)
    ap.add_argument("--sampler", default="euler", choices=("euler", "ancestral"))
    ap.add_argument("--guidance", type=float, nargs="+", default=[0.0, 1.0])
    ap.add_argument("--warm", type=float, default=10.0, help="relaxation per sampler step, in τ")
    ap.add_argument("--params", default=None, help="params.npz of an earlier run: skip training, only sample")
    args = ap.parse_args()
    scenario = ns.load(args.scenario, args.set or None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mt = scenario["multitask"]
    tasks = noise_level_tasks(scenario)
    gen = next(t for t in tasks if isinstance(t, NoiseLevelTask))
    ds = load_dataset(mt["dataset"], seed=mt["split_seed"])
    train, test = modality_fields(ds, scenario.rng("data"), mt["code_dim"], mt["code_noise"])
    net = make_network(scenario["network"])
    params0 = net.init_params(scenario.rng("params"))
    ports = port_blocks(tasks)
    relax, n_eval = mt["eval_relax"], mt["n_eval"]
    t0 = time.perf_counter()
    if args.params:
        with np.load(args.params) as z:
            params = params0.copy()
            for k, v in params.weights.items():
                v[...] = z[f"weights/{k}"]
            for k, v in params.biases.items():
                v[...] = z[f"bias/{k}"]
    else:
        params = ConcurrentRun(scenario, tasks, train, params0.copy()).run(progress=True)
    wall = time.perf_counter() - t0
    np.savez(out / "params.npz", **{f"weights/{k}": v for k, v in params.weights.items()},
             **{f"bias/{k}": v for k, v in params.biases.items()})
    ev = Evaluation()
    result = {"scenario": scenario["name"], "duration": mt["duration"], "concurrent_wall_seconds": wall,
              "tasks": {}, "denoise_mse": {}, "sampling": {}}
    for t in tasks:
        if not isinstance(t, NoiseLevelTask):
            result["tasks"][t.name] = {"metric": t.metric, "initial": ev.task(net, params0, t, test, relax, n_eval, ports),
                                       "final": ev.task(net, params, t, test, relax, n_eval, ports)}
    for s in (0.1, 0.5, 1.0, 2.0):
        result["denoise_mse"][str(s)] = denoise_error(net, params, gen, test, relax, n_eval, ports, s)
    clf = judge(train["image"], train["_y"])
    labels = np.repeat(np.arange(10), args.per_class)
    cond = {"gen_label": np.eye(10)[labels]}
    lp = LumpPorts(noisy=gen.noisy_block, estimate=gen.target[0], condition={"gen_label": "label"},
                   level=gen.level_block, embedding=gen.embedding, n_embed=gen.n_embed,
                   sigma_range=(gen.sigma_min, gen.sigma_max), silent=tuple(b for b in ports if b not in gen.blocks))
    first = None
    for w in args.guidance:
        t1 = time.perf_counter()
        den = LumpDenoiser(net, params, lp, relax, warm=args.warm)
        res = sample(den, cond, len(labels), np.random.default_rng(0), sampler=args.sampler, n_steps=args.steps,
                     sigma_min=gen.sigma_min, sigma_max=gen.sigma_max, guidance=w)
        m = sample_metrics(res["samples"], labels, test["image"], test["_y"], clf)
        m.update(wall_seconds=time.perf_counter() - t1, relaxations=den.n_relaxations,
                 residual_max=den.worst_residual, sampler=args.sampler, steps=args.steps)
        result["sampling"][f"guidance_{w:g}"] = m
        print(f"guidance {w:g}: judge accuracy {m['judge_accuracy']:.3f}, diversity ratio "
              f"{m['diversity_ratio_mean']:.3f}, MMD² {m['mmd2_mean']:.4f}, W2 {m['w2_mean']:.3f}")
        if first is None:
            first = res
            np.savez(out / "samples.npz", samples=np.clip(res["samples"], 0, 1), reference=test["image"][:200],
                     labels=labels)
            np.savez(out / "lump_trajectory.npz", trajectory=res["trajectory"], estimates=res["estimates"],
                     sigmas=res["sigmas"], labels=labels)
    (out / "lump_generation.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "sampling"}, indent=1))
    from neurosim.plotting import plot_and_report
    print(plot_and_report(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
