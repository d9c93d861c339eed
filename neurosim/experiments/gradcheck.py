"""``neurosim gradcheck SCENARIO --out DIR``: every estimator the scenario names against an exact
gradient, on one batch, swept over |β| and N.

The batch: inputs U(input_range) on the ``input`` block, targets U(0, 1) (``mse``) or one-hot
(``ce``), both from the scenario's ``data`` stream; parameters from the ``params`` stream with
U(−bias_spread, bias_spread) added to the free blocks' biases. The exact gradient (``reference``):
implicit differentiation at the numpy fixed point, BPTT through ``bptt_steps`` relaxation steps, or
feed-forward backprop. Writes (keys in docs/gradcheck.md):

* ``gradcheck.json`` — ``exact``, ``estimators`` → setting → {estimator, cost, cosine_total,
  rel_error_total, beta, n_points, per_projection → {cosine, rel_error}, per_parameter, …};
* ``gradients.npz`` — parameters, data, exact gradient and every estimate;
* ``network.json``, and (unless ``plots = false``) ``plots/*.png`` and ``report.html`` drawn by
  :func:`neurosim.plotting.plot_and_report` from these files, as ``neurosim plot`` would.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..engine.simulator import SimulationDiverged
from ..learning import reference as ref
from ..learning.estimators import (TAKES_BETA, TAKES_N, Problem, get_estimator, layered_order)
from ..learning.gradients import cosine, per_parameter, relative_error
from ..learning.nudging import RelaxConfig
from ..scenario.load import Scenario, load_scenario
from ..scenario.schema import ScenarioError
from .rundir import write_json, write_npz, write_text
from .setup import make_compiled


def _fmt_beta(b: float) -> str:
    return f"{b:g}"


def settings(gc: dict) -> list[tuple[str, str, dict]]:
    """(setting name, estimator, options) for every run the ``[gradcheck]`` table asks for."""
    out = []
    for est in gc["estimators"]:
        if est == "hep":
            for n in gc["n_points"]:
                for b in gc["betas"]:
                    # max_halvings 0: a figure at exactly |β|, or the guard's error outside the radius
                    out.append((f"hep_N{n}_beta{_fmt_beta(b)}", est,
                                {"beta": b, "n_points": n, "max_halvings": 0}))
        elif est in ("hep_continuous", "baseline_hebb"):
            opts = dict(n_points=gc["continuous_points"], steps_per_point=gc["steps_per_point"],
                        periods=gc["periods"], warmup_periods=gc["warmup_periods"])
            for b in gc["betas"]:
                name = (f"{est}_N{gc['continuous_points']}_beta{_fmt_beta(b)}" if est in TAKES_N
                        else f"{est}_beta{_fmt_beta(b)}")
                out.append((name, est, dict(opts, beta=b)))
        elif est == "first_step":
            b = min(gc["betas"])
            out.append((f"first_step_beta{_fmt_beta(b)}", est, {"beta": b}))
        elif est in TAKES_BETA:
            for b in gc["betas"]:
                out.append((f"{est}_beta{_fmt_beta(b)}", est, {"beta": b}))
        else:
            out.append((est, est, {}))
    return out


def make_problem(scenario: Scenario):
    """(Problem, net, params) of a gradcheck scenario: the batch and the parameters it describes."""
    gc = scenario["gradcheck"]
    p = gc["batch"]
    net, params, _ = make_compiled(scenario, n_particles=p, dtype=np.float64)
    rng = np.random.default_rng(scenario.seed_sequence("params").spawn(1)[0])  # independent of W
    for b in net.block_names():
        if b != gc["input"] and gc["bias_spread"] > 0:
            params.biases[b] = params.biases[b] + rng.uniform(-gc["bias_spread"], gc["bias_spread"],
                                                              params.biases[b].shape)
    from ..build import build
    compiled = build(net, params, p, np.float64)
    data = scenario.rng("data")
    lo, hi = gc["input_range"]
    x_in = data.uniform(lo, hi, (p, net.block(gc["input"]).size))
    n_out = net.block(gc["output"]).size
    target = (data.uniform(0, 1, (p, n_out)) if gc["cost"] == "mse"
              else np.eye(n_out)[data.integers(0, n_out, p)])
    relax = RelaxConfig(scheduler=gc["scheduler"], dt=gc["dt"], integrator=gc["integrator"],
                        free_duration=gc["free_duration"], nudged_duration=gc["nudged_duration"],
                        seed=scenario.seeds["scheduler"], tol=gc["tol"])
    problem = Problem(compiled, {gc["input"]: x_in}, gc["output"], target, gc["cost"], relax)
    return problem, net, params


def exact_gradient(scenario: Scenario, problem: Problem, net, params):
    """(gradient, info) of the scenario's ``reference``."""
    gc = scenario["gradcheck"]
    kind = gc["reference"]
    if kind == "feedforward":
        layers = layered_order(net, problem.clamped, problem.out)
        g = ref.feedforward_gradient(net, params, problem.clamped[gc["input"]], problem.out,
                                     problem.target, problem.cost, layers)
        return g, {"reference": "feedforward", "layers": layers}
    states, solve = ref.solve_fixed_point(net, params, problem.clamped, return_info=True)
    g, info = ref.implicit_gradient(net, params, problem.clamped, problem.out, problem.target,
                                    problem.cost, x_star=states)
    out = {"reference": "implicit", "loss": info["loss"], "residual": info["residual"],
           "min_eig": info["min_eig"], "n_on_bound": info["n_on_bound"], "x_star": states}
    if kind == "bptt":
        g_imp = g
        g = ref.bptt_gradient(net, params, problem.clamped, problem.out, problem.target, problem.cost,
                              gc["bptt_steps"], gc["bptt_step"])
        out.update(reference="bptt", bptt_steps=gc["bptt_steps"], bptt_step=gc["bptt_step"],
                   bptt_vs_implicit_rel_error=relative_error(g, g_imp))
    return g, out


