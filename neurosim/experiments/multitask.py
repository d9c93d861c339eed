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
from ..learning.plasticity import EventPlasticity, OnlinePlasticity, PlasticityConfig
from ..learning.minima_gradient import implicit_gradient_that_fits
from ..model.network import Params
from ..model.tasks import TaskSpec, timeline
from .multitask_timeline import TimelineCompiler, switches
from .noise_level_task import noise_level_task
from .progress import Progress
from .readout import eval_relax_config, free_equilibrium, relax_clamped
from .setup import make_network


def task_specs(scenario) -> list[TaskSpec]:
    """The ``[[tasks]]``; an entry with a ``noise_level`` table is a ``NoiseLevelTask``, one with a
    ``condition_mask`` table shows that block through a random mask per example (``TaskSpec.random_mask``)."""
    specs = [TaskSpec(t["name"], tuple(t["condition"]), tuple(t["condition_data"]), tuple(t["target"]),
                      tuple(t["target_data"]), t["metric"], t["rate"], tuple(t["duration"]),
                      scenario["plasticity"]["beta"], t["period"], t["cost"], tuple(t["condition_noise"]),
                      t["fade"], *_mask(t)) for t in scenario["tasks"]]
    return [noise_level_task(s, t["noise_level"]) if t.get("noise_level") else s
            for s, t in zip(specs, scenario["tasks"])]


def _mask(t: dict) -> tuple[str, float]:
    """(mask block, fraction) of a ``[[tasks]]`` entry's ``condition_mask`` table, ("", 1) without one."""
    m = t.get("condition_mask")
    return (m["block"], float(m["fraction"])) if m else ("", 1.0)


