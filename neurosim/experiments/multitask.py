"""``kind = "multitask"``: the talk's hypothesis as an experiment (seed-digest §1, end of §6).

Several conditional tasks run on one network at once, on their own clocks: examples arrive at
Poisson times and stay clamped for a random duration (``model/tasks.py``); every block updates on
its own Poisson clock; every synapse learns all the time from its own pre/post activity through
an online rule (``learning/plasticity.py``) — no phases and no global "learn now" signal.

Measured over time, per task, on held-out data: the task's cost and metric (accuracy or mean
squared error), with the network's free equilibrium as the answer; reverse inference p(C | X) with
the same weights; the overlap fraction (time with at least two tasks clamped).
"""
from __future__ import annotations

import time

import numpy as np

from ..build import build
from ..data import load_dataset
from ..data.multimodal import modality_fields
from ..engine.probes import ProbeSpec
from ..engine.simulator import Simulator
from ..learning.estimators import Problem, get_estimator
from ..learning.gradients import cosine
from ..learning.nudging import RelaxConfig
from ..learning.optim import make_optimizer, resolve_lrs
from ..learning.plasticity import OnlinePlasticity, PlasticityConfig, lr_factor
from ..learning.reference import implicit_gradient
from ..model.network import Params
from ..model.tasks import TaskSpec, busy_fraction, overlap_fraction, timeline
from .progress import Progress
from .rundir import write_csv
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

    def period(self, k: int) -> float:
        return self.scenario["plasticity"]["period"] if self.rhythm == "shared" else self.tasks[k].period

    def _start(self, k: int, episode):
        task, p = self.tasks[k], self.compiled.n_particles
        idx = self.data_rng.integers(0, len(self.train["_y"]), size=p)
        self.showing[k] = (episode, task.condition_values(self.train, idx, self.data_rng))
        self._show(k, episode.start)
        kind = "rotation" if self.cfg.rule == "hep_continuous" else "sinusoid"
        for b, f in zip(task.target, task.target_fields):
            self.sim.unclamp(b)
            self.sim.nudge(b, self.train[f][idx], task.lam, cost=task.cost, kind=kind,
                           omega=2 * np.pi / self.period(k))

    def _gain(self, k: int, t: float) -> float:
        episode, _ = self.showing[k]
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

    def run(self, evaluate_fn=None, eval_every: float | None = None, progress: bool = False):
        """Advance to the horizon; ``evaluate_fn(t, params)`` is called every ``eval_every``.

        Time advances in plasticity samples of δ; a clamp switches on or off at the first sample
        at or after its episode's start or stop (episodes last ≥ 10 τ, δ = 0.25 τ)."""
        delta = self.cfg.sample_interval
        switches = sorted([(e.start, 1, e.task, e) for e in self.episodes] +
                          [(e.stop, 0, e.task, e) for e in self.episodes], key=lambda s: s[:3])
        self.showing = {}
        fading = any(self.tasks[k].fade > 0 for k in self.active)
        i_sw, next_eval = 0, 0.0
        lam_trace = {self.tasks[k].name: [] for k in self.active}
        clamp_trace = {self.tasks[k].name: [] for k in self.active}
        gain_trace = {self.tasks[k].name: [] for k in self.active}
        on = set()
        bar = Progress(self.horizon, "concurrent", enabled=progress, unit="τ")
        n_steps = int(round(self.horizon / delta))
        for step in range(n_steps + 1):
            t = step * delta
            while i_sw < len(switches) and switches[i_sw][0] <= t + 1e-9:
                _, kind, k, episode = switches[i_sw]
                if kind == 0:
                    self._stop(k)
                    on.discard(k)
                else:
                    self._start(k, episode)
                    on.add(k)
                i_sw += 1
            if fading:
                for k in on:
                    if self.tasks[k].fade > 0:
                        self._show(k, t)
            if evaluate_fn is not None and t >= next_eval - 1e-9:
                evaluate_fn(t, self.compiled.params())
                next_eval += eval_every
            if step == n_steps:
                break
            self.sim.run(delta)
            self.plasticity.lr_scale = lr_factor(self.cfg.lr_schedule, t / self.horizon, self.cfg.lr_final)
            self.plasticity.step(self.sim.r, self.sim.t)
            for k in self.active:
                name = self.tasks[k].name
                clamp_trace[name].append(1 if k in on else 0)
                gain_trace[name].append(self._gain(k, t) if k in on else 0.0)
                lam_trace[name].append(self.sim.lam(self.tasks[k].target[0]) if k in on else 0.0)
            bar.update(t)
        bar.close()
        self.lam_trace = {k: np.asarray(v) for k, v in lam_trace.items()}
        self.clamp_trace = {k: np.asarray(v) for k, v in clamp_trace.items()}
        self.gain_trace = {k: np.asarray(v) for k, v in gain_trace.items()}
        return self.compiled.params()

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


