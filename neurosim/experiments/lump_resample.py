"""``neurosim resample RUN_DIR``: sample a finished ``[multitask.sample]`` run again with other
sampling options, without training anything.

The run directory holds what sampling needs: ``scenario.toml`` (the data, the network, the task's
ports, the evaluation relaxation), ``checkpoint.npz`` (the lump's final weights) and, for a run
with ``bp = true``, ``bp_twin.npz`` (the bp twin's weights, :func:`save_bp_twin`). ``overrides``
may set only ``multitask.sample.*`` keys (the sampler, steps, guidance weights, samples per class,
``warm``, ``bp``): anything else would describe another run than the one whose weights are read.
The samples are drawn by :func:`~.lump_generation_eval.write_samples` /
:func:`~.lump_generation_eval.write_samples_bp` with the run's own sampling seed, so with no
overrides they are the run's to the last bit (``tests/test_lump_generation_eval.py``).

A run written before ``bp_twin.npz`` existed has no saved twin: it is trained again exactly as the
run trained it (the same initial weights, batches and random stream: the same weights) and saved
into the run directory, so the next resample reads it.

Writes ``OUT`` (default ``RUN_DIR/resample``): ``resample.json`` ({"overrides", "sampling",
"sampling_bp"}: the keys of the run's ``metrics.json``), ``samples.npz``, ``lump_trajectory.npz``
and their ``_bp`` twins.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..scenario.overrides import apply_overrides, parse_assignment
from ..scenario.load import load_scenario
from ..scenario.schema import ScenarioError
from .checkpoint import params_arrays, read_checkpoint, read_params_into
from .rundir import RunDirError, check_writable, read_npz

BP_TWIN = "bp_twin.npz"
#: the only keys a resample may set: the sampling's, not the run's
PREFIX = "multitask.sample."


def save_bp_twin(run_dir, params, failure, excluded: float) -> None:
    """``RUN_DIR/bp_twin.npz``: the bp twin's weights, its failure (\"\" if none) and excluded fraction."""
    np.savez(Path(run_dir) / BP_TWIN, failure=np.array(failure or ""), excluded_fraction=np.array(excluded),
             **params_arrays(params))


def read_bp_twin(run_dir, params0) -> tuple | None:
    """(params, failure, excluded fraction) from ``RUN_DIR/bp_twin.npz``, or None if there is none."""
    path = Path(run_dir) / BP_TWIN
    if not path.is_file():
        return None
    arrays = read_npz(path, "bp twin")  # a damaged file: one line naming it
    return (read_params_into(arrays, params0.copy(), path), str(arrays["failure"]) or None,
            float(arrays["excluded_fraction"]))


def check_resample(run_dir, overrides: dict, out):
    """The run's scenario with ``overrides`` applied, if RUN_DIR can be resampled so; raises
    ScenarioError or RunDirError (one line, naming the file or key) before anything is written."""
    run_dir = Path(run_dir)
    path = run_dir / "scenario.toml"
    if not path.is_file():
        raise RunDirError(f"{run_dir}: not a neurosim run directory (no scenario.toml)")
    scenario = load_scenario(path)
    if scenario["kind"] != "multitask" or not scenario["multitask"].get("sample"):
        raise ScenarioError(path, "multitask.sample", "neurosim resample samples a kind = \"multitask\" run "
                            "with a [multitask.sample] table")
    for key in overrides:
        if not key.startswith(PREFIX):
            raise ScenarioError(path, key, f"expected a {PREFIX}* key (a resample changes the sampling, "
                                "not the run whose weights it reads)")
    for name in ("checkpoint.npz", "metrics.json"):
        if not (run_dir / name).is_file():
            raise RunDirError(f"{run_dir / name}: missing; the run has not finished (rerun it, or --resume it)")
    check_writable(out)
    return apply_overrides(scenario, overrides) if overrides else scenario


def resample(run_dir, overrides=None, out=None, progress: bool = False) -> dict:
    """Sample RUN_DIR's lump (and bp twin, with ``bp``) again (module docstring); returns what
    ``resample.json`` holds."""
    from .lump_generation_eval import sampled_task, sampling_seed, write_samples, write_samples_bp
    from .multitask_run import MultitaskRun
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "resample"
    if overrides and not isinstance(overrides, dict):
        overrides = dict(parse_assignment(o, path=str(run_dir / "scenario.toml")) for o in overrides)
    scenario = check_resample(run_dir, overrides or {}, out)
    run_metrics = json.loads((run_dir / "metrics.json").read_text())  # the bp twin's status reads its initial error
    ckpt = run_dir / "checkpoint.npz"
    arrays, _, _ = read_checkpoint(ckpt, "multitask")
    run = MultitaskRun(scenario, run_dir, progress)
    params = read_params_into(arrays, run.params0.copy(), ckpt)
    options, seed = run.mt["sample"], sampling_seed(scenario)  # the run's own stream
    twin = read_bp_twin(run_dir, run.params0) if options["bp"] else None  # read (or refused) before any write
    out.mkdir(parents=True, exist_ok=True)
    doc = {"overrides": overrides or {}}
    t0 = time.perf_counter()
    doc["sampling"] = write_samples(out, run.net, params, run.tasks, run.train, run.test, run.relax, run.n_eval,
                                    run.ports, options, seed)
    doc["sampling_wall_seconds"] = time.perf_counter() - t0
    if options["bp"]:
        if twin is None:  # a run from before bp_twin.npz: train it again, keep it for the next resample
            twin = run.bp_network(sampled_task(run.tasks, options))
            save_bp_twin(run_dir, *twin)
        t0 = time.perf_counter()
        doc["sampling_bp"] = write_samples_bp(out, run, run_metrics, seed, twin=twin)
        doc["sampling_bp_wall_seconds"] = time.perf_counter() - t0
    (out / "resample.json").write_text(json.dumps(doc, indent=1, default=float))
    return {**doc, "out": str(out)}
