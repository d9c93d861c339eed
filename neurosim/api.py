"""The Python API: every ``neurosim`` subcommand is one call here.

>>> import neurosim.api as ns
>>> result = ns.run("scenarios/quickstart.toml", "runs/quick")
>>> result.metrics["final_energy"]
"""
from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

from .experiments.run import RunResult, run_scenario
from .scenario.load import Scenario, from_dict, load_scenario


def load(path, overrides=None) -> Scenario:
    """Parse and validate a scenario file (raises ScenarioError with a one-line message);
    ``overrides`` (``{"training.epochs": 2}`` or ``["training.epochs=2", ...]``, as ``--set``)
    set dotted keys and re-validate."""
    return _with_overrides(load_scenario(path), overrides)


def _with_overrides(scenario, overrides) -> Scenario:
    """``scenario`` (path, dict or Scenario) validated, with ``overrides`` applied (see :func:`load`)."""
    from .scenario.overrides import apply_overrides, parse_assignment
    if isinstance(scenario, dict):
        scenario = from_dict(scenario)
    elif not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not overrides:
        return scenario
    if not isinstance(overrides, dict):
        overrides = dict(parse_assignment(o, path=scenario.path) for o in overrides)
    return apply_overrides(scenario, overrides)


def run(scenario, out, resume: bool = False, progress: bool = False, plots: bool | None = None,
        overrides=None) -> RunResult:
    """Run a scenario (path, dict or Scenario) into run directory ``out``; returns metrics and history.

    ``overrides``: dotted keys set first (``{"generative.steps": 500}``), as ``neurosim run --set``."""
    return run_scenario(_with_overrides(scenario, overrides), out, resume=resume, progress=progress, plots=plots)


def train(scenario, out, resume: bool = False, progress: bool = False, plots: bool | None = None,
          **changes) -> RunResult:
    """Run a ``kind = "train"`` scenario; ``result.metrics`` and ``result.history`` (one dict per epoch).

    Keyword ``changes`` set scenario keys first, with ``__`` for nesting, e.g.
    ``train("scenarios/digits_ep_vs_bp.toml", "runs/d", training__epochs=5, seed=3)``.
    """
    if isinstance(scenario, dict):
        scenario = from_dict(scenario)
    elif not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if changes:
        scenario = scenario.with_changes(**changes)
    if scenario["kind"] != "train":
        from .scenario.schema import ScenarioError
        raise ScenarioError(scenario.path, "kind", f"expected kind = \"train\", got {scenario['kind']!r}")
    return run_scenario(scenario, out, resume=resume, progress=progress, plots=plots)


def compare(scenario, rules="ep_symmetric,bp,bp_ff", seeds: int = 3, out="runs/compare",
            progress: bool = False, plots: bool | None = None, run_plots: bool = False,
            epochs: int | None = None, overrides=None) -> dict:
    """Train one scenario under several rules (list or comma-separated) and seeds; returns the
    contents of ``OUT/compare.json`` (``doc["rules"][rule]["test_accuracy"]`` ...).

    A run that diverges or fails does not raise: it is a row of ``doc["runs"]`` (rule, seed,
    status, epoch, message) and the rule's figures are means over its finished seeds
    (``n_seeds`` of ``n_runs``); ``doc["n_failed"]`` counts the others."""
    from .experiments.compare import compare as _compare
    scenario = _with_overrides(scenario, overrides)
    return _compare(scenario, rules, seeds=seeds, out=out, progress=progress, plots=plots,
                    run_plots=run_plots, epochs=epochs)


def sweep(scenario, grid=None, seeds: int | None = None, out="runs/sweep", workers: int | None = None,
          scheduler: str | None = None, overrides=None, progress: bool = False, plots: bool | None = None,
          retry_failed: bool = False) -> dict:
    """Run ``scenario`` over a grid × seeds (``neurosim sweep``); returns ``OUT/sweep.json``'s dict.

    ``grid``: ``{"training.lr": [0.001, 0.01], ...}`` or ``["training.lr=0.001,0.01", ...]``
    (added to the scenario's ``[sweep].grid``); ``seeds``: seeds per cell (default ``[sweep].seeds``
    or 1); ``workers``: local worker processes (default: the cores) or ``scheduler``: the address
    of a running Dask scheduler; ``overrides``: ``{"training.epochs": 2}`` or ``["KEY=VALUE", ...]``
    set on the base scenario first. ``doc["cells"][i]["mean"]["test_accuracy"]`` ...

    Scripts that call this with local workers need ``if __name__ == "__main__":`` (the worker
    processes are spawned and re-import the script).
    """
    from .experiments.sweep import sweep as _sweep
    from .scenario.overrides import parse_assignment
    if isinstance(scenario, dict):
        scenario = from_dict(scenario)
    if overrides is not None and not isinstance(overrides, dict):
        overrides = dict(parse_assignment(o) for o in ([overrides] if isinstance(overrides, str) else overrides))
    return _sweep(scenario, grid, seeds=seeds, out=out, workers=workers, scheduler=scheduler, overrides=overrides,
                  progress=progress, plots=plots, retry_failed=retry_failed)


def plot(run_dir):
    """Redraw every figure and report.html of a run directory from its files."""
    from .plotting import plot_run, write_report
    paths = plot_run(run_dir)
    return paths, write_report(run_dir)


def list_scenarios(folder=None) -> list[tuple[str, str]]:
    """(path, description) of every scenario file in ``folder`` (default: ./scenarios)."""
    folder = Path(folder or "scenarios")
    if not folder.is_dir():
        raise FileNotFoundError(f"no scenario folder {folder}")
    out = []
    for path in sorted(folder.glob("*.toml")):
        with open(path, "rb") as f:
            try:
                description = tomllib.load(f).get("description", "")
            except tomllib.TOMLDecodeError:
                description = "(not valid TOML)"
        out.append((str(path), description.strip().split("\n")[0]))
    return out


def generate(run_dir, n: int = 1000, sampler: str | None = None, steps: int | None = None, out=None,
             seed: int = 0, guidance: float | None = None, plot: bool = True) -> dict:
    """Sample a ``kind = "generative"`` run's trained network (scenario.toml + checkpoint.npz):
    writes ``samples.npz`` (default ``RUN_DIR/generate/samples.npz``), a figure and a json beside it;
    returns {samples, n, sampler, steps, seconds, shape, w2 (toys), conditional_accuracy (digits)}.
    Another kind of run, a missing checkpoint or an option out of range (``n`` or ``steps`` < 1, a
    non-finite ``guidance``) raises a one-line error before anything is loaded or written."""
    from .experiments.generative import generate as _generate
    return _generate(run_dir, n=n, sampler=sampler, steps=steps, out=out, seed=seed, guidance=guidance,
                     plot=plot)