# -- controls: batch training with phases, one task at a time --------------------------------
def batch_problem(net, params, task: TaskSpec, data: dict, idx, ports, relax: RelaxConfig,
                  rng: np.random.Generator) -> Problem:
    """One batch of task k as a supervised problem: conditions clamped, idle ports silent."""
    clamps = silent(ports, set(task.blocks), len(idx), net)
    clamps.update(task.condition_values(data, idx, rng))
    if len(task.target) != 1:
        raise ValueError(f"task {task.name!r}: batch controls need one target block")
    return Problem(build(net, params, len(idx)), clamps, task.target[0], data[task.target_fields[0]][idx],
                   task.cost, relax)


def batch_train(net, params: Params, tasks: list[TaskSpec], order: list[int], rule: str, lr: float,
                data: dict, ports, relax: RelaxConfig, batch: int, rng: np.random.Generator,
                optimizer: str = "adam") -> Params:
    """Synchronous two-phase training: batches of the tasks in ``order`` (one task per batch),
    the gradient from ``rule`` (``ep_symmetric``, ``bp``, …), the shared optimiser."""
    params = params.copy()
    estimator = get_estimator(rule, **({"beta": tasks[0].lam} if rule.startswith("ep") else {}))
    lrs = resolve_lrs(params, [(p.name, p.pre, p.post) for p in net.projections], lr)
    optimizer = make_optimizer(optimizer, params, lrs)
    n = len(data["_y"])
    for k in order:
        idx = rng.integers(0, n, size=batch)
        grad, _ = estimator.gradient(batch_problem(net, params, tasks[k], data, idx, ports, relax, rng))
        optimizer.step(params, grad)
    return params


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


