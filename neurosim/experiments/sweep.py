"""``neurosim sweep``: one scenario over a grid of dotted keys × seeds, on a Dask cluster.

The cells are the Cartesian product of the grid's values, in the order given; every cell runs
under seeds s₀, s₀ + 1, …, s₀ + n − 1 (s₀ the scenario's ``seed``). A cell × seed is an ordinary
run directory ``OUT/<cell>/seed<s>/`` written by :func:`~neurosim.experiments.run.run_scenario`,
so ``neurosim run OUT/<cell>/seed<s>/scenario.toml`` reproduces its metrics bit for bit: each run
is one task in its own single-threaded worker process (BLAS at ``NEUROSIM_BLAS_THREADS`` = 1
thread), and nothing a worker computes depends on which worker or how many there are.

Execution is Dask's (``dask.distributed``): by default a ``LocalCluster`` of one-thread worker
processes on this machine, or any running cluster given its scheduler address (``dask scheduler``
+ ``dask worker``, ``dask-jobqueue``; docs/sweeps.md). The workers must see ``OUT`` on a shared
file system. A task whose worker dies is rescheduled by Dask on another worker; a run that raises
(``SimulationDiverged`` or anything else) is recorded in its ``status.json`` and the others go on.

Resume: a run whose directory holds the same resolved ``scenario.toml`` and a finished (or
recorded failed) status is skipped, so rerunning a finished sweep does no work and rerunning after
deleting one run directory runs only that one. ``sweep.json`` / ``sweep.csv`` (sweep_summary.py)
are rebuilt from the run directories at the end.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..scenario.load import Scenario, from_dict, load_scenario
from ..scenario.overrides import apply_overrides, parse_grid_option, split_key
from ..scenario.schema import ScenarioError
from .progress import SweepProgress
from .rundir import write_json, write_text
from .sweep_summary import STATUS, read_json_file, summarize, write_summary

#: environment of every local worker process: one BLAS / OpenMP thread (see engine/threads.py)
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class SweepRun:
    """One cell × seed: its run directory and the resolved scenario it runs."""

    cell: str
    seed: int
    run_dir: Path
    toml: str


@dataclass
class SweepPlan:
    base: Scenario                     # the scenario without its [sweep] table
    grid: dict                         # dotted key → values
    seeds: list
    cells: list                        # {"name", "params": {key: value}}
    runs: list = field(default_factory=list)
    out: Path = Path("runs/sweep")


# -- the grid ----------------------------------------------------------------------------------
def flatten_grid(table: dict, prefix: str = "") -> dict:
    """``[sweep.grid]`` as dotted keys: nested TOML tables and quoted dotted keys both work."""
    out = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, dict):
            out.update(flatten_grid(value, key))
        else:
            out[key] = value
    return out


def normalize_grid(grid, path: str = "<command line>") -> dict:
    """A dict key → values, or ``KEY=V1,V2,…`` strings, as an ordered dict key → list of values."""
    if grid is None:
        return {}
    if isinstance(grid, str):
        grid = [grid]
    items = grid.items() if isinstance(grid, dict) else [parse_grid_option(g, "--grid", path) for g in grid]
    out = {}
    for key, values in items:
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        split_key(key, path)
        if key in out:
            raise ScenarioError(path, "--grid", f"key {key!r} given twice")
        if not values:
            raise ScenarioError(path, key, "expected at least one value in the grid")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise ScenarioError(path, key, f"expected each grid value once, got {values!r}")
        out[key] = values
    return out


def short_keys(keys) -> dict:
    """Each dotted key's shortest dotted suffix that no other key ends with (training.lr → lr)."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if not any(k != key and (k == suffix or k.endswith("." + suffix)) for k in keys):
                break
        out[key] = suffix
    return out


def value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return repr(v) if isinstance(v, float) else str(v)
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def cell_names(cells: list, keys: list) -> list:
    """Readable, file-system-safe, unique directory names such as ``lr=0.01_beta=0.5``."""
    short = short_keys(keys)
    names = []
    for params in cells:
        text = "_".join(f"{short[k]}={value_text(params[k])}" for k in keys) or "base"
        # arrays and tables: [0.5, 0.1] → 0.5+0.1, {a = 1} → a-1; anything else unsafe → -
        text = re.sub(r"[\[\]{}\"' ]", "", text).replace(",", "+")
        name = re.sub(r"[^A-Za-z0-9._+=-]", "-", text)
        if len(name) > 120:  # keep paths short; the hash keeps them unique
            name = name[:110] + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
        names.append(name)
    for i, name in enumerate(names):
        if names.count(name) > 1:
            names[i] = f"{name}-{i}"
    return names


