"""``neurosim bench``: engine throughput, measured beside numpy in the same run.

1. ``poisson`` scheduler on 64 blocks of 32 units, P = 1: block updates per second (the event
   loop's overhead dominates; target ≥ 500,000/s).
2. ``sync`` scheduler on 4 blocks of 1024 units in a chain, P = 256: effective GFLOP/s of the
   relaxation (2·P·n_pre·n_post flops per coupling direction per tick) beside numpy's float64
   matmul GFLOP/s on the same shapes, measured in the same process (target ≥ 50 %).

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


def bench_poisson(duration: float = 2000.0, repeats: int = 3) -> dict:
    net, params = poisson_network()
    compiled = build(net, params, 1)
    sim = Simulator(compiled, scheduler="poisson", dt=10.0, seed=0)
    sim.run(1.0)  # compile / warm up
    n0 = sim.n_events
    t = _best_of(lambda: sim.run(duration / repeats), repeats)
    per_run = (sim.n_events - n0) / repeats
    return {"poisson_block_updates_per_second": per_run / t, "poisson_events_per_run": per_run,
            "poisson_run_seconds": t}


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


def run_bench(quick: bool = False) -> dict:
    from ..engine.threads import configure_blas_threads
    # both sides of every ratio run under the engine's BLAS thread limit
    result = {"blas_threads": configure_blas_threads(), "cpu_count": os.cpu_count()}
    result.update(bench_poisson(duration=400.0 if quick else 2000.0))
    result.update(bench_sync(n_ticks=3 if quick else 10))
    return result


def main_bench(quick: bool = False) -> int:
    result = run_bench(quick)
    print(f"poisson, 64 blocks x 32 units, P=1:   {result['poisson_block_updates_per_second']:,.0f} block updates/s"
          f"   (target >= 500,000)")
    print(f"sync, 4 blocks x 1024 units, P=256:  {result['sync_gflops']:.2f} GFLOP/s"
          f"   numpy float64 matmul {result['numpy_matmul_gflops']:.2f} GFLOP/s"
          f"   ratio {100 * result['sync_fraction_of_numpy']:.0f}% (target >= 50%)"
          f"   [{result['blas_threads']} BLAS thread(s) for both]")
    print(json.dumps(result, indent=2), file=sys.stderr)
    return 0
