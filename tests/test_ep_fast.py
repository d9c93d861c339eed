"""The fast EP training path: the discrete iteration against numpy, the in-kernel relaxation and
the one-call contrast against the general loops, and the pooled simulator against a fresh one."""
import numpy as np
import pytest

from neurosim.build import build
from neurosim.engine.simulator import Simulator, acquire_simulator, release_simulator
from neurosim.engine.probes import ProbeSpec
from neurosim.learning import nudging as nd
from neurosim.learning.estimators import Problem, get_estimator
from neurosim.model.network import Network


def _net(sizes=(6, 9, 4), act="sigmoid4", loop=False, seed=0):
    net = Network()
    names = ["in", "h", "out"]
    net.add_block("in", sizes[0], "identity")
    net.add_block("h", sizes[1], act)
    net.add_block("out", sizes[2], act)
    net.add_projection("in", "h", gain=2.0)
    net.add_projection("h", "out", gain=2.0)
    if loop:
        net.add_projection("in", "out", gain=1.0)
    params = net.init_params(np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for b in names[1:]:
        params.biases[b] = rng.uniform(-0.5, 0.5, params.biases[b].shape)
    return net, params


def _numpy_discrete(W1, W2, b1, b2, x, s1, s2, steps, beta=0.0, y=None):
    """The public EP code's synchronous iteration for in-h-out (ten lines, independent of neurosim)."""
    rho = lambda v: 1.0 / (1.0 + np.exp(-4.0 * (v - 0.5)))  # noqa: E731
    for _ in range(steps):
        h1 = x @ W1 + b1 + s2 @ W2.T
        h2 = s1 @ W2 + b2 + (beta * (y - s2) if beta else 0.0)
        s1, s2 = rho(h1), rho(h2)
    return s1, s2


def test_discrete_iteration_is_the_numpy_iteration():
    net, params = _net()
    P = 5
    c = build(net, params, P)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1, (P, 6)), np.eye(4)[rng.integers(0, 4, P)]
    sim = Simulator(c, dt=1.0, integrator="discrete")
    sim.clamp("in", x)
    sim.relax(30.0)
    z1, z2 = np.zeros((P, 9)), np.zeros((P, 4))
    s1, s2 = _numpy_discrete(params.weights["in->h"], params.weights["h->out"], params.biases["h"],
                             params.biases["out"], x, z1, z2, 30)
    np.testing.assert_allclose(sim.state("h"), s1, rtol=0, atol=1e-14)
    np.testing.assert_allclose(sim.state("out"), s2, rtol=0, atol=1e-14)
    sim.nudge("out", y, 0.5)
    sim.relax(10.0)
    n1, n2 = _numpy_discrete(params.weights["in->h"], params.weights["h->out"], params.biases["h"],
                             params.biases["out"], x, s1, s2, 10, 0.5, y)
    np.testing.assert_allclose(sim.state("out"), n2, rtol=0, atol=1e-14)
    np.testing.assert_allclose(sim.state("h"), n1, rtol=0, atol=1e-14)
    # the continuous euler step at dt = 1 is another iteration: x <- rho'(x) h
    other = Simulator(c, dt=1.0, integrator="euler")
    other.clamp("in", x)
    other.relax(30.0)
    assert np.abs(other.state("out") - s2).max() > 1e-3