def plan_sweep(scenario, grid=None, seeds: int | None = None, out="runs/sweep", overrides=None) -> SweepPlan:
    """Every cell × seed, each scenario validated; raises ScenarioError before anything is written.

    ``grid`` (dict or ``KEY=V1,V2`` strings) extends the scenario's ``[sweep].grid`` (same key:
    ``grid`` wins); ``seeds`` defaults to ``[sweep].seeds``; ``overrides`` (dotted key → value) set
    keys of the base scenario first.
    """
    if not isinstance(scenario, Scenario):
        scenario = from_dict(scenario) if isinstance(scenario, dict) else load_scenario(scenario)
    path = scenario.path
    table = scenario.get("sweep") or {}
    merged = normalize_grid(flatten_grid(table.get("grid", {})), path)
    merged.update(normalize_grid(grid, path))
    for key in merged:
        if key == "seed" or key.split(".")[0] in ("seed", "sweep"):
            raise ScenarioError(path, key, "cannot be swept; use --seeds for seeds")
    n_seeds = table.get("seeds", 1) if seeds is None else seeds
    if not isinstance(n_seeds, int) or isinstance(n_seeds, bool) or n_seeds < 1:
        raise ScenarioError(path, "--seeds", f"expected a positive integer, got {n_seeds!r}")
    data = copy.deepcopy(scenario.data)
    data.pop("sweep", None)  # every cell is a plain run: its scenario.toml runs with neurosim run
    base = apply_overrides(data, dict(overrides or {}), path)
    keys = list(merged)
    cells = [dict(zip(keys, combo)) for combo in itertools.product(*merged.values())]
    seed_list = [base["seed"] + i for i in range(n_seeds)]
    out = Path(out)
    plan = SweepPlan(base, merged, seed_list, [], [], out)
    for name, params in zip(cell_names(cells, keys), cells):
        plan.cells.append({"name": name, "params": params})
        for s in seed_list:
            run = apply_overrides(base, {**params, "seed": s}, path)
            plan.runs.append(SweepRun(name, s, out / name / f"seed{s}", run.to_toml()))
    return plan


# -- one run, on a worker ----------------------------------------------------------------------
def run_cell(toml_text: str, path: str, run_dir: str) -> dict:
    """Worker side: run one resolved scenario into ``run_dir``; returns (and writes) its status.

    Any exception of the run is caught here, so one diverged cell never stops the sweep; the
    status names the error and the worker (host:pid) that ran it.
    """
    import socket

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from .run import run_scenario

    start = time.perf_counter()
    run_dir = Path(run_dir)
    (run_dir / STATUS).unlink(missing_ok=True)
    try:
        run_scenario(from_dict(tomllib.loads(toml_text), path), run_dir, progress=False, plots=False)
        status = {"status": "finished"}
    except Exception as err:  # recorded; the other cells go on
        status = {"status": "failed", "error": type(err).__name__, "message": str(err).strip().split("\n")[0][:400]}
    status.update(seconds=time.perf_counter() - start, worker=f"{socket.gethostname()}:{os.getpid()}")
    write_json(run_dir / STATUS, status)
    return status


def run_is_done(run: SweepRun, retry_failed: bool = False) -> bool:
    """The run directory holds this very scenario and a finished (or recorded failed) run."""
    toml = run.run_dir / "scenario.toml"
    if not toml.is_file() or toml.read_text(encoding="utf-8") != run.toml:
        return False
    status = read_json_file(run.run_dir / STATUS) or {}
    if status.get("status") == "failed":
        return not retry_failed
    return (run.run_dir / "metrics.json").is_file() and status.get("status", "finished") == "finished"


# -- execution ---------------------------------------------------------------------------------
def available_cores() -> int:
    """The cores this process may run on (a batch job's allocation, not the whole node)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def open_client(workers: int | None, scheduler: str | None, n_runs: int):
    """(client, cluster or None): a connection to ``scheduler`` or a new LocalCluster of
    ``workers`` one-thread processes (default: the machine's cores, never more than the runs)."""
    from distributed import Client, LocalCluster
    from distributed import TimeoutError as DaskTimeout
    if scheduler:
        try:
            return Client(scheduler, timeout="15s"), None
        except (OSError, TimeoutError, DaskTimeout) as err:
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    n = max(1, min(workers or available_cores(), n_runs))
    env = {**WORKER_ENV, "NEUROSIM_BLAS_THREADS": os.environ.get("NEUROSIM_BLAS_THREADS", "1")}
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR, env=env)
    return Client(cluster), cluster


