"""The Python API: every ``neurosim`` subcommand is one call here, with the same options.

=====================  ================================================================
``neurosim run``       :func:`run` (:func:`train` for ``kind = "train"`` with keyword changes)
``neurosim validate``  :func:`validate` (:func:`load` returns the validated :class:`Scenario`)
``neurosim compare``   :func:`compare`
``neurosim gradcheck`` :func:`gradcheck`
``neurosim sweep``     :func:`sweep`
``neurosim generate``  :func:`generate`
``neurosim plot``      :func:`plot`
``neurosim list``      :func:`list_scenarios`
``neurosim bench``     :func:`bench`
``neurosim fetch``     :func:`fetch`
=====================  ================================================================

``--set KEY=VALUE`` is ``overrides={"KEY": VALUE}`` (or ``["KEY=VALUE", ...]``), ``--out`` is
``out``, ``--overwrite`` / ``--resume`` are ``overwrite=True`` / ``resume=True``, ``--quiet`` is
``progress=False`` (the API's default), ``--no-plots`` is ``plots=False``. A network can also be
built from objects in Python: :mod:`neurosim.scenario.builder` (``Network``, ``Block``, ...).

>>> import neurosim.api as ns
>>> result = ns.run("scenarios/quickstart.toml", "runs/quick", overwrite=True)
>>> result.metrics["final_energy"], result.traces["activity/h1"].shape
"""
from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

from .experiments.run import RunResult, run_scenario
from .scenario.load import Scenario, from_dict, load_scenario

__all__ = ["RunResult", "Scenario", "ScenarioInfo", "bench", "compare", "fetch", "generate", "gradcheck",
           "list_scenarios", "load", "plot", "resample", "run", "sweep", "train", "validate"]


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


def validate(*scenarios, overrides=None) -> dict:
    """``neurosim validate``: check each scenario (path, dict or Scenario) with ``overrides`` applied,
    without running it; returns {path: None if valid, else the one-line error message}."""
    from .scenario.schema import ScenarioError
    found = {}
    for i, s in enumerate(scenarios):
        key = str(s) if not isinstance(s, (dict, Scenario)) else getattr(s, "path", f"<dict {i}>")
        try:
            _with_overrides(s, overrides)
        except ScenarioError as err:
            found[key] = str(err)
        else:
            found[key] = None
    return found


def run(scenario, out, resume: bool = False, progress: bool = False, plots: bool | None = None,
        overrides=None, overwrite: bool = False) -> RunResult:
    """Run a scenario (path, dict or Scenario) into run directory ``out``; returns a
    :class:`RunResult` (``metrics``, ``history``, ``traces``, ``report``).

    ``overrides``: dotted keys set first (``{"generative.steps": 500}``), as ``neurosim run --set``.
    An ``out`` that already holds files is refused (RunDirError, nothing written) unless
    ``overwrite`` (start afresh there) or ``resume`` (continue from ``out/checkpoint.npz``)."""
    from .experiments.rundir import RESUMABLE, refuse_existing
    scenario = _with_overrides(scenario, overrides)
    refuse_existing(out, overwrite, resume, resumable=scenario["kind"] in RESUMABLE)
    return run_scenario(scenario, out, resume=resume, progress=progress, plots=plots)


def gradcheck(scenario, out, overrides=None, progress: bool = False, plots: bool | None = None,
              overwrite: bool = False) -> dict:
    """``neurosim gradcheck``: every estimator of a ``kind = "gradcheck"`` scenario against the exact
    gradient on one batch, into ``out`` (gradcheck.json, gradients.npz, plots/, report.html);
    returns gradcheck.json's dict (``doc["estimators"][name]["cosine_total"]`` ...; ``doc["report"]``
    the report's path or None). ``out`` is refused as in :func:`run` unless ``overwrite``."""
    from .experiments.gradcheck import check_scenario, run_gradcheck
    from .experiments.rundir import clean_run_dir, refuse_existing
    scenario = _with_overrides(scenario, overrides)
    check_scenario(scenario)
    refuse_existing(out, overwrite, resumable=False)  # all refusals before the first write
    clean_run_dir(out)
    return run_gradcheck(scenario, out, progress=progress, plots=plots)


