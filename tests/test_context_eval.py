"""Scores in company (experiments/context_eval.py): the other tasks' conditions reach a task's
answer only through the wiring."""
import numpy as np
import pytest

from neurosim.experiments.context_eval import in_context_scores
from neurosim.experiments.multitask import Evaluation

from test_division_of_labour import PORTS, RELAX, TASKS, _data, _net


def test_other_tasks_conditions_change_an_answer_only_where_the_wiring_lets_them():
    scores = {}
    for rewired in (False, True):
        net = _net(rewired)
        params = net.init_params(np.random.default_rng(1))
        scores[rewired] = in_context_scores(net, params, TASKS, PORTS, _data(), RELAX, 24)
        for t in TASKS:  # the "silent" column is the run's own evaluation
            own = Evaluation().task(net, params, t, _data(), RELAX, 24, PORTS)
            assert scores[rewired][t.name]["silent"] == own
    separate, shared = scores[False], scores[True]
    # separate paths: b's clamped condition cannot reach a's readout, and the other way round
    # (equal to the relaxation's tolerance: the other path relaxing too moves when it stops)
    for name in ("a", "b"):
        assert abs(separate[name]["in_context"] - separate[name]["silent"]) <= 1e-8
    # a_in also drives h2, which b reads out: b's answer moves when a's condition is on
    assert abs(shared["b"]["in_context"] - shared["b"]["silent"]) > 1e-4


def test_a_partial_company_is_neither_the_full_one_nor_none_and_a_bad_presence_is_refused():
    net = _net(True)
    params = net.init_params(np.random.default_rng(1))
    full = in_context_scores(net, params, TASKS, PORTS, _data(), RELAX, 24)
    half = in_context_scores(net, params, TASKS, PORTS, _data(), RELAX, 24, presence=0.5)
    assert half["b"]["silent"] == full["b"]["silent"]
    # about half the examples see a's condition: the score is neither of the two
    assert abs(half["b"]["in_context"] - full["b"]["in_context"]) > 1e-4
    assert abs(half["b"]["in_context"] - full["b"]["silent"]) > 1e-4
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="presence must be in"):
            in_context_scores(net, params, TASKS, PORTS, _data(), RELAX, 24, presence=bad)
