#!/usr/bin/env python
"""A multitask run's final weights scored two ways: the run's own evaluation (the other ports
silent) and in company (every other task's conditions clamped too, their targets free), as the
tasks mostly ran during the concurrent run (``experiments/context_eval.py``; docs/hypothesis.md §15).

    python tools/eval_in_context.py RUN_DIR [--n-eval 300] [--presence 0.75]   # ≈ 25 s for the six-task lump

RUN_DIR is a finished multitask run (its scenario.toml and checkpoint.npz: the concurrent run's
final weights). Prints a line per task and writes RUN_DIR/in_context.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import neurosim.api as ns
from neurosim.experiments.context_eval import in_context_scores
from neurosim.experiments.multitask_run import finished_run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--n-eval", type=int, default=None, help="held-out examples (default: the scenario's n_eval)")
    ap.add_argument("--presence", type=float, default=1.0,
                    help="probability that each other task is shown on an example (default 1: all of them)")
    args = ap.parse_args()
    run_dir = Path(args.run_dir)
    m, params = finished_run(ns.load(run_dir / "scenario.toml"), run_dir)
    out = in_context_scores(m.net, params, m.tasks, m.ports, m.test, m.relax, args.n_eval or m.n_eval,
                            args.presence)
    for t in m.tasks:
        r = out[t.name]
        print(f"{t.name:>10} ({t.metric}): silent {r['silent']:.4f}, in company {r['in_context']:.4f}")
    print(f"largest stationarity residual {out['eval_residual']:.3g}")
    name = "in_context.json" if args.presence == 1.0 else f"in_context_p{args.presence:g}.json"
    (run_dir / name).write_text(json.dumps({"presence": args.presence, **out}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
