"""Fixed points, step size and probes.

* On a network with a unique energy minimum, the four schedulers (from different initial states)
  reach the same fixed point, and that point is stationary by an independent numpy computation:
  ∂F/∂x = 0 on smooth blocks, x = clip(x − ∂F/∂x, 0, 1) on hard-sigmoid blocks.
* Halving dt moves the fixed point by at most 1e-6.
* Probes are passive: with or without them (and with or without event recording) the state, the
  time and the event count are bit-identical; samples fall on the interval grid, the run's last
  instant included.
"""
from __future__ import annotations

import numpy as np
import pytest
from networks import SCHEDULERS, convex_spec, make_compiled, make_sim, network_specs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.engine.probes import ProbeSpec, probe_bytes
from neurosim.model.energy import cost_grad, network_grad

T_RELAX = 100.0   # enough for every scheduler to converge to ~1e-13 on convex_spec


def relax(spec, scheduler, dt=0.1, init_offset=1, integrator="exp", duration=T_RELAX):
    sim = make_sim(spec, scheduler, dt=dt, init_offset=init_offset, integrator=integrator)
    sim.run(duration)
    return sim


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def numpy_residual(spec, states) -> dict:
    """Per free block, the stationarity residual from ``network_grad`` and ``cost_grad``:
    ∂F/∂x for smooth blocks, x − clip(x − ∂F/∂x, 0, 1) for hard-sigmoid blocks."""
    net, params, _ = make_compiled(spec)
    grad = network_grad(net, params, states)
    for nd in spec.nudges:
        grad[nd["block"]] = grad[nd["block"]] + nd["lam"] * cost_grad(nd["cost"], states[nd["block"]],
                                                                      nd["target"])
    out = {}
    for blk in spec.blocks:
        name = blk["name"]
        if name in spec.clamps:
            continue
        if blk["activation"] == "hard_sigmoid":
            out[name] = states[name] - np.clip(states[name] - grad[name], 0.0, 1.0)
        else:
            out[name] = grad[name]
    return out


@pytest.fixture(scope="module")
def spec():
    return convex_spec()


@pytest.fixture(scope="module")
def fixed_points(spec):
    """(scheduler, initial state) → final states."""
    return {(s, init): relax(spec, s, init_offset=init).states()
            for s in SCHEDULERS for init in (1, 2)}


def test_initial_states_differ(spec):
    a, b = make_sim(spec, init_offset=1).states(), make_sim(spec, init_offset=2).states()
    assert max_diff({k: a[k] for k in spec.free_names()}, {k: b[k] for k in spec.free_names()}) > 0.1


def test_all_schedulers_reach_the_same_fixed_point(spec, fixed_points):
    ref = fixed_points[("sync", 1)]
    for key, states in fixed_points.items():
        assert max_diff(states, ref) <= 1e-6, key
    # the clamp held, and the fixed point is not the starting point
    np.testing.assert_array_equal(ref["x"], spec.clamps["x"])
    assert max_diff(ref, make_sim(spec).states()) > 0.1


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_fixed_point_is_stationary(spec, fixed_points, scheduler):
    states = fixed_points[(scheduler, 1)]
    residual = numpy_residual(spec, states)
    assert set(residual) == {"h1", "h2", "h3", "out"}
    for name, r in residual.items():
        assert np.max(np.abs(r)) <= 1e-8, (scheduler, name, np.max(np.abs(r)))
    # the projected condition is really used: h3's first unit sits at 0, its second at 1, with
    # a gradient pointing out of the domain (so the unprojected gradient is not zero there)
    h3 = states["h3"]
    assert np.all(h3[:, 0] == 0.0) and np.all(h3[:, 1] == 1.0)
    net, params, _ = make_compiled(spec)
    g = network_grad(net, params, states)["h3"]
    assert np.all(g[:, 0] > 0.1) and np.all(g[:, 1] < -0.1)


def test_stationarity_check_detects_a_non_fixed_point(spec):
    """The residual is not vacuous: a short relaxation is far from stationary."""
    early = relax(spec, "sync", duration=1.0).states()
    assert max(np.max(np.abs(r)) for r in numpy_residual(spec, early).values()) > 1e-3


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("integrator", ["exp", "euler"])
def test_halving_dt_keeps_the_fixed_point(spec, scheduler, integrator):
    a = relax(spec, scheduler, dt=0.1, integrator=integrator).states()
    b = relax(spec, scheduler, dt=0.05, integrator=integrator).states()
    assert max_diff(a, b) <= 1e-6