def run_multitask(scenario, progress: bool, run_dir, resume: bool):
    """The ``multitask`` runner: concurrent learning, then the controls; see the module docstring."""
    mt = scenario["multitask"]
    tasks = task_specs(scenario)
    ds = load_dataset(mt["dataset"], seed=mt["split_seed"])
    train, test = modality_fields(ds, scenario.rng("data"), mt["code_dim"], mt["code_noise"])
    net = make_network(scenario["network"])
    params0 = net.init_params(scenario.rng("params"))
    relax, n_eval, ports = mt["eval_relax"], mt["n_eval"], port_blocks(tasks)
    probe_rng = scenario.rng("training")
    probe_idx = probe_rng.integers(0, len(train["_y"]), size=mt["probe_batch"])
    probe_batch = {k: v[probe_idx] for k, v in train.items()}
    history = []

    def scores(params) -> dict:
        ev = Evaluation()
        row = {f"task/{t.name}/{t.metric}": ev.task(net, params, t, test, relax, n_eval, ports) for t in tasks}
        for entry in scenario.get("reverse", []):
            row[f"reverse/{entry['name']}/{entry['metric']}"] = ev.reverse(
                net, params, entry, test, relax, n_eval, ports)
        row["eval_residual"] = ev.worst_residual
        return row

    def record(t, params):
        row = {"time": t, **scores(params)}
        if mt["gradient_probe"]:
            row["grad_cosine_to_bp"] = gradient_probe(run, params, probe_batch)
        history.append(row)

    start = time.perf_counter()
    run = ConcurrentRun(scenario, tasks, train, params0.copy())
    final_params = run.run(record, mt["eval_every"], progress)
    concurrent_seconds = time.perf_counter() - start
    initial, final = history[0], history[-1]
    metrics = {"overlap_fraction": overlap_fraction(run.episodes, run.horizon),
               "overlap_fraction_3": overlap_fraction(run.episodes, run.horizon, 3),
               "n_episodes": len(run.episodes), "n_events": int(run.sim.n_events),
               "concurrent_wall_seconds": concurrent_seconds, "tasks": {}, "reverse": {}}
    if mt["gradient_probe"]:
        metrics["grad_cosine_to_bp"] = final["grad_cosine_to_bp"]
    episodes = [sum(e.task == k for e in run.episodes) for k in range(len(tasks))]
    for k, task in enumerate(tasks):
        key = f"task/{task.name}/{task.metric}"
        metrics["tasks"][task.name] = {"metric_name": task.metric, "initial": initial[key], "final": final[key],
                                       "episodes": episodes[k],
                                       "busy_fraction": busy_fraction(run.episodes, k, run.horizon)}
    for entry in scenario.get("reverse", []):
        key = f"reverse/{entry['name']}/{entry['metric']}"
        metrics["reverse"][entry["name"]] = {"metric_name": entry["metric"], "initial": initial[key],
                                             "final": final[key]}
    # controls, each seeing as many batches of each task as the concurrent run had episodes
    control_relax = RelaxConfig(scheduler=relax["scheduler"], dt=relax["dt"], integrator=relax["integrator"],
                                free_duration=relax["duration"], nudged_duration=relax["duration"] / 2,
                                tol=relax["tol"], check_every=2.0)
    p = scenario["network"]["particles"]
    controls = {}
    if mt["isolated"]:
        for k, task in enumerate(tasks):
            iso = ConcurrentRun(scenario, tasks, train, params0.copy(), active=[k])
            controls.setdefault("isolated_final", {})[k] = iso.run(None, None, False)
    for label, rule in (("bp_final", "bp"), ("ep_sync_final", "ep_symmetric")):
        if rule not in mt["controls"]:
            continue
        if rule == "bp":  # bp per task, each task alone
            for k in range(len(tasks)):
                controls.setdefault(label, {})[k] = batch_train(
                    net, params0, tasks, [k] * episodes[k], rule, mt["control_lr"], train, ports,
                    control_relax, p, scenario.rng("training"), mt["control_optimizer"])
        else:  # two-phase EP, one task at a time, interleaved in the concurrent run's order
            order = [e.task for e in run.episodes]
            trained = batch_train(net, params0, tasks, order, rule, mt["control_lr"], train, ports,
                                  control_relax, p, scenario.rng("training"), mt["control_optimizer"])
            controls[label] = {k: trained for k in range(len(tasks))}
    control_eval = Evaluation()
    for label, per_task in controls.items():
        for k, params_k in per_task.items():
            metrics["tasks"][tasks[k].name][label] = control_eval.task(net, params_k, tasks[k], test, relax,
                                                                       n_eval, ports)
    # the largest stationarity residual any evaluation ended at: the figures above are read off
    # fixed points only if it is small
    metrics["eval_residual_max"] = max([row["eval_residual"] for row in history] + [control_eval.worst_residual])
    columns = ["time"] + sorted({c for row in history for c in row} - {"time"})
    write_csv(run_dir / "history.csv", history, columns)
    metrics["wall_seconds"] = time.perf_counter() - start
    return metrics, run.traces(), {"params": final_params}
