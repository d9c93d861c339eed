"""A network that blows up stops with ``SimulationDiverged`` naming the block and the time, and
the CLI turns that into exit code 3 with a one-line message."""
from __future__ import annotations

import re

import numpy as np
import pytest
from command_line import QUICKSTART
from networks import SCHEDULERS, NetSpec, make_sim

from neurosim.engine.simulator import SimulationDiverged

MESSAGE = re.compile(r"block '(?P<block>\w+)' became non-finite .* at t = (?P<t>[-+0-9.e]+)")


def exploding_spec() -> NetSpec:
    """Two identity blocks coupled by a huge W (E unbounded below), and a quiet tanh block."""
    return NetSpec(
        blocks=[dict(name="quiet", size=3, activation="tanh"),
                dict(name="boom_a", size=6, activation="identity", rate=2.0),
                dict(name="boom_b", size=6, activation="identity", rate=2.0)],
        projections=[("boom_a", "boom_b", 1e5, "glorot"), ("quiet", "boom_a", 0.1, "glorot")],
        particles=2, seed=1)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_divergence_raises_naming_block_and_time(scheduler):
    sim = make_sim(exploding_spec(), scheduler, dt=0.1)
    with pytest.raises(SimulationDiverged) as info:
        sim.run(50.0)
    msg = str(info.value)
    m = MESSAGE.search(msg)
    assert m, msg
    assert m["block"] in ("boom_a", "boom_b")
    t = float(m["t"])
    assert 0.0 < t < 50.0
    assert t == pytest.approx(sim.t, rel=1e-5)
    assert scheduler in msg
    # the named block is the one that is not finite
    assert not np.all(np.isfinite(sim.state(m["block"])))


def test_a_stable_network_does_not_raise():
    spec = exploding_spec()
    spec.projections[0] = ("boom_a", "boom_b", 0.5, "glorot")
    make_sim(spec, "sync", dt=0.1).run(50.0)


def test_cli_exits_3_on_divergence(tmp_path, cli):
    text = QUICKSTART.read_text()
    text = text.replace('activation = "sigmoid4"', 'activation = "identity"').replace("gain = 1.5", "gain = 1e6")
    path = tmp_path / "boom.toml"
    path.write_text(text)
    res = cli("run", path, "--out", tmp_path / "boom", "--no-plots", "--quiet")
    assert res.returncode == 3, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    msg = res.stderr.strip()
    assert "\n" not in msg, msg
    assert "diverged" in msg
    m = MESSAGE.search(msg)
    assert m and m["block"] in ("h1", "h2", "h3") and 0 < float(m["t"]) < 30.0, msg
