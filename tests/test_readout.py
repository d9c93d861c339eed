"""The one free-equilibrium readout (experiments/readout.py) and the one optimiser builder."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim.build import build
from neurosim.engine.simulator import Simulator
from neurosim.experiments.readout import eval_relax_config, free_equilibrium, relax_config
from neurosim.experiments.setup import optimizer_for
from neurosim.learning.optim import SGD, Adam
from neurosim.model.network import Network

RELAX = {"scheduler": "sync", "dt": 0.5, "integrator": "euler", "duration": 60.0, "tol": 1e-6}


def _net():
    net = Network()
    net.add_block("in", 4, "identity")
    net.add_block("h", 6)
    net.add_block("out", 3)
    net.add_projection("in", "h", gain=2.0)
    net.add_projection("h", "out", gain=2.0)
    return net, net.init_params(np.random.default_rng(0))


def test_fixed_duration_is_a_plain_run_and_a_tolerance_stops_early():
    net, params = _net()
    x = np.random.default_rng(1).uniform(0, 1, (5, 4))
    fixed = eval_relax_config(RELAX, tol=None)
    states, res = free_equilibrium(build(net, params, 5), {"in": x}, fixed, ["out"])
    assert res is None and set(states) == {"out"}
    sim = Simulator(build(net, params, 5), scheduler="sync", dt=0.5, integrator="euler", seed=0)
    sim.clamp("in", x)
    sim.run(60.0)
    np.testing.assert_array_equal(states["out"], sim.state("out"))   # bit for bit
    early, res = free_equilibrium(build(net, params, 5), {"in": x}, eval_relax_config(RELAX), residual=True)
    assert res <= 1e-6 and set(early) == {"in", "h", "out"}
    assert not np.array_equal(early["out"], states["out"])           # it stopped before 60 τ
    np.testing.assert_allclose(early["out"], states["out"], atol=1e-5)


def test_relax_tables_become_one_config():
    train = {"scheduler": "poisson", "dt": 0.2, "integrator": "exp", "free_duration": 30.0,
             "nudged_duration": 10.0, "tol": 0.0}
    cfg = relax_config(train, seed=4)
    assert (cfg.free_duration, cfg.nudged_duration, cfg.tol, cfg.seed) == (30.0, 10.0, None, 4)
    ev = eval_relax_config(RELAX, nudged_duration=30.0)
    assert (ev.free_duration, ev.nudged_duration, ev.tol, ev.check_every) == (60.0, 30.0, 1e-6, 2.0)


@pytest.mark.parametrize("table,kind", [
    ({"optimizer": "sgd", "lr": [0.1, 0.2], "momentum": 0.9}, SGD),
    ({"optimizer": "adam", "lr": 0.01, "adam_beta1": 0.5, "adam_beta2": 0.9, "adam_eps": 1e-6}, Adam),
    ({"optimizer": "adam", "lr": 0.01}, Adam),                     # a table without the extras
])
def test_optimizer_for_reads_the_table(table, kind):
    net, params = _net()
    opt = optimizer_for(table, net, params)
    assert isinstance(opt, kind)
    lr = table["lr"]
    assert opt.lrs[("weights", "h->out")] == (lr[1] if isinstance(lr, list) else lr)
    if kind is SGD:
        assert opt.momentum == 0.9
    elif "adam_beta1" in table:
        assert (opt.beta1, opt.beta2, opt.eps) == (0.5, 0.9, 1e-6)
    else:
        assert (opt.beta1, opt.beta2, opt.eps) == (0.9, 0.999, 1e-8)
