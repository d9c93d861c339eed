"""Per-task rhythms on frozen weights: each demodulator follows its own task's exact gradient."""
import numpy as np
import pytest

from neurosim.experiments.rhythm_separation import separation
from neurosim.learning.rhythms import harmonic_omegas
from neurosim.model.network import Network
from neurosim.model.tasks import TaskSpec


def _setup():
    net = Network()
    for name, size in (("in1", 5), ("in2", 5), ("h", 10), ("out1", 3), ("out2", 3)):
        net.add_block(name, size, "identity" if name.startswith("in") else "tanh", rate=10.0, tau=0.25)
    for pre, post in (("in1", "h"), ("in2", "h"), ("h", "out1"), ("h", "out2"), ("in1", "out1")):
        net.add_projection(pre, post, gain=1.5)
    params = net.init_params(np.random.default_rng(0))
    rng = np.random.default_rng(1)
    batch = {"a": rng.uniform(0, 1, (6, 5)), "b": rng.uniform(0, 1, (6, 5)),
             "ya": rng.uniform(-0.5, 0.5, (6, 3)), "yb": rng.uniform(-0.5, 0.5, (6, 3)), "_y": np.zeros(6, int)}
    tasks = [TaskSpec("t1", ("in1",), ("a",), ("out1",), ("ya",)), TaskSpec("t2", ("in2",), ("b",), ("out2",), ("yb",))]
    return net, params, tasks, batch


def test_harmonic_rhythms_separate_the_tasks_and_a_shared_one_does_not():
    net, params, tasks, batch = _setup()
    kw = dict(scheduler="sync", dt=0.05, relax=20.0, warmup=8.0, window=16.0, delta=0.1, baseline_tau=4.0)
    per_task = separation(net, params, tasks, batch, harmonic_omegas(16.0, [3, 4]), 0.1, **kw)
    assert per_task["own"].min() >= 0.95
    # demodulator k reports of task j what the gradients share, not more
    off = ~np.eye(2, dtype=bool)
    assert np.abs(per_task["cross"][off] - per_task["overlap"][off]).max() < 0.15
    assert per_task["total"] >= 0.95
    shared = separation(net, params, tasks, batch, [2 * np.pi / 4.0] * 2, 0.1, **kw)
    assert shared["total"] >= 0.95          # one rhythm: the sum, as the bundled scenario uses it
    assert shared["own"].min() < per_task["own"].min() - 0.1   # …but no task on its own
