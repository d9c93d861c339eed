"""Gradient estimators against the exact (implicit-differentiation) gradient.

Each test fails when its estimator is broken: a sign flip makes the cosine negative, a missing
or wrong 1/β scale breaks the relative-error bound.
"""
import numpy as np
import pytest

from neurosim.learning import nudging as nd
from neurosim.learning import reference as ref
from neurosim.learning.estimators import ESTIMATORS, PhaseRunner, get_estimator, onset_velocity
from neurosim.learning.gradients import cosine, relative_error
from neurosim.model import energy as en

NETWORKS = ("layered", "graph")


def _with_exact(batch):
    problem, net, params = batch
    exact, info = ref.implicit_gradient(net, params, problem.clamped, problem.out, problem.target,
                                        problem.cost)
    assert info["residual"] < 1e-10 and info["min_eig"] > 0.1
    return problem, exact


@pytest.fixture(scope="module", params=NETWORKS)
def case(request, gradcheck_batch):
    return _with_exact(gradcheck_batch(request.param))


@pytest.fixture(scope="module")
def layered(gradcheck_batch):
    return _with_exact(gradcheck_batch("layered"))


def _check(problem, exact, name, **opts):
    g, info = get_estimator(name, **opts).gradient(problem)
    assert set(info) >= {"free_state", "free_output"}
    assert info["free_output"].shape == problem.target.shape
    return cosine(g, exact), relative_error(g, exact)


def test_registry_names():
    assert set(ESTIMATORS) == {"ep", "ep_symmetric", "ep_random_sign", "chl", "hep", "hep_continuous",
                               "first_step", "baseline_hebb", "pc", "bp", "bp_ff"}
    with pytest.raises(ValueError, match="unknown estimator"):
        get_estimator("nope")


def test_bp_is_the_exact_gradient(layered):
    problem, exact = layered
    cos, rel = _check(problem, exact, "bp")
    assert rel < 1e-9


def test_ep_symmetric_and_one_sided_small_beta(case):
    problem, exact = case
    cos, rel = _check(problem, exact, "ep_symmetric", beta=1e-3)
    assert cos >= 0.9999 and rel < 1e-4
    cos, rel = _check(problem, exact, "ep", beta=1e-3)
    assert cos >= 0.999 and rel < 3e-3


def test_hep_n4_exact_where_one_sided_ep_is_ten_percent_off(case):
    problem, exact = case
    cos, rel = _check(problem, exact, "hep", beta=0.1, n_points=4)
    assert cos >= 0.99999 and rel <= 1e-3
    _, rel_ep = _check(problem, exact, "ep", beta=0.1)
    assert 0.04 < rel_ep < 0.2


def test_hep_error_shrinks_as_beta_to_the_n(layered):
    """O(|β|^N): halving |β| divides the N = 2 error by ~4 and the N = 4 error by ~16."""
    problem, exact = layered
    for n, factor in ((2, 4.0), (4, 16.0)):
        _, r1 = _check(problem, exact, "hep", beta=0.2, n_points=n)
        _, r2 = _check(problem, exact, "hep", beta=0.1, n_points=n)
        assert 0.6 * factor < r1 / r2 < 1.6 * factor


def test_hep_cross_entropy_n8_large_beta(gradcheck_batch):
    problem, exact = _with_exact(gradcheck_batch("layered", cost="ce"))
    cos, rel = _check(problem, exact, "hep", beta=0.5, n_points=8)
    assert rel <= 1e-3


def test_hep_refuses_non_holomorphic_activation(layered):
    problem, _ = layered
    net = problem.net
    from neurosim.build import build
    from neurosim.model.network import Network
    bad = Network()
    for b in net.blocks:
        bad.add_block(b.name, b.size, "hard_sigmoid" if b.name == "h1" else b.activation)
    for p in net.projections:
        bad.add_projection(p.pre, p.post)
    c = build(bad, problem.params(), problem.compiled.n_particles)
    import dataclasses
    with pytest.raises(ValueError, match="holomorphic"):
        get_estimator("hep", beta=0.1, n_points=4).gradient(dataclasses.replace(problem, compiled=c))


def test_hep_continuous_ten_periods_twenty_steps_per_point(layered):
    problem, exact = layered
    cos, rel = _check(problem, exact, "hep_continuous", beta=0.5, n_points=10, steps_per_point=20,
                      periods=10)
    assert cos >= 0.999 and rel < 0.02


def test_first_step_velocity_is_minus_lambda_dC(layered):
    problem, exact = layered
    runner = PhaseRunner(problem)
    free = runner.free()
    for lam in (1e-3, 0.5):
        v = onset_velocity(runner, lam)
        expected = -lam * en.cost_grad(problem.cost, free[problem.out], problem.target)
        assert np.max(np.abs(v - expected)) <= 1e-9
    cos, _ = _check(problem, exact, "first_step", beta=1e-3)
    assert cos > 0.9


@pytest.mark.parametrize("name,opts,floor", [
    ("chl", {}, 0.99),
    ("baseline_hebb", dict(beta=0.1, n_points=10, steps_per_point=20, periods=10), 0.999),
    ("ep_random_sign", dict(beta=1e-3), 0.999),
])
def test_other_rules_point_the_right_way(layered, name, opts, floor):
    problem, exact = layered
    cos, _ = _check(problem, exact, name, **opts)
    assert cos > floor


def test_pc_matches_feedforward_backprop_in_weak_feedback(layered):
    problem, exact = layered
    g_ff, _ = get_estimator("bp_ff").gradient(problem)
    g_pc, _ = get_estimator("pc", beta=1e-4).gradient(problem)
    assert relative_error(g_pc, g_ff) < 1e-3
    assert cosine(g_pc, exact) > 0.5   # a different model (feed-forward view), same direction


def test_circle_schedule_reduces_to_ep():
    phases, c0 = nd.circle(0.1, 1)
    assert phases[0][0].lam == pytest.approx(0.1) and abs(phases[0][1] - 10) < 1e-12 and c0 == pytest.approx(-10)
    phases, c0 = nd.circle(0.1, 2)
    assert [p.lam for p, _ in phases] == pytest.approx([0.1, -0.1]) and abs(c0) < 1e-12