def bench(quick: bool = False) -> dict:
    """``neurosim bench``: the engine's throughput beside numpy's matmul, measured now; returns the
    figures (``poisson_block_updates_per_second``, ``sync_gflops``, ``numpy_matmul_gflops`` ...)."""
    from .experiments.bench import run_bench
    return run_bench(quick)


def train(scenario, out, resume: bool = False, progress: bool = False, plots: bool | None = None,
          overwrite: bool = False, **changes) -> RunResult:
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
    from .experiments.rundir import refuse_existing
    refuse_existing(out, overwrite, resume)
    return run_scenario(scenario, out, resume=resume, progress=progress, plots=plots)


def compare(scenario, rules="ep_symmetric,bp,bp_ff", seeds: int = 3, out="runs/compare",
            progress: bool = False, plots: bool | None = None, run_plots: bool = False,
            epochs: int | None = None, overrides=None, grad_cosine: bool | None = None,
            overwrite: bool = False) -> dict:
    """Train one scenario under several rules (list or comma-separated) and seeds; returns the
    contents of ``OUT/compare.json`` (``doc["rules"][rule]["test_accuracy"]`` ...).

    ``grad_cosine``: record each rule's cosine to the exact gradient (``grad_cosine_to_bp``, the
    ``cos(bp)`` column); default None = on where the exact gradient is affordable (train scenarios
    up to batch × free units² = 25 M, which covers digits and MNIST-5k). An ``out`` that already
    holds files is refused unless ``overwrite``.

    A run that diverges or fails does not raise: it is a row of ``doc["runs"]`` (rule, seed,
    status, epoch, message) and the rule's figures are means over its finished seeds
    (``n_seeds`` of ``n_runs``); ``doc["n_failed"]`` counts the others."""
    from .experiments.compare import compare as _compare
    scenario = _with_overrides(scenario, overrides)
    return _compare(scenario, rules, seeds=seeds, out=out, progress=progress, plots=plots,
                    run_plots=run_plots, epochs=epochs, grad_cosine=grad_cosine, overwrite=overwrite)


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


def plot(run_dir, x: str = "epoch"):
    """``neurosim plot``: redraw every figure and report.html of a run directory from its files;
    ``x`` = "epoch" or "wall" (x axis of the learning curves). Returns (figure paths, report path)."""
    from .plotting import _require_run_dir, plot_run, write_report
    _require_run_dir(Path(run_dir))
    paths = plot_run(run_dir, x=x)
    return paths, write_report(run_dir, paths)


class ScenarioInfo(tuple):
    """One scenario of :func:`list_scenarios`: ``path``, ``description``, ``kind``, ``command`` (the
    command it is meant for), ``seconds`` (that command's measured wall time on 2 cores, None if
    not a bundled scenario), ``quick`` (a quick variant's command for a long study, else None) and
    ``quick_seconds``. Unpacks as (path, description)."""

    def __new__(cls, path, description, kind=None, command=None, seconds=None, quick=None, quick_seconds=None):
        self = super().__new__(cls, (path, description))
        self.path, self.description, self.kind = path, description, kind
        self.command, self.seconds, self.quick, self.quick_seconds = command, seconds, quick, quick_seconds
        return self


def fetch(name: str, dest=None, progress: bool = False) -> Path:
    """``neurosim fetch NAME``: download data set ``name`` ("mnist") into ``dest`` (default
    ``$NEUROSIM_DATA/NAME``, else ``~/.cache/neurosim/NAME``), checking the pinned SHA-256 of the
    download and of every file; returns the folder. Files already there and verified are kept
    without a download; a failed download leaves nothing behind (docs/data.md)."""
    from .data.fetch import fetch as _fetch
    return _fetch(name, dest=dest, progress=progress)