# -- evaluation: the free equilibrium with the conditions clamped ---------------------------
#: the fixed stream of every evaluation's condition noise: each evaluation (and each silenced
#: block of the division-of-labour map) sees the same corruption, so scores differ by the network only
EVAL_NOISE_SEED = 12345
#: the fixed stream of the gradient probes' condition noise (frozen weights, one batch)
PROBE_NOISE_SEED = 0

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
        states, res = free_equilibrium(build(net, params, p), clamps, eval_relax_config(relax), seed=0, residual=True)
        self.worst_residual = max(self.worst_residual, res)
        return states

    def blocks(self, net, params, ports, condition, condition_fields, target, target_fields, metric,
               data: dict, relax: dict, n_eval: int, noise=()) -> float:
        """Clamp ``condition`` to data (other ports silent; condition noise drawn from a fixed
        stream so every evaluation sees the same corruption), relax, score the ``target`` blocks."""
        probe = TaskSpec("eval", tuple(condition), tuple(condition_fields), tuple(target), tuple(target_fields),
                         condition_noise=tuple(noise))
        return self.probe(net, params, ports, probe, metric, data, relax, n_eval)

    def probe(self, net, params, ports, probe: TaskSpec, metric: str, data: dict, relax: dict, n_eval: int) -> float:
        """Score ``probe``'s targets at :meth:`answer`."""
        states, sub = self.answer(net, params, ports, probe, data, relax, n_eval)
        return score(metric, states, probe.target, probe.target_fields, sub)

    def answer(self, net, params, ports, probe: TaskSpec, data: dict, relax: dict, n_eval: int):
        """(states, examples): clamp ``probe``'s conditions (its own ``condition_values``, from the
        fixed stream) on the first ``n_eval`` examples and relax."""
        sub = {k: v[:n_eval] for k, v in data.items()}
        clamps = silent(ports, set(probe.blocks), len(sub["_y"]), net)
        clamps.update(probe.condition_values(sub, slice(None), np.random.default_rng(EVAL_NOISE_SEED)))
        return self.free_equilibrium(net, params, clamps, relax), sub

    def task(self, net, params, task: TaskSpec, data: dict, relax: dict, n_eval: int, ports=()) -> float:
        return self.probe(net, params, ports, task.evaluated(), task.metric, data, relax, n_eval)

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
    """One network, several tasks on their own clocks, online plasticity all the time.

    The whole run happens in the plastic loop (``engine/plastic_loop.py``): the synapses learn at
    the blocks' own updates in continuous time (``EventPlasticity``), and the task timeline —
    episode switches, clamps, fades, λ_k(t) — is compiled into arrays for each stretch between two
    evaluations, so the kernel only returns to Python to evaluate (or checkpoint)."""

    def __init__(self, scenario, tasks: list[TaskSpec], train: dict, params, active: list[int] | None = None):
        mt = scenario["multitask"]
        self.scenario, self.tasks, self.train = scenario, tasks, train
        self.active = list(range(len(tasks))) if active is None else active
        self.horizon = mt["duration"]
        self.net = make_network(scenario["network"])
        pl = scenario["plasticity"]
        self.cfg = PlasticityConfig(pl["rule"], pl["beta"], pl["lr"], pl["baseline_tau"],
                                    pl["sample_interval"], pl["bias_lr_scale"], pl["lr_schedule"], pl["lr_final"],
                                    pl["rhythm_gate"], pl["apply_every"])
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
        self.plasticity = EventPlasticity(self.compiled, self.omegas, self.cfg, self.horizon)
        self.plasticity.keep_total = False  # the run reads the weights, not the sum of updates
        self.timeline = TimelineCompiler(self.compiled, tasks, self.active, self.omegas,
                                         2 if complex_states else 1)
        self.switches = switches(self.episodes)
        self.data_rng = scenario.rng("data")
        self.ports = port_blocks(tasks)
        p = self.compiled.n_particles
        for b in self.ports:
            self.sim.clamp(b, np.zeros((p, self.net.block(b).size)))
        self._reset()

    def period(self, k: int) -> float:
        return self.scenario["plasticity"]["period"] if self.rhythm == "shared" else self.tasks[k].period

    def _reset(self):
        """The loop's position: whether the evaluation at the current time is done, the next
        switch and evaluation, the examples on show, and the task traces on the probe clock."""
        self.begun, self.i_sw, self.next_eval = False, 0, 0.0
        self.showing, self.on = {}, set()
        self.task_trace = [np.zeros((0, len(self.active), 3))]

    def _stretch(self, t_end: float):
        """Run the plastic loop from now to ``t_end`` with every switch due by then."""
        sim = self.sim
        limit = t_end
        if self.scenario["simulation"]["scheduler"] != "poisson":
            # ticks: switches are played at the start of a tick, the last one at t_end − dt
            n = int(np.floor((t_end - sim.t) / sim.dt + 1e-9))
            limit = sim.t + (n - 1) * sim.dt + 1e-9
        j = self.i_sw
        while j < len(self.switches) and self.switches[j][0] <= limit:
            j += 1
        sw = self.switches[self.i_sw:j]
        tl, shown = self.timeline.stretch(sw, self.episodes, self.showing, self.train, self.data_rng)
        self.task_trace.append(self.plasticity.run(sim, t_end - sim.t, tl))
        if int(tl["i_sw"][0]) != len(sw):
            raise RuntimeError(f"the plastic loop played {int(tl['i_sw'][0])} of {len(sw)} switches")
        for (_, on, k, _), entry in zip(sw, shown):
            if on:
                self.showing[k] = entry
                self.on.add(k)
            else:
                self.showing.pop(k, None)
                self.on.discard(k)
        self.i_sw = j

    def run(self, evaluate_fn=None, eval_every: float | None = None, progress: bool = False, step_fn=None,
            until: float | None = None):
        """Advance to the horizon — or to ``until`` (evaluating there if one is due) — or continue
        from :meth:`load_state_dict`; ``evaluate_fn(t, params)`` is called at t = 0,
        ``eval_every``, 2·``eval_every`` …, after the clamps switched at t — a checkpoint written
        there continues exactly where the run stood; ``step_fn(frac)`` after every stretch (the
        fraction of the horizon done; a caller's own bar).

        The loop runs in stretches that end at the evaluations (and, for the progress bar, at
        every 1/``PROGRESS_STRETCHES`` of the horizon); a switch happens at its episode's start or
        stop time (under a tick scheduler, at the first tick from it)."""
        if evaluate_fn is not None and eval_every is None:
            raise ValueError("evaluate_fn needs eval_every")
        t0 = self.sim.t
        end = self.horizon if until is None else min(self.horizon, until)
        bar = Progress(end - t0, "concurrent" if len(self.active) > 1 else f"alone: {self.tasks[self.active[0]].name}",
                       enabled=progress, unit="τ")
        grid = self.horizon / self.PROGRESS_STRETCHES
        # a tick scheduler stops on its tick grid: times within half a tick are the same time
        tol = 1e-9 if self.sim.scheduler_name == "poisson" else 0.5 * self.sim.dt
        while True:
            t = self.sim.t
            if not self.begun:
                if evaluate_fn is not None and t >= self.next_eval - tol:
                    self.next_eval += eval_every
                    evaluate_fn(t, self.compiled.params())
                self.begun = True
            t_end = min(end, grid * (np.floor((t + tol) / grid) + 1))
            if evaluate_fn is not None:
                t_end = min(t_end, self.next_eval)
            if t_end <= t + tol:
                break
            if tol > 1e-9:
                t_end = t + self.sim.dt * round((t_end - t) / self.sim.dt)
            self._stretch(t_end)
            self.begun = False
            bar.update(self.sim.t - t0)
            if step_fn is not None:
                step_fn(self.sim.t / self.horizon)
        bar.close()
        return self.compiled.params()

    PROGRESS_STRETCHES = 50

    def task_traces(self) -> dict:
        """kind → task → (clamped, g(t), Re λ_k(t)) on the probe clock."""
        tr = np.concatenate(self.task_trace)
        names = [self.tasks[k].name for k in self.active]
        return {"clamp": {n: tr[:, j, 0].astype(np.int64) for j, n in enumerate(names)},
                "gain": {n: tr[:, j, 1] for j, n in enumerate(names)},
                "lambda": {n: tr[:, j, 2] for j, n in enumerate(names)}}

    @property
    def gain_trace(self) -> dict:
        return self.task_traces()["gain"]

    @property
    def finished(self) -> bool:
        tol = 1e-9 if self.sim.scheduler_name == "poisson" else 0.5 * self.sim.dt
        return self.sim.t >= self.horizon - tol and self.begun

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: the simulator, the synapses' integrals, the loop's position,
        the examples on show (drawn with their noise) and the data stream's state."""
        sim_arrays, sim_meta = self.sim.state_dict()
        pl_arrays, pl_meta = self.plasticity.state_dict()
        arrays = {**sim_arrays, **{f"plasticity/{k}": v for k, v in pl_arrays.items()}}
        arrays["trace/task"] = np.concatenate(self.task_trace)
        showing = {}
        for k, (i, values) in self.showing.items():
            showing[str(k)] = {"episode": i, "blocks": sorted(values)}
            for b, v in values.items():
                arrays[f"showing/{k}/{b}"] = v
        meta = {"sim": sim_meta, "plasticity": pl_meta, "begun": self.begun,
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
        self.begun, self.i_sw = bool(meta["begun"]), int(meta["i_sw"])
        self.next_eval, self.on = float(meta["next_eval"]), set(meta["on"])
        self.task_trace = [arrays["trace/task"]]
        for k, entry in meta["showing"].items():
            self.showing[int(k)] = (entry["episode"], {b: arrays[f"showing/{k}/{b}"] for b in entry["blocks"]})
        self.data_rng.bit_generator.state = meta["data_rng"]

    def traces(self) -> dict:
        tr = self.sim.traces()
        tr = {k: (v.real if np.iscomplexobj(v) else v) for k, v in tr.items()}
        # the task traces were recorded by the kernel on the probe clock, sample for sample
        for kind, per_task in self.task_traces().items():
            for name, values in per_task.items():
                tr[f"{kind}/{name}"] = values
        # the whole timeline, beyond the probes' window
        tr["episode_task"] = np.array([e.task for e in self.episodes], dtype=np.int64)
        tr["episode_start"] = np.array([e.start for e in self.episodes])
        tr["episode_stop"] = np.array([e.stop for e in self.episodes])
        tr["task_names"] = np.array([t.name for t in self.tasks])
        return tr


# -- gradient fidelity of the online rule under concurrency ---------------------------------
def gradient_probe(run: "ConcurrentRun", params: Params, batch: dict, periods: int = 3,
                   sampled: bool = False) -> float:
    """Cosine between the synapses' accumulated online update and −∇ Σ_k C_k.

    Weights frozen; every task clamped at once on the probe batch (its own examples), λ_k(t) on
    its targets, K periods after one warm-up period on a fresh simulator. The exact gradient is
    Σ_k dC_k/dθ at the joint free fixed point (all conditions clamped), by implicit
    differentiation. ``sampled`` measures the sampled reference rule instead of the event one."""
    net, tasks, cfg = run.net, run.tasks, run.cfg
    p = next(iter(batch.values())).shape[0]
    compiled = build(net, params, p, run.compiled.dtype)
    sim = Simulator(compiled, scheduler=run.scenario["simulation"]["scheduler"],
                    dt=run.scenario["simulation"]["dt"], integrator=run.scenario["simulation"]["integrator"],
                    seed=0)
    clamps = silent(run.ports, {b for k in run.active for b in tasks[k].blocks}, p, net)
    for k in run.active:
        clamps.update(tasks[k].condition_values(batch, slice(None), np.random.default_rng(PROBE_NOISE_SEED)))
    relax_clamped(sim, clamps, eval_relax_config(run.scenario["multitask"]["eval_relax"], tol=None))
    x_star = {b: v.real.copy() for b, v in sim.states().items() if b not in clamps}
    kind = "rotation" if cfg.rule == "hep_continuous" else "sinusoid"
    for k in run.active:
        for b, f in zip(tasks[k].target, tasks[k].target_fields):
            sim.nudge(b, batch[f], tasks[k].lam, cost=tasks[k].cost, kind=kind,
                      omega=2 * np.pi / run.period(k))
    probe_cfg = PlasticityConfig(cfg.rule, cfg.beta, 1.0, cfg.baseline_tau, cfg.sample_interval,
                                 cfg.bias_lr_scale)
    warm = max(run.period(k) for k in run.active)
    if sampled:
        pl = OnlinePlasticity(compiled, run.omegas, probe_cfg)
        pl.apply = False
        pl.step(sim.r, sim.t)
        steps = int(round(warm / cfg.sample_interval))
        for i in range((periods + 1) * steps):
            if i == steps:
                pl.reset_total()
            sim.run(cfg.sample_interval)
            pl.step(sim.r, sim.t)
    else:
        pl = EventPlasticity(compiled, run.omegas, probe_cfg)
        pl.apply = False
        pl.run(sim, warm)
        pl.reset_total()
        pl.run(sim, periods * warm)
    dw, db = pl.total_update()
    update = Params(dw, {b: (np.zeros_like(v) if b in clamps else v) for b, v in db.items()}, {})
    exact = None
    for k in run.active:
        for b, f in zip(tasks[k].target, tasks[k].target_fields):
            g, _ = implicit_gradient_that_fits(net, params, clamps, b, batch[f], tasks[k].cost, x_star)
            exact = g if exact is None else exact + g
    # the online rule learns weights and biases, no memory patterns: the cosine is over what it learns
    return cosine(update, Params(exact.weights, exact.biases).scale(-1))
