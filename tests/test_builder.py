"""The object-level network builder writes the same scenario a TOML file does."""
from pathlib import Path

import pytest

import neurosim.api as ns
from neurosim.scenario.builder import Block, Clamp, Network, Projection, scenario
from neurosim.scenario.load import from_dict
from neurosim.scenario.schema import ScenarioError

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_quickstart_built_from_objects_resolves_like_the_file():
    with Network(particles=4, init_state="random") as net:
        inp = Block("input", 16)
        h1 = Block("h1", 12, activation="sigmoid4", rate=2.0)
        h2 = Block("h2", 12, activation="sigmoid4", rate=1.0)
        h3 = Block("h3", 8, activation="sigmoid4", rate=0.5)
        out = Block("out", 4, rate=1.5)
        for pre, post in ((inp, h1), (h1, h2), (h2, h3), (h3, h1), (h2, out)):
            Projection(pre, post, gain=1.5)
    built = scenario(net, kind="relax", name="quickstart", seed=7,
                     description=ns.load(SCENARIOS / "quickstart.toml")["description"],
                     simulation={"scheduler": "poisson", "dt": 0.05, "duration": 30.0},
                     clamps=[Clamp(inp, pattern="bars")], probes={"interval": 0.05})
    assert from_dict(built).resolved() == ns.load(SCENARIOS / "quickstart.toml").resolved()


def test_train_scenario_without_a_with_block_resolves_like_the_file():
    file = ns.load(SCENARIOS / "digits_ep_vs_bp.toml")
    net = Network(dtype="float64")
    inp = net.block("in", 64, activation="identity")
    h = net.block("h", 256, activation="sigmoid4")
    out = net.block("out", 10, activation="sigmoid4")
    net.connect(inp, h)
    net.connect(h, out)
    built = scenario(net, kind="train", name="digits_ep_vs_bp", seed=0, description=file["description"],
                     data={"name": "digits"},
                     training={"input_block": inp, "output_block": out, "cost": "mse", "rule": "ep_symmetric",
                               "rule_options": {"beta": 0.5, "n_points": 4}, "epochs": 10, "batch_size": 50,
                               "optimizer": "adam", "lr": 0.003,
                               "relax": {"scheduler": "sync", "dt": 0.5, "integrator": "euler",
                                         "free_duration": 30.0, "nudged_duration": 5.0}})
    assert from_dict(built).resolved() == file.resolved()
    # a change shows: the builder is not a copy of the file
    net.connect(inp, out)
    assert from_dict(scenario(net, kind="train", name="digits_ep_vs_bp", seed=0, data={"name": "digits"},
                              training=built["training"])).resolved() != file.resolved()


def test_built_scenario_is_validated_like_a_file():
    net = Network()
    a = net.block("a", 4)
    net.connect(a, Block("ghost", 3))  # a block never added to the network
    with pytest.raises(ScenarioError, match="ghost"):
        from_dict(scenario(net))
    with pytest.raises(TypeError, match="Clamp"):
        net.add(Clamp(a))
