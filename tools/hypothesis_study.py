#!/usr/bin/env python
"""Variants of scenarios/brain_multitask.toml for docs/hypothesis.md, each one run directory.

    python tools/hypothesis_study.py [--out runs/hypothesis] [--duration 20000] [VARIANT ...]

Variants (the scenario as bundled is ``baseline_hebb`` with one shared rhythm of period 8 τ
and clamps that fade over one period):
  no_fade         the same with step clamps (fade = 0)
  rhythm4         a rhythm of period 4 τ (fade 4 τ): twice the lag of the state behind λ(t)
  hep_shared      continuous holomorphic EP (complex states), one shared rhythm (≈ 6.5× the cost)
  hep_per_task    the same with one rhythm per task (periods 6, 8, 10 τ)
  baseline_only   ρρ − H̄ with no correlating signal (should learn nothing)
  none            no plasticity (the initial network, for reference)
The variants skip the isolated and batch controls (the bundled run has them). A summary table
is printed and written to OUT/summary.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import neurosim.api as ns
from neurosim.engine.simulator import SimulationDiverged

SCENARIO = "scenarios/brain_multitask.toml"


def variants(base) -> dict:
    quick = {"multitask__isolated": False, "multitask__controls": []}
    period = base["plasticity"]["period"]

    def tasks(**fields):
        return [dict(t, **fields) for t in base["tasks"]]

    per_task = [dict(t, period=p) for t, p in zip(base["tasks"], [0.75 * period, period, 1.25 * period])]
    return {
        "no_fade": {**quick, "tasks": tasks(fade=0.0)},
        "rhythm4": {**quick, "plasticity__period": 4.0, "plasticity__baseline_tau": 4.0, "tasks": tasks(fade=4.0)},
        "hep_shared": {**quick, "plasticity__rule": "hep_continuous"},
        "hep_per_task": {**quick, "plasticity__rule": "hep_continuous", "plasticity__rhythm": "per_task",
                         "tasks": per_task},
        "baseline_only": {**quick, "plasticity__rule": "baseline_only"},
        "none": {**quick, "plasticity__rule": "none", "multitask__gradient_probe": False},
    }


def summary_row(name: str, metrics: dict) -> str:
    tasks = metrics["tasks"]
    cells = [f"{t['initial']:.3f} → {t['final']:.3f}" for t in tasks.values()]
    cos = metrics.get("grad_cosine_to_bp")
    return f"| {name} | " + " | ".join(cells) + f" | {cos:.3f} |" if cos is not None else \
        f"| {name} | " + " | ".join(cells) + " | – |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--out", default="runs/hypothesis")
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args()
    base = ns.load(SCENARIO)
    table = variants(base)
    names = args.names or list(table)
    out = Path(args.out)
    rows = []
    for name in names:
        changes = dict(table[name])
        if args.duration:
            changes["multitask__duration"] = args.duration
        scenario = base.with_changes(**changes)
        try:
            result = ns.run(scenario, out / name, progress=True, overwrite=True)  # a study reruns its variants
        except SimulationDiverged as err:  # a finding, not a crash: record it and go on
            rows.append(f"| {name} | diverged: {err} |")
            print(rows[-1])
            continue
        rows.append(summary_row(name, result.metrics))
        print(json.dumps(result.metrics["tasks"], indent=1))
    header = "| variant | " + " | ".join(t["name"] for t in base["tasks"]) + " | grad cosine |"
    text = "\n".join([header, "|" + "---|" * (len(base["tasks"]) + 2)] + rows) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
