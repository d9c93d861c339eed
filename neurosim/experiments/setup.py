"""Turn a validated scenario into model and engine objects (network, parameters, simulator)."""
from __future__ import annotations

import numpy as np

from ..build import Compiled, build
from ..engine.probes import ProbeSpec
from ..engine.simulator import Simulator
from ..learning.optim import Optimizer, make_optimizer, resolve_lrs
from ..model.network import Network, Params


def make_network(spec: dict) -> Network:
    """The :class:`Network` described by a scenario's ``[network]`` table."""
    return Network.from_spec(spec)


def optimizer_for(table: dict, net: Network, params: Params) -> Optimizer:
    """The optimiser a scenario table asks for: ``optimizer`` (sgd / adam) over ``params`` with the
    rates of ``lr`` (one number, one per projection, or projection → rate: :func:`resolve_lrs`)
    and, where the table has them, ``momentum``, ``adam_beta1``, ``adam_beta2``, ``adam_eps``."""
    lrs = resolve_lrs(params, [(p.name, p.pre, p.post) for p in net.projections], table["lr"])
    options = {k: table[key] for k, key in (("momentum", "momentum"), ("beta1", "adam_beta1"),
                                            ("beta2", "adam_beta2"), ("eps", "adam_eps")) if key in table}
    return make_optimizer(table["optimizer"], params, lrs, **options)


def make_compiled(scenario, params: Params | None = None, n_particles: int | None = None,
                  dtype=None) -> tuple[Network, Params, Compiled]:
    spec = scenario["network"]
    net = make_network(spec)
    if params is None:
        params = net.init_params(scenario.rng("params"))
    compiled = build(net, params, n_particles or spec["particles"], dtype or np.dtype(spec["dtype"]))
    return net, params, compiled


def probe_spec(scenario) -> ProbeSpec:
    p = scenario["probes"]
    return ProbeSpec(blocks=p.get("blocks"), interval=p["interval"], energy=p["energy"], events=p["events"],
                     particles=p.get("particles"), until=p.get("until"))


def make_simulator(scenario, compiled: Compiled, probes: ProbeSpec | None = None) -> Simulator:
    sim = scenario["simulation"]
    return Simulator(compiled, scheduler=sim["scheduler"], dt=sim["dt"], integrator=sim["integrator"],
                     seed=scenario.seed_sequence("scheduler"), probes=probes)


def bars_pattern(n: int, rng: np.random.Generator) -> np.ndarray:
    """A bars-and-stripes image on a √n × √n grid (some, not all, rows or columns on), flattened."""
    side = int(round(np.sqrt(n)))
    if side * side != n:
        return (rng.random(n) < 0.5).astype(float)
    on = rng.random(side) < 0.5
    while on.all() or not on.any():  # a blank or full image shows nothing of the pattern
        on = rng.random(side) < 0.5
    img = np.repeat(on[:, None], side, axis=1) if rng.random() < 0.5 else np.repeat(on[None, :], side, axis=0)
    return img.astype(float).ravel()


def clamp_values(entry: dict, n: int, particles: int, rng: np.random.Generator) -> np.ndarray:
    """The (P, n) values of a ``[[clamps]]`` entry."""
    if entry["pattern"] == "random":
        return rng.random((particles, n))
    if entry["pattern"] == "bars":
        return np.stack([bars_pattern(n, rng) for _ in range(particles)])
    return np.broadcast_to(np.asarray(entry["values"], dtype=float), (particles, n)).copy()


def init_state(scenario, sim: Simulator) -> None:
    if scenario["network"]["init_state"] == "random":
        rng = scenario.rng("state")
        for name in sim.c.names:
            sim.set_state(name, rng.uniform(0, 1, sim.state(name).shape))
