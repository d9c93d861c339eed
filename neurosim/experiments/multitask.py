"""``kind = "multitask"``: the hypothesis of concurrent tasks as an experiment (docs/hypothesis.md).

Several conditional tasks run on one network at once, on their own clocks: examples arrive at
Poisson times and stay clamped for a random duration (``model/tasks.py``); every block updates on
its own Poisson clock; every synapse learns all the time from its own pre/post activity through
an online rule (``learning/plasticity.py``) — no phases and no global "learn now" signal.

Measured over time, per task, on held-out data: the task's cost and metric (accuracy or mean
squared error), with the network's free equilibrium as the answer; reverse inference p(C | X) with
the same weights; the overlap fraction (time with at least two tasks clamped).

This module is the concurrent run and its evaluation; the batch controls are in
``multitask_controls.py``, the runner with its checkpoints in ``multitask_run.py``.
"""
from __future__ import annotations

import numpy as np

from ..build import build
from ..engine.probes import ProbeSpec
from ..engine.simulator import Simulator
from ..learning.gradients import cosine
from ..learning.plasticity import OnlinePlasticity, PlasticityConfig, lr_factor
from ..learning.reference import implicit_gradient
from ..model.network import Params
from ..model.tasks import TaskSpec, timeline
from .progress import Progress
from .setup import make_network


def task_specs(scenario) -> list[TaskSpec]:
    return [TaskSpec(t["name"], tuple(t["condition"]), tuple(t["condition_data"]), tuple(t["target"]),
                     tuple(t["target_data"]), t["metric"], t["rate"], tuple(t["duration"]),
                     scenario["plasticity"]["beta"], t["period"], t["cost"], tuple(t["condition_noise"]),
                     t["fade"]) for t in scenario["tasks"]]


# -- evaluation: the free equilibrium with the conditions clamped ---------------------------
class Evaluation:
    """Scores of one evaluation and the largest stationarity residual its relaxations ended at."""

    def __init__(self):
        self.worst_residual = 0.0

    def free_equilibrium(self, net, params, clamps: dict, relax: dict) -> dict:
        """Relax the network with ``clamps`` (block → (P, n)) until the stationarity residual
        max|Π(x + g) − x| ≤ ``relax.tol`` (checked every 2 τ) or for ``relax.duration``; return every
        block's state. The residual reached is kept: an answer read off a state that is not a fixed
        point is not the network's answer."""
        p = next(iter(clamps.values())).shape[0]
        sim = Simulator(build(net, params, p), scheduler=relax["scheduler"], dt=relax["dt"],
                        integrator=relax["integrator"], seed=0)
        for name, values in clamps.items():
            sim.clamp(name, values)
        res = sim.relax(relax["duration"], relax["tol"], check_every=2.0)
        self.worst_residual = max(self.worst_residual, res)
        return sim.states()

    def blocks(self, net, params, ports, condition, condition_fields, target, target_fields, metric,
               data: dict, relax: dict, n_eval: int, noise=()) -> float:
        """Clamp ``condition`` to data (other ports silent; condition noise drawn from a fixed
        stream so every evaluation sees the same corruption), relax, score the ``target`` blocks."""
        sub = {k: v[:n_eval] for k, v in data.items()}
        n = len(sub["_y"])
        clamps = silent(ports, set(condition) | set(target), n, net)
        probe = TaskSpec("eval", tuple(condition), tuple(condition_fields), tuple(target), tuple(target_fields),
                         condition_noise=tuple(noise))
        clamps.update(probe.condition_values(sub, slice(None), np.random.default_rng(12345)))
        states = self.free_equilibrium(net, params, clamps, relax)
        return score(metric, states, target, target_fields, sub)

    def task(self, net, params, task: TaskSpec, data: dict, relax: dict, n_eval: int, ports=()) -> float:
        return self.blocks(net, params, ports, task.condition, task.condition_fields, task.target,
                           task.target_fields, task.metric, data, relax, n_eval, task.condition_noise)

    def reverse(self, net, params, entry: dict, data: dict, relax: dict, n_eval: int, ports=()) -> float:
        return self.blocks(net, params, ports, entry["condition"], entry["condition_data"],
                           entry["target"], entry["target_data"], entry["metric"], data, relax, n_eval)


def score(metric: str, states: dict, blocks, fields, data: dict) -> float:
    """Task metric: ``accuracy`` = argmax of the (single) target block vs the class;
    ``mse`` = mean over examples and units of (x − y)² over the target blocks."""
    if metric == "accuracy":
        return float(np.mean(np.argmax(states[blocks[0]], axis=1) == data["_y"]))
    err = [np.mean((states[b] - data[f]) ** 2) for b, f in zip(blocks, fields)]
    return float(np.mean(err))


