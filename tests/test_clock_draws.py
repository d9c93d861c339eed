"""The poisson scheduler's pre-drawn clock intervals (engine/scheduler.py): how many are drawn at
a time changes no event time, and a checkpoint written with another batch size resumes exactly."""
import numpy as np

from neurosim.build import build
from neurosim.engine import scheduler
from neurosim.engine.simulator import Simulator
from neurosim.experiments.bench import poisson_network


def _sim():
    net, params = poisson_network(n_blocks=8, size=4)
    return Simulator(build(net, params, 2), scheduler="poisson", dt=10.0, seed=7)


def test_the_batch_of_clock_draws_changes_no_result(monkeypatch):
    a = _sim()
    a.run(300.0)  # rate 1: ≈ 300 draws a block, one batch at 2048 …
    monkeypatch.setattr(scheduler, "CLOCK_DRAWS", 16)
    b = _sim()
    b.run(300.0)  # … and some 19 refills at 16
    assert b.scheduler.draws.shape[1] == 16
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.scheduler.last, b.scheduler.last)


def test_a_checkpoint_with_another_batch_resumes_as_it_would_have(monkeypatch):
    monkeypatch.setattr(scheduler, "CLOCK_DRAWS", 16)
    old = _sim()
    old.run(40.0)
    arrays, meta = old.state_dict()
    old.run(60.0)  # the uninterrupted run
    monkeypatch.undo()  # the current batch size
    new = _sim()
    new.load_state_dict(arrays, meta)
    assert new.scheduler.draws.shape[1] == 16
    new.run(60.0)
    np.testing.assert_array_equal(new.x, old.x)
    np.testing.assert_array_equal(new.scheduler.last, old.scheduler.last)