def _compare(est, exact) -> dict:
    per = per_parameter(est, exact)
    return {
        "cosine_total": cosine(est, exact),
        "rel_error_total": relative_error(est, exact),
        "per_projection": {k.split(":", 1)[1]: {"cosine": v["cosine"], "rel_error": v["relative_error"]}
                           for k, v in per.items() if k.startswith("weights:")},
        "per_parameter": {k: {"cosine": v["cosine"], "rel_error": v["relative_error"],
                              "norm_exact": v["norm_exact"], "norm_est": v["norm_est"]}
                          for k, v in per.items()},
    }


def _arrays(prefix: str, params) -> dict:
    names = {"weights": "weights", "biases": "bias", "memories": "memory"}
    return {f"{prefix}{names[k]}/{n}": a for k, n, a in params.items()}


def check_scenario(scenario: Scenario) -> None:
    """Raise ScenarioError unless ``scenario`` is a gradcheck with a usable ``[gradcheck]`` table."""
    if scenario["kind"] != "gradcheck" or scenario.get("gradcheck") is None:
        raise ScenarioError(scenario.path, "gradcheck",
                            "a gradcheck needs kind = \"gradcheck\" and a [gradcheck] table")
    gc = scenario["gradcheck"]
    names = scenario.data["network"]["blocks"]
    for key in ("input", "output"):
        if gc[key] not in {b["name"] for b in names}:
            raise ScenarioError(scenario.path, f"gradcheck.{key}",
                                f"unknown block {gc[key]!r}; blocks are {sorted(b['name'] for b in names)}")
    if gc["input"] == gc["output"]:
        raise ScenarioError(scenario.path, "gradcheck.output", "must differ from gradcheck.input")