def port_blocks(tasks: list[TaskSpec]) -> list[str]:
    """Every block some task clamps or nudges: the network's ports to the outside world."""
    return sorted({b for t in tasks for b in t.blocks})


def silent(ports, used, n: int, net) -> dict:
    """Ports not in ``used`` held at 0: a sensory area without a stimulus is silent, so an idle
    port neither drives the hidden graph nor becomes an extra free layer of it."""
    return {b: np.zeros((n, net.block(b).size)) for b in ports if b not in used}


# -- the concurrent, asynchronous learning run ---------------------------------------------
class ConcurrentRun:
    """One network, several tasks on their own clocks, online plasticity all the time."""

    def __init__(self, scenario, tasks: list[TaskSpec], train: dict, params, active: list[int] | None = None):
        mt = scenario["multitask"]
        self.scenario, self.tasks, self.train = scenario, tasks, train
        self.active = list(range(len(tasks))) if active is None else active
        self.horizon = mt["duration"]
        self.net = make_network(scenario["network"])
        pl = scenario["plasticity"]
        self.cfg = PlasticityConfig(pl["rule"], pl["beta"], pl["lr"], pl["baseline_tau"],
                                    pl["sample_interval"], pl["bias_lr_scale"], pl["lr_schedule"], pl["lr_final"])
        complex_states = self.cfg.rule == "hep_continuous"
        self.compiled = build(self.net, params, scenario["network"]["particles"],
                              np.complex128 if complex_states else np.float64)
        self.rhythm = pl["rhythm"]
        sim = scenario["simulation"]
        self.sim = Simulator(self.compiled, scheduler=sim["scheduler"], dt=sim["dt"],
                             integrator=sim["integrator"], seed=scenario.seed_sequence("scheduler"),
                             probes=ProbeSpec(blocks=mt.get("record_blocks"), interval=mt["probe_interval"],
                                              energy=True, events=True, particles=mt["probe_particles"],
                                              until=mt["probe_until"]))
        chosen = [tasks[k] for k in self.active]
        self.episodes = timeline(chosen, self.horizon, scenario.rng("tasks"))
        for e in self.episodes:
            e.task = self.active[e.task]
        self.omegas = [2 * np.pi / self.period(k) for k in self.active]
        self.plasticity = OnlinePlasticity(self.compiled, self.omegas, self.cfg)
        self.data_rng = scenario.rng("data")
        self.ports = port_blocks(tasks)
        p = self.compiled.n_particles
        for b in self.ports:
            self.sim.clamp(b, np.zeros((p, self.net.block(b).size)))
        self._reset()

    def period(self, k: int) -> float:
        return self.scenario["plasticity"]["period"] if self.rhythm == "shared" else self.tasks[k].period

    def _start(self, k: int, i: int):
        task, p = self.tasks[k], self.compiled.n_particles
        idx = self.data_rng.integers(0, len(self.train["_y"]), size=p)
        self.showing[k] = (i, task.condition_values(self.train, idx, self.data_rng))
        self._show(k, self.episodes[i].start)
        kind = "rotation" if self.cfg.rule == "hep_continuous" else "sinusoid"
        for b, f in zip(task.target, task.target_fields):
            self.sim.unclamp(b)
            self.sim.nudge(b, self.train[f][idx], task.lam, cost=task.cost, kind=kind,
                           omega=2 * np.pi / self.period(k))

    def _gain(self, k: int, t: float) -> float:
        episode = self.episodes[self.showing[k][0]]
        return self.tasks[k].fade_gain(t, episode.start, episode.stop)

    def _show(self, k: int, t: float):
        """Clamp task k's conditions to g(t)·data (g = 1 unless the task fades)."""
        _, values = self.showing[k]
        g = self._gain(k, t)
        for b, v in values.items():
            self.sim.clamp(b, g * v if g < 1.0 else v)

    def _stop(self, k: int):
        task, p = self.tasks[k], self.compiled.n_particles
        self.showing.pop(k, None)
        for b in task.target:
            self.sim.clear_nudge(b)
        for b in task.blocks:
            self.sim.clamp(b, np.zeros((p, self.net.block(b).size)))

    def _switches(self):
        """(time, on/off, task, episode index) of every clamp switch, in time order."""
        return sorted([(e.start, 1, e.task, i) for i, e in enumerate(self.episodes)] +
                      [(e.stop, 0, e.task, i) for i, e in enumerate(self.episodes)], key=lambda s: s[:3])

    def _reset(self):
        """The loop's position: step (a sample of δ), whether step's switches (and its evaluation)
        are done, the next switch and evaluation, the clamps on, and the per-task traces."""
        self.step, self.begun, self.i_sw, self.next_eval = 0, False, 0, 0.0
        self.showing, self.on = {}, set()
        self.trace = {kind: {self.tasks[k].name: [] for k in self.active} for kind in ("clamp", "gain", "lambda")}

    def run(self, evaluate_fn=None, eval_every: float | None = None, progress: bool = False, step_fn=None):
        """Advance to the horizon (or continue from :meth:`load_state_dict`); ``evaluate_fn(t,
        params)`` is called at t = 0, ``eval_every``, 2·``eval_every`` …, after the clamps switched
        at t — a checkpoint written there continues exactly where the run stood; ``step_fn(step)``
        after every sample (progress of a caller's own bar).

        Time advances in plasticity samples of δ; a clamp switches on or off at the first sample
        at or after its episode's start or stop (episodes last ≥ 10 τ, δ = 0.25 τ)."""
        if evaluate_fn is not None and eval_every is None:
            raise ValueError("evaluate_fn needs eval_every")
        delta = self.cfg.sample_interval
        n_steps = int(round(self.horizon / delta))
        switches = self._switches()
        fading = any(self.tasks[k].fade > 0 for k in self.active)
        t0 = self.step * delta
        bar = Progress(self.horizon - t0, "concurrent" if len(self.active) > 1 else f"alone: {self.tasks[self.active[0]].name}",
                       enabled=progress, unit="τ")
        while True:
            t = self.step * delta
            if not self.begun:
                while self.i_sw < len(switches) and switches[self.i_sw][0] <= t + 1e-9:
                    _, kind, k, i = switches[self.i_sw]
                    if kind == 0:
                        self._stop(k)
                        self.on.discard(k)
                    else:
                        self._start(k, i)
                        self.on.add(k)
                    self.i_sw += 1
                if fading:
                    for k in self.on:
                        if self.tasks[k].fade > 0:
                            self._show(k, t)
                self.begun = True
                if evaluate_fn is not None and t >= self.next_eval - 1e-9:
                    self.next_eval += eval_every
                    evaluate_fn(t, self.compiled.params())
            if self.step == n_steps:
                break
            self.sim.run(delta)
            self.plasticity.lr_scale = lr_factor(self.cfg.lr_schedule, t / self.horizon, self.cfg.lr_final)
            self.plasticity.step(self.sim.r, self.sim.t)
            for k in self.active:
                name, on = self.tasks[k].name, k in self.on
                self.trace["clamp"][name].append(1 if on else 0)
                self.trace["gain"][name].append(self._gain(k, t) if on else 0.0)
                self.trace["lambda"][name].append(self.sim.lam(self.tasks[k].target[0]) if on else 0.0)
            self.step, self.begun = self.step + 1, False
            bar.update(t + delta - t0)
            if step_fn is not None:
                step_fn(self.step)
        bar.close()
        self.clamp_trace = {k: np.asarray(v) for k, v in self.trace["clamp"].items()}
        self.gain_trace = {k: np.asarray(v) for k, v in self.trace["gain"].items()}
        self.lam_trace = {k: np.asarray(v) for k, v in self.trace["lambda"].items()}
        return self.compiled.params()

    @property
    def finished(self) -> bool:
        return self.step == int(round(self.horizon / self.cfg.sample_interval)) and self.begun

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: the simulator, the synapses' running averages, the loop's position,
        the examples on show (drawn with their noise) and the data stream's state."""
        sim_arrays, sim_meta = self.sim.state_dict()
        pl_arrays, pl_meta = self.plasticity.state_dict()
        arrays = {**sim_arrays, **{f"plasticity/{k}": v for k, v in pl_arrays.items()}}
        for kind, per_task in self.trace.items():
            for name, values in per_task.items():
                arrays[f"trace/{kind}/{name}"] = np.asarray(values, dtype=np.int8 if kind == "clamp" else float)
        showing = {}
        for k, (i, values) in self.showing.items():
            showing[str(k)] = {"episode": i, "blocks": sorted(values)}
            for b, v in values.items():
                arrays[f"showing/{k}/{b}"] = v
        meta = {"sim": sim_meta, "plasticity": pl_meta, "step": self.step, "begun": self.begun,
                "i_sw": self.i_sw, "next_eval": self.next_eval, "on": sorted(self.on), "showing": showing,
                "data_rng": self.data_rng.bit_generator.state, "active": self.active,
                "n_episodes": len(self.episodes)}
        return arrays, meta

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        """Continue from :meth:`state_dict` (same scenario, tasks and ``active``)."""
        if meta["active"] != self.active or meta["n_episodes"] != len(self.episodes):
            raise ValueError("the saved run had other tasks or another timeline")
        self.sim.load_state_dict(arrays, meta["sim"])
        self.plasticity.load_state_dict({k[len("plasticity/"):]: v for k, v in arrays.items()
                                         if k.startswith("plasticity/")}, meta["plasticity"])
        self._reset()
        self.step, self.begun, self.i_sw = int(meta["step"]), bool(meta["begun"]), int(meta["i_sw"])
        self.next_eval, self.on = float(meta["next_eval"]), set(meta["on"])
        for kind, per_task in self.trace.items():
            for name in per_task:
                per_task[name] = arrays[f"trace/{kind}/{name}"].tolist()
        for k, entry in meta["showing"].items():
            self.showing[int(k)] = (entry["episode"], {b: arrays[f"showing/{k}/{b}"] for b in entry["blocks"]})
        self.data_rng.bit_generator.state = meta["data_rng"]

    def traces(self) -> dict:
        tr = self.sim.traces()
        tr = {k: (v.real if np.iscomplexobj(v) else v) for k, v in tr.items()}
        t_samples = (np.arange(len(next(iter(self.clamp_trace.values())))) + 1) * self.cfg.sample_interval
        # task traces on the probe clock, by nearest earlier sample
        idx = np.clip(np.searchsorted(t_samples, tr["time"], side="right") - 1, 0, len(t_samples) - 1)
        for name in self.clamp_trace:
            tr[f"clamp/{name}"] = self.clamp_trace[name][idx]
            tr[f"lambda/{name}"] = self.lam_trace[name][idx]
            tr[f"gain/{name}"] = self.gain_trace[name][idx]
        # the whole timeline, beyond the probes' window
        tr["episode_task"] = np.array([e.task for e in self.episodes], dtype=np.int64)
        tr["episode_start"] = np.array([e.start for e in self.episodes])
        tr["episode_stop"] = np.array([e.stop for e in self.episodes])
        tr["task_names"] = np.array([t.name for t in self.tasks])
        return tr


