"""``kind = "relax"``: clamp, nudge and let the network relax under its scheduler; record probes."""
from __future__ import annotations

import sys
import time

import numpy as np

from ..engine.probes import probe_bytes
from .progress import Progress
from .setup import clamp_values, init_state, make_compiled, make_simulator, probe_spec

LAMBDA_SCHEDULES = {"constant": "constant", "step": "constant", "sinusoid": "sinusoid"}


def apply_clamps_and_nudges(scenario, sim) -> None:
    particles = sim.c.n_particles
    rng = scenario.rng("tasks")
    for entry in scenario["clamps"]:
        n = int(sim.c.sizes[sim.c.index(entry["block"])])
        sim.clamp(entry["block"], clamp_values(entry, n, particles, rng))
    for entry in scenario["nudges"]:
        n = int(sim.c.sizes[sim.c.index(entry["block"])])
        target = np.broadcast_to(np.asarray(entry["target"], dtype=float), (particles, n))
        schedule = entry["schedule"]
        sim.nudge(entry["block"], target, entry["lam"], cost=entry["cost"],
                  kind=LAMBDA_SCHEDULES[schedule], omega=2 * np.pi / entry["period"],
                  t_on=entry["t_on"] if schedule == "step" else -np.inf)


def run_relax_kind(scenario, progress, run_dir, resume):
    """``kind = "relax"`` in the runner table's signature (nothing to resume: a relaxation is short)."""
    return run_relax(scenario, progress)


def run_relax(scenario, progress: bool = True):
    """Run a relaxation; returns (metrics, traces, extra files)."""
    net, params, compiled = make_compiled(scenario)
    spec = probe_spec(scenario)
    duration = scenario["simulation"]["duration"]
    memory = probe_bytes(compiled, spec, duration)
    if progress:
        print(f"probes will take {memory / 2**20:.2f} MiB", file=sys.stderr)
    sim = make_simulator(scenario, compiled, spec)
    init_state(scenario, sim)
    apply_clamps_and_nudges(scenario, sim)
    bar = Progress(duration, label=scenario["name"], enabled=progress, unit="τ")
    start = time.perf_counter()
    chunk = max(duration / 100.0, scenario["simulation"]["dt"])
    while sim.t < duration - 1e-12:
        t_before = sim.t
        sim.run(min(chunk, duration - sim.t))
        bar.update(sim.t)
        if sim.t == t_before:
            # tick schedulers run whole ticks: less than dt is left, which they cannot advance
            break
    bar.close()
    wall = time.perf_counter() - start
    traces = sim.traces()
    for entry in scenario["nudges"]:
        traces[f"lambda/{entry['block']}"] = np.array([sim.lam(entry["block"], t) for t in traces["time"]])
    final_energy = sim.energy()
    metrics = {
        "final_energy": float(np.mean(final_energy.real)),
        "n_events": int(sim.n_events),
        "simulated_time": float(sim.t),
        "probe_bytes": int(memory),
        "wall_seconds": wall,
    }
    metrics["final_residual"] = sim.residual()
    return metrics, traces, {"net": net, "params": compiled.params(), "sim": sim}
