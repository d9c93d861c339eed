"""The analytic-region guard of holomorphic EP (neurosim.learning.analytic).

Outside its radius of validity the complex relaxation used to run into a pole of ρ and stop with a
bare "became non-finite" (or return a meaningless finite estimate); now the guard names the
estimator, the radius, the block and the time, and ``hep`` retries on a smaller circle. Inside
the radius nothing changes, bit for bit.
"""
import re
import warnings

import numpy as np
import pytest

from neurosim.build import build
from neurosim.engine.simulator import SimulationDiverged, Simulator
from neurosim.learning import nudging as nd
from neurosim.learning import reference as ref
from neurosim.learning.analytic import AnalyticGuard, OutsideRadius, RadiusWarning
from neurosim.learning.estimators import PhaseRunner, get_estimator
from neurosim.learning.gradients import cosine
from neurosim.model.network import Network

OUTSIDE = re.compile(r"^(?P<est>hep\w*): \|β\| = (?P<r>[0-9.]+) is outside the radius of validity: "
                     r"block '(?P<block>\w+)' .* at t = [0-9.]+")


@pytest.fixture(scope="module")
def layered(gradcheck_batch):
    problem, net, params = gradcheck_batch("layered")
    exact, _ = ref.implicit_gradient(net, params, problem.clamped, problem.out, problem.target, problem.cost)
    return problem, exact


def test_hep_outside_the_radius_says_so(layered):
    """|β| = 2 (mse) encloses the nudge's pole at β = −1: a clear error, not a NaN."""
    problem, _ = layered
    with pytest.raises(OutsideRadius) as info:
        get_estimator("hep", beta=2.0, n_points=4, max_halvings=0).gradient(problem)
    m = OUTSIDE.match(str(info.value))
    assert m, str(info.value)
    assert m["est"] == "hep" and float(m["r"]) == 2.0 and m["block"] in ("h1", "h2", "y")
    assert isinstance(info.value, SimulationDiverged)  # the CLI's exit code 3 path


def test_hep_shrinks_the_circle_and_warns(layered):
    """The default retries on half the radius until the states stay inside the strip: the batch
    that diverged at |β| = 2 now gives the exact gradient's direction, and says which radius."""
    problem, exact = layered
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = get_estimator("hep", beta=2.0, n_points=4)
        g, info = est.gradient(problem)
    shrinks = [w for w in caught if issubclass(w.category, RadiusWarning)]
    assert shrinks and "retrying this batch on |β| = 1" in str(shrinks[0].message)
    assert info["radius"] < 2.0 and len(shrinks) == int(round(np.log2(2.0 / info["radius"])))
    assert est.n_shrunk == 1
    with warnings.catch_warnings(record=True) as caught:  # the same depths again: counted, not warned
        warnings.simplefilter("always")
        _, again = est.gradient(problem)
    assert again["radius"] == info["radius"] and est.n_shrunk == 2
    assert not [w for w in caught if issubclass(w.category, RadiusWarning)]
    assert all(abs(abs(lam) - info["radius"]) < 1e-12 for lam in info["lambdas"])
    assert all(np.all(np.isfinite(v)) for _, _, v in g.items())
    assert cosine(g, exact) > 0.999


def test_guard_changes_nothing_inside_the_radius(layered):
    """Inside the radius the guarded phases run the very same steps: identical estimates."""
    problem, _ = layered
    g, info = get_estimator("hep", beta=0.1, n_points=4).gradient(problem)
    assert info["radius"] == 0.1
    runner = PhaseRunner(problem, complex_states=True)
    runner.free()
    unguarded = runner.contrast(*nd.circle(0.1, 4))
    for kind, name, v in g.items():
        assert np.array_equal(v, getattr(unguarded, kind)[name])


def test_hep_continuous_outside_the_radius_says_so(layered):
    problem, _ = layered
    with pytest.raises(OutsideRadius, match=r"^hep_continuous: \|β\| = 2 is outside the radius"):
        get_estimator("hep_continuous", beta=2.0, n_points=10, steps_per_point=20, periods=2).gradient(problem)


def _sigmoid4_sim(scheduler="sync"):
    net = Network()
    net.add_block("a", 3, "identity")
    net.add_block("b", 4, "sigmoid4")
    net.add_projection("a", "b")
    params = net.init_params(np.random.default_rng(0))
    return Simulator(build(net, params, 2, dtype=np.complex128), scheduler=scheduler, dt=0.5,
                     integrator="euler", seed=1)


def test_guard_fires_at_three_quarters_of_the_pole_distance():
    """sigmoid4's poles sit at Im x = ±π/4: |Im x| = 0.58 passes, 0.60 (> ¾·π/4 = 0.589) fires."""
    sim = _sigmoid4_sim()
    sim.clamp("a", np.zeros((2, 3)))
    guard = AnalyticGuard(sim.c, "hep", 0.5)
    sim.set_state("b", np.full((2, 4), 0.5 + 0.58j))
    guard.check(sim)
    sim.set_state("b", np.full((2, 4), 0.5 - 0.60j))
    with pytest.raises(OutsideRadius, match=r"block 'b' reached \|Im x\| = 0\.6 ≥ 0\.589 .*sigmoid4"):
        guard.check(sim)


@pytest.mark.parametrize("scheduler", ["sync", "poisson"])
def test_guarded_run_steps_like_one_run(scheduler):
    """Checking after every step does not change the trajectory (ticks and event clocks)."""
    runs = []
    for guarded in (False, True):
        sim = _sigmoid4_sim(scheduler)
        sim.clamp("a", np.ones((2, 3)))
        sim.nudge("b", np.zeros((2, 4)), 0.3j)
        if guarded:
            AnalyticGuard(sim.c, "hep", 0.3).run(sim, 7.25, every_step=True)
        else:
            sim.run(7.25)
        runs.append((sim.t, sim.state("b").copy()))
    assert runs[0][0] == pytest.approx(runs[1][0], abs=1e-12)
    assert np.array_equal(runs[0][1], runs[1][1])