def test_discrete_ep_symmetric_is_the_numpy_update():
    """ep_symmetric under the discrete iteration = the numpy code's (s⁺ᵀs⁺ − s⁻ᵀs⁻)/2β."""
    net, params = _net()
    P, beta = 4, 0.5
    c = build(net, params, P)
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 1, (P, 6)), np.eye(4)[rng.integers(0, 4, P)]
    relax = nd.RelaxConfig(dt=1.0, integrator="discrete", free_duration=30.0, nudged_duration=10.0,
                           tol=None)
    g, _ = get_estimator("ep_symmetric", beta=beta).gradient(
        Problem(c, {"in": x}, "out", y, "mse", relax))
    W1, W2, b1, b2 = (params.weights["in->h"], params.weights["h->out"], params.biases["h"],
                      params.biases["out"])
    f1, f2 = _numpy_discrete(W1, W2, b1, b2, x, np.zeros((P, 9)), np.zeros((P, 4)), 30)
    p1, p2 = _numpy_discrete(W1, W2, b1, b2, x, f1, f2, 10, beta, y)
    m1, m2 = _numpy_discrete(W1, W2, b1, b2, x, f1, f2, 10, -beta, y)
    k = 1.0 / (2 * beta * P)
    np.testing.assert_allclose(g.weights["in->h"], -k * (x.T @ p1 - x.T @ m1), atol=1e-12)
    np.testing.assert_allclose(g.weights["h->out"], -k * (p1.T @ p2 - m1.T @ m2), atol=1e-12)
    np.testing.assert_allclose(g.biases["out"], -k * (p2 - m2).sum(0), atol=1e-12)
    np.testing.assert_allclose(g.biases["in"], 0.0)


@pytest.mark.parametrize("scheduler", ["sync", "alternating"])
@pytest.mark.parametrize("integrator", ["euler", "discrete"])
@pytest.mark.parametrize("tol", [None, 1e-9])
def test_kernel_relaxation_equals_the_general_loop(scheduler, integrator, tol):
    """relax() in one kernel call is bit-identical to the chunked run()/residual() loop (forced
    here by a probe, which the kernel path does not record)."""
    net, params = _net(loop=True)
    P = 3
    c = build(net, params, P)
    x = np.random.default_rng(1).uniform(0, 1, (P, 6))
    dt = 0.5 if integrator == "euler" else 1.0
    sims = [Simulator(c, scheduler=scheduler, dt=dt, integrator=integrator),
            Simulator(c, scheduler=scheduler, dt=dt, integrator=integrator,
                      probes=ProbeSpec(interval=1000.0, energy=False, events=False))]
    assert sims[0].relaxes_in_kernel() and not sims[1].relaxes_in_kernel()
    res = []
    for s in sims:
        s.clamp("in", x)
        s.nudge("out", np.full((P, 4), 0.3), 0.2)
        res.append(s.relax(40.0, tol, check_every=2.5))
    assert res[0] == res[1]
    assert sims[0].t == sims[1].t
    np.testing.assert_array_equal(sims[0].x, sims[1].x)
    assert sims[0].scheduler.ticks_done == sims[1].scheduler.ticks_done


def test_contrast_in_one_call_equals_the_per_phase_products():
    net, params = _net(loop=True)
    P = 6
    c = build(net, params, P)
    rng = np.random.default_rng(2)
    prob = Problem(c, {"in": rng.uniform(0, 1, (P, 6))}, "out", rng.uniform(0, 1, (P, 4)), "mse",
                   nd.RelaxConfig(tol=1e-11))
    for phases, c0 in (nd.symmetric(0.3), nd.one_sided(0.2), nd.clamped_phase()):
        fast = nd.PhaseRunner(prob)
        fast.free()
        g_fast = fast.contrast(phases, c0)
        slow = nd.PhaseRunner(prob)
        slow.free()
        terms = [(cf, slow.param_grads(slow.nudged(ph))) for ph, cf in phases]
        terms.append((c0, slow.param_grads(slow.free_state)))
        g_slow = nd.real_part(nd.combine(terms))
        for kind, name, v in g_slow.items():
            np.testing.assert_allclose(getattr(g_fast, kind)[name], v, rtol=1e-9, atol=1e-12)
        fast.release(), slow.release()


def test_pooled_simulator_equals_a_fresh_one():
    net, params = _net()
    c = build(net, params, 4)
    x = np.random.default_rng(0).uniform(0, 1, (4, 6))
    first = acquire_simulator(c, "random_sequential", 0.5, "euler", seed=7)
    first.clamp("in", x)
    first.nudge("out", np.ones((4, 4)), 0.4)
    first.run(10.0)
    release_simulator(first)
    again = acquire_simulator(c, "random_sequential", 0.5, "euler", seed=11)
    assert again is first and again.t == 0.0 and again.free.all() and not again.nudge_cost.any()
    fresh = Simulator(c, scheduler="random_sequential", dt=0.5, integrator="euler", seed=11)
    for s in (again, fresh):
        s.clamp("in", x)
        s.run(10.0)
    np.testing.assert_array_equal(again.x, fresh.x)
    # a simulator that is in use is never handed out twice
    assert acquire_simulator(c, "random_sequential", 0.5, "euler", seed=0) is not again


