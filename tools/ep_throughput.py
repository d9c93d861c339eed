"""EP training throughput vs numpy matmul throughput on the same shapes, in one process.

    python tools/ep_throughput.py scenarios/digits_ep_peers.toml [--rule ep_symmetric] [--batches 20]

Times ``--batches`` training batches of the scenario's rule (estimator gradient only: free phase
+ nudged phases + the contrast's products, no optimiser step) and counts the matmul flops the
engine performs for them (complex states count 4× real flops):

* every tick, for each free block b and each projection joining b to a *free* block o:
  2·P·n_b·n_o (one GEMM per projection and direction, as ``drive.drive_into`` does);
* once per batch, for each projection joining a free block to a clamped one: 2·P·n_b·n_c (the
  clamped drive, ``drive.static_drive``, kept for all the batch's phases);
* once per batch, the products: 2·P·n_a·n_b per projection with a clamped end, once per phase
  for the others (``learning.products.contrast_products``).

It compares the achieved GFLOP/s with numpy's ``a @ w`` on the same shapes, each as often as a
batch needs it (same dtype, same thread limit), and prints one JSON line: seconds per batch and
per epoch, GFLOP per epoch, achieved GFLOP/s, numpy GFLOP/s and their ratio. The flops are a lower
bound of the work: the elementwise ρ evaluations (one exp per unit and update) are not counted.
About 10 s; ``--batches 5`` is the quick variant.
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


def batch_gemms(net, input_block, P, ticks, n_phases):
    """[(m, k, n, calls per batch)] of the engine's GEMMs for one batch (module docstring)."""
    out = []
    for b in net.block_names():
        if b == input_block:
            continue
        for proj in net.projections:
            if b in (proj.pre, proj.post):
                other = proj.post if proj.pre == b else proj.pre
                calls = 1 if other == input_block else ticks  # kept for the batch's phases
                out.append((P, net.block(other).size, net.block(b).size, calls))
    for proj in net.projections:
        calls = 1 if input_block in (proj.pre, proj.post) else n_phases - 1
        out.append((net.block(proj.pre).size, P, net.block(proj.post).size, calls))
    return out


def numpy_seconds(gemms, dtype, seconds=0.5):
    """Seconds numpy needs for the GEMMs of one batch (each shape timed on its own)."""
    rng = np.random.default_rng(0)
    total = 0.0
    for m, k, n, calls in gemms:
        a = rng.standard_normal((m, k)).astype(dtype)
        w = rng.standard_normal((k, n)).astype(dtype)
        if np.issubdtype(dtype, np.complexfloating):
            a = a + 1j * rng.standard_normal((m, k))
            w = w + 1j * rng.standard_normal((k, n))
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / len(gemms):
            for _ in range(20):
                a @ w
            reps += 20
        total += calls * (time.perf_counter() - start) / reps
    return total


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
        t = tr.training
        P, dt = t["batch_size"], t["relax"]["dt"]
        est = tr.estimator
        cplx = tr.rule == "hep" and getattr(est, "n_points", 2) > 2
        n_nudged = {"ep_symmetric": 2, "ep": 1, "ep_random_sign": 1, "chl": 1}.get(
            tr.rule, getattr(est, "n_points", 0))
        ticks = (int(round(t["relax"]["free_duration"] / dt))
                 + n_nudged * int(round(t["relax"]["nudged_duration"] / dt)))
        gemms = batch_gemms(tr.net, tr.input, P, ticks, 1 + n_nudged)
        flops = sum(2 * m * k * n * c for m, k, n, c in gemms) * (4 if cplx else 1)
        order = tr.order(1)
        n_batches = len(order) // P
        nb = min(args.batches, n_batches)
        tr.estimator.gradient(tr.problem(order[:P], 0))  # warm-up (numba compile, complex twin)
        start = time.perf_counter()
        for k in range(nb):
            tr.estimator.gradient(tr.problem(order[k * P:(k + 1) * P], tr.batch_seed(1, k)))
        sec_batch = (time.perf_counter() - start) / nb
        ref_sec = numpy_seconds(gemms, np.complex128 if cplx else tr.dtype)
    achieved = flops / sec_batch / 1e9
    ref = flops / ref_sec / 1e9
    out = {
        "scenario": sc["name"], "rule": tr.rule, "dtype": str(tr.dtype), "batch_size": P,
        "ticks_per_batch": ticks, "complex": cplx, "gemms_per_batch": gemms,
        "seconds_per_batch": sec_batch, "seconds_per_epoch_estimate": sec_batch * n_batches,
        "gflop_per_epoch": flops * n_batches / 1e9,
        "achieved_gflops": achieved, "numpy_gflops_same_shapes": ref,
        "fraction_of_numpy": achieved / ref,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
