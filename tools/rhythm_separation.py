#!/usr/bin/env python
"""Per-task rhythms on frozen weights: does each ω_k-demodulated update follow −∇C_k alone?
(docs/hypothesis.md §10; the measurement is ``experiments/rhythm_separation.py``.)

    python tools/rhythm_separation.py RUN_DIR [--designs shared study harmonic harmonic_slow] [--batch 16]

RUN_DIR is a finished multitask run (its scenario.toml and checkpoint.npz: the final weights).
Every task is clamped at once on a batch of training examples; each design gives the rhythms:

  shared         one rhythm of the scenario's period for every task (the bundled scenario)
  study          periods 0.75·T, T, 1.25·T (the complex-state study's 6, 8, 10 τ), over 3 T
  study_long     the same over 15 T (120 τ: the periods' common multiple)
  harmonic       multiples 3, 4, 5 of a base period of 5 T (40 τ: periods 13.3, 10, 8 τ), over 5 T
  harmonic_fast  multiples 3, 4, 5 of 3.75 T (30 τ: periods 10, 7.5, 6 τ), over 3.75 T
  harmonic_3T    multiples 3, 4, 5 of 3 T (24 τ: periods 8, 6, 4.8 τ), over 3 T
  harmonic_slow  multiples 3, 4, 5 of 10 T (80 τ: periods 26.7, 20, 16 τ), over 10 T

Prints, per design, cos(U_k, −∇C_k) for every task, the cross-talk matrix cos(U_k, −∇C_j) beside
the gradients' own cosines, and cos(Σ_k U_k, −Σ_k ∇C_k); writes RUN_DIR/rhythm_separation.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import neurosim.api as ns
from neurosim.experiments.multitask_run import finished_run
from neurosim.experiments.rhythm_separation import separation
from neurosim.learning.rhythms import harmonic_omegas


def designs(period: float) -> dict:
    """name → (angular frequencies of the three tasks, window)."""
    study = 2 * np.pi / (period * np.array([0.75, 1.0, 1.25]))
    return {"shared": ([2 * np.pi / period] * 3, 3 * period),
            "study": (study, 3 * period),
            "study_long": (study, 15 * period),
            "harmonic": (harmonic_omegas(5 * period, [3, 4, 5]), 5 * period),
            "harmonic_fast": (harmonic_omegas(3.75 * period, [3, 4, 5]), 3.75 * period),
            "harmonic_3T": (harmonic_omegas(3 * period, [3, 4, 5]), 3 * period),
            "harmonic_slow": (harmonic_omegas(10 * period, [3, 4, 5]), 10 * period)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    everything = list(designs(1.0))
    ap.add_argument("--designs", nargs="+", default=everything)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--beta", type=float, default=None, help="|β| (default: the scenario's)")
    args = ap.parse_args()
    run_dir = Path(args.run_dir)
    sc = ns.load(run_dir / "scenario.toml")
    m, params = finished_run(sc, run_dir)
    pl, sim = sc["plasticity"], sc["simulation"]
    beta = args.beta or pl["beta"]
    batch = {k: v[:args.batch] for k, v in m.probe_batch.items()} if args.batch <= len(m.probe_batch["_y"]) else None
    if batch is None:
        idx = np.random.default_rng(0).choice(len(m.train["_y"]), size=args.batch, replace=False)
        batch = {k: v[idx] for k, v in m.train.items()}
    table = designs(pl["period"])
    out = {}
    for name in args.designs:
        omegas, window = table[name]
        t0 = time.perf_counter()
        r = separation(m.net, params, m.tasks, batch, omegas, beta, scheduler=sim["scheduler"], dt=sim["dt"],
                       integrator=sim["integrator"], relax=m.relax["duration"], warmup=2 * pl["period"],
                       window=window, delta=pl["sample_interval"], baseline_tau=pl["baseline_tau"])
        r = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}
        r.update(periods=[float(2 * np.pi / w) for w in omegas], seconds=time.perf_counter() - t0)
        out[name] = r
        print(f"{name}: periods {np.round(r['periods'], 2).tolist()} τ, window {r['window']:g} τ, "
              f"own {np.round(r['own'], 3).tolist()}, total {r['total']:.3f}")
        print("  cross  ", np.round(r["cross"], 3).tolist())
        print("  overlap", np.round(r["overlap"], 3).tolist())
    name = "rhythm_separation" + ("" if args.designs == everything else "_" + "_".join(args.designs))
    (run_dir / f"{name}.json").write_text(json.dumps({"beta": beta, "batch": args.batch,
                                                                "tasks": [t.name for t in m.tasks], **out}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
