"""Who does what: the block × task map follows the wiring."""
import numpy as np
import pytest

from neurosim.experiments.division_of_labour import division_of_labour, write_division
from neurosim.model.network import Network
from neurosim.model.tasks import TaskSpec

RELAX = {"scheduler": "sync", "dt": 0.1, "integrator": "exp", "duration": 60.0, "tol": 1e-9}


def _net(rewired: bool):
    """Task a: a_in → h1 → a_out; task b: b_in → h2 → b_out; rewired: a_in also drives h2."""
    net = Network()
    for name, size in (("a_in", 4), ("a_out", 3), ("b_in", 4), ("b_out", 3), ("h1", 6), ("h2", 6)):
        net.add_block(name, size, "tanh")
    for pre, post in (("a_in", "h1"), ("h1", "a_out"), ("b_in", "h2"), ("h2", "b_out")):
        net.add_projection(pre, post, gain=1.5)
    if rewired:
        net.add_projection("a_in", "h2", gain=1.5)
        net.add_projection("h2", "a_out", gain=1.5)
    return net


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 4))
    return {"x": x, "y": 0.5 * np.tanh(x[:, :3]), "_y": np.zeros(n, dtype=int)}


TASKS = [TaskSpec("a", ("a_in",), ("x",), ("a_out",), ("y",)), TaskSpec("b", ("b_in",), ("x",), ("b_out",), ("y",))]
PORTS = ["a_in", "a_out", "b_in", "b_out"]


def _map(rewired):
    net = _net(rewired)
    params = net.init_params(np.random.default_rng(1))
    return division_of_labour(net, params, TASKS, _data(), _data(seed=1), RELAX, 24, PORTS, grad_batch=16)


def test_a_block_a_task_is_not_wired_to_does_nothing_for_it_and_rewiring_moves_the_map():
    m = _map(False)
    row = {str(b): i for i, b in enumerate(m["blocks"])}
    # task a runs through h1 only: silencing h2 changes nothing, none of a's gradient lands there
    assert m["damage"][row["h2"], 0] == pytest.approx(0.0, abs=1e-12)
    assert m["grad_share"][row["h2"], 0] == pytest.approx(0.0, abs=1e-20)
    assert abs(m["damage"][row["h1"], 0]) > 0.05 and m["grad_share"][row["h1"], 0] > 0.05
    assert m["damage"][row["h1"], 1] == pytest.approx(0.0, abs=1e-12)
    # roles: own ports, the other task's ports (silent, drop 0 by construction), hidden blocks
    assert m["role"][row["a_out"], 0] == "target" and np.isnan(m["damage"][row["a_out"], 0])
    assert m["role"][row["b_in"], 0] == "silent" and m["drop"][row["b_in"], 0] == 0.0
    assert m["role"][row["a_in"], 0] == "condition"
    np.testing.assert_allclose(np.nansum(m["grad_share"], axis=0), 1.0, rtol=1e-9)
    r = _map(True)
    assert abs(r["damage"][row["h2"], 0]) > 0.05 and r["grad_share"][row["h2"], 0] > 0.05
    # task b still does not use h1: a's new projections carry nothing while a's ports are silent
    assert r["damage"][row["h1"], 1] == pytest.approx(0.0, abs=1e-12)
    assert r["grad_share"][row["h1"], 1] == pytest.approx(0.0, abs=1e-20)


def test_gradient_shares_are_those_of_an_independent_finite_difference():
    """Share of h1 for task a from a central difference of the fixed-point loss on h1's weights."""
    from neurosim.learning.reference import fixed_point_loss
    net = _net(False)
    params = net.init_params(np.random.default_rng(1))
    data = _data()
    m = division_of_labour(net, params, TASKS[:1], data, _data(seed=1), RELAX, 24, PORTS, grad_batch=16)
    idx = np.random.default_rng(0).choice(24, size=16, replace=False)
    clamped = {"a_in": data["x"][idx], "b_in": np.zeros((16, 4)), "b_out": np.zeros((16, 3))}
    sq = {}
    for kind, name, arr in params.items():
        g = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            vals = []
            for h in (1e-5, -1e-5):
                arr[i] = old + h
                vals.append(fixed_point_loss(net, params, clamped, "a_out", data["y"][idx], "mse"))
            arr[i] = old
            g[i] = (vals[0] - vals[1]) / 2e-5
        sq[(kind, name)] = float(np.sum(g ** 2))
    total = sum(sq.values())
    h1 = 0.5 * sq[("weights", "a_in->h1")] + 0.5 * sq[("weights", "h1->a_out")] + sq[("biases", "h1")]
    row = list(m["blocks"]).index("h1")
    assert m["grad_share"][row, 0] == pytest.approx(h1 / total, rel=1e-3)


def test_write_division_writes_the_files_and_the_heatmap(tmp_path):
    from neurosim.plotting import plot_run
    net = _net(False)
    params = net.init_params(np.random.default_rng(1))
    summary = write_division(tmp_path, net, params, TASKS, _data(), _data(seed=1), RELAX, 24, PORTS, grad_batch=8)
    assert summary["a"]["hidden_largest_effect"] == "h1" and summary["b"]["hidden_largest_effect"] == "h2"
    assert (tmp_path / "division_of_labour.json").is_file()
    assert any(p.name == "division_of_labour.png" for p in plot_run(tmp_path, strict=True))
