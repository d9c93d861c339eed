"""Do per-task rhythms separate the tasks? A measurement on frozen weights (docs/hypothesis.md §10).

Every task of a multitask scenario is clamped at once on one batch (its conditions; no port is
silent), task k's targets are nudged with λ_k(t) = β cos(ω_k t), and every synapse's Hebbian
product H = ρ(x_a)ᵀρ(x_b)/P is sampled every δ with its running average H̄ (τ_avg), exactly as the
online rule sees it. After a warm-up, over a window of whole base periods, each synapse
demodulates at every ω_k (``learning/rhythms.py`` eq. 1),

    U_k = (2/(βT)) Σ_s δ (H_s − H̄_s) cos(ω_k t_s),

and the rule's own update — the sum over its references — is U = Σ_k U_k (one term if the
rhythm is shared). Compared with the exact gradients at the joint free fixed point
(implicit differentiation, the bp control's gradient):

* ``own[k]``        = cos(U_k, −∇C_k)  — does demodulator k follow task k?
* ``cross[k, j]``   = cos(U_k, −∇C_j)  — what it reports of task j (j ≠ k);
* ``overlap[k, j]`` = cos(∇C_k, ∇C_j)  — the tasks' gradients themselves: a perfectly separated
  demodulator has cross[k, j] = overlap[k, j], not 0, when the tasks share synapses;
* ``total``         = cos(U, −Σ_k ∇C_k) — the rule's update against the summed gradient.

Biases of clamped blocks are left out (they do not change the clamped state); the comparison is
over every weight and free bias.
"""
from __future__ import annotations

import numpy as np

from ..build import build
from ..engine.simulator import Simulator
from ..learning.gradients import cosine
from ..learning.minima_gradient import implicit_gradient_that_fits
from ..learning.rhythms import demodulation_weights
from ..model.network import Params
from .multitask import PROBE_NOISE_SEED


def _products(c, rho_buffer):
    r = {name: c.view(rho_buffer, i) for i, name in enumerate(c.names)}
    p = c.n_particles
    h = [r[c.names[c.proj_pre[k]]].T @ r[c.names[c.proj_post[k]]] / p for k in range(len(c.proj_names))]
    return h, [r[name].mean(axis=0) for name in c.names]


def _neg(g: Params) -> Params:
    return Params({k: -v for k, v in g.weights.items()}, {k: -v for k, v in g.biases.items()}, {})


def separation(net, params, tasks, batch: dict, omegas, beta: float, *, scheduler: str = "poisson",
               dt: float = 0.25, integrator: str = "exp", relax: float = 40.0, warmup: float = 16.0,
               window: float = 40.0, delta: float = 0.25, baseline_tau: float = 8.0, seed: int = 0) -> dict:
    """The measurement of the module docstring; ``omegas[k]`` is task k's angular frequency.
    Returns ``own`` (K,), ``cross``/``overlap`` (K, K), ``total`` and ``window``."""
    p = len(batch["_y"])
    c = build(net, params, p)
    sim = Simulator(c, scheduler=scheduler, dt=dt, integrator=integrator, seed=seed)
    clamps = {}
    for task in tasks:
        clamps.update(task.condition_values(batch, slice(None), np.random.default_rng(PROBE_NOISE_SEED)))
    for b, v in clamps.items():
        sim.clamp(b, v)
    sim.run(relax)
    x_star = {b: v.real.copy() for b, v in sim.states().items() if b not in clamps}
    for k, task in enumerate(tasks):
        for b, f in zip(task.target, task.target_fields):
            sim.nudge(b, batch[f], beta, cost=task.cost, kind="sinusoid", omega=float(omegas[k]))
    a = delta / baseline_tau
    h, hb = _products(c, sim.r)
    h_bar, b_bar = [m.copy() for m in h], [v.copy() for v in hb]
    for _ in range(int(round(warmup / delta))):
        sim.run(delta)
        h, hb = _products(c, sim.r)
        for i in range(len(h)):
            h_bar[i] += a * (h[i] - h_bar[i])
        for i in range(len(hb)):
            b_bar[i] += a * (hb[i] - b_bar[i])
    n = int(round(window / delta))
    t_samples = sim.t + delta * (np.arange(n) + 1)
    coef = np.stack([demodulation_weights(t_samples, w, beta, delta) for w in omegas])  # (K, S)
    acc_w = [[np.zeros_like(m) for m in h_bar] for _ in omegas]
    acc_b = [[np.zeros_like(v) for v in b_bar] for _ in omegas]
    for s in range(n):
        sim.run(delta)
        h, hb = _products(c, sim.r)
        for i in range(len(h)):
            d = h[i] - h_bar[i]  # the synapse's signal before its average moves (plasticity.py order)
            h_bar[i] += a * d
            for k in range(len(omegas)):
                acc_w[k][i] += coef[k, s] * d
        for i in range(len(hb)):
            d = hb[i] - b_bar[i]
            b_bar[i] += a * d
            for k in range(len(omegas)):
                acc_b[k][i] += coef[k, s] * d
    updates = []
    for k in range(len(omegas)):
        w = {name: acc_w[k][i] for i, name in enumerate(c.proj_names)}
        bias = {name: (np.zeros_like(acc_b[k][i]) if name in clamps else acc_b[k][i]) for i, name in enumerate(c.names)}
        updates.append(Params(w, bias, {}))
    grads = []
    for task in tasks:
        g = None
        for b, f in zip(task.target, task.target_fields):
            gb, _ = implicit_gradient_that_fits(net, params, clamps, b, batch[f], task.cost, x_star)
            g = gb if g is None else Params({n: g.weights[n] + gb.weights[n] for n in gb.weights},
                                            {n: g.biases[n] + gb.biases[n] for n in gb.biases}, {})
        grads.append(_neg(g))
    nk = len(tasks)
    cross = np.array([[cosine(updates[k], grads[j]) for j in range(nk)] for k in range(nk)])
    overlap = np.array([[cosine(grads[k], grads[j]) for j in range(nk)] for k in range(nk)])
    distinct = sorted(set(np.round(np.asarray(omegas, float), 12).tolist()))
    # the rule's update: one reference per distinct frequency (a shared rhythm is demodulated once)
    first = [list(np.round(np.asarray(omegas, float), 12)).index(w) for w in distinct]
    total_u = updates[first[0]]
    for k in first[1:]:
        total_u = Params({n: total_u.weights[n] + updates[k].weights[n] for n in total_u.weights},
                         {n: total_u.biases[n] + updates[k].biases[n] for n in total_u.biases}, {})
    total_g = grads[0]
    for g in grads[1:]:
        total_g = Params({n: total_g.weights[n] + g.weights[n] for n in total_g.weights},
                         {n: total_g.biases[n] + g.biases[n] for n in total_g.biases}, {})
    return {"own": np.diag(cross).copy(), "cross": cross, "overlap": overlap,
            "total": cosine(total_u, total_g), "window": float(n * delta)}
