"""The bp gradient of a 2 000-unit network without an N × N matrix, and the memory it takes.

    python tools/matrix_free_rss.py [--hidden 2000] [--particles 32] [--dense-check 2]

The network: in (64, identity) → h (``hidden``, tanh) → out (10, tanh), plus in → out, Glorot
gain 1, seed 0; a batch of inputs U(0, 1) and targets U(−0.5, 0.5). The free equilibrium comes from
the engine (sync, exp, dt 0.1, to residual 1e-10) as in the bp control, then
:func:`neurosim.learning.minima_gradient.minima_gradient` picks its solver by memory: here
matrix-free, since the dense Hessians would take P·N²·8 bytes (1 GB at N = 2 074, P = 32). The
peak RSS of the gradient alone is read from a high-water mark reset just before it
(experiments/peak_memory.py). ``--dense-check k``: the dense and the matrix-free gradient on the
first k particles (k·N²·8 bytes of Hessian), their relative difference and each one's rise of the
RSS over where it started (the interpreter, numpy and numba take ~180 MiB before any of it).
Prints one JSON line; about a minute at the defaults.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path.cwd()))

from neurosim.build import build  # noqa: E402
from neurosim.experiments.peak_memory import peak_rss_mib, reset_peak_rss  # noqa: E402
from neurosim.learning.gradients import relative_error  # noqa: E402
from neurosim.learning.minima_gradient import dense_fits, minima_gradient  # noqa: E402
from neurosim.learning.nudging import PhaseRunner, RelaxConfig  # noqa: E402
from neurosim.learning.estimator_base import Problem  # noqa: E402
from neurosim.model.network import Network  # noqa: E402

MIN_EIG, MAX_RESIDUAL = 1e-3, 1e-4  # the bp control's (experiments/multitask_controls.py)


def measured(fn):
    """(fn(), seconds, (peak RSS during the call, its rise over the RSS at the start), MiB): the
    high-water mark reset at the start (the peak read right after is the RSS then)."""
    reset_peak_rss()
    start = peak_rss_mib()
    t0 = time.perf_counter()
    out = fn()
    seconds, peak = time.perf_counter() - t0, peak_rss_mib()
    return out, seconds, (peak, peak - start)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=2000)
    ap.add_argument("--particles", type=int, default=32)
    ap.add_argument("--dense-check", type=int, default=2, help="particles for the dense comparison (0: none)")
    args = ap.parse_args(argv)
    net = Network()
    net.add_block("in", 64, "identity")
    net.add_block("h", args.hidden, "tanh", tau=0.25, rate=5.0)
    net.add_block("out", 10, "tanh", tau=0.25, rate=5.0)
    net.add_projection("in", "h")
    net.add_projection("h", "out")
    net.add_projection("in", "out")
    params = net.init_params(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    p, n = args.particles, args.hidden + 10
    x_in, y = rng.random((p, 64)), rng.random((p, 10)) - 0.5
    relax = RelaxConfig(scheduler="sync", dt=0.1, integrator="exp", free_duration=400.0, tol=1e-10, check_every=2.0)
    problem = Problem(build(net, params, p), {"in": x_in}, "out", y, "mse", relax)
    free, relax_s, _ = measured(lambda: PhaseRunner(problem).free())
    x_star = {b: np.real(v) for b, v in free.items() if b != "in"}

    def grad(rows, matrix_free=None):
        return minima_gradient(net, params, {"in": x_in[rows]}, "out", y[rows], "mse",
                               {b: v[rows] for b, v in x_star.items()}, MIN_EIG, MAX_RESIDUAL, matrix_free)

    (g, keep), seconds, peak = measured(lambda: grad(slice(None)))
    report = {"units": n, "particles": p, "matrix_free": not dense_fits(p, n),
              "dense_hessians_mib": p * n * n * 8 / 2**20, "relax_seconds": relax_s,
              "gradient_seconds": seconds, "gradient_peak_rss_mib": peak[0], "gradient_rise_mib": peak[1], "kept": int(keep.sum()),
              "finite": bool(g is not None and all(np.isfinite(a).all() for _, _, a in g.items()))}
    k = min(args.dense_check, p)
    if k:
        (dense, dkeep), dense_s, dense_peak = measured(lambda: grad(slice(0, k), matrix_free=False))
        (cg, ckeep), cg_s, cg_peak = measured(lambda: grad(slice(0, k), matrix_free=True))
        report.update({"check_particles": k, "check_same_kept": bool(np.array_equal(dkeep, ckeep)),
                       "check_rel_error": relative_error(cg, dense) if dense is not None and cg is not None else None,
                       "check_dense_seconds": dense_s, "check_dense_rise_mib": dense_peak[1],
                       "check_cg_seconds": cg_s, "check_cg_rise_mib": cg_peak[1]})
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