def test_float32_runs_in_float32():
    net, params = _net()
    c = build(net, params, 4, np.float32)
    x = np.random.default_rng(0).uniform(0, 1, (4, 6)).astype(np.float32)
    prob = Problem(c, {"in": x}, "out", np.eye(4, dtype=np.float32), "mse", nd.RelaxConfig(tol=None))
    g32, info = get_estimator("ep_symmetric", beta=0.5).gradient(prob)
    c64 = build(net, params, 4)
    g64, _ = get_estimator("ep_symmetric", beta=0.5).gradient(
        Problem(c64, {"in": x.astype(float)}, "out", np.eye(4), "mse", nd.RelaxConfig(tol=None)))
    for kind, name, v in g64.items():
        np.testing.assert_allclose(getattr(g32, kind)[name], v, atol=1e-4)
    sim = acquire_simulator(c, "sync", 0.5, "euler")
    assert sim.x.dtype == np.float32 and sim.r.dtype == np.float32


def test_kept_clamped_drive_follows_every_clamp_change():
    """keep_static_drive reuses the clamped drive across relax() calls, but a new clamp value, a
    clamp of another block or an unclamp recomputes it: the states equal a simulator's that
    recomputes it every call."""
    net, params = _net(loop=True)
    c = build(net, params, 3)
    rng = np.random.default_rng(4)
    x1, x2, y = rng.uniform(0, 1, (3, 6)), rng.uniform(0, 1, (3, 6)), rng.uniform(0, 1, (3, 4))
    sims = [Simulator(c, dt=0.5, integrator="euler") for _ in range(2)]
    sims[0].keep_static_drive = True
    for s in sims:
        s.clamp("in", x1)
        s.relax(5.0)
        s.clamp("in", x2)
        s.relax(5.0)
        s.clamp("out", y)
        s.relax(5.0)
        s.unclamp("out")
        s.relax(5.0)
    np.testing.assert_array_equal(sims[0].x, sims[1].x)
    # and it is really kept: ρ(x_in) written behind the simulator's back is not seen
    pair = [Simulator(c, dt=0.5, integrator="euler") for _ in range(2)]
    pair[0].keep_static_drive = True
    for s in pair:
        s.clamp("in", x1)
        s.relax(5.0)
        c.view(s.r, "in")[...] = x2
        s.relax(5.0)
    assert np.abs(pair[0].state("h") - pair[1].state("h")).max() > 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_discrete_tick_equals_the_general_drive(dtype):
    """A layered net's discrete tick takes the one-pass drive (base + one BLAS product, then ρ) for
    blocks with one free neighbour; its states equal, bit for bit, ρ(h) from the general path
    (bias, then every coupling in adjacency order) at the same state, free and nudged."""
    from neurosim.engine.drive import BLAS_MIN_WORK, drive_into
    net, params = _net(sizes=(64, 256, 10))
    P = 20
    assert P * 10 * 256 >= BLAS_MIN_WORK  # both free blocks' products go to BLAS: the fused path
    c = build(net, params, P, dtype=dtype)
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 1, (P, 64)), np.eye(10)[rng.integers(0, 10, P)]
    sim = Simulator(c, dt=1.0, integrator="discrete")
    sim.clamp("in", x)
    for nudged in (False, True):
        if nudged:
            sim.nudge("out", y, 0.5)
        sim.relax(4.0)
        g = np.zeros_like(sim.g)
        for b in range(c.n_blocks):
            if sim.free[b]:
                drive_into(sim.topo, sim.nudge_args, b, sim.t, sim.x, sim.r, g, c.w, c.bias,
                           sim.target, sim.scratch.copy(), sim.x, c.adj_ptr[b], False, True)
        sim.relax(1.0)
        for name in ("h", "out"):
            np.testing.assert_array_equal(sim.state(name), c.view(g, name))