# -- probes are passive -----------------------------------------------------------------------
def _final(sim):
    return sim.x.copy(), sim.t, sim.n_events


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=network_specs(), interval=st.sampled_from([0.01, 0.05, 0.07, 0.3]),
       chunks=st.integers(1, 3))
def test_adding_a_probe_changes_nothing(scheduler, spec, interval, chunks):
    for nd in spec.nudges:  # a time-dependent λ makes the state depend on the exact update times
        nd.update(kind="sinusoid", omega=2.0, phase=0.3)
    results = []
    for probes, events in [(None, None), (None, True),
                           (ProbeSpec(interval=interval), None),
                           (ProbeSpec(blocks=[spec.names()[0]], interval=interval, energy=False,
                                      events=False), None)]:
        sim = make_sim(spec, scheduler, dt=0.02, probes=probes, record_events=events, sim_seed=4)
        for _ in range(chunks):
            sim.run(1.5 / chunks)
        results.append(_final(sim))
    x0, t0, n0 = results[0]
    for x, t, n in results[1:]:
        np.testing.assert_array_equal(x, x0)
        assert t == t0 and n == n0


def test_probe_buffers_hold_what_they_record():
    spec = convex_spec()
    for scheduler in SCHEDULERS:
        sim = make_sim(spec, scheduler, dt=0.1, probes=ProbeSpec(interval=0.1))
        sim.run(10.0)
        tr = sim.traces()
        assert tr["energy"].shape == (101, 2)
        for b in spec.blocks:
            assert tr[f"activity/{b['name']}"].shape == (101, 2, b["size"])
        np.testing.assert_array_equal(tr["activity/x"], np.broadcast_to(spec.clamps["x"], (101, 2, 5)))
        budget = probe_bytes(sim.c, ProbeSpec(interval=0.1), 10.0)
        recorded = sum(v.nbytes for k, v in tr.items() if k.startswith("activity/")) \
            + tr["energy"].nbytes + tr["time"].nbytes
        assert recorded <= budget


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("interval,duration,chunks", [(0.05, 2.0, 1), (0.05, 30.0, 100), (0.1, 7.3, 3)])
def test_probe_samples_lie_on_the_interval_grid(scheduler, interval, duration, chunks):
    """Samples at k·interval for every k with k·interval ≤ the run's end, the last one included
    (its state is the final state), whatever the scheduler and however the run is split."""
    spec = convex_spec()
    sim = make_sim(spec, scheduler, dt=0.05, probes=ProbeSpec(interval=interval))
    for _ in range(chunks):
        sim.run(duration / chunks)
    tr = sim.traces()
    n = int(np.floor(sim.t / interval + 1e-9)) + 1
    assert tr["time"].shape == (n,)
    np.testing.assert_allclose(tr["time"], interval * np.arange(n), rtol=0, atol=1e-9)
    if abs(tr["time"][-1] - sim.t) < 1e-9:
        np.testing.assert_array_equal(tr["activity/h1"][-1], sim.state("h1"))
        np.testing.assert_array_equal(tr["energy"][-1], sim.energy())


@pytest.mark.parametrize("scheduler", ["sync", "alternating", "random_sequential"])
@pytest.mark.parametrize("probes", [None, ProbeSpec(blocks=[], interval=10.0)])
def test_every_block_update_is_counted(scheduler, probes):
    """Runs with more updates than one event buffer holds (65536) count — and, when events are
    recorded, store — every update: free blocks × ticks, with or without probes."""
    spec = convex_spec(particles=1)   # 4 free blocks: 65536 is a multiple of 4, so add a 5th
    spec.blocks.append(dict(name="extra", size=1, activation="tanh"))
    ticks = 20_000
    sim = make_sim(spec, scheduler, dt=0.01, probes=probes)
    sim.run(ticks * 0.01)
    n_free = len(spec.free_names())
    assert n_free == 5
    assert sim.n_events == n_free * ticks
    tr = sim.traces()
    if probes is not None:
        assert tr["event_time"].shape == (n_free * ticks,)
        counts = np.bincount(tr["event_block"], minlength=sim.c.n_blocks)
        assert list(counts) == [0 if n in spec.clamps else ticks for n in spec.names()]
