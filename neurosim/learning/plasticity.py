"""Online plasticity: synapses that learn all the time from their own pre/post activity.

For every projection a→b the synapse sees only H(t) = ρ(x_a)ᵀρ(x_b)/P (the Hebbian product,
averaged over particles), its own running average H̄ (the synapse's "usual value"), and — where the
rule needs one — a broadcast rhythm r(t). Sampled every δ of simulated time, each sample standing
for the time δ it covers (under asynchronous clocks the demodulation integral
must be accumulated in continuous time):

    H̄ ← H̄ + (δ/τ_avg)(H − H̄)                                         (running average)
    ΔW = η δ · s(t)                                                    (every sample)

with the learning signal s(t) of each rule:

* ``hep_continuous`` (complex states, λ_k(t) = |β| e^{iω_k t}):
      s = Re[(H − H̄) Σ_k e^{−iω_k t}] / |β|
  — the first Fourier component of the Hebbian product (Laborieux & Zenke 2022), one term per
  rhythm; with one shared rhythm every task's gradient adds up in the same term.
* ``baseline_hebb`` (real states, λ_k(t) = β cos(ω_k t)):
      s = (H − H̄) Σ_k 2 cos(ω_k t) / β
  — the baseline-subtracted Hebbian product demodulated by the broadcast rhythm. To first order
  in β, (2/(βT)) ∫ H cos ωt dt = dH/dλ = −dC/dW, so s follows −∇C.
* ``baseline_only``: s = H − H̄ with no correlating signal — the control:
  its time average is zero by construction, so it should learn nothing on average.

Biases learn the same way from ρ(x_b) (−∂E/∂b = ρ(x_b)). Weights of projections and biases of
blocks that are clamped at the moment still learn (the rule is blind to which task runs where).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


RULES = ("hep_continuous", "baseline_hebb", "baseline_only", "none")


@dataclass
class PlasticityConfig:
    rule: str = "hep_continuous"
    beta: float = 0.5               # |β| of the nudges (the demodulation divides by it)
    lr: float = 0.05                # η, per unit of simulated time
    baseline_tau: float = 20.0      # τ_avg of the running average H̄
    sample_interval: float = 0.25   # δ
    bias_lr_scale: float = 1.0
    lr_schedule: str = "constant"   # "constant", or "cosine" from η down to lr_final·η at the horizon
    lr_final: float = 0.1
    rhythm_gate: bool = False       # demodulate only with the rhythms of the tasks that are on
    apply_every: int = 1            # event rule: small projections apply their update once per this many segments


def lr_factor(schedule: str, progress: float, final: float) -> float:
    """η(t)/η at ``progress`` = t/horizon ∈ [0, 1]: 1 (``constant``), or
    final + (1 − final)·½(1 + cos πs) (``cosine``) — plasticity that is strong early and settles,
    which damps the steady-state jitter of a constant-rate online rule."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        s = min(max(progress, 0.0), 1.0)
        return final + (1.0 - final) * 0.5 * (1.0 + np.cos(np.pi * s))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; expected 'constant' or 'cosine'")