def run_gradcheck(scenario, out, progress: bool = False, plots: bool | None = None) -> dict:
    """Run a ``kind = "gradcheck"`` scenario (path or :class:`Scenario`) into directory ``out``;
    returns the ``gradcheck.json`` content (with ``report``: the report.html path, or None).

    ``plots`` (default: the scenario's ``plots``) draws the figures and report.html at the end."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    check_scenario(scenario)
    gc = scenario["gradcheck"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "scenario.toml", scenario.to_toml())
    from .run import network_json
    write_json(out / "network.json", network_json(scenario))

    problem, net, params = make_problem(scenario)
    t0 = time.perf_counter()
    exact, exact_info = exact_gradient(scenario, problem, net, params)
    x_star = exact_info.pop("x_star", None)
    exact_info["wall_seconds"] = time.perf_counter() - t0
    arrays = _arrays("", params)
    arrays.update({f"input/{b}": v for b, v in problem.clamped.items()})
    arrays["target"] = problem.target
    arrays.update(_arrays("exact/", exact))
    results = {}
    for name, est_name, opts in settings(gc):
        t0 = time.perf_counter()
        entry = {"estimator": est_name, "cost": gc["cost"], "beta": opts.get("beta"),
                 "n_points": opts.get("n_points")}
        try:
            est, info = get_estimator(est_name, **opts).gradient(problem)
        except (SimulationDiverged, ValueError, np.linalg.LinAlgError) as err:
            entry.update(cosine_total=None, rel_error_total=None, per_projection={},
                         error=str(err).split("\n")[0])
            results[name] = entry
            if progress and opts.get("beta") is not None:  # expected at large |β|: not a fault of dt
                why = entry["error"].split(" is outside the radius of validity: ")[-1]
                why = why.replace("; lower dt or the weight gains", "").replace("; lower beta", "")
                print(f"  {name:32s} outside the estimator's radius at |β| = {opts['beta']:g} ({why})")
            elif progress:
                print(f"  {name:32s} failed: {entry['error']}")
            continue
        entry.update(_compare(est, exact))
        entry["wall_seconds"] = time.perf_counter() - t0
        if info.get("residuals"):
            entry["max_residual"] = max(info["residuals"])
        if x_star is not None and est_name not in ("pc", "bp_ff"):
            entry["free_state_vs_exact"] = max(float(np.max(np.abs(info["free_state"][b] - x_star[b])))
                                               for b in x_star)
        results[name] = entry
        arrays.update(_arrays(f"estimate/{name}/", est))
        if progress:
            print(f"  {name:32s} cosine {entry['cosine_total']:.8f}  rel error {entry['rel_error_total']:.3e}")
    report = {"scenario": scenario["name"], "cost": gc["cost"], "batch": gc["batch"],
              "exact": exact_info["reference"], "exact_info": exact_info, "estimators": results,
              "max_beta_at": max_beta_table(results)}
    write_json(out / "gradcheck.json", report)
    write_npz(out / "gradients.npz", arrays)
    report["report"] = None
    if plots if plots is not None else scenario["plots"]:
        from ..plotting import plot_and_report
        report["report"] = plot_and_report(out)
    return report


def max_beta_table(results: dict, threshold: float = 0.9999) -> dict:
    """Per estimator line (``hep_N4`` …): the largest swept |β| up to which every smaller swept |β|
    keeps cosine ≥ threshold (None if even the smallest fails)."""
    lines: dict[str, list] = {}
    for e in results.values():
        if e.get("beta") is None:
            continue
        key = e["estimator"] + (f"_N{e['n_points']}" if e.get("n_points") else "")
        lines.setdefault(key, []).append((e["beta"], e.get("cosine_total")))
    table = {}
    for key, pts in lines.items():
        best = None
        for b, c in sorted(pts):
            if c is None or not c >= threshold:
                break
            best = b
        table[key] = best
    return table


def main_gradcheck(args) -> int:
    from .rundir import check_out_dir, clean_run_dir
    from ..api import load
    scenario = load(args.scenario, getattr(args, "set", None))
    check_scenario(scenario)
    check_out_dir(args.out)  # all refusals before the first write
    clean_run_dir(args.out)
    report = run_gradcheck(scenario, args.out, progress=not args.quiet)
    print(f"wrote {args.out}/gradcheck.json (exact: {report['exact']}, {len(report['estimators'])} settings)")
    if report["report"] is not None:
        print(f"report: {report['report']}")
    return 0
