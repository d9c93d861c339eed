"""One loop for every runner that trains or sweeps step by step: resume → loop → record →
history.csv → checkpoint (docs/engine.md, "Run directories").

A runner hands the loop a :class:`Job` — the pieces that differ between experiments, as a training
loop takes whichever loss it is given:

* ``initial()``    — the history row of the state before any step (e.g. the untrained network's
  scores), or None for no such row; asked once, by a run that starts afresh;
* ``step(i)``      — step i (0-based) of the work; returns its loss (or None);
* ``record(i)``    — extra history columns when step i closes a record interval (may be empty);
* ``note(row)``    — the progress bar's text after a recorded row (default: the interval's loss);
* ``arrays()``, ``meta()`` / ``restore(arrays, meta)`` — the job's state in a checkpoint;
* ``final(history)`` — after the last step: the metrics (it may complete the last history row).

The loop sets ``job.bar`` (its progress bar, counting steps) before the first step, for a job whose
steps are long enough to report within themselves (``bar.update(i + fraction)``).

The loop owns everything around them: it resumes from ``checkpoint.npz`` (the one layout of
:mod:`.checkpoint`, refused if the scenario changed beyond the keys the kind allows), runs the
steps, averages the losses of each record interval into ``train_loss`` with the interval's wall
``seconds``, writes the checkpoint first and ``history.csv`` second (so the table never runs ahead
of the state it describes), and writes both once more after ``final``. A resumed run equals an
uninterrupted one when ``step(i)`` depends only on i and the restored state.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.simulator import SimulationDiverged
from .checkpoint import check_same_scenario, read_checkpoint, write_checkpoint
from .progress import Progress
from .rundir import write_csv

CHECKPOINT = "checkpoint.npz"
HISTORY = "history.csv"


class Job:
    """The pieces of one experiment the loop runs (see the module docstring)."""

    kind = "job"
    #: scenario keys a resumed run may change (top-level or dotted); name, description, plots always may
    may_change: tuple[str, ...] = ()
    #: history.csv columns (None: the job keeps no history.csv)
    columns: list[str] | None = ["step", "train_loss", "seconds"]

    #: the loop's progress bar while it runs (see the module docstring)
    bar: Progress | None = None

    def initial(self) -> dict | None:
        return None

    def step(self, i: int):  # pragma: no cover - interface
        raise NotImplementedError

    def record(self, i: int) -> dict:
        return {}

    def history_columns(self, history: list[dict]) -> list[str] | None:
        """history.csv's columns for these rows (default: :attr:`columns`)."""
        return self.columns

    def note(self, row: dict, loss_name: str = "loss") -> str:
        return f"{loss_name} {row['train_loss']:.3f}" if row["train_loss"] is not None else ""

    def arrays(self) -> dict:
        return {}

    def meta(self) -> dict:
        return {}

    def restore(self, arrays: dict, meta: dict) -> None:
        pass

    def final(self, history: list[dict]) -> dict:
        return {}


@dataclass
class LoopResult:
    metrics: dict
    history: list
    steps: int
    seconds: float          # wall time of the steps, this run and the ones resumed from


def read_resume(scenario, run_dir, kind: str, may_change=()) -> tuple[dict, dict] | None:
    """``(arrays, loop state)`` of ``run_dir/checkpoint.npz`` if the job may resume from it, None
    if there is none; raises :class:`~.checkpoint.CheckpointError` (before anything is written)
    for a damaged file, another kind's, or another scenario's."""
    ckpt = Path(run_dir) / CHECKPOINT
    if not ckpt.exists():
        return None
    arrays, state, saved = read_checkpoint(ckpt, kind)
    check_same_scenario(ckpt, saved, scenario.data, ("name", "description", "plots") + tuple(may_change))
    return arrays, state


def save(job: Job, scenario, run_dir: Path, done: int, history: list, seconds: float) -> None:
    arrays = dict(job.arrays())
    arrays["step"] = np.array(done, dtype=np.int64)  # what `--resume` would continue after
    meta = {"done": done, "history": history, "seconds": seconds, "job": job.meta()}
    write_checkpoint(run_dir / CHECKPOINT, arrays, meta, job.kind, scenario.data)


def _write(job: Job, scenario, run_dir: Path, done: int, history: list, seconds: float) -> None:
    """The checkpoint first, history.csv second: the table never lists a row the state lacks."""
    save(job, scenario, run_dir, done, history, seconds)
    columns = job.history_columns(history)
    if columns:
        write_csv(run_dir / HISTORY, history, columns)


def run_loop(job: Job, scenario, run_dir, resume: bool, total: int, every: int, progress: bool = False,
             label: str = "", unit: str = "step", loss_name: str = "loss") -> LoopResult:
    """Run ``job`` for steps ``0 … total − 1`` (after those a resumed checkpoint already holds)."""
    run_dir = Path(run_dir)
    done, history, seconds = 0, [], 0.0
    resumed = read_resume(scenario, run_dir, job.kind, job.may_change) if resume else None
    if resumed is not None:
        arrays, state = resumed
        job.restore(arrays, state["job"])
        done, history, seconds = int(state["done"]), list(state["history"]), float(state["seconds"])
        if progress:
            print(f"resuming {scenario['name']} after {unit} {done}", file=sys.stderr)
    elif resume and progress:
        print(f"no checkpoint in {run_dir}; starting from {unit} 0", file=sys.stderr)
    if done == 0 and not history:
        first = job.initial()
        if first is not None:
            history.append({"step": 0, "train_loss": None, "seconds": 0.0, **first})
            _write(job, scenario, run_dir, done, history, seconds)
    bar = job.bar = Progress(total, label=label, enabled=progress, unit=unit)
    losses = []
    start = time.perf_counter()
    while done < total:
        loss = job.step(done)
        done += 1
        if loss is not None:
            if not np.isfinite(loss):  # later steps would only propagate the NaNs
                raise SimulationDiverged(f"training diverged at {unit} {done}: the train {loss_name} became "
                                         "non-finite; lower training.lr")
            losses.append(loss)
        bar.update(done)
        if done % every == 0 or done == total:
            elapsed = time.perf_counter() - start
            seconds += elapsed
            row = {"step": done, "train_loss": float(np.mean(losses)) if losses else None, "seconds": elapsed}
            row.update(job.record(done))
            history.append(row)
            _write(job, scenario, run_dir, done, history, seconds)
            losses = []
            start = time.perf_counter()
            bar.update(done, job.note(row, loss_name))
    bar.close()
    job.bar = None
    metrics = job.final(history)
    columns = job.history_columns(history)
    if history and columns:
        write_csv(run_dir / HISTORY, history, columns)
    save(job, scenario, run_dir, done, history, seconds)
    return LoopResult(metrics, history, done, seconds)
