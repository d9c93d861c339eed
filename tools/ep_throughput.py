"""EP relaxation throughput vs numpy matmul throughput, in one process.

    python tools/ep_throughput.py scenarios/digits_ep_vs_bp.toml [--rule ep_symmetric] [--batches 20]

Times ``--batches`` training batches of the scenario's rule (estimator gradient only: free phase
+ nudged phases, no optimiser step), counts the flops of the relaxation's matmuls — per tick and
per free block b, for every projection touching b, 2·P·n_b·n_other (one GEMM per projection and
direction, as ``kernels.compute_drive`` does; complex states count 4× real flops) — and compares
the achieved GFLOP/s with numpy's ``a @ w`` on the same shapes (same dtype, same thread limit).
Prints one JSON line: seconds per batch and per epoch, relaxation GFLOP per epoch, achieved
GFLOP/s, numpy GFLOP/s, and their ratio. The matmul flops are a lower bound of the work: the
elementwise ρ/ρ' evaluations are not counted.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.engine.threads import configure_blas_threads  # noqa: E402
from neurosim.experiments.train import Trainer  # noqa: E402
from neurosim.scenario.load import load_scenario  # noqa: E402


def tick_shapes(net, input_block, P):
    """(m, k, n) of every GEMM one sync tick performs: for each free block b and each projection
    touching b, (P, n_other) @ (n_other, n_b)."""
    shapes = []
    for b in net.block_names():
        if b == input_block:
            continue
        for proj in net.projections:
            if b in (proj.pre, proj.post):
                other = proj.post if proj.pre == b else proj.pre
                shapes.append((P, net.block(other).size, net.block(b).size))
    return shapes


def numpy_gflops(shapes, dtype, seconds=1.0):
    rng = np.random.default_rng(0)
    mats = []
    for m, k, n in shapes:
        a = rng.standard_normal((m, k)).astype(dtype)
        w = rng.standard_normal((k, n)).astype(dtype)
        if np.issubdtype(dtype, np.complexfloating):
            a = a + 1j * rng.standard_normal((m, k))
            w = w + 1j * rng.standard_normal((k, n))
        mats.append((a, w))
    flops = sum(2 * m * k * n for m, k, n in shapes) * (4 if np.issubdtype(dtype, np.complexfloating) else 1)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a, w in mats:
            a @ w
        reps += 1
    return reps * flops / (time.perf_counter() - start) / 1e9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--rule", default=None)
    ap.add_argument("--batches", type=int, default=20)
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    if args.rule:
        sc = sc.with_changes(training__rule=args.rule)
    configure_blas_threads()  # the engine's limit (1 thread unless NEUROSIM_BLAS_THREADS)
    if True:
        tr = Trainer(sc)
        t = tr.t
        P, dt = t["batch_size"], t["relax"]["dt"]
        est = tr.estimator
        cplx = tr.rule == "hep" and getattr(est, "n_points", 2) > 2
        n_nudged = {"ep_symmetric": 2, "ep": 1, "ep_random_sign": 1, "chl": 1}.get(
            tr.rule, getattr(est, "n_points", 0))
        ticks = int(round(t["relax"]["free_duration"] / dt)) + n_nudged * int(round(t["relax"]["nudged_duration"] / dt))
        shapes = tick_shapes(tr.net, tr.input, P)
        flops_tick = sum(2 * m * k * n for m, k, n in shapes) * (4 if cplx else 1)
        order = tr.order(1)
        n_batches = len(order) // P
        nb = min(args.batches, n_batches)
        tr.estimator.gradient(tr.problem(order[:P], 0))  # warm-up (numba compile, complex twin)
        start = time.perf_counter()
        for k in range(nb):
            tr.estimator.gradient(tr.problem(order[k * P:(k + 1) * P], tr.batch_seed(1, k)))
        sec_batch = (time.perf_counter() - start) / nb
        ref = numpy_gflops(shapes, np.complex128 if cplx else np.float64)
    achieved = ticks * flops_tick / sec_batch / 1e9
    out = {
        "scenario": sc["name"], "rule": tr.rule, "batch_size": P, "ticks_per_batch": ticks,
        "complex": cplx, "gemm_shapes_per_tick": shapes,
        "seconds_per_batch": sec_batch, "seconds_per_epoch_estimate": sec_batch * n_batches,
        "relaxation_gflop_per_epoch": ticks * flops_tick * n_batches / 1e9,
        "achieved_gflops": achieved, "numpy_gflops_same_shapes": ref,
        "fraction_of_numpy": achieved / ref,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
