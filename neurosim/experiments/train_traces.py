"""What a training run records besides its history: phase traces and weight statistics.

**Phase traces** (``training.trace_batches`` batches of each epoch chosen by
``training.trace_epochs``): the batch is relaxed once more, on a simulator of its own seeded like
the estimator's, through the free phase and then every nudged phase of the rule, each nudged
phase starting from the free fixed point. Every ``interval`` of simulated time it samples

    F(t) = E(x(t)) + λ C(x_out(t), y)        (mean over the batch's particles; Re F for complex λ)
    r(t) = max over free units |Π(x + g) − x|,   g = −∂F/∂x   (the stationarity residual)

(F is NaN under ``integrator = "discrete"``, whose energy is not implemented.)

Phases always run their full duration (with ``training.relax.tol`` > 0 the estimator stops a
phase once r ≤ tol; the trace shows where that happens). The re-run changes nothing the
estimator sees: weights, estimator and random streams are untouched, so a traced run trains
exactly as an untraced one. Under an asynchronous scheduler (``poisson``, ``random_sequential``)
the block-update events of the traced batches are kept too, one traced batch after the other on
one time axis, which is what the raster figure reads.

Rules whose estimate is not a set of constant-λ phases (``hep_continuous``, ``baseline_hebb``,
``first_step``, ``pc``, ``bp``, ``bp_ff``) are traced with the symmetric ±β phases of EP (β from
``rule_options.beta``, else 0.1): what the network's phases look like, not what the rule ran.
``ep_random_sign`` is traced at both signs.

**Weight statistics** (every epoch, epoch 0 the initial weights): per projection the Frobenius
norm ‖W‖ and the update size ‖W_e − W_{e−1}‖ of the epoch.

All of it lands in ``traces.npz`` (keys under ``phases/`` and ``weights/``, plus ``time``,
``event_time``, ``event_block``, ``block_names``) and in the checkpoint, so a resumed run's
traces equal an uninterrupted run's.
"""
from __future__ import annotations

import numpy as np

from ..engine.simulator import Simulator
from ..learning import nudging as nd

#: samples per phase (at most; fewer when the phase has fewer ticks)
SAMPLES_PER_PHASE = 100
ASYNC_SCHEDULERS = ("poisson", "random_sequential")


def traced_epochs(spec, total: int) -> set[int]:
    """The epochs (1-based) whose first batches are traced: ``first_last``, ``first``, ``last``,
    ``all``, ``none`` or a list of epochs."""
    if isinstance(spec, list):
        return {int(e) for e in spec}
    return {"first_last": {1, total}, "first": {1}, "last": {total}, "all": set(range(1, total + 1)),
            "none": set()}[spec]


def trace_phases(estimator) -> list[tuple[str, nd.Phase]]:
    """(label, phase) of the nudged phases to trace for ``estimator`` (module doc)."""
    name = getattr(estimator, "name", "")
    beta = float(getattr(estimator, "beta", 0.1) or 0.1)
    if name == "ep":
        schedule = nd.one_sided(beta)[0]
    elif name == "chl":
        return [("clamped", nd.Phase(clamp=True))]
    elif name == "hep":
        schedule = nd.circle(beta, estimator.n_points)[0]
    else:  # ep_symmetric, ep_random_sign (both signs) and the rules without constant-λ phases
        schedule = nd.symmetric(beta)[0]
    out = []
    for ph, _ in schedule:
        lam = complex(ph.lam)
        # the circle's points carry rounding-level parts (cos π/2 = 6e-17): name them exactly
        re, im = (0.0 if abs(v) < 1e-9 * abs(lam) else v for v in (lam.real, lam.imag))
        label = "β = " + (f"{re:+.3g}" if im == 0 else f"{im:+.3g}i" if re == 0 else f"{re:+.3g}{im:+.3g}i")
        out.append((label, ph))
    return out


def _interval(duration: float, dt: float) -> tuple[float, int]:
    """(sampling interval, samples after the start): whole ticks of dt, ≤ SAMPLES_PER_PHASE."""
    ticks = max(1, int(np.floor(duration / dt + 1e-9)))
    k = int(np.ceil(ticks / SAMPLES_PER_PHASE))
    return k * dt, ticks // k


