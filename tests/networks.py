"""The networks the tests build, from the model layer up: ``NetSpec`` descriptions and their
simulators, a network with a unique energy minimum, random networks (hypothesis), and the
gradient-check batches of the two bundled gradcheck scenarios.

Test modules import these (``from networks import NetSpec, make_sim``): parametrize lists and
hypothesis strategies are needed when a test module is collected, before any fixture runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from neurosim.build import build
from neurosim.engine.probes import ProbeSpec
from neurosim.engine.simulator import Simulator
from neurosim.learning.check_batch import check_problem
from neurosim.learning.nudging import RelaxConfig
from neurosim.model.network import Network

SCHEDULERS = ("sync", "alternating", "random_sequential", "poisson")
HOLOMORPHIC = ("sigmoid4", "tanh", "identity", "sigmoid")
ACTIVATIONS = HOLOMORPHIC + ("hard_sigmoid",)


# -- network descriptions ---------------------------------------------------------------------
@dataclass
class NetSpec:
    """Everything needed to rebuild the same simulation: description, parameters seed, data.

    ``blocks``: dicts with name, size, activation, bias, tau, rate.
    ``projections``: (pre, post, gain, init).  ``memories``: (block, patterns, beta, gain).
    ``clamps``: block → (P, n) values.  ``nudges``: dicts with block, target (P, n), lam, cost,
    and optionally kind / omega / phase (passed to ``Simulator.nudge``). ``biases``: per-unit
    biases that replace a block's initial ones.
    """

    blocks: list
    projections: list = field(default_factory=list)
    memories: list = field(default_factory=list)
    clamps: dict = field(default_factory=dict)
    nudges: list = field(default_factory=list)
    particles: int = 1
    seed: int = 0
    biases: dict = field(default_factory=dict)  # block → (n,) biases replacing the drawn ones

    def names(self):
        return [b["name"] for b in self.blocks]

    def free_names(self):
        return [n for n in self.names() if n not in self.clamps]


def make_network(spec: NetSpec) -> Network:
    net = Network()
    for b in spec.blocks:
        net.add_block(b["name"], b["size"], b.get("activation", "tanh"), b.get("bias", 0.0),
                      b.get("tau", 1.0), b.get("rate", 1.0))
    for pre, post, gain, init in spec.projections:
        net.add_projection(pre, post, gain, init)
    for block, patterns, beta, gain in spec.memories:
        net.add_memory(block, patterns, beta, gain)
    return net


def make_compiled(spec: NetSpec, dtype=np.float64):
    """(network, params, compiled): parameters drawn from ``spec.seed``."""
    net = make_network(spec)
    params = net.init_params(np.random.default_rng(spec.seed))
    for name, b in spec.biases.items():
        params.biases[name] = np.asarray(b, dtype=float)
    return net, params, build(net, params, spec.particles, dtype)


def initial_states(spec: NetSpec, seed_offset: int = 1, dtype=np.float64) -> dict:
    """Reproducible initial states: U(0, 1) for hard_sigmoid blocks (their domain), N(0, 0.5²)
    otherwise; complex dtypes get a small imaginary part."""
    rng = np.random.default_rng(spec.seed + seed_offset)
    out = {}
    for b in spec.blocks:
        shape = (spec.particles, b["size"])
        if b.get("activation", "tanh") == "hard_sigmoid":
            x = rng.uniform(0.0, 1.0, shape)
        else:
            x = rng.normal(0.0, 0.5, shape)
        if np.issubdtype(np.dtype(dtype), np.complexfloating):
            x = x + 1j * rng.normal(0.0, 0.1, shape)
        out[b["name"]] = x
    return out


def make_sim(spec: NetSpec, scheduler="sync", dt=0.01, probes: ProbeSpec | None = None,
             integrator="exp", dtype=np.float64, sim_seed=0, init_offset=1,
             record_events=None) -> Simulator:
    """A simulator on ``spec`` with its initial states, clamps and nudges applied."""
    _, _, compiled = make_compiled(spec, dtype)
    sim = Simulator(compiled, scheduler=scheduler, dt=dt, integrator=integrator, seed=sim_seed,
                    probes=probes, record_events=record_events)
    for name, x in initial_states(spec, init_offset, dtype).items():
        sim.set_state(name, x)
    for name, values in spec.clamps.items():
        sim.clamp(name, values)
    for nd in spec.nudges:
        sim.nudge(nd["block"], nd["target"], nd["lam"], cost=nd["cost"],
                  kind=nd.get("kind", "constant"), omega=nd.get("omega", 0.0),
                  phase=nd.get("phase", 0.0))
    return sim


def one_hot_targets(rng, particles, n):
    t = np.zeros((particles, n))
    t[np.arange(particles), rng.integers(0, n, particles)] = 1.0
    return t


# -- a small supervised batch ------------------------------------------------------------------
def small_supervised_batch(act: str = "sigmoid", hidden: int = 8, gain: float = 2.0):
    """(net, params, inputs, targets): in (5, identity) → h (``hidden``) → out (3), both ``act`` with
    τ 0.25 and rate 10, projections of ``gain`` plus a skip in → out of gain 1; parameters from
    seed 0, a batch of 4 inputs and targets U(0, 1) from seed 1: small enough for the exact
    gradient, fast enough to relax many periods of λ(t)."""
    net = Network()
    net.add_block("in", 5, "identity")
    net.add_block("h", hidden, act, rate=10.0, tau=0.25)
    net.add_block("out", 3, act, rate=10.0, tau=0.25)
    net.add_projection("in", "h", gain=gain)
    net.add_projection("h", "out", gain=gain)
    net.add_projection("in", "out", gain=1.0)
    params = net.init_params(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    return net, params, rng.random((4, 5)), rng.random((4, 3))


# -- a network with a unique energy minimum ---------------------------------------------------
def convex_spec(particles: int = 2, seed: int = 3, rate: float = 4.0) -> NetSpec:
    """A looped graph whose energy is strictly convex in the free states (small gains).

    ``x`` is clamped; h1 (tanh) → h2 (sigmoid4) → h3 (hard_sigmoid) → h1 is a loop; ``out``
    (identity) hangs off h2 with an mse nudge, and h1 carries a weak log-sum-exp memory. The
    biases of h3 (−1, 2, 0.4, 0.6) put its first unit on the bound 0 and its second on the
    bound 1 of the hard-sigmoid domain, so the projected stationarity condition is exercised.
    """
    rng = np.random.default_rng(seed + 100)
    blocks = [
        dict(name="x", size=5, activation="sigmoid4"),
        dict(name="h1", size=6, activation="tanh", bias=0.3, rate=rate),
        dict(name="h2", size=5, activation="sigmoid4", bias=-0.2, tau=0.5, rate=rate),
        dict(name="h3", size=4, activation="hard_sigmoid", bias=0.0, tau=2.0, rate=rate),
        dict(name="out", size=3, activation="identity", bias=0.1, rate=rate),
    ]
    g = 0.3
    projections = [("x", "h1", g, "glorot"), ("h1", "h2", g, "glorot"), ("h2", "h3", g, "glorot"),
                   ("h3", "h1", g, "normal"), ("h2", "out", g, "glorot")]
    spec = NetSpec(blocks, projections, memories=[("h1", 3, 0.5, 0.5)],
                   clamps={"x": rng.uniform(0, 1, (particles, 5))},
                   nudges=[dict(block="out", target=rng.normal(0, 1, (particles, 3)), lam=0.5,
                                cost="mse")],
                   particles=particles, seed=seed,
                   biases={"h3": np.array([-1.0, 2.0, 0.4, 0.6])})
    return spec


# -- hypothesis strategies --------------------------------------------------------------------
@st.composite
def network_specs(draw, max_blocks: int = 6, max_size: int = 12, activations=ACTIVATIONS):
    """Random networks: 2–6 blocks of 1–12 units, random projections (a loop when there are
    three or more blocks and the draw asks for one), activations, gains, biases, time constants,
    rates, an optional memory and nudge, clamps on some blocks (at least one stays free), P 1–3."""
    n_blocks = draw(st.integers(2, max_blocks))
    particles = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    names = [f"b{i}" for i in range(n_blocks)]
    blocks = []
    for name in names:
        blocks.append(dict(
            name=name, size=draw(st.integers(1, max_size)),
            activation=draw(st.sampled_from(activations)),
            bias=draw(st.floats(-1.0, 1.0)),
            tau=draw(st.sampled_from([0.5, 1.0, 2.0])),
            rate=draw(st.floats(0.5, 4.0))))
    pairs = set()
    if n_blocks >= 3 and draw(st.booleans()):
        k = draw(st.integers(3, n_blocks))
        pairs.update((i, (i + 1) % k) for i in range(k))  # a loop b0 → b1 → … → b_{k-1} → b0
    for i in range(n_blocks):
        for j in range(i + 1, n_blocks):
            if (i, j) not in pairs and (j, i) not in pairs and draw(st.booleans()):
                pairs.add((j, i) if draw(st.booleans()) else (i, j))
    projections = [(names[i], names[j], draw(st.floats(0.1, 1.5)),
                    draw(st.sampled_from(["glorot", "normal"]))) for i, j in sorted(pairs)]
    memories = []
    if draw(st.booleans()):
        memories.append((draw(st.sampled_from(names)), draw(st.integers(1, 4)),
                         draw(st.floats(0.5, 2.0)), draw(st.floats(0.2, 1.0))))
    rng = np.random.default_rng(seed + 7)
    clamped = [draw(st.booleans()) and draw(st.booleans()) for _ in names]  # ~1 in 4 clamped
    clamped[draw(st.integers(0, n_blocks - 1))] = False
    clamps = {}
    for b, c in zip(blocks, clamped):
        if c:
            clamps[b["name"]] = rng.uniform(-0.5, 1.5, (particles, b["size"]))
    nudges = []
    free = [b for b, c in zip(blocks, clamped) if not c]
    if draw(st.booleans()):
        b = draw(st.sampled_from(free))
        cost = draw(st.sampled_from(["mse", "ce"]))
        target = (rng.normal(0, 1, (particles, b["size"])) if cost == "mse"
                  else one_hot_targets(rng, particles, b["size"]))
        nudges.append(dict(block=b["name"], target=target, lam=draw(st.floats(0.0, 1.0)), cost=cost))
    return NetSpec(blocks, projections, memories, clamps, nudges, particles, seed)


# -- the gradient-check batches ---------------------------------------------------------------
def _sigmoids(*blocks):
    return [dict(name=name, size=size, activation="sigmoid", bias=0.0, tau=1.0, rate=1.0)
            for name, size in blocks]


#: the networks of scenarios/gradcheck_layered.toml (20-32-32-10) and gradcheck_graph.toml (the loop
#: h1 → h2 → h3 → h1 with h2 → y, h3 → y) with their master seeds; tests/test_gradcheck.py checks
#: that the runner builds the very batches :func:`gradcheck_problem` builds.
GRADCHECK_NETWORKS = {
    "layered": (NetSpec(_sigmoids(("x", 20), ("h1", 32), ("h2", 32), ("y", 10)),
                        [("x", "h1", 2.0, "glorot"), ("h1", "h2", 2.0, "glorot"),
                         ("h2", "y", 2.0, "glorot")]), 3),
    "graph": (NetSpec(_sigmoids(("x", 12), ("h1", 16), ("h2", 16), ("h3", 12), ("y", 8)),
                      [("x", "h1", 2.0, "glorot"), ("h1", "h2", 2.0, "glorot"), ("h2", "h3", 2.0, "glorot"),
                       ("h3", "h1", 2.0, "glorot"), ("h2", "y", 2.0, "glorot"),
                       ("h3", "y", 2.0, "glorot")]), 5),
}
#: the scenario layer's independent streams, spawned from the master seed in this order
SEED_ROLES = ("params", "scheduler", "state", "data", "tasks", "training")


def role_stream(seed: int, role: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed).spawn(len(SEED_ROLES))[SEED_ROLES.index(role)]


def gradcheck_problem(name: str, cost: str = "mse"):
    """(Problem, net, params) of one batch of 16 on ``GRADCHECK_NETWORKS[name]``, as the bundled
    gradcheck scenario describes it: biases spread by U(−0.5, 0.5), inputs U(0, 1), the sync /
    euler relaxation with dt 0.5 to a residual of 1e-11 (at most 1000 time units per phase)."""
    spec, seed = GRADCHECK_NETWORKS[name]
    net = make_network(spec)
    params = net.init_params(np.random.default_rng(role_stream(seed, "params")))
    relax = RelaxConfig(scheduler="sync", dt=0.5, integrator="euler", free_duration=1000.0,
                        nudged_duration=1000.0, tol=1e-11,
                        seed=int(role_stream(seed, "scheduler").generate_state(1)[0]))
    problem = check_problem(net, params, input_block="x", output_block="y", batch=16, cost=cost,
                            input_range=(0.0, 1.0), bias_spread=0.5, relax=relax,
                            bias_rng=np.random.default_rng(role_stream(seed, "params").spawn(1)[0]),
                            data_rng=np.random.default_rng(role_stream(seed, "data")))
    return problem, net, params
