"""``neurosim bench``: engine throughput, measured beside numpy in the same run.

1. ``poisson`` scheduler on 64 blocks of 32 units, P = 1: block updates per second of the bare
   event loop (its overhead dominates), then of the plastic loop (event-driven baseline_hebb
   plasticity, one block nudged by a rhythm) on the same network, the rule applied at every
   segment and once per 32 (``plasticity.apply_every``).
2. The bundled multitask network (P = 32, its conditions clamped, its targets free): the bare
   event loop, then the plastic loop with the scenario's rule.
3. ``sync`` scheduler on 4 blocks of 1024 units in a chain, P = 256: effective GFLOP/s of the
   relaxation (2·P·n_pre·n_post flops per coupling direction per tick) beside numpy's float64
   matmul GFLOP/s on the same shapes, measured in the same process.

Each figure is printed as soon as it is measured.

Timings are best-of-k on a shared machine; ratios measured in one run are what to compare.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from ..build import build
from ..engine.simulator import Simulator
from ..model.network import Network


def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def poisson_network(n_blocks=64, size=32, seed=0):
    """A ring of blocks with a chord to the block n/2 + i (every block has 3–4 neighbours)."""
    net = Network()
    for i in range(n_blocks):
        net.add_block(f"b{i}", size, "sigmoid4", rate=1.0)
    for i in range(n_blocks):
        net.add_projection(f"b{i}", f"b{(i + 1) % n_blocks}", gain=0.5)
    for i in range(0, n_blocks // 2, 2):
        j = (i + n_blocks // 2) % n_blocks
        net.add_projection(f"b{i}", f"b{j}", gain=0.5)
    return net, net.init_params(np.random.default_rng(seed))


def _rate(sim, run, duration: float, repeats: int) -> float:
    """Block updates per second of ``run(d)`` over ``repeats`` runs of duration/repeats (best)."""
    n0 = sim.n_events
    t = _best_of(lambda: run(duration / repeats), repeats)
    return (sim.n_events - n0) / repeats / t


#: apply interval of the bench's logged plastic loop (``plasticity.apply_every``)
LOGGED_APPLY_EVERY = 32


def _plastic(compiled, rule="baseline_hebb", period=8.0, apply_every=1):
    from ..learning.plasticity import EventPlasticity, PlasticityConfig
    pl = EventPlasticity(compiled, [2 * np.pi / period], PlasticityConfig(rule, beta=0.25, lr=1e-4,
                                                                          baseline_tau=8.0,
                                                                          apply_every=apply_every))
    pl.keep_total = False  # as in a run: the weights learn, nobody reads the running sum
    return pl


def bench_poisson(duration: float = 2000.0, repeats: int = 3) -> dict:
    """The bare event loop on 64 blocks of 32 units (P = 1), then the plastic loop (baseline_hebb,
    one block nudged by a rhythm) on the same network in the same process: the rule applied at
    every segment, then once per :data:`LOGGED_APPLY_EVERY` segments (``plasticity.apply_every``)."""
    net, params = poisson_network()
    compiled = build(net, params, 1)
    sim = Simulator(compiled, scheduler="poisson", dt=10.0, seed=0)
    sim.run(1.0)  # compile / warm up
    bare = _rate(sim, sim.run, duration, repeats)
    sim.nudge("b0", np.full((1, 32), 0.5), 0.25, kind="sinusoid", omega=2 * np.pi / 8.0)
    pl = _plastic(compiled)
    pl.run(sim, 1.0)
    plastic = _rate(sim, lambda d: pl.run(sim, d), duration, repeats)
    logged = _plastic(compiled, apply_every=LOGGED_APPLY_EVERY)
    logged.run(sim, 1.0)
    plastic_logged = _rate(sim, lambda d: logged.run(sim, d), duration, repeats)
    return {"poisson_block_updates_per_second": bare, "plastic_block_updates_per_second": plastic,
            "plastic_fraction_of_bare": plastic / bare,
            "plastic_logged_block_updates_per_second": plastic_logged,
            "plastic_logged_fraction_of_bare": plastic_logged / bare}


def bench_multitask(duration: float = 200.0, repeats: int = 2) -> dict:
    """The bundled multitask network (scenarios/brain_multitask.toml, P = 32): every task's
    conditions clamped to data, its targets free; the bare event loop, then the plastic loop
    (the scenario's rule, λ(t) on the targets) on the same state in the same process."""
    from pathlib import Path

    from ..scenario.load import load_scenario
    from .setup import make_network
    path = Path(__file__).resolve().parents[2] / "scenarios" / "brain_multitask.toml"
    sc = load_scenario(path)
    net = make_network(sc["network"])
    p = sc["network"]["particles"]
    compiled = build(net, net.init_params(np.random.default_rng(0)), p)
    sim = Simulator(compiled, scheduler="poisson", dt=sc["simulation"]["dt"], seed=0)
    rng = np.random.default_rng(1)
    for task in sc["tasks"]:
        for b in task["condition"]:
            sim.clamp(b, rng.uniform(0, 1, (p, net.block(b).size)))
    for entry in sc["reverse"]:  # the reverse task's ports stay silent, as in the run
        for b in entry["condition"] + entry["target"]:
            if all(b not in t["condition"] + t["target"] for t in sc["tasks"]):
                sim.clamp(b, np.zeros((p, net.block(b).size)))
    sim.run(1.0)
    bare = _rate(sim, sim.run, duration, repeats)
    omega = 2 * np.pi / sc["plasticity"]["period"]
    for task in sc["tasks"]:
        for b in task["target"]:
            sim.nudge(b, rng.uniform(0, 1, (p, net.block(b).size)), sc["plasticity"]["beta"],
                      kind="sinusoid", omega=omega)
    pl = _plastic(compiled, sc["plasticity"]["rule"], sc["plasticity"]["period"])
    pl.run(sim, 1.0)
    plastic = _rate(sim, lambda d: pl.run(sim, d), duration, repeats)
    return {"multitask_block_updates_per_second": bare, "multitask_plastic_block_updates_per_second": plastic,
            "multitask_plastic_fraction_of_bare": plastic / bare}


def bench_sync(n_ticks: int = 10, repeats: int = 3, size: int = 1024, particles: int = 256) -> dict:
    net = Network()
    for i in range(4):
        net.add_block(f"b{i}", size, "sigmoid4")
    for i in range(3):
        net.add_projection(f"b{i}", f"b{i + 1}", gain=0.5)
    compiled = build(net, net.init_params(np.random.default_rng(0)), particles)
    sim = Simulator(compiled, scheduler="sync", dt=0.1, seed=0)
    sim.run(0.1)
    t = _best_of(lambda: sim.run(n_ticks * 0.1), repeats)
    flops = n_ticks * 3 * 2 * (2.0 * particles * size * size)
    rng = np.random.default_rng(1)
    a, w = rng.random((particles, size)), rng.random((size, size))
    out = np.empty((particles, size))
    t_np = _best_of(lambda: [np.dot(a, w, out) for _ in range(6 * n_ticks)], repeats)
    np_flops = 6 * n_ticks * 2.0 * particles * size * size
    ours, theirs = flops / t / 1e9, np_flops / t_np / 1e9
    return {"sync_gflops": ours, "numpy_matmul_gflops": theirs, "sync_fraction_of_numpy": ours / theirs,
            "sync_tick_seconds": t / n_ticks}


LINES = {
    "poisson": lambda r: (f"poisson, 64 blocks x 32 units, P=1:          {r['poisson_block_updates_per_second']:>12,.0f} block updates/s (bare event loop)\n"
                          f"  with plasticity (baseline_hebb):            {r['plastic_block_updates_per_second']:>12,.0f} block updates/s"
                          f"  ({100 * r['plastic_fraction_of_bare']:.0f}% of bare)\n"
                          f"  the same, applied every {LOGGED_APPLY_EVERY} segments:       "
                          f"{r['plastic_logged_block_updates_per_second']:>12,.0f} block updates/s"
                          f"  ({100 * r['plastic_logged_fraction_of_bare']:.0f}% of bare)"),
    "multitask": lambda r: (f"multitask network (brain_multitask), P=32:   {r['multitask_block_updates_per_second']:>12,.0f} block updates/s (bare event loop)\n"
                            f"  with plasticity (the scenario's rule):      {r['multitask_plastic_block_updates_per_second']:>12,.0f} block updates/s"
                            f"  ({100 * r['multitask_plastic_fraction_of_bare']:.0f}% of bare)"),
    "sync": lambda r: (f"sync, 4 blocks x 1024 units, P=256:          {r['sync_gflops']:.2f} GFLOP/s, numpy float64 matmul "
                       f"{r['numpy_matmul_gflops']:.2f} GFLOP/s ({100 * r['sync_fraction_of_numpy']:.0f}% of numpy)"
                       f" [{r['blas_threads']} BLAS thread(s) for both]"),
}


def run_bench(quick: bool = False, report=None) -> dict:
    """Every figure, measured in this process; ``report(name, result)`` after each one."""
    from ..engine.threads import configure_blas_threads
    # both sides of every ratio run under the engine's BLAS thread limit
    result = {"blas_threads": configure_blas_threads(), "cpu_count": os.cpu_count()}
    steps = [("poisson", lambda: bench_poisson(duration=400.0 if quick else 2000.0)),
             ("multitask", lambda: bench_multitask(duration=40.0 if quick else 200.0)),
             ("sync", lambda: bench_sync(n_ticks=3 if quick else 10))]
    for name, fn in steps:
        result.update(fn())
        if report is not None:
            report(name, result)
    return result


def main_bench(quick: bool = False) -> int:
    result = run_bench(quick, report=lambda name, r: print(LINES[name](r), flush=True))
    print(json.dumps(result, indent=2), file=sys.stderr)
    return 0
