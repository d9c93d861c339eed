#!/usr/bin/env python
"""Train the lump with a noise-level denoising task concurrently with the others, then let it
sample p(image | label) by its own reverse process (docs/hypothesis.md §11) — a guidance sweep,
or sampling only from saved weights. ``neurosim run scenarios/brain_generative.toml`` does the
same through ``[multitask.sample]``; this tool adds ``--params`` (no training) and the sweep.

    python tools/lump_generation.py [--scenario scenarios/brain_generative.toml] [--out runs/lump_gen]
                                    [--set KEY=VALUE ...] [--per-class 20] [--steps 18] [--guidance 0 1]

The scenario's noise-level task (a ``[[tasks]]`` entry with a ``noise_level`` table) is learned
online with the others as ``kind = "multitask"`` does, and on the final weights:

* classification accuracy and the denoising error at σ = 0.1, 0.5, 1, 2 (held-out digits);
* samples from the network's reverse process (``experiments/lump_sampling.py``) for every class,
  for each guidance weight, scored by a judging classifier, diversity, MMD and W2 per class.

Writes OUT/samples.npz (the first guidance weight's samples: the report's sample grid),
OUT/lump_trajectory.npz, OUT/lump_generation.json, OUT/params.npz and the report.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import neurosim.api as ns
from neurosim.data import load_dataset
from neurosim.data.multimodal import modality_fields
from neurosim.experiments.lump_generation_eval import denoise_errors, sample_study, save_samples
from neurosim.experiments.multitask import ConcurrentRun, Evaluation, port_blocks, task_specs
from neurosim.experiments.noise_level_task import NoiseLevelTask
from neurosim.experiments.setup import make_network


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
    tasks = task_specs(scenario)
    gen = next((t for t in tasks if isinstance(t, NoiseLevelTask)), None)
    if gen is None:
        raise SystemExit(f"{args.scenario}: no [[tasks]] entry with a noise_level table")
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
              "tasks": {t.name: {"metric": t.metric, "initial": ev.task(net, params0, t, test, relax, n_eval, ports),
                                 "final": ev.task(net, params, t, test, relax, n_eval, ports)} for t in tasks},
              "denoise_mse": denoise_errors(net, params, gen, test, relax, n_eval, ports)}
    options = {"sampler": args.sampler, "steps": args.steps, "guidance": args.guidance,
               "per_class": args.per_class, "warm": args.warm}
    sampling, first = sample_study(net, params, gen, train, test, relax, ports, options, 0)
    result["sampling"] = sampling
    for w, m in sampling["guidance"].items():
        print(f"guidance {w}: judge accuracy {m['judge_accuracy']:.3f}, diversity ratio "
              f"{m['diversity_ratio_mean']:.3f}, MMD² {m['mmd2_mean']:.4f}, W2 {m['w2_mean']:.3f}")
    save_samples(out, first, test)
    (out / "lump_generation.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "sampling"}, indent=1))
    from neurosim.plotting import plot_and_report
    print(plot_and_report(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
