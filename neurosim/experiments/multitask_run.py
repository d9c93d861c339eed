"""The ``multitask`` runner: the concurrent run, then the controls, on the one loop
(:mod:`.loop`) with a checkpoint at every evaluation and ``--resume``.

A loop step is one evaluation interval of the concurrent run (``multitask.eval_every``; the
evaluation at t = 0 is the loop's initial row), each followed by a row of ``history.csv`` and
``checkpoint.npz``. The loop's ``final`` runs the controls (each task learned alone online, bp
per task, two-phase EP), writing the same checkpoint after every control, every ``eval_every``
of an isolated run and every ``CHECKPOINT_BATCHES`` batches of a batch control. The checkpoint
(``checkpoint.py`` layout, the loop's meta) holds the concurrent run's whole state (simulator,
synapses' running averages, the examples on show, every random stream, the loop's position, the
traces so far), the evaluation history, the results of the controls done and the state of the
control under way; ``neurosim run S --out D --resume`` continues from it and writes the same
``metrics.json`` and ``history.csv`` as an uninterrupted run (timing and memory keys aside).

Each control's wall seconds and peak RSS (from a reset high-water mark, :mod:`.peak_memory`)
are measured across its checkpoints and resumes: ``control_wall_seconds`` and
``control_peak_rss_mib`` (control key → figure), beside ``concurrent_peak_rss_mib``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..data import load_dataset
from ..data.multimodal import modality_fields
from ..model.tasks import busy_fraction, overlap_fraction
from .checkpoint import check_same_scenario, params_arrays, params_from, read_checkpoint, under, with_prefix
from .loop import Job, run_loop, save
from .multitask import ConcurrentRun, Evaluation, gradient_probe, port_blocks, task_specs
from .multitask_controls import BatchControl, chance_level, control_status
from .peak_memory import peak_rss_mib, reset_peak_rss
from .progress import Progress
from .readout import eval_relax_config
from .setup import make_network

KIND = "multitask"
CHECKPOINT = "checkpoint.npz"
#: the loop's own history keys, left out of multitask's history.csv (its rows are evaluations at `time`)
LOOP_KEYS = {"step", "train_loss", "seconds"}
#: control label → the status key reported beside its figure
STATUS_KEY = {"isolated_final": "isolated_status", "bp_final": "bp_status", "ep_sync_final": "ep_sync_status"}


class MultitaskRun(Job):
    """Everything one multitask run holds, as the loop's job: a step is one evaluation interval."""

    kind = KIND

    def __init__(self, scenario, run_dir: Path, progress: bool):
        self.scenario, self.run_dir, self.progress = scenario, Path(run_dir), progress
        mt = self.mt = scenario["multitask"]
        self.tasks = task_specs(scenario)
        ds = load_dataset(mt["dataset"], seed=mt["split_seed"])
        self.train, self.test = modality_fields(ds, scenario.rng("data"), mt["code_dim"], mt["code_noise"])
        self.net = make_network(scenario["network"])
        self.params0 = self.net.init_params(scenario.rng("params"))
        self.relax, self.n_eval, self.ports = mt["eval_relax"], mt["n_eval"], port_blocks(self.tasks)
        probe_idx = scenario.rng("training").integers(0, len(self.train["_y"]), size=mt["probe_batch"])
        self.probe_batch = {k: v[probe_idx] for k, v in self.train.items()}
        self.run = ConcurrentRun(scenario, self.tasks, self.train, self.params0.copy())
        self.history: list[dict] = []
        self.seconds = {"concurrent": 0.0, "controls": 0.0}  # and "control/<key>" once a control runs
        self.peaks: dict[str, float] = {}     # "concurrent" / "control/<key>" → peak RSS, MiB
        self._control = None                  # key of the control being timed
        self.done: dict[str, dict] = {}       # control key → {"scores", "residual", "failure"}
        self.phase = "concurrent"
        self._run_state = None                # the finished concurrent run's state, saved once
        self._current = None                  # (key, control) of the control under way
        self._resumed_current = None          # a restored control's saved state, until it is rebuilt
        self._row = None                      # the evaluation the last stretch ended with
        self._last = None                     # the evaluation the last step ended with
        self._judge = None                    # the judging classifier of multitask.judge, fitted once
        self._bp_params: dict[int, tuple] = {}  # task → (params, failure, excluded) of a bp control run here
        self._clock = time.perf_counter()
        every = mt["eval_every"]
        self.n_steps = int(np.floor(mt["duration"] / every + 1e-9))  # evaluations after t = 0

    def history_columns(self, history: list[dict]) -> list[str]:
        """history.csv: ``time``, then the evaluations' columns (the loop's own keys left out)."""
        return ["time"] + sorted(set().union(*history) - LOOP_KEYS - {"time"})

    # -- checkpoints ------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.run_dir / CHECKPOINT

    def _tick(self, phase: str):
        """Book the time since the last tick to ``phase`` (and to the control being timed), and
        the peak RSS since the last reset to that control, or to the concurrent phase."""
        now = time.perf_counter()
        dt, self._clock = now - self._clock, now
        self.seconds[phase] += dt
        stretch = f"control/{self._control}" if self._control else phase
        if self._control:
            self.seconds[stretch] = self.seconds.get(stretch, 0.0) + dt
        if stretch != "controls":  # the controls phase's own bookkeeping between controls: not reported
            self.peaks[stretch] = max(self.peaks.get(stretch, 0.0), peak_rss_mib())

    def _time_control(self, key: str | None):
        """Start (``key``) or end (None) the timing of a control: tick, reset the RSS high-water mark."""
        self._tick("controls")
        self._control = key
        reset_peak_rss()

    def arrays(self) -> dict:
        self._tick("concurrent" if self.phase == "concurrent" else "controls")
        run_arrays, _ = self._run_state or self.run.state_dict()
        arrays = {**params_arrays(self.run.compiled.params()), **with_prefix("run/", run_arrays)}
        if self._current is not None:
            arrays.update(with_prefix("current/", self._current[1].state_dict()[0]))
        return arrays

    def meta(self) -> dict:
        _, run_meta = self._run_state or self.run.state_dict()
        current = None
        if self._current is not None:
            key, control = self._current
            current = {"key": key, "state": control.state_dict()[1]}
        return {"phase": self.phase, "seconds": self.seconds, "peaks": self.peaks, "run": run_meta,
                "controls": self.done,
                "current": current}

    def restore(self, arrays: dict, meta: dict) -> None:
        self.run.load_state_dict(under("run/", arrays), meta["run"])
        self.seconds, self.done, self.phase = meta["seconds"], meta["controls"], meta["phase"]
        self.peaks = meta.get("peaks", {})  # a checkpoint written before peaks were kept has none
        if self.progress:
            where = (f"t = {self.run.sim.t:g}" if self.phase == "concurrent"
                     else f"the control phase ({len(self.done)} controls done)")
            print(f"resuming {self.scenario['name']} from {where}", file=sys.stderr)
        if meta["current"] is not None:
            self._resumed_current = {**meta["current"], "arrays": under("current/", arrays)}

    def save(self, current: tuple[str, object] | None = None):
        """The loop's checkpoint, written from the control phase: the concurrent run's final
        state, the controls done and ``current = (key, control)`` under way."""
        self._current = current  # the control phase begins after the loop's last step
        save(self, self.scenario, self.run_dir, self.n_steps, self.history, self.seconds["concurrent"])
        self._current = None

    # -- the concurrent run ----------------------------------------------------------------
    def scores(self, params) -> dict:
        ev = Evaluation()
        net, relax, n_eval, ports, test = self.net, self.relax, self.n_eval, self.ports, self.test
        row = {f"task/{t.name}/{t.metric}": ev.task(net, params, t, test, relax, n_eval, ports) for t in self.tasks}
        for entry in self.scenario.get("reverse", []):
            row[f"reverse/{entry['name']}/{entry['metric']}"] = ev.reverse(net, params, entry, test, relax,
                                                                           n_eval, ports)
        row["eval_residual"] = ev.worst_residual
        return row

    def _evaluate(self, t, params):
        self._row = {"time": t, **self.scores(params)}
        if self.mt["gradient_probe"]:
            self._row["grad_cosine_to_bp"] = gradient_probe(self.run, params, self.probe_batch)

    def _advance(self, until: float) -> dict:
        """Run the concurrent run to ``until`` and return the evaluation made there."""
        self._row = None
        total = self.n_steps
        self.run.run(self._evaluate, self.mt["eval_every"], until=until,
                     step_fn=None if self.bar is None else lambda frac: self.bar.update(frac * total))
        row, self._row = self._row, None
        return row

    def initial(self) -> dict:
        return self._advance(0.0)

    def step(self, i: int):
        self._last = self._advance((i + 1) * self.mt["eval_every"])

    def record(self, i: int) -> dict:
        return self._last

    def note(self, row: dict, loss_name: str = "loss") -> str:
        return f"t = {row['time']:g}"

    def final(self, history: list[dict]) -> dict:
        self.history = history
        if self.phase == "concurrent":
            self.run.run()  # the horizon's remainder after the last evaluation, if any
            self._tick("concurrent")
            self.phase = "controls"
        else:
            self.run.run()  # already at the horizon: only gathers the traces
        self._run_state = self.run.state_dict()
        if self.phase == "controls":
            self.controls(self._resumed_current)
        return self.metrics()

    # -- the controls ------------------------------------------------------------------------
    def plan(self) -> list[str]:
        """The controls in the order they run: ``label/k`` per task, ``ep_sync_final`` once."""
        k_all = range(len(self.tasks))
        plan = [f"isolated_final/{k}" for k in k_all] if self.mt["isolated"] else []
        if "bp" in self.mt["controls"]:
            plan += [f"bp_final/{k}" for k in k_all]
        if "ep_symmetric" in self.mt["controls"]:
            plan.append("ep_sync_final")
        return plan

    def episodes(self) -> list[int]:
        return [sum(e.task == k for e in self.run.episodes) for k in range(len(self.tasks))]

    def make_control(self, key: str):
        """The control ``key`` from its start, and the tasks its trained network is scored on."""
        mt, p = self.mt, self.scenario["network"]["particles"]
        relax = self.relax
        control_relax = eval_relax_config(relax, nudged_duration=relax["duration"] / 2)
        label, _, k = key.partition("/")
        if label == "isolated_final":
            return ConcurrentRun(self.scenario, self.tasks, self.train, self.params0.copy(), active=[int(k)]), [int(k)]
        if label == "bp_final":
            order = [int(k)] * self.episodes()[int(k)]
            rule, scored = "bp", [int(k)]
        else:
            order = [e.task for e in self.run.episodes]
            rule, scored = "ep_symmetric", list(range(len(self.tasks)))
        return BatchControl(self.net, self.params0, self.tasks, order, rule, mt["control_lr"], self.train,
                            self.ports, control_relax, p, self.scenario.rng("training"),
                            mt["control_optimizer"]), scored

    def controls(self, current: dict | None):
        plan = self.plan()
        bar = Progress(len(plan), "controls", enabled=self.progress, unit="control")
        for i, key in enumerate(plan):
            if key in self.done:
                continue
            self._time_control(key)
            control, scored = self.make_control(key)
            if current is not None and current["key"] == key:
                control.load_state_dict(current["arrays"], current["state"])
            current = None

            def show(frac, i=i, key=key):
                bar.update(i + frac, f"{i + 1}/{len(plan)} {self._name(key)}".ljust(36))

            if isinstance(control, ConcurrentRun):
                # a checkpoint every eval_every of the isolated run (none at its start: nothing done yet)
                control.run(lambda t, params, key=key, c=control: t > 0 and self.save((key, c)),
                            self.mt["eval_every"], step_fn=show)
                params, failure = control.compiled.params(), None
            else:
                params = control.run(on_batch=lambda done, c=control: show(done / len(c.order)),
                                     checkpoint=lambda key=key, c=control: self.save((key, c)))
                failure = control.failure
            ev = Evaluation()
            scores = {str(k): ev.task(self.net, params, self.tasks[k], self.test, self.relax, self.n_eval, self.ports)
                      for k in scored} if failure is None else {}
            self.done[key] = {"scores": scores, "residual": ev.worst_residual, "failure": failure}
            if failure is None:  # multitask.judge: the image answers judged by class (judged_images.py)
                self.done[key]["judged"] = {str(k): self.judged(params, k) for k in scored
                                            if self.tasks[k].name in self.mt["judge"]}
            if isinstance(control, BatchControl) and control.rule == "bp":
                excluded = self.done[key]["excluded_fraction"] = excluded_fraction(control)
                self.done[key]["skipped_batches"] = control.skipped
                self._bp_params[int(key.partition("/")[2])] = (params, failure, excluded)
            self._time_control(None)
            self.save()
        bar.finish(f"{len(plan)}/{len(plan)} controls".ljust(36))
        self.phase = "done"
        self.save()

    def bp_network(self, k: int) -> tuple:
        """(params, failure, excluded fraction) of task k's bp control: the one this run trained, or
        trained now exactly as the control phase would (same initial weights, batches and stream:
        ``scenario.rng("training")`` restarts its stream, so both give the same weights)."""
        if k not in self._bp_params:
            control, _ = self.make_control(f"bp_final/{k}")
            bar = Progress(len(control.order), f"bp {self.tasks[k].name} (for sampling)", enabled=self.progress,
                           unit="batch")
            control.run(on_batch=bar.update)
            bar.close()
            self._bp_params[k] = (control.params, control.failure, excluded_fraction(control))
        return self._bp_params[k]

    def judged(self, params, k: int) -> float:
        """Task k's judged accuracy on ``params`` (the judging classifier fitted once)."""
        from .judged_images import judged_accuracy
        from .lump_sampling import judge
        if self._judge is None:
            self._judge = judge(self.train["image"], self.train["_y"])
        return judged_accuracy(self.net, params, self.tasks[k], self.test, self.relax, self.n_eval, self.ports,
                               self._judge)

    def _name(self, key: str) -> str:
        label, _, k = key.partition("/")
        return f"{label} {self.tasks[int(k)].name}" if k else label

    # -- the figures ---------------------------------------------------------------------------
    def metrics(self) -> dict:
        run, history, tasks = self.run, self.history, self.tasks
        initial, final = history[0], history[-1]
        metrics = {"overlap_fraction": overlap_fraction(run.episodes, run.horizon),
                   "overlap_fraction_3": overlap_fraction(run.episodes, run.horizon, 3),
                   "n_episodes": len(run.episodes), "n_events": int(run.sim.n_events),
                   "concurrent_wall_seconds": self.seconds["concurrent"],
                   "controls_wall_seconds": self.seconds["controls"], "tasks": {}, "reverse": {}}
        if self.mt["gradient_probe"]:
            metrics["grad_cosine_to_bp"] = final["grad_cosine_to_bp"]
        episodes = self.episodes()
        for k, task in enumerate(tasks):
            key = f"task/{task.name}/{task.metric}"
            metrics["tasks"][task.name] = {"metric_name": task.metric, "initial": initial[key], "final": final[key],
                                           "episodes": episodes[k],
                                           "busy_fraction": busy_fraction(run.episodes, k, run.horizon)}
        for entry in self.scenario.get("reverse", []):
            key = f"reverse/{entry['name']}/{entry['metric']}"
            metrics["reverse"][entry["name"]] = {"metric_name": entry["metric"], "initial": initial[key],
                                                 "final": final[key]}
        for k, task in enumerate(tasks):
            if task.name in self.mt["judge"]:
                metrics["tasks"][task.name]["judged_accuracy"] = self.judged(run.compiled.params(), k)
        for ckey in self.plan():
            result = self.done[ckey]
            label, _, k = ckey.partition("/")
            for k in ([int(k)] if k else range(len(tasks))):
                task = tasks[k]
                value = result["scores"].get(str(k))
                chance = chance_level(task.metric, self.test, self.n_eval, self.net.block(task.target[0]).size)
                status = control_status(task.metric, value, initial[f"task/{task.name}/{task.metric}"], chance,
                                        result["failure"])
                entry = metrics["tasks"][task.name]
                entry[label] = value if status == "ok" else None  # never a failure's figure as a result
                entry[STATUS_KEY[label]] = status
                if str(k) in result.get("judged", {}):
                    entry[f"{label.removesuffix('_final')}_judged_accuracy"] = result["judged"][str(k)]
                if "excluded_fraction" in result:  # bp: examples whose free state was no strict minimum
                    entry["bp_excluded_fraction"] = result["excluded_fraction"]
                    entry["bp_skipped_batches"] = result["skipped_batches"]
        # the largest stationarity residual any evaluation ended at: the figures above are read
        # off fixed points only if it is small
        metrics["eval_residual_max"] = max([row["eval_residual"] for row in history] +
                                           [r["residual"] for r in self.done.values()])
        metrics["wall_seconds"] = self.seconds["concurrent"] + self.seconds["controls"]
        # per control: its training and scoring, summed over resumes; memory from a reset high-water mark
        metrics["control_wall_seconds"] = {k: self.seconds.get(f"control/{k}") for k in self.plan()}
        metrics["control_peak_rss_mib"] = {k: self.peaks.get(f"control/{k}") for k in self.plan()}
        metrics["concurrent_peak_rss_mib"] = self.peaks.get("concurrent")
        return metrics


