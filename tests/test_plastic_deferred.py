"""The event rule applied once per K segments (engine/plastic_deferred.py, ``plasticity.apply_every``):
on frozen weights its update and running average are the per-segment rule's to rounding; with the
weights moving it learns what the per-segment rule learns, the drive seeing W at most K segments old."""
import numpy as np
import pytest

from neurosim.build import build
from neurosim.engine.simulator import Simulator
from neurosim.experiments.bench import poisson_network
from neurosim.learning.plasticity import EventPlasticity, OnlinePlasticity, PlasticityConfig

from networks import small_supervised_batch

OMEGA = 2 * np.pi / 8.0


def _small_blocks(scheduler):
    """The bench's ring of 16 blocks of 32 units (P = 1, every projection below the BLAS size),
    its first block nudged by a rhythm."""
    net, params = poisson_network(n_blocks=16)
    c = build(net, params, 1)
    sim = Simulator(c, scheduler=scheduler, dt=0.1 if scheduler == "sync" else 10.0, seed=0)
    sim.run(2.0)
    sim.nudge("b0", np.full((1, 32), 0.5), 0.25, kind="sinusoid", omega=OMEGA)
    return c, sim


def _learn(scheduler, apply_every, apply, rule="baseline_hebb", duration=40.0, lr=0.05):
    c, sim = _small_blocks(scheduler)
    w0 = c.w.copy()
    cfg = PlasticityConfig(rule, beta=0.25, lr=lr, baseline_tau=8.0, apply_every=apply_every)
    pl = EventPlasticity(c, [OMEGA], cfg)
    pl.apply = apply
    for _ in range(4):  # several kernel calls: a log survives the returns for clock draws, not a call's end
        pl.run(sim, duration / 4)
        assert not pl.tuple[18][1].any(), "every log is applied when a call ends"
    return c, pl, w0


@pytest.mark.parametrize("scheduler", ["poisson", "sync"])
@pytest.mark.parametrize("rule", ["baseline_hebb", "baseline_only"])
def test_logged_segments_sum_to_the_per_segment_rule_on_frozen_weights(scheduler, rule):
    _, exact, _ = _learn(scheduler, 1, apply=False, rule=rule)
    c, logged, _ = _learn(scheduler, 16, apply=False, rule=rule)
    assert (logged.tuple[18][0] == 16).all()  # every projection of this graph is logged
    dw = exact.total_w
    assert np.abs(dw).max() > 1e-3  # the rule learns: the comparison below is not of zeros
    np.testing.assert_allclose(logged.total_w, dw, rtol=0, atol=1e-12 * np.abs(dw).max())
    np.testing.assert_allclose(logged.hbar, exact.hbar, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(logged.total_b, exact.total_b)  # the biases are not logged


def test_logged_rule_learns_what_the_per_segment_rule_learns():
    """With the weights moving the two differ through the drive's older W only: by a relative
    ≈ 0.3·η·K here (η = 10⁻³, K = 16: 0.4 %; linear in η·K, measured down to η = 10⁻⁶)."""
    c1, _, w0 = _learn("poisson", 1, apply=True, duration=200.0, lr=1e-3)
    c16, _, _ = _learn("poisson", 16, apply=True, duration=200.0, lr=1e-3)
    moved, apart = np.linalg.norm(c1.w - w0), np.linalg.norm(c16.w - c1.w)
    assert moved > 1e-2
    assert 0 < apart < 0.02 * moved


def test_large_and_complex_projections_are_not_logged():
    net, params, x_in, y = small_supervised_batch()
    c = build(net, params, 4, np.complex128)
    pl = EventPlasticity(c, [OMEGA], PlasticityConfig("hep_continuous", apply_every=8))
    assert not pl.tuple[18][0].any()
    net, params = poisson_network(n_blocks=4, size=64)  # 64 × 64 = 4096 multiply-adds: BLAS size
    pl = EventPlasticity(build(net, params, 1), [OMEGA], PlasticityConfig("baseline_hebb", apply_every=8))
    assert not pl.tuple[18][0].any()


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_apply_every_must_be_a_positive_integer(bad):
    c, _ = _small_blocks("poisson")
    with pytest.raises(ValueError, match="apply_every"):
        EventPlasticity(c, [OMEGA], PlasticityConfig("baseline_hebb", apply_every=bad))


def test_the_sampled_rule_refuses_apply_every():
    c, _ = _small_blocks("poisson")
    with pytest.raises(ValueError, match="apply_every needs the event-driven rule"):
        OnlinePlasticity(c, [OMEGA], PlasticityConfig("baseline_hebb", apply_every=4))