def list_scenarios(folder=None) -> list[ScenarioInfo]:
    """``neurosim list``: every scenario file in ``folder`` (default: ./scenarios), with the command
    each is meant for and its measured duration (:mod:`neurosim.catalog`)."""
    from .catalog import entry
    folder = Path(folder or "scenarios")
    if not folder.is_dir():
        raise FileNotFoundError(f"no scenario folder {folder}")
    out = []
    for path in sorted(folder.glob("*.toml")):
        with open(path, "rb") as f:
            try:
                raw = tomllib.load(f)
            except tomllib.TOMLDecodeError:
                raw = {"description": "(not valid TOML)"}
        description = str(raw.get("description", "")).strip().split("\n")[0]
        kind = raw.get("kind", "relax")
        e = entry(path)
        if e is None:
            verb = "gradcheck" if kind == "gradcheck" else "run"
            out.append(ScenarioInfo(str(path), description, kind, f"neurosim {verb} {path} --out runs/{path.stem}"))
            continue
        quick = e.command(path, quick=True) if e.long else None
        out.append(ScenarioInfo(str(path), description, kind, e.command(path), e.seconds, quick,
                                e.quick_seconds if e.long else None))
    return out


def generate(run_dir, n: int = 1000, sampler: str | None = None, steps: int | None = None, out=None,
             seed: int = 0, guidance: float | None = None, plot: bool = True) -> dict:
    """Sample a ``kind = "generative"`` run's trained network (scenario.toml + checkpoint.npz):
    writes ``samples.npz`` (default ``RUN_DIR/generate/samples.npz``), a figure and a json beside it;
    returns {samples, n, sampler, steps, seconds, shape, w2 (toys), conditional_accuracy (digits),
    checkpoint, checkpoint_step, checkpoint_steps (the training step the sampled weights are from,
    of the scenario's total)}.
    Another kind of run, a missing checkpoint or an option out of range (``n`` or ``steps`` < 1, a
    non-finite ``guidance``) raises a one-line error before anything is loaded or written."""
    from .experiments.generative import generate as _generate
    info = _generate(run_dir, n=n, sampler=sampler, steps=steps, out=out, seed=seed, guidance=guidance,
                     plot=plot)
    info.update(checkpoint_step(run_dir))
    return info


def resample(run_dir, overrides=None, out=None, progress: bool = False) -> dict:
    """Sample a finished ``[multitask.sample]`` run's lump (and, with ``bp``, its bp twin) again,
    from ``checkpoint.npz`` and ``bp_twin.npz``, with ``overrides`` of ``multitask.sample.*`` keys
    (``{"multitask.sample.warm": 40.0}`` or ``["multitask.sample.warm=40"]``, as ``--set``).
    Writes ``out`` (default ``RUN_DIR/resample``): ``resample.json``, ``samples.npz``,
    ``lump_trajectory.npz`` (and ``_bp``). Returns resample.json's content plus ``out``. Another
    key, kind or an unfinished run raises a one-line error before anything is written."""
    from .experiments.lump_resample import resample as _resample
    return _resample(run_dir, overrides=overrides, out=out, progress=progress)


def checkpoint_step(run_dir) -> dict:
    """Which training step a generative run's ``checkpoint.npz`` holds: {"checkpoint": path,
    "checkpoint_step": k, "checkpoint_steps": the scenario's ``generative.steps``} (keys absent
    when the files do not say)."""
    import numpy as np
    run_dir = Path(run_dir)
    found = {"checkpoint": str(run_dir / "checkpoint.npz")}
    try:
        with np.load(run_dir / "checkpoint.npz", allow_pickle=False) as z:
            if "step" in z.files:
                found["checkpoint_step"] = int(z["step"])
        with open(run_dir / "scenario.toml", "rb") as f:
            found["checkpoint_steps"] = int(tomllib.load(f)["generative"]["steps"])
    except (OSError, KeyError, ValueError, TypeError, tomllib.TOMLDecodeError):
        pass
    return found
