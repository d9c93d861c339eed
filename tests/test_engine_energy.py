"""The energy the engine descends.

* Along every trajectory, under each of the four schedulers and a small enough step, the energy
  F = E + Σ λC sampled by the probes never rises (to float tolerance), on random networks drawn
  by hypothesis.
* The numba kernels (``free_energy.energy`` through ``Simulator.energy()``, ``compute_drive`` through
  ``Simulator.drive()``) agree with the numpy reference in ``neurosim.model.energy`` — value and
  gradient, mse and ce nudges, a log-sum-exp memory — for float64 and complex128 states.
"""
from __future__ import annotations

import numpy as np
import pytest
from networks import HOLOMORPHIC, SCHEDULERS, NetSpec, make_compiled, make_sim, network_specs, \
    one_hot_targets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.engine.probes import ProbeSpec
from neurosim.model.energy import cost_grad, cost_value, network_energy, network_grad

DT = 0.01          # small enough for every network the strategy draws (curvature ≲ 20)
DURATION = 2.0
INTERVAL = 0.05


def energy_rises(e: np.ndarray, rtol: float = 1e-10) -> float:
    """Largest rise between consecutive samples of an (S, P) energy trace, relative to its scale."""
    scale = max(1.0, float(np.max(np.abs(e))))
    return float(np.max(np.diff(e, axis=0), initial=0.0)) / scale


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=network_specs(), integrator=st.sampled_from(["exp", "euler"]))
def test_energy_never_rises(scheduler, spec, integrator):
    sim = make_sim(spec, scheduler, dt=DT, integrator=integrator,
                   probes=ProbeSpec(blocks=[], interval=INTERVAL, events=False))
    e0 = sim.energy().real.copy()
    sim.run(DURATION)
    e = sim.traces()["energy"]
    assert e.shape == (round(DURATION / INTERVAL) + 1, spec.particles)
    assert np.all(np.isfinite(e))
    # the first sample is the initial state, the last one the final state
    np.testing.assert_allclose(e[0], e0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(e[-1], sim.energy(), rtol=1e-12, atol=1e-12)
    assert energy_rises(e) <= 1e-10, f"energy rose under {scheduler}: {np.diff(e, axis=0).max()}"


def test_energy_check_detects_a_rise():
    """The criterion is not vacuous: pushing the state against the drive makes the energy rise."""
    e = np.array([[3.0], [2.0], [2.0 + 1e-6], [1.0]])
    assert energy_rises(e) > 1e-10
    assert energy_rises(np.array([[3.0], [2.0], [2.0], [1.0]])) <= 0


def test_energy_decreases_on_a_fixed_network():
    """A concrete case (no hypothesis) for every scheduler: strict overall decrease, no rise."""
    spec = NetSpec(
        blocks=[dict(name="a", size=4, activation="hard_sigmoid", bias=0.5),
                dict(name="b", size=3, activation="tanh", bias=-0.2, tau=0.5, rate=2.0),
                dict(name="c", size=5, activation="sigmoid4", bias=0.1, tau=2.0, rate=0.7),
                dict(name="d", size=2, activation="identity", bias=0.3, rate=1.5)],
        projections=[("a", "b", 1.2, "glorot"), ("b", "c", 1.2, "glorot"), ("c", "a", 1.2, "normal"),
                     ("c", "d", 0.8, "glorot")],
        memories=[("b", 3, 1.0, 1.0)], particles=2, seed=11)
    for scheduler in SCHEDULERS:
        sim = make_sim(spec, scheduler, dt=DT, probes=ProbeSpec(blocks=[], interval=INTERVAL))
        sim.run(5.0)
        e = sim.traces()["energy"].real
        assert energy_rises(e) <= 1e-10, scheduler
        assert np.all(e[-1] < e[0] - 1e-3), scheduler


# -- kernels against the numpy reference ------------------------------------------------------
def _reference_spec(activations, dtype, seed=5) -> NetSpec:
    rng = np.random.default_rng(seed)
    P = 3
    acts = list(activations)
    blocks = [dict(name=f"b{i}", size=s, activation=acts[i % len(acts)], bias=float(rng.normal()))
              for i, s in enumerate([4, 3, 6, 5, 2])]
    projections = [("b0", "b1", 1.0, "glorot"), ("b1", "b2", 1.0, "normal"), ("b2", "b0", 1.0, "glorot"),
                   ("b2", "b3", 0.7, "glorot"), ("b4", "b3", 1.3, "normal")]
    memories = [("b2", 4, 1.5, 1.0)]
    cplx = np.issubdtype(np.dtype(dtype), np.complexfloating)
    lam_mse = 0.7 - 0.2j if cplx else 0.7
    lam_ce = 0.4 + 0.3j if cplx else 0.4
    nudges = [dict(block="b3", target=rng.normal(0, 1, (P, 5)), lam=lam_mse, cost="mse"),
              dict(block="b1", target=one_hot_targets(rng, P, 3), lam=lam_ce, cost="ce",
                   kind="rotation" if cplx else "sinusoid", omega=1.3, phase=0.4)]
    clamps = {"b4": rng.normal(0, 1, (P, 2))}
    return NetSpec(blocks, projections, memories, clamps, nudges, particles=P, seed=seed)


@pytest.mark.parametrize("dtype,activations", [
    (np.float64, ("hard_sigmoid", "tanh", "sigmoid4", "identity", "sigmoid")),
    (np.float64, ("sigmoid", "hard_sigmoid", "identity", "tanh", "sigmoid4")),
    (np.complex128, HOLOMORPHIC),
    (np.complex128, HOLOMORPHIC[::-1]),
])
@pytest.mark.parametrize("t", [0.0, 0.83])
def test_kernels_match_numpy(dtype, activations, t):
    spec = _reference_spec(activations, dtype)
    net, params, _ = make_compiled(spec)
    for trial in range(3):
        sim = make_sim(spec, "sync", dt=0.1, dtype=dtype, init_offset=10 + trial)
        sim.t = t
        x = sim.states()
        assert x["b0"].dtype == np.dtype(dtype)
        lam = {nd["block"]: sim.lam(nd["block"]) for nd in spec.nudges}
        # λ(t) as documented: constant amplitude; amp·cos(ωt + φ); amp·e^{i(ωt + φ)}
        theta = 1.3 * t + 0.4
        want_ce = spec.nudges[1]["lam"] * (np.exp(1j * theta) if np.iscomplexobj(x["b0"]) else np.cos(theta))
        np.testing.assert_allclose(lam["b1"], want_ce, rtol=1e-14)
        np.testing.assert_allclose(lam["b3"], spec.nudges[0]["lam"], rtol=1e-14)

        want_e = network_energy(net, params, x)
        want_g = network_grad(net, params, x)
        for nd in spec.nudges:
            b = nd["block"]
            want_e = want_e + lam[b] * cost_value(nd["cost"], x[b], nd["target"])
            want_g[b] = want_g[b] + lam[b] * cost_grad(nd["cost"], x[b], nd["target"])
        got_e = sim.energy()
        assert got_e.shape == (spec.particles,)
        np.testing.assert_allclose(got_e, want_e, rtol=1e-11, atol=1e-11)

        drive = sim.drive()
        for b in spec.names():
            got = sim.c.view(drive, b)
            if b in spec.clamps:
                assert np.all(got == 0), "clamped blocks have no drive"
            else:
                np.testing.assert_allclose(got, -want_g[b], rtol=1e-11, atol=1e-11, err_msg=b)


def test_energy_and_drive_are_consistent_by_finite_differences():
    """−drive is the gradient of the kernel energy (central differences on a few units)."""
    spec = _reference_spec(("tanh", "sigmoid4", "identity", "sigmoid"), np.float64)
    sim = make_sim(spec, "sync", dt=0.1)
    drive = sim.drive()
    rng = np.random.default_rng(0)
    h = 1e-6
    for b in spec.free_names():
        x = sim.state(b)
        for _ in range(2):
            p, i = rng.integers(x.shape[0]), rng.integers(x.shape[1])
            old = x[p, i]
            sim.state(b)[p, i] = old + h
            sim.refresh()
            e_plus = sim.energy()[p]
            sim.state(b)[p, i] = old - h
            sim.refresh()
            e_minus = sim.energy()[p]
            sim.state(b)[p, i] = old
            sim.refresh()
            np.testing.assert_allclose((e_plus - e_minus) / (2 * h), -sim.c.view(drive, b)[p, i],
                                       rtol=1e-6, atol=1e-7, err_msg=b)