# -- gradient fidelity of the online rule under concurrency ---------------------------------
def gradient_probe(run: "ConcurrentRun", params: Params, batch: dict, periods: int = 3) -> float:
    """Cosine between the synapses' accumulated online update and −∇ Σ_k C_k.

    Weights frozen; every task clamped at once on the probe batch (its own examples), λ_k(t) on
    its targets, K periods after one warm-up period on a fresh simulator. The exact gradient is
    Σ_k dC_k/dθ at the joint free fixed point (all conditions clamped), by implicit
    differentiation."""
    net, tasks, cfg = run.net, run.tasks, run.cfg
    p = next(iter(batch.values())).shape[0]
    compiled = build(net, params, p, run.compiled.dtype)
    sim = Simulator(compiled, scheduler=run.scenario["simulation"]["scheduler"],
                    dt=run.scenario["simulation"]["dt"], integrator=run.scenario["simulation"]["integrator"],
                    seed=0)
    clamps = silent(run.ports, {b for k in run.active for b in tasks[k].blocks}, p, net)
    for k in run.active:
        clamps.update(tasks[k].condition_values(batch, slice(None), np.random.default_rng(0)))
    for b, v in clamps.items():
        sim.clamp(b, v)
    sim.run(run.scenario["multitask"]["eval_relax"]["duration"])
    x_star = {b: v.real.copy() for b, v in sim.states().items() if b not in clamps}
    kind = "rotation" if cfg.rule == "hep_continuous" else "sinusoid"
    for k in run.active:
        for b, f in zip(tasks[k].target, tasks[k].target_fields):
            sim.nudge(b, batch[f], tasks[k].lam, cost=tasks[k].cost, kind=kind,
                      omega=2 * np.pi / run.period(k))
    probe_cfg = PlasticityConfig(cfg.rule, cfg.beta, 1.0, cfg.baseline_tau, cfg.sample_interval,
                                 cfg.bias_lr_scale)
    pl = OnlinePlasticity(compiled, run.omegas, probe_cfg)
    pl.apply = False
    pl.step(sim.r, sim.t)
    steps = int(round(max(run.period(k) for k in run.active) / cfg.sample_interval))
    for _ in range(steps):
        sim.run(cfg.sample_interval)
        pl.step(sim.r, sim.t)
    pl.reset_total()
    for _ in range(periods * steps):
        sim.run(cfg.sample_interval)
        pl.step(sim.r, sim.t)
    dw, db = pl.total_update()
    update = Params(dw, {b: (np.zeros_like(v) if b in clamps else v) for b, v in db.items()}, {})
    exact = None
    for k in run.active:
        for b, f in zip(tasks[k].target, tasks[k].target_fields):
            g, _ = implicit_gradient(net, params, clamps, b, batch[f], tasks[k].cost, x_star=x_star)
            exact = g if exact is None else Params(
                {n: exact.weights[n] + g.weights[n] for n in g.weights},
                {n: exact.biases[n] + g.biases[n] for n in g.biases}, {})
    neg = Params({n: -v for n, v in exact.weights.items()}, {n: -v for n, v in exact.biases.items()}, {})
    return cosine(update, neg)
