#!/usr/bin/env python
"""The diagnostics behind docs/hypothesis.md §10.1 and §10.3 (concurrent runs of brain_multitask).

    python tools/rhythm_diagnostics.py trace hep_per_task --stop 1300 --out trace.json   # §10.1 (≈ 10 min)
    python tools/rhythm_diagnostics.py trace hep_shared --stop 1300 --out trace_shared.json
    python tools/rhythm_diagnostics.py leak RUN_DIR                                       # §10.3 (≈ 5 min)
    python tools/rhythm_diagnostics.py windowed --window 40 --periods 13.333333333333334,10,8 --duration 2500

``trace``: a variant of tools/hypothesis_study.py on the 10 000 τ horizon (the timeline depends on
it), stopped at ``--stop``; every δ the largest |Im x| of five blocks, every 10 τ the weight norms.
``leak``: on RUN_DIR's final weights, frozen, every λ_k = 0 (everything the synapses accumulate is
leak from the clamps' switches), |Σ ΔW| over 800 τ for several rhythm designs.
``windowed``: per-task rhythms (real states, η constant) with the accumulated update applied once
per ``--window`` instead of every sample; the final scores and readout weight norms.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

import neurosim.api as ns
from neurosim.engine.simulator import SimulationDiverged
from neurosim.experiments.multitask import ConcurrentRun, Evaluation
from neurosim.experiments.multitask_run import MultitaskRun, finished_run

SCENARIO = "scenarios/brain_multitask.toml"
BLOCKS = ("inp_bottom", "h_vis", "h_sem", "cls_label", "gen_image")


class _Stop(Exception):
    pass


def trace(variant: str, stop: float, out: Path):
    from hypothesis_study import variants
    base = ns.load(SCENARIO)
    sc = base.with_changes(**{**variants(base)[variant], "multitask__duration": 10000.0})
    m = MultitaskRun(sc, out.parent / "_trace_scratch", False)
    run, c = m.run, m.run.compiled
    fine, coarse = [], []

    def step_fn(step):
        t = step * sc["plasticity"]["sample_interval"]
        if t >= stop:
            raise _Stop()
        st = run.sim.states()
        fine.append([t] + [float(np.abs(np.imag(st[b])).max()) for b in BLOCKS] +
                    [float(np.abs(np.real(st["inp_bottom"])).max())])
        if step % 40 == 0:
            coarse.append({"t": t, **{n: float(np.linalg.norm(np.real(c.weight(k)))) for k, n in enumerate(c.proj_names)}})
    try:
        run.run(step_fn=step_fn)
        status = "finished"
    except SimulationDiverged as err:
        status = f"diverged: {err}"
    except _Stop:
        status = f"stopped at {stop:g}"
    f = np.array(fine)
    print(status)
    for t0 in range(0, int(f[-1, 0]) + 1, 100):
        sel = (f[:, 0] >= t0) & (f[:, 0] < t0 + 100)
        print(f"  t {t0:5d}-{t0 + 100:<5d} max|Im x| " + " ".join(f"{b} {v:.2f}" for b, v in zip(BLOCKS, f[sel, 1:6].max(0))))
    out.write_text(json.dumps({"status": status, "columns": ["t", *BLOCKS, "re_inp_bottom"], "fine": fine,
                               "weights": coarse}))


def leak(run_dir: Path):
    designs = {"shared 8": ("shared", 8.0, [8, 8, 8]), "shared 13.3": ("shared", 40 / 3, [8, 8, 8]),
               "per-task 13.3/10/8": ("per_task", 8.0, [40 / 3, 10, 8]), "per-task 10/7.5/6": ("per_task", 8.0, [10, 7.5, 6]),
               "per-task 6/8/10": ("per_task", 8.0, [6, 8, 10])}
    for name, (rhythm, period, periods) in designs.items():
        sc = ns.load(run_dir / "scenario.toml", ["multitask.duration=800", f"plasticity.rhythm={rhythm}",
                                                 f"plasticity.period={period}"])
        m, params = finished_run(sc, run_dir)
        run = ConcurrentRun(sc, [dataclasses.replace(t, lam=0.0, period=p) for t, p in zip(m.tasks, periods)],
                            m.train, params)
        run.plasticity.apply = False
        run.run()
        w, _ = run.plasticity.total_update()
        print(f"{name:20s} |Σ ΔW| = {np.linalg.norm(np.concatenate([v.ravel() for v in w.values()])):.3f}", flush=True)


def windowed(window: float, periods, duration: float):
    over = ["plasticity.rhythm=per_task", "plasticity.lr_schedule=constant", f"multitask.duration={duration}",
            "multitask.isolated=false", "multitask.controls=[]", "multitask.gradient_probe=false"]
    sc = ns.load(SCENARIO, over + [f"tasks[{k}].period={p}" for k, p in enumerate(periods)])
    m = MultitaskRun(sc, Path("runs/_windowed_scratch"), False)
    pl, c = m.run.plasticity, m.run.compiled
    pl.apply = False
    every = max(1, int(round(window / sc["plasticity"]["sample_interval"])))

    def step_fn(step):
        if step % every or pl.total_dw is None:
            return
        nk = len(c.proj_names)
        for k in range(nk):
            c.weight(k)[...] += pl.total_dw[k]
        for i in range(len(c.names)):
            c.bias_of(i)[...] += pl.total_dw[nk + i]
        pl.reset_total()
    m.run.run(step_fn=step_fn)
    params, ev = c.params(), Evaluation()
    scores = {t.name: ev.task(m.net, params, t, m.test, m.relax, m.n_eval, m.ports) for t in m.tasks}
    print(json.dumps({"scores": scores, "weights": {n: float(np.linalg.norm(params.weights[n])) for n in
                      ("gen_image->h_vis", "inp_bottom->h_vis", "cls_image->h_vis")}}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("trace")
    a.add_argument("variant", choices=("hep_per_task", "hep_shared"))
    a.add_argument("--stop", type=float, default=1300.0)
    a.add_argument("--out", default="trace.json")
    b = sub.add_parser("leak")
    b.add_argument("run_dir")
    c = sub.add_parser("windowed")
    c.add_argument("--window", type=float, default=40.0)
    c.add_argument("--periods", default="13.333333333333334,10,8")
    c.add_argument("--duration", type=float, default=2500.0)
    args = ap.parse_args()
    if args.cmd == "trace":
        trace(args.variant, args.stop, Path(args.out))
    elif args.cmd == "leak":
        leak(Path(args.run_dir))
    else:
        windowed(args.window, [float(p) for p in args.periods.split(",")], args.duration)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
