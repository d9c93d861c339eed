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
from ..learning.check_batch import check_problem
from ..learning.estimators import Problem, estimator_class, get_estimator, layered_order
from ..learning.gradients import cosine, per_parameter, relative_error
from ..learning.nudging import RelaxConfig
from ..model.network import Network
from ..scenario.load import Scenario, load_scenario
from ..scenario.schema import ScenarioError
from .checkpoint import params_arrays
from .loop import Job, run_loop
from .rundir import write_json, write_npz, write_text


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
                takes_n = "n_points" in estimator_class(est).options
                name = f"{est}_N{gc['continuous_points']}_beta{_fmt_beta(b)}" if takes_n else f"{est}_beta{_fmt_beta(b)}"
                out.append((name, est, dict(opts, beta=b)))
        elif est == "first_step":
            b = min(gc["betas"])
            out.append((f"first_step_beta{_fmt_beta(b)}", est, {"beta": b}))
        elif "beta" in estimator_class(est).options:
            for b in gc["betas"]:
                out.append((f"{est}_beta{_fmt_beta(b)}", est, {"beta": b}))
        else:
            out.append((est, est, {}))
    return out


def make_problem(scenario: Scenario):
    """(Problem, net, params) of a gradcheck scenario: the batch and the parameters it describes
    (:func:`neurosim.learning.check_batch.check_problem` with the scenario's streams)."""
    gc = scenario["gradcheck"]
    net = Network.from_spec(scenario["network"])
    params = net.init_params(scenario.rng("params"))
    relax = RelaxConfig(scheduler=gc["scheduler"], dt=gc["dt"], integrator=gc["integrator"],
                        free_duration=gc["free_duration"], nudged_duration=gc["nudged_duration"],
                        seed=scenario.seeds["scheduler"], tol=gc["tol"])
    problem = check_problem(
        net, params, input_block=gc["input"], output_block=gc["output"], batch=gc["batch"], cost=gc["cost"],
        input_range=gc["input_range"], bias_spread=gc["bias_spread"], relax=relax,
        bias_rng=np.random.default_rng(scenario.seed_sequence("params").spawn(1)[0]),  # independent of W
        data_rng=scenario.rng("data"))
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


def check_scenario(scenario: Scenario) -> None:
    """Raise ScenarioError unless ``scenario`` is a gradcheck (the ``[gradcheck]`` table and its
    blocks are checked when the scenario loads, scenario/kind_gradcheck.py)."""
    if scenario["kind"] != "gradcheck" or scenario.get("gradcheck") is None:
        raise ScenarioError(scenario.path, "gradcheck",
                            "a gradcheck needs kind = \"gradcheck\" and a [gradcheck] table")