class TrainTracer:
    """Records the phase traces of the chosen batches and the per-epoch weight statistics."""

    def __init__(self, trainer):
        training = trainer.training
        self.n_batches = int(training["trace_batches"])
        self.epochs = traced_epochs(training["trace_epochs"], int(training["epochs"])) if self.n_batches else set()
        self.phases = trace_phases(trainer.estimator)
        r = training["relax"]
        self.relax = r
        self.events_on = r["scheduler"] in ASYNC_SCHEDULERS
        self.free_iv, self.free_n = _interval(r["free_duration"], r["dt"])
        self.nudged_iv, self.nudged_n = _interval(r["nudged_duration"], r["dt"])
        self.projections = [p.name for p in trainer.net.projections]
        self.rows: list[dict] = []        # one per traced batch
        self.norm_epoch: list[int] = []
        self.norm: list[list[float]] = []     # per epoch, per projection
        self.update: list[list[float]] = []
        self._prev: dict | None = None         # weights at the last recorded epoch
        self._offset = 0.0                 # time axis of the traced batches, one after the other

    # -- phase traces -------------------------------------------------------------------------
    def wants(self, epoch: int, batch: int) -> bool:
        return epoch in self.epochs and batch < self.n_batches

    def _sample(self, sim, t0: float, n: int, iv: float, times, energy, residual) -> None:
        for i in range(n + 1):
            # relax picks the relaxation kernel where it can, which computes r(t) at the end
            res = sim.relax(iv, None, residual=True) if i else sim.residual()
            times.append(sim.t - t0)
            # the discrete iteration has no energy implemented: its trace is the residual alone
            energy.append(np.nan if sim.discrete else float(np.mean(np.real(sim.energy()))))
            residual.append(res)

    def batch(self, trainer, epoch: int, batch: int, problem) -> None:
        """Re-relax ``problem`` (the batch the estimator is about to see) with recording."""
        if not self.wants(epoch, batch):
            return
        cplx = any(complex(ph.lam).imag != 0 for _, ph in self.phases)
        compiled = nd.complex_twin(problem.compiled) if cplx else problem.compiled
        r = problem.relax
        sim = Simulator(compiled, scheduler=r.scheduler, dt=r.dt, integrator=r.integrator, seed=r.seed,
                        record_events=self.events_on)
        for block, values in problem.clamped.items():
            sim.clamp(block, values)
        for block, values in (problem.init_state or {}).items():
            if block not in problem.clamped:
                sim.set_state(block, values)
        row = {"epoch": epoch, "batch": batch, "free": ([], [], []), "nudged": []}
        self._sample(sim, 0.0, self.free_n, self.free_iv, *row["free"])
        free_x, free_r, t_free = sim.x.copy(), sim.r.copy(), sim.t
        for _, ph in self.phases:
            sim.x[...], sim.r[...] = free_x, free_r
            sim.refresh()
            t0 = sim.t
            if ph.clamp:
                sim.clamp(problem.out, problem.target)
            else:
                sim.nudge(problem.out, problem.target, ph.lam, cost=problem.cost)
            rec = ([], [], [])
            self._sample(sim, t0, self.nudged_n, self.nudged_iv, *rec)
            rec[0][:] = [t_free + s for s in rec[0]]   # a nudged phase forks from the free end
            if ph.clamp:
                sim.unclamp(problem.out)
            else:
                sim.clear_nudge(problem.out)
            row["nudged"].append(rec)
        tr = sim.traces()
        ev_t, ev_b = tr["event_time"], tr["event_block"]
        row["event_time"], row["event_block"] = ev_t + self._offset, ev_b
        row["span"] = (self._offset, sim.t)     # (start on the common axis, length)
        self._offset += sim.t
        self.rows.append(row)

    # -- weights --------------------------------------------------------------------------------
    def epoch_end(self, trainer, epoch: int) -> None:
        """Norm ‖W‖_F and update ‖W_e − W_{e−1}‖_F per projection after ``epoch`` (0: initial)."""
        if self.norm_epoch and self.norm_epoch[-1] >= epoch:
            return  # already recorded (a resumed run re-entering its last epoch)
        w = {name: np.asarray(trainer.params.weights[name], dtype=np.float64).copy() for name in self.projections}
        prev = self._prev
        self.norm_epoch.append(epoch)
        self.norm.append([float(np.linalg.norm(w[n])) for n in self.projections])
        self.update.append([0.0 if prev is None else float(np.linalg.norm(w[n] - prev[n]))
                            for n in self.projections])
        self._prev = w

    def weight_arrays(self) -> dict:
        n = len(self.norm_epoch)
        norm = np.array(self.norm, dtype=float).reshape(n, len(self.projections))
        upd = np.array(self.update, dtype=float).reshape(n, len(self.projections))
        return {"weights/epoch": np.array(self.norm_epoch, dtype=np.int64),
                "weights/projections": np.array(self.projections),
                "weights/norm": norm, "weights/update": upd}

    # -- files ----------------------------------------------------------------------------------
    def phase_arrays(self) -> dict:
        if not self.rows:
            return {}
        rows = self.rows
        out = {"phases/epoch": np.array([r["epoch"] for r in rows], dtype=np.int64),
               "phases/batch": np.array([r["batch"] for r in rows], dtype=np.int64),
               "phases/labels": np.array(["free"] + [lab for lab, _ in self.phases]),
               "phases/lambda": np.array([0j] + [complex(ph.lam) for _, ph in self.phases]),
               "phases/clamped": np.array([False] + [ph.clamp for _, ph in self.phases]),
               "phases/free_time": np.array(rows[0]["free"][0]),
               "phases/free_energy": np.array([r["free"][1] for r in rows]),
               "phases/free_residual": np.array([r["free"][2] for r in rows]),
               "phases/nudged_time": np.array(rows[0]["nudged"][0][0]) if self.phases else np.zeros(0),
               "phases/nudged_energy": np.array([[q[1] for q in r["nudged"]] for r in rows]),
               "phases/nudged_residual": np.array([[q[2] for q in r["nudged"]] for r in rows]),
               "phases/tol": np.array(float(self.relax["tol"])),
               "phases/span": np.array([r["span"] for r in rows], dtype=float)}
        end = np.concatenate([out["phases/free_residual"][:, -1:],
                              out["phases/nudged_residual"][:, :, -1]], axis=1)
        out["phases/end_residual"] = end
        if self.events_on:
            out["phases/event_time"] = np.concatenate([r["event_time"] for r in rows])
            out["phases/event_block"] = np.concatenate([r["event_block"] for r in rows]).astype(np.int64)
        return out

    def checkpoint_arrays(self) -> dict:
        """Everything recorded so far, for checkpoint.npz (keys under ``trace/``)."""
        return {f"trace/{k}": v for k, v in {**self.weight_arrays(), **self.phase_arrays()}.items()}

    def load(self, arrays: dict, trainer) -> None:
        """Restore :meth:`checkpoint_arrays` (a checkpoint without them: start recording afresh)."""
        a = {k[len("trace/"):]: v for k, v in arrays.items() if k.startswith("trace/")}
        if "weights/epoch" in a:
            self.norm_epoch = [int(e) for e in a["weights/epoch"]]
            self.norm = a["weights/norm"].tolist()
            self.update = a["weights/update"].tolist()
            self._prev = {n: np.asarray(trainer.params.weights[n], dtype=np.float64).copy()
                          for n in self.projections}
        self.rows = []
        if "phases/epoch" in a:
            ft = a["phases/free_time"].tolist()
            nt = a["phases/nudged_time"].tolist()
            ev_t = a.get("phases/event_time")
            ev_b = a.get("phases/event_block")
            for i, (e, b) in enumerate(zip(a["phases/epoch"], a["phases/batch"])):
                lo, length = a["phases/span"][i]
                row = {"epoch": int(e), "batch": int(b),
                       "free": (ft, a["phases/free_energy"][i].tolist(), a["phases/free_residual"][i].tolist()),
                       "nudged": [(nt, a["phases/nudged_energy"][i, q].tolist(),
                                   a["phases/nudged_residual"][i, q].tolist())
                                  for q in range(a["phases/nudged_energy"].shape[1])],
                       "span": (float(lo), float(length))}
                if ev_t is not None:
                    keep = (ev_t >= lo) & (ev_t < lo + length)
                    row["event_time"], row["event_block"] = ev_t[keep], ev_b[keep]
                else:
                    row["event_time"], row["event_block"] = np.zeros(0), np.zeros(0, dtype=np.int64)
                self.rows.append(row)
            self._offset = float(sum(r["span"][1] for r in self.rows))

    def traces(self, block_names) -> dict:
        """The arrays of traces.npz: phases, weight statistics and, for the figures of simulated
        time, ``time`` (the traced batches' sample times on one axis) and the update events."""
        out = {**self.weight_arrays(), **self.phase_arrays()}
        times = []
        for r in self.rows:
            lo = r["span"][0]
            times.append(lo + np.asarray(r["free"][0]))
            for q, rec in enumerate(r["nudged"]):
                t_free = r["free"][0][-1]
                times.append(lo + t_free + (q * (self.nudged_n * self.nudged_iv))
                             + np.asarray(rec[0]) - t_free)
        out["time"] = np.concatenate(times) if times else np.zeros(0)
        out["block_names"] = np.array(block_names)
        if self.events_on and self.rows:
            out["event_time"] = out["phases/event_time"]
            out["event_block"] = out["phases/event_block"]
        return out
