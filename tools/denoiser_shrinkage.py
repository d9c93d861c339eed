#!/usr/bin/env python
"""Does a ``[multitask.sample]`` run's denoiser give its input back as σ → 0, or shrink it toward a
class prototype? (docs/hypothesis.md §11.2)

    python tools/denoiser_shrinkage.py RUN_DIR [--sigmas 0.02 0.1 0.5 2] [--per-class 20]

For the lump (``checkpoint.npz``) and, if the run saved it, the bp twin (``bp_twin.npz``): real
test digits x₀ of every class (the sampling's conditions, ``class_conditions``) shown at
x₀ + σε, relaxed ``--relax`` τ from rest; printed per σ, the within-class spread of the estimates,
S(D) = mean over classes of the mean pairwise distance, beside S(x₀), and MSE(D, x₀). An ideal
denoiser has S(D) → S(x₀) and MSE → σ² as σ → 0. Then, from ``lump_trajectory*.npz``, S(D_i) and
S(x_i) along the run's own reverse process at σ_max, σ_min and the samples. ≈ 40 s per run.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import neurosim.api as ns
from neurosim.experiments.lump_generation_eval import class_conditions, lump_ports, sampled_task
from neurosim.experiments.lump_resample import read_bp_twin
from neurosim.experiments.lump_sampling import LumpDenoiser, mean_pairwise_distance
from neurosim.experiments.multitask_run import finished_run


def spread(x, labels) -> float:
    """S(x): the mean over classes of the within-class mean pairwise distance."""
    return float(np.mean([mean_pairwise_distance(x[labels == c]) for c in np.unique(labels)]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--sigmas", type=float, nargs="+", default=[0.02, 0.1, 0.5, 2.0])
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--relax", type=float, default=40.0, help="τ of relaxation from rest per σ")
    args = ap.parse_args()
    rd = Path(args.run_dir)
    run, lump = finished_run(ns.load(rd / "scenario.toml"), rd)
    nets = {"lump": lump}
    twin = read_bp_twin(rd, run.params0)
    if twin is not None:
        nets["bp"] = twin[0]
    lp = lump_ports(run.tasks[sampled_task(run.tasks, run.mt["sample"])], run.ports)
    labels, cond = class_conditions(lp, run.test, args.per_class)
    y = run.test["_y"]
    x0 = run.test["image"][np.concatenate([np.resize(np.flatnonzero(y == c), args.per_class) for c in np.unique(y)])]
    eps = np.random.default_rng(0).standard_normal(x0.shape)
    print(f"S(x0) = {spread(x0, labels):.2f}")
    for name, params in nets.items():
        cells = []
        for s in args.sigmas:
            d = LumpDenoiser(run.net, params, lp, run.relax, warm=args.relax)(x0 + s * eps, s, cond)
            cells.append(f"σ = {s:g}: S(D) {spread(d, labels):.2f}, MSE {np.mean((d - x0) ** 2):.4f}")
        print(f"{name:5s}", " | ".join(cells))
    for name, suffix in (("lump", ""), ("bp", "_bp")):
        path = rd / f"lump_trajectory{suffix}.npz"
        if path.is_file():
            with np.load(path) as z:
                t, e, lab = z["trajectory"], z["estimates"], z["labels"]
            print(f"{name:5s} reverse process: S(D) at σ_max {spread(e[0], lab):.2f}, at σ_min {spread(e[-1], lab):.2f}; "
                  f"S(x) at σ_min {spread(t[-2], lab):.2f}; samples {spread(t[-1], lab):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
