"""Long studies behind docs/generative-network.md "Measured" (``pytest -m slow``; minutes each)."""
from __future__ import annotations

import pytest

from neurosim.api import run
from neurosim.scenario.load import load_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moons(tmp_path_factory):
    out = tmp_path_factory.mktemp("moons")
    sc = load_scenario("scenarios/toy2d_moons_flow.toml")
    return {rule: run(sc.with_changes(training__rule=rule), out / rule, plots=False).metrics
            for rule in ("bp_ff", "ep_symmetric")}


def test_moons_bp_ff_flow_reaches_w2_015(moons):
    m = moons["bp_ff"]
    assert m["w2"] <= 0.15 and 0.03 < m["w2_floor"] < 0.06, m


def test_moons_ep_within_15x_of_bp(moons):
    assert moons["ep_symmetric"]["w2"] <= 1.5 * moons["bp_ff"]["w2"], moons


def test_digits_ep_conditional_accuracy(tmp_path):
    m = run(load_scenario("scenarios/digits_conditional_generation.toml"), tmp_path / "digits",
            plots=False).metrics
    assert m["conditional_accuracy"] >= 0.8 and m["classifier_test_accuracy"] > 0.9, m