def _running(client, keys: set) -> int:
    """Runs executing now: our tasks processing on each worker, at most its thread count (the
    scheduler hands a worker slightly more tasks than threads)."""
    try:
        processing, threads = client.processing(), client.nthreads()
    except Exception:  # the scheduler is busy or a worker just left: skip this frame
        return 0
    return sum(min(sum(k in keys for k in tasks), threads.get(w, 1)) for w, tasks in processing.items())


def execute(client, runs: list, path: str, bar: SweepProgress | None = None) -> dict:
    """Run every ``SweepRun`` on the cluster of ``client``; returns run_dir → status."""
    from distributed import TimeoutError as DaskTimeout  # asyncio's on Python 3.10, the builtin later
    from distributed import wait
    statuses = {}
    futures = {client.submit(run_cell, r.toml, path, str(r.run_dir.resolve()), pure=False): r for r in runs}
    keys = {f.key for f in futures}
    pending = set(futures)
    while pending:
        try:
            done, pending = wait(pending, timeout=0.5, return_when="FIRST_COMPLETED")
        except (TimeoutError, DaskTimeout):
            if bar:
                bar.update(_running(client, keys))
            continue
        for future in done:
            run = futures[future]
            try:
                status = future.result()
            except Exception as err:  # the task itself failed: e.g. KilledWorker after retries
                status = {"status": "failed", "error": type(err).__name__, "message": str(err)[:400]}
                write_json(run.run_dir / STATUS, status)
            statuses[str(run.run_dir)] = status
            if bar:
                bar.finished(status["status"] != "finished", f"{run.cell}/seed{run.seed}",
                             _running(client, keys))
    return statuses


def sweep(scenario, grid=None, seeds: int | None = None, out="runs/sweep", workers: int | None = None,
          scheduler: str | None = None, overrides=None, progress: bool = False, plots: bool | None = None,
          retry_failed: bool = False) -> dict:
    """Run the sweep into ``out``; returns the contents of ``OUT/sweep.json``.

    ``workers``: local worker processes (default: the cores); ``scheduler``: address of a running
    Dask scheduler (``tcp://host:port``) instead. ``plots``: draw the sweep figures and
    report.html (default: the scenario's ``plots``). ``retry_failed``: run recorded failures again.
    """
    plan = plan_sweep(scenario, grid, seeds, out, overrides)
    out = plan.out
    if out.exists() and any(out.iterdir()) and not (out / "sweep.json").exists() \
            and not (out / "scenario.toml").exists():
        raise FileExistsError(f"{out} exists and is not a neurosim sweep directory; choose another --out")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ScenarioError(plan.base.path, "--workers", f"expected a positive integer, got {workers!r}")
    todo = [r for r in plan.runs if not run_is_done(r, retry_failed)]
    start = time.perf_counter()
    # connect (or start the local workers) before writing anything: a wrong address writes nothing
    client, cluster = open_client(workers, scheduler, len(todo)) if todo else (None, None)
    try:
        out.mkdir(parents=True, exist_ok=True)
        sweep_data = {"grid": plan.grid, "seeds": len(plan.seeds)}
        write_text(out / "scenario.toml", Scenario({**plan.base.data, "sweep": sweep_data}, plan.base.path,
                                                   plan.base.seeds).to_toml())
        bar = SweepProgress(len(plan.runs), len(plan.runs) - len(todo), enabled=progress)
        if todo:
            execute(client, todo, plan.base.path, bar)
        bar.close()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    doc = summarize(plan.base, plan.grid, plan.cells, plan.seeds, out)
    doc.update(ran=len(todo), skipped=len(plan.runs) - len(todo), wall_seconds=time.perf_counter() - start,
               scheduler=scheduler or "local", workers=None if scheduler else workers or available_cores())
    write_summary(doc, out)
    if plots if plots is not None else plan.base["plots"]:
        from ..plotting import plot_run, write_report
        plot_run(out)
        write_report(out)
    return doc