class OnlinePlasticity:
    """Accumulates and applies the online update for every projection and bias of a network."""

    def __init__(self, compiled, omegas: list[float], config: PlasticityConfig):
        if config.rule not in RULES:
            raise ValueError(f"unknown plasticity rule {config.rule!r}; expected one of {RULES}")
        if config.rhythm_gate:
            raise ValueError("plasticity.rhythm_gate needs the event-driven rule (EventPlasticity): the "
                             "sampled rule has no task timeline to gate its rhythms with")
        if config.apply_every != 1:
            raise ValueError("plasticity.apply_every needs the event-driven rule (EventPlasticity): the "
                             "sampled rule applies its update at every sample")
        self.c, self.cfg = compiled, config
        self.omegas = np.asarray(sorted(set(omegas)), dtype=float)
        self.h_bar = None
        self.b_bar = None
        self.total_dw = None  # running sum of applied updates (for gradient-cosine probes)
        self.apply = True
        self.lr_scale = 1.0   # η(t)/η, set by the runner from the schedule

    def _products(self, rho_buffer):
        c = self.c
        r = {name: c.view(rho_buffer, i) for i, name in enumerate(c.names)}
        p = c.n_particles
        h = [r[c.names[c.proj_pre[k]]].T @ r[c.names[c.proj_post[k]]] / p for k in range(len(c.proj_names))]
        bias = [r[name].mean(axis=0) for name in c.names]
        return h, bias

    def reference(self, t: float):
        """The demodulation weight of the rule at time t."""
        rule, beta = self.cfg.rule, self.cfg.beta
        if rule == "hep_continuous":
            return np.sum(np.exp(-1j * self.omegas * t)) / beta
        if rule == "baseline_hebb":
            return np.sum(2.0 * np.cos(self.omegas * t)) / beta
        return 1.0

    def step(self, rho_buffer, t: float) -> None:
        """One sample at time t of ρ(x) (the simulator's ``r`` buffer, already kept current by the
        kernels): update H̄, apply ΔW and Δb in place."""
        if self.cfg.rule == "none":
            return
        h, bias = self._products(rho_buffer)
        if self.h_bar is None:
            self.h_bar = [m.copy() for m in h]
            self.b_bar = [v.copy() for v in bias]
            self.total_dw = [np.zeros(m.shape) for m in h] + [np.zeros(v.shape) for v in bias]
            return
        delta, a = self.cfg.sample_interval, self.cfg.sample_interval / self.cfg.baseline_tau
        ref = self.reference(t)
        eta = self.cfg.lr * self.lr_scale * delta
        for k in range(len(h)):
            signal = np.real((h[k] - self.h_bar[k]) * ref)
            self.h_bar[k] += a * (h[k] - self.h_bar[k])
            self.total_dw[k] += eta * signal
            if self.apply:
                self.c.weight(k)[...] += eta * signal
        nk = len(h)
        for i in range(len(bias)):
            signal = np.real((bias[i] - self.b_bar[i]) * ref)
            self.b_bar[i] += a * (bias[i] - self.b_bar[i])
            self.total_dw[nk + i] += eta * self.cfg.bias_lr_scale * signal
            if self.apply:
                self.c.bias_of(i)[...] += eta * self.cfg.bias_lr_scale * signal

    def state_dict(self) -> tuple[dict, dict]:
        """``(arrays, meta)``: the running averages H̄ and the accumulated update (the weights
        themselves live in the compiled network)."""
        meta = {"lr_scale": float(self.lr_scale), "apply": bool(self.apply), "started": self.h_bar is not None}
        if self.h_bar is None:
            return {}, meta
        arrays = {f"h_bar/{i}": m.copy() for i, m in enumerate(self.h_bar)}
        arrays.update({f"b_bar/{i}": v.copy() for i, v in enumerate(self.b_bar)})
        arrays.update({f"total/{i}": v.copy() for i, v in enumerate(self.total_dw)})
        return arrays, meta

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        self.lr_scale, self.apply = float(meta["lr_scale"]), bool(meta["apply"])
        if not meta["started"]:
            self.h_bar = self.b_bar = self.total_dw = None
            return
        def series(name):
            n = sum(1 for k in arrays if k.startswith(name + "/"))
            return [arrays[f"{name}/{i}"].copy() for i in range(n)]
        self.h_bar, self.b_bar, self.total_dw = series("h_bar"), series("b_bar"), series("total")

    def reset_total(self):
        if self.total_dw is not None:
            for m in self.total_dw:
                m[...] = 0.0

    def total_update(self):
        """Σ ΔW since the last reset, as (weights by projection name, biases by block name)."""
        nk = len(self.c.proj_names)
        w = {name: self.total_dw[k].copy() for k, name in enumerate(self.c.proj_names)}
        b = {name: self.total_dw[nk + i].copy() for i, name in enumerate(self.c.names)}
        return w, b


