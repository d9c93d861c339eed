"""``neurosim run``: one scenario → one run directory (docs/engine.md, "Run directories").

Order: validate the scenario, check ``--out`` (:func:`~.rundir.check_out_dir`) and the kind's
pre-check (``PRECHECKS``: e.g. that ``--resume`` may use the checkpoint); only then remove what an
earlier run left (:func:`~.rundir.clean_run_dir`) and write. A refused run changes nothing on disk.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import importlib

from ..scenario.load import Scenario, load_scenario
from ..scenario.schema import ScenarioError
from .loop import read_resume
from .checkpoint import params_arrays
from .rundir import check_out_dir, clean_run_dir, read_csv, write_json, write_npz, write_text

#: kind → (module, function) of its runner(scenario, progress, run_dir, resume) -> (metrics,
#: traces, extra). Imported when a run of that kind starts: a run (or a sweep worker) loads only
#: its own kind's dependencies, and ``import neurosim.api`` none of them.
RUNNERS = {"relax": (".relax", "run_relax_kind"),
           "gradcheck": (".gradcheck", "run_gradcheck_kind"),
           "generative": (".generative", "run_generative"),
           "multitask": (".multitask_run", "run_multitask"),
           "train": (".train", "run_train")}


def runner_of(kind: str):
    """The runner function of ``kind`` (see :data:`RUNNERS`)."""
    module, name = RUNNERS[kind]
    return getattr(importlib.import_module(module, __package__), name)


def _check_gradcheck(scenario, run_dir, resume):
    from .gradcheck import GradcheckJob, check_scenario
    check_scenario(scenario)
    _check_loop_resume(scenario, run_dir, resume, GradcheckJob)


def _check_loop_resume(scenario, run_dir, resume, job):
    """``--resume`` of a run on the one loop: the checkpoint is readable, of this kind and scenario."""
    if resume:
        read_resume(scenario, run_dir, job.kind, job.may_change)


#: kind → check(scenario, run_dir, resume): raises (ScenarioError, RunDirError) what the runner
#: would refuse, before anything is written. Kinds without an entry have no pre-check.
def _check_multitask(scenario, run_dir, resume):
    if resume:
        from .multitask_run import check_resume
        check_resume(scenario, run_dir)


def _check_train(scenario, run_dir, resume):
    from .train import check_resume
    check_resume(scenario, run_dir, resume)


def _check_generative(scenario, run_dir, resume):
    from .generative import GenJob
    _check_loop_resume(scenario, run_dir, resume, GenJob)


PRECHECKS = {"gradcheck": _check_gradcheck,
             "multitask": _check_multitask,
             "train": _check_train,
             "generative": _check_generative}


@dataclass
class RunResult:
    """What a run returns: ``metrics`` (metrics.json), ``history`` (history.csv, one dict per epoch
    or step), ``traces`` (traces.npz: ``traces["activity/h1"]`` is (time, particles, units),
    ``traces["energy"]``, ``traces["time"]`` …; empty for kinds that record none) and ``report``."""
    run_dir: Path
    metrics: dict
    history: list = field(default_factory=list)
    report: Path | None = None      # run_dir/report.html when plots were drawn
    traces: dict = field(default_factory=dict)


def network_json(scenario: Scenario) -> dict:
    """The graph for plotting: blocks with their role and task, projections."""
    roles = {}
    for c in scenario.get("clamps", []):
        roles[c["block"]] = ("clamped", c.get("task"))
    for n in scenario.get("nudges", []):
        roles.setdefault(n["block"], ("nudged", n.get("task")))
    for task in scenario.get("tasks", []) or []:
        for b in task.get("condition", []):
            roles.setdefault(b, ("clamped", task["name"]))
        for b in task.get("target", []):
            roles.setdefault(b, ("nudged", task["name"]))
    for key in ("input", "output"):
        b = (scenario.get("training") or {}).get(f"{key}_block")
        if b:
            roles.setdefault(b, ("clamped" if key == "input" else "nudged", "train"))
        b = (scenario.get("gradcheck") or {}).get(key)
        if b:
            roles.setdefault(b, ("clamped" if key == "input" else "nudged", "gradcheck"))
    blocks = [{"name": b["name"], "size": b["size"], "activation": b["activation"],
               "role": roles.get(b["name"], ("free", None))[0], "task": roles.get(b["name"], (None, None))[1]}
              for b in scenario["network"]["blocks"]]
    projs = [{"name": f"{p['pre']}->{p['post']}", "pre": p["pre"], "post": p["post"]}
             for p in scenario["network"]["projections"]]
    return {"blocks": blocks, "projections": projs}


def require_packages(scenario: Scenario) -> None:
    """Stop before anything is written when the scenario's data set needs a package that is
    missing, or files that have not been downloaded yet (``neurosim fetch``)."""
    from ..data.datasets import missing_package
    data = scenario.get("data") or {}
    hint = missing_package(data["name"], data.get("options")) if data.get("name") else None
    if hint:
        raise ScenarioError(scenario.path, "data.name", hint)


def prepare_run_dir(scenario: Scenario, out, resume: bool = False) -> Path:
    """Check ``out`` and the kind's pre-check, then clear what an earlier run left there; returns
    the (created) run directory. Raises before touching the disk if the run would be refused."""
    run_dir = check_out_dir(out)
    check = PRECHECKS.get(scenario["kind"])
    if check is not None:
        check(scenario, run_dir, resume)
    clean_run_dir(run_dir, resume)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def run_scenario(scenario, out, resume: bool = False, progress: bool = True,
                 plots: bool | None = None) -> RunResult:
    """Run a scenario (a path or a :class:`Scenario`) into the run directory ``out``.

    Nothing is written before the scenario, ``out`` and the kind's pre-check pass
    (:func:`prepare_run_dir`); a fresh run first removes every file an earlier run wrote there,
    ``resume`` continues a training run from ``out/checkpoint.npz``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    require_packages(scenario)
    run_dir = prepare_run_dir(scenario, out, resume)
    write_text(run_dir / "scenario.toml", scenario.to_toml())
    write_json(run_dir / "network.json", network_json(scenario))
    runner = runner_of(scenario["kind"])
    metrics, traces, extra = runner(scenario, progress, run_dir, resume)
    if traces:
        write_npz(run_dir / "traces.npz", traces)
    if extra.get("params") is not None:
        write_npz(run_dir / "checkpoint.npz", params_arrays(extra["params"]))
    write_json(run_dir / "metrics.json", metrics)
    report = None
    if plots if plots is not None else scenario["plots"]:
        from ..plotting import plot_and_report
        report = plot_and_report(run_dir)
    history = read_csv(run_dir / "history.csv") if (run_dir / "history.csv").exists() else []
    return RunResult(run_dir, metrics, history, report, dict(traces or {}))
