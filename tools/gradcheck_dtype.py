"""EP's gradient check in float32 next to float64, on a gradcheck scenario's batch.

    python tools/gradcheck_dtype.py scenarios/gradcheck_layered.toml

The exact gradient is the scenario's float64 implicit differentiation; ``ep`` and
``ep_symmetric`` run on the same batch and parameters compiled in float64 (phases to the
scenario's tol) and in float32 (phases to ``--tol32``, 1e-6 by default: float32's residual floor
is ≈ 1e-7). Prints one JSON line per (dtype, estimator, β): cosine and relative error to the
exact gradient. About 20 s.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurosim.build import build  # noqa: E402
from neurosim.experiments.gradcheck import make_problem  # noqa: E402
from neurosim.learning import reference as ref  # noqa: E402
from neurosim.learning.estimators import get_estimator  # noqa: E402
from neurosim.learning.gradients import cosine, relative_error  # noqa: E402
from neurosim.scenario.load import load_scenario  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--betas", default="0.001,0.01,0.1,0.5")
    ap.add_argument("--tol32", type=float, default=1e-6)
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    problem, net, params = make_problem(sc)
    exact, _ = ref.implicit_gradient(net, params, problem.clamped, problem.out, problem.target,
                                     problem.cost)
    p = problem.compiled.n_particles
    for dtype, tol in (("float64", problem.relax.tol), ("float32", args.tol32)):
        c = build(net, problem.compiled.params(), p, np.dtype(dtype))
        pr = dataclasses.replace(problem, compiled=c, relax=dataclasses.replace(problem.relax, tol=tol),
                                 clamped={k: v.astype(dtype) for k, v in problem.clamped.items()},
                                 target=problem.target.astype(dtype))
        for name in ("ep_symmetric", "ep"):
            for beta in (float(b) for b in args.betas.split(",")):
                g, info = get_estimator(name, beta=beta).gradient(pr)
                print(json.dumps({"scenario": sc["name"], "dtype": dtype, "tol": tol, "estimator": name,
                                  "beta": beta, "cosine": cosine(g, exact),
                                  "rel_error": relative_error(g, exact),
                                  "max_residual": max(info["residuals"])}), flush=True)


if __name__ == "__main__":
    main()