def excluded_fraction(control: BatchControl) -> float:
    """bp: the fraction of the control's examples whose free state was no strict minimum."""
    return control.excluded / (len(control.order) * control.batch)


def check_resume(scenario, run_dir) -> None:
    """Refuse (one line) a resume from a damaged checkpoint or one of another scenario."""
    path = Path(run_dir) / CHECKPOINT
    if path.exists():
        _, _, saved = read_checkpoint(path, KIND)
        check_same_scenario(path, saved, scenario.data)


def finished_run(scenario, run_dir):
    """(job, weights) of a finished multitask run: its :class:`MultitaskRun` rebuilt from
    ``scenario`` (the run's scenario.toml, possibly with overrides; nothing is written) and the
    concurrent run's final weights from RUN_DIR/checkpoint.npz."""
    path = Path(run_dir) / CHECKPOINT
    job = MultitaskRun(scenario, run_dir, False)
    arrays, _, _ = read_checkpoint(path, KIND)
    return job, params_from(arrays, job.params0, path=path)


def run_multitask(scenario, progress: bool, run_dir, resume: bool):
    """The ``multitask`` runner on the one loop: returns (metrics, traces, extra) for
    :func:`run_scenario`. ``checkpoint.npz`` also holds the final weights the plots read."""
    mt = MultitaskRun(scenario, run_dir, progress)
    result = run_loop(mt, scenario, run_dir, resume, total=mt.n_steps, every=1, progress=progress,
                      label="concurrent", unit="evaluation")
    metrics = result.metrics
    if mt.mt["division_of_labour"]:  # who does what, on the final weights (division_of_labour.py)
        from .division_of_labour import write_division
        metrics["division_of_labour"] = write_division(run_dir, mt.net, mt.run.compiled.params(), mt.tasks, mt.train,
                                                       mt.test, mt.relax, mt.n_eval, mt.ports, grad_batch=mt.mt["division_batch"])
    if mt.mt.get("sample"):  # the lump's own reverse process, on the final weights (lump_generation_eval.py)
        from .lump_generation_eval import sampling_seed, write_samples
        t0 = time.perf_counter()
        metrics["sampling"] = write_samples(run_dir, mt.net, mt.run.compiled.params(), mt.tasks, mt.train, mt.test,
                                            mt.relax, mt.n_eval, mt.ports, mt.mt["sample"],
                                            sampling_seed(scenario))
        metrics["sampling_wall_seconds"] = time.perf_counter() - t0
        if mt.mt["sample"]["bp"]:  # the bp-trained same network, sampled by the same code beside it
            from .lump_generation_eval import sampled_task, write_samples_bp
            from .lump_resample import save_bp_twin  # its weights, for neurosim resample
            t0 = time.perf_counter()
            metrics["sampling_bp"] = write_samples_bp(run_dir, mt, metrics, sampling_seed(scenario))
            save_bp_twin(run_dir, *mt.bp_network(sampled_task(mt.tasks, mt.mt["sample"])))
            metrics["sampling_bp_wall_seconds"] = time.perf_counter() - t0
    return metrics, mt.run.traces(), {}