class GradcheckJob(Job):
    """A gradcheck on the one loop (experiments/loop.py): step i is setting i of :func:`settings`;
    the checkpoint holds the settings done, so ``--resume`` continues with the next one."""

    kind = "gradcheck"
    columns = None   # no training curve: the results are gradcheck.json

    def __init__(self, scenario: Scenario, out, progress: bool = False):
        self.scenario, self.out, self.progress = scenario, Path(out), progress
        self.gc = gc = scenario["gradcheck"]
        self.problem, net, params = make_problem(scenario)
        t0 = time.perf_counter()
        self.exact, self.exact_info = exact_gradient(scenario, self.problem, net, params)
        self.x_star = self.exact_info.pop("x_star", None)
        self.exact_info["wall_seconds"] = time.perf_counter() - t0
        self.data = params_arrays(params)
        self.data.update({f"input/{b}": v for b, v in self.problem.clamped.items()})
        self.data["target"] = self.problem.target
        self.data.update(params_arrays(self.exact, "exact/"))
        self.settings = settings(gc)
        self.results: dict = {}
        self.estimates: dict = {}

    def step(self, i: int):
        name, est_name, opts = self.settings[i]
        t0 = time.perf_counter()
        entry = {"estimator": est_name, "cost": self.gc["cost"], "beta": opts.get("beta"),
                 "n_points": opts.get("n_points")}
        try:
            est, info = get_estimator(est_name, **opts).gradient(self.problem)
        except (SimulationDiverged, ValueError, np.linalg.LinAlgError) as err:
            entry.update(cosine_total=None, rel_error_total=None, per_projection={},
                         error=str(err).split("\n")[0])
            self.results[name] = entry
            if self.progress and opts.get("beta") is not None:  # expected at large |β|: not a fault of dt
                why = entry["error"].split(" is outside the radius of validity: ")[-1]
                why = why.replace("; lower dt or the weight gains", "").replace("; lower beta", "")
                print(f"  {name:32s} outside the estimator's radius at |β| = {opts['beta']:g} ({why})")
            elif self.progress:
                print(f"  {name:32s} failed: {entry['error']}")
            return None
        entry.update(_compare(est, self.exact))
        entry["wall_seconds"] = time.perf_counter() - t0
        if info.get("residuals"):
            entry["max_residual"] = max(info["residuals"])
        if self.x_star is not None and estimator_class(est_name).view != "ff":
            entry["free_state_vs_exact"] = max(float(np.max(np.abs(info["free_state"][b] - self.x_star[b])))
                                               for b in self.x_star)
        self.results[name] = entry
        self.estimates.update(params_arrays(est, f"estimate/{name}/"))
        if self.progress:
            print(f"  {name:32s} cosine {entry['cosine_total']:.8f}  rel error {entry['rel_error_total']:.3e}")
        return None

    def record(self, i: int) -> dict:
        return {"setting": self.settings[i - 1][0]}

    def arrays(self) -> dict:
        return dict(self.estimates)

    def meta(self) -> dict:
        return {"results": self.results}

    def restore(self, arrays: dict, meta: dict) -> None:
        self.results = dict(meta["results"])
        self.estimates = {k: v for k, v in arrays.items() if k.startswith("estimate/")}

    def final(self, history) -> dict:
        """Write gradcheck.json and gradients.npz; return the report."""
        gc, results = self.gc, self.results
        report = {"scenario": self.scenario["name"], "cost": gc["cost"], "batch": gc["batch"],
                  "exact": self.exact_info["reference"], "exact_info": self.exact_info, "estimators": results,
                  "max_beta_at": max_beta_table(results)}
        write_json(self.out / "gradcheck.json", report)
        write_npz(self.out / "gradients.npz", {**self.data, **self.estimates})
        return report


def gradcheck(scenario: Scenario, out, progress: bool = False, resume: bool = False) -> dict:
    """The settings of the scenario on the loop; returns the ``gradcheck.json`` content."""
    job = GradcheckJob(scenario, out, progress)
    return run_loop(job, scenario, out, resume, len(job.settings), 1).metrics


def run_gradcheck_kind(scenario, progress, run_dir, resume):
    """The runner of ``kind = "gradcheck"`` for :func:`~.run.run_scenario`: (metrics, traces, extra)."""
    result = gradcheck(scenario, run_dir, progress, resume)
    metrics = {name: {"cosine_total": e.get("cosine_total"), "rel_error_total": e.get("rel_error_total")}
               for name, e in result["estimators"].items()}
    return {"exact": result["exact"], "estimators": metrics}, {}, {}


def run_gradcheck(scenario, out, progress: bool = False, plots: bool | None = None) -> dict:
    """Run a ``kind = "gradcheck"`` scenario (path or :class:`Scenario`) into directory ``out``;
    returns the ``gradcheck.json`` content (with ``report``: the report.html path, or None).

    ``plots`` (default: the scenario's ``plots``) draws the figures and report.html at the end."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    check_scenario(scenario)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "scenario.toml", scenario.to_toml())
    from .run import network_json
    write_json(out / "network.json", network_json(scenario))
    report = gradcheck(scenario, out, progress)
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
    from ..scenario.overrides import apply_overrides, parse_assignment
    scenario = load_scenario(args.scenario)
    if getattr(args, "set", None):
        scenario = apply_overrides(scenario, dict(parse_assignment(o, path=scenario.path) for o in args.set))
    check_scenario(scenario)
    check_out_dir(args.out)  # all refusals before the first write
    clean_run_dir(args.out)
    report = run_gradcheck(scenario, args.out, progress=not args.quiet)
    print(f"wrote {args.out}/gradcheck.json (exact: {report['exact']}, {len(report['estimators'])} settings)")
    if report["report"] is not None:
        print(f"report: {report['report']}")
    return 0