class EventPlasticity:
    """The same rules learned at the blocks' own updates, in continuous time (no sampling
    clock): the state of ``engine/plastic_rule.py``'s integrals — H̄ per synapse, ρ̄ per bias
    unit, each projection's and block's last integration time, the accumulated update — and
    the tuple the plastic loops carry. ``horizon`` is the T of the cosine schedule."""

    def __init__(self, compiled, omegas: list[float], config: PlasticityConfig, horizon: float = 1.0):
        from ..engine.plastic_deferred import make_log
        from ..engine.plastic_rule import RULE_IDS, SCHEDULE_IDS
        if config.rule not in RULES:
            raise ValueError(f"unknown plasticity rule {config.rule!r}; expected one of {RULES}")
        if config.lr_schedule not in SCHEDULE_IDS:
            lr_factor(config.lr_schedule, 0.0, config.lr_final)  # raises the schedule's error
        if int(config.apply_every) != config.apply_every or config.apply_every < 1:
            raise ValueError(f"plasticity.apply_every must be an integer >= 1, got {config.apply_every!r}")
        self.c, self.cfg = compiled, config
        self.omegas = np.asarray(sorted(set(omegas)), dtype=float)
        dt = compiled.dtype
        n_w, n_u = int(compiled.w_off[-1]), compiled.n_units
        sizes = compiled.sizes
        n_h = max([int(sizes[a] * sizes[b]) for a, b in zip(compiled.proj_pre, compiled.proj_post)] + [1])
        self.hbar, self.bbar = np.zeros(n_w, dt), np.zeros(n_u, dt)
        self.total_w, self.total_b = np.zeros(n_w), np.zeros(n_u)
        self.last_k, self.last_b = np.zeros(len(compiled.proj_names)), np.zeros(compiled.n_blocks)
        self.flags = np.array([True, True, bool(config.rhythm_gate)])
        self.gate = np.ones(len(self.omegas))
        self.started = False
        self.tuple = (RULE_IDS[config.rule], self.omegas, float(config.beta), float(config.baseline_tau),
                      float(config.lr), SCHEDULE_IDS[config.lr_schedule], float(config.lr_final),
                      float(horizon), float(config.bias_lr_scale), self.flags, self.hbar, self.bbar,
                      self.total_w, self.total_b, self.last_k, self.last_b, np.zeros(n_h, dt), self.gate,
                      *make_log(compiled, int(config.apply_every)))

    @property
    def keep_total(self) -> bool:
        """Whether the applied updates are also summed into :meth:`total_update` (on by default;
        a long run that never reads the sum turns it off)."""
        return bool(self.flags[1])

    @keep_total.setter
    def keep_total(self, value: bool):
        self.flags[1] = bool(value)

    @property
    def apply(self) -> bool:
        return bool(self.flags[0])

    @apply.setter
    def apply(self, value: bool):
        self.flags[0] = bool(value)

    def start(self, sim) -> None:
        """H̄ ← H and ρ̄ ← ρ̄ at the simulator's state and time (the averages start at the
        current value, as the sampled rule's first sample)."""
        from ..engine.plastic_rule import start_averages
        start_averages(sim.topo, self.tuple, sim.t, sim.r)
        self.started = True

    def run(self, sim, duration: float, timeline: dict | None = None) -> np.ndarray:
        """Advance ``sim`` by ``duration`` learning all the time (``timeline``: a task timeline of
        ``engine/plastic_sim.py``, none by default); the task traces recorded meanwhile."""
        from ..engine.plastic_sim import run_plastic, timeline_tuple
        if not self.started:
            self.start(sim)
        tl = timeline if timeline is not None else timeline_tuple(self.c.n_blocks, self.c.dtype)
        return run_plastic(sim, self.tuple, tl, duration)

    BUFFERS = ("hbar", "bbar", "total_w", "total_b", "last_k", "last_b", "flags")

    def state_dict(self) -> tuple[dict, dict]:
        return {k: getattr(self, k).copy() for k in self.BUFFERS}, {"started": self.started}

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        for k in self.BUFFERS:
            a = np.asarray(arrays[k])
            # a checkpoint written before the rhythm gate has two flags: the gate flag is the config's
            getattr(self, k)[:a.shape[0]] = a
        self.started = bool(meta["started"])

    def reset_total(self):
        self.total_w[...] = 0.0
        self.total_b[...] = 0.0

    def total_update(self):
        """Σ ΔW since the last reset, as (weights by projection name, biases by block name)."""
        c = self.c
        w = {name: self.total_w[c.w_off[k]:c.w_off[k + 1]].reshape(c.weight(k).shape).copy()
             for k, name in enumerate(c.proj_names)}
        b = {name: self.total_b[c.offsets[i]:c.offsets[i + 1]].copy() for i, name in enumerate(c.names)}
        return w, b
