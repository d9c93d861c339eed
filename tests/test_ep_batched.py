"""Batched nudged phases: symmetric EP's +β and −β relaxed together as two particle groups of one
simulator (neurosim.engine.groups) give the gradient of the phases relaxed one after the other."""
import numpy as np
import pytest

from neurosim.build import build
from neurosim.engine import groups as gr
from neurosim.engine.simulator import Simulator
from neurosim.learning import nudging as nd
from neurosim.learning.estimators import Problem, get_estimator
from neurosim.model.network import Network


def _net(seed=0):
    net = Network()
    net.add_block("in", 6, "identity")
    net.add_block("h1", 9, "sigmoid")
    net.add_block("h2", 7, "sigmoid")
    net.add_block("out", 4, "sigmoid")
    net.add_projection("in", "h1", gain=2.0)
    net.add_projection("h1", "h2", gain=2.0)
    net.add_projection("h2", "out", gain=2.0)
    net.add_projection("in", "out", gain=1.0)
    params = net.init_params(np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for b in ("h1", "h2", "out"):
        params.biases[b] = rng.uniform(-0.5, 0.5, params.biases[b].shape)
    return net, params


def _problem(P=5, tol=1e-11, scheduler="sync", integrator="euler", dt=0.5, seed=0):
    net, params = _net(seed)
    c = build(net, params, P)
    rng = np.random.default_rng(seed + 7)
    relax = nd.RelaxConfig(scheduler=scheduler, dt=dt, integrator=integrator, tol=tol,
                           free_duration=60.0, nudged_duration=40.0, check_every=2.5)
    return Problem(c, {"in": rng.uniform(0, 1, (P, 6))}, "out", rng.uniform(0, 1, (P, 4)), "mse",
                   relax)


def _gradient(prob, batched, beta=0.3, name="ep_symmetric"):
    old = nd.PhaseRunner.batch_phases
    nd.PhaseRunner.batch_phases = batched
    try:
        return get_estimator(name, beta=beta).gradient(prob)
    finally:
        nd.PhaseRunner.batch_phases = old


def _flat(g):
    return np.concatenate([np.ravel(v) for d in (g.weights, g.biases) for _, v in sorted(d.items())])


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("scheduler", ["sync", "alternating"])
@pytest.mark.parametrize("integrator,dt", [("euler", 0.5), ("exp", 0.5), ("discrete", 1.0)])
@pytest.mark.parametrize("tol", [None, 1e-11])
def test_batched_symmetric_ep_is_the_sequential_gradient(scheduler, integrator, dt, tol):
    prob = _problem(tol=tol, scheduler=scheduler, integrator=integrator, dt=dt)
    g_seq, info_seq = _gradient(prob, batched=False)
    g_bat, info_bat = _gradient(prob, batched=True)
    assert _rel(_flat(g_bat), _flat(g_seq)) < 1e-12
    # the +β and −β groups stop on their own residuals: the same residuals as phase by phase
    np.testing.assert_allclose(info_bat["residuals"], info_seq["residuals"], rtol=1e-9, atol=1e-15)


def test_the_groups_stop_on_their_own_residuals():
    """With a tolerance the ±β phases converge at different chunks (17.5 and 27.5 here); each
    group's final state is that of its phase relaxed alone, to the ulp (a joint stop would relax
    the earlier one 10 time units further, moving it by ~1e-10)."""
    prob = _problem(tol=1e-9)
    runner = nd.PhaseRunner(prob)
    runner.free()
    phases, _ = nd.symmetric(0.3)
    rs = np.empty((2, runner.sim.r.size))
    runner._relax_grouped(phases, rs)
    grouped_res = runner.residuals[-2:]
    durations = []
    for q, (ph, _) in enumerate(phases):
        t0 = runner.sim.t
        runner._relax_nudged(ph)
        durations.append(runner.sim.t - t0)
        np.testing.assert_allclose(rs[q], runner.sim.r, rtol=0, atol=1e-15)
        assert abs(runner.residuals[-1] - grouped_res[q]) <= 1e-9 * grouped_res[q]
    assert durations[0] != durations[1]
    assert all(0 < r <= 1e-9 for r in grouped_res)
    runner.release()


def test_a_wrong_nudge_sign_changes_the_gradient(monkeypatch):
    """The per-particle scale carries each group's λ: forcing both groups to +β (the −β group's
    sign wrong) makes the batched gradient far from the sequential one."""
    prob = _problem(tol=None)
    g_seq, _ = _gradient(prob, batched=False)
    real = Simulator.scale_nudge
    monkeypatch.setattr(Simulator, "scale_nudge", lambda self, s: real(self, np.abs(s)))
    g_bad, _ = _gradient(prob, batched=True)
    assert _rel(_flat(g_bad), _flat(g_seq)) > 0.1


@pytest.mark.parametrize("scheduler", ["random_sequential", "poisson"])
def test_other_schedulers_relax_phase_by_phase_and_stay_deterministic(scheduler):
    prob = _problem(tol=None, scheduler=scheduler)
    runner = nd.PhaseRunner(prob)
    runner.free()
    assert not runner._groupable(nd.symmetric(0.3)[0], None)
    runner.release()
    g1, _ = _gradient(prob, batched=True)
    g2, _ = _gradient(prob, batched=True)
    np.testing.assert_array_equal(_flat(g1), _flat(g2))
    g3, _ = _gradient(prob, batched=False)
    np.testing.assert_array_equal(_flat(g1), _flat(g3))


def test_grouped_network_shares_the_parameters_and_groups_are_checked():
    prob = _problem()
    c = prob.compiled
    twin = gr.grouped(c, 3)
    assert twin.n_particles == 3 * c.n_particles and twin.w is c.w and twin.bias is c.bias
    assert gr.grouped(c, 3) is twin
    sim = Simulator(c, dt=0.5, integrator="euler")
    with pytest.raises(ValueError, match="one per particle"):
        sim.scale_nudge(np.ones(c.n_particles + 1))
    with pytest.raises(ValueError, match="does not divide"):
        sim.relax(1.0, groups=2)
    seq = Simulator(c, scheduler="random_sequential", dt=0.5, integrator="euler")
    with pytest.raises(ValueError, match="particle groups need"):
        seq.relax(1.0, groups=5)


def test_tile_and_rows_of_round_trip():
    c = _problem(P=4).compiled
    x = np.random.default_rng(0).normal(size=c.n_particles * c.n_units)
    big = np.empty(3 * x.size)
    gr.tile(c, x, big, 3)
    for k in range(3):
        np.testing.assert_array_equal(gr.rows_of(c, big, 3, k, np.empty_like(x)), x)
    twin = gr.grouped(c, 3)
    for b in c.names:
        np.testing.assert_array_equal(twin.view(big, b), np.tile(c.view(x, b), (3, 1)))
