"""Gated rhythms (``plasticity.rhythm_gate``, engine/plastic_rule.py): each synapse demodulates
only with the rhythms of the tasks that are on. Checked against an independent computation: the
ungated rule with one rhythm at a time, its integral cut at that task's own switches."""
import copy

import numpy as np
import pytest

from neurosim.data.multimodal import modality_fields
from neurosim.data.datasets import load_dataset
from neurosim.learning.plasticity import OnlinePlasticity, PlasticityConfig
from neurosim.scenario.load import from_dict, load_scenario

KEEP = {"cls_image", "cls_label", "inp_top", "inp_bottom", "h_vis"}
PERIODS = {"classify": 4.0, "inpaint": 6.0}


def _two_task_lump(gate: bool, duration: float = 160.0):
    """classify and inpaint on a 24-unit h_vis, one rhythm per task, short episodes with gaps."""
    data = copy.deepcopy(load_scenario("scenarios/brain_multitask.toml").data)
    data["network"]["particles"] = 8
    data["tasks"] = [dict(t, rate=0.05, duration=[10.0, 20.0], fade=0.0, period=PERIODS[t["name"]])
                     for t in data["tasks"] if t["name"] in PERIODS]
    data["reverse"] = []
    data["network"]["blocks"] = [dict(b, size=24) if b["name"] == "h_vis" else b
                                 for b in data["network"]["blocks"] if b["name"] in KEEP]
    data["network"]["projections"] = [p for p in data["network"]["projections"]
                                      if p["pre"] in KEEP and p["post"] in KEEP]
    data["multitask"].update(duration=duration, eval_every=duration, n_eval=20, isolated=False,
                             controls=[], gradient_probe=False, division_of_labour=False)
    data["plasticity"].update(rhythm="per_task", rhythm_gate=gate, lr=0.01, lr_schedule="constant")
    return from_dict(data, "gated")


def _frozen_run(gate: bool, only: int | None = None):
    """The concurrent run with frozen weights summing its updates; ``only``: the ungated rule
    demodulating with task ``only``'s rhythm alone."""
    from neurosim.experiments.multitask import ConcurrentRun, task_specs
    from neurosim.experiments.setup import make_network
    from neurosim.learning.plasticity import EventPlasticity
    sc = _two_task_lump(gate)
    mt = sc["multitask"]
    train, _ = modality_fields(load_dataset(mt["dataset"], seed=0), sc.rng("data"), mt["code_dim"], mt["code_noise"])
    run = ConcurrentRun(sc, task_specs(sc), train, make_network(sc["network"]).init_params(sc.rng("params")))
    if only is not None:
        run.plasticity = EventPlasticity(run.compiled, [run.omegas[only]], run.cfg, run.horizon)
    run.plasticity.apply, run.plasticity.keep_total = False, True
    return run


def _totals_at(run, times):
    """Σ ΔW (weights then biases) at each of ``times``, the run advanced in stretches to them."""
    out = []
    for t in times:
        if t > run.sim.t:
            run._stretch(t)
        out.append(np.concatenate([run.plasticity.total_w, run.plasticity.total_b]))
    return np.array(out)


def test_gated_update_is_each_rhythms_integral_over_its_tasks_episodes():
    gated = _frozen_run(True)
    episodes = gated.episodes
    assert {e.task for e in episodes} == {0, 1}
    end = gated.horizon
    total = _totals_at(gated, [end])[0]
    expected = np.zeros_like(total)
    for k in (0, 1):
        mine = [e for e in episodes if e.task == k]
        times = sorted({min(t, end) for e in mine for t in (e.start, e.stop)})
        cum = dict(zip(times, _totals_at(_frozen_run(False, only=k), times)))
        for e in mine:
            expected += cum[min(e.stop, end)] - cum[e.start]
    assert np.abs(expected).max() > 1e-3  # the tasks did drive the synapses
    np.testing.assert_allclose(total, expected, rtol=0, atol=1e-10 * np.abs(expected).max())
    # and the ungated rule, demodulating with both rhythms all the time, is not that
    ungated = _totals_at(_frozen_run(False), [end])[0]
    assert np.abs(ungated - expected).max() > 0.05 * np.abs(expected).max()


@pytest.mark.parametrize("scheduler", ["poisson", "sync"])
def test_no_synapse_learns_while_no_task_is_on(scheduler):
    """Gated: the weights stay put over a gap between episodes, and move during an episode."""
    sc = _two_task_lump(True)
    data = copy.deepcopy(sc.data)
    data["simulation"].update(scheduler=scheduler, dt=0.25 if scheduler == "poisson" else 0.05)
    sc = from_dict(data, "gated")
    from neurosim.experiments.multitask import ConcurrentRun, task_specs
    from neurosim.experiments.setup import make_network
    mt = sc["multitask"]
    train, _ = modality_fields(load_dataset(mt["dataset"], seed=0), sc.rng("data"), mt["code_dim"], mt["code_noise"])
    run = ConcurrentRun(sc, task_specs(sc), train, make_network(sc["network"]).init_params(sc.rng("params")))
    spans = sorted((e.start, e.stop) for e in run.episodes)
    gaps, reach = [], 0.0
    for a, b in spans:
        if a > reach + 2.0:
            gaps.append((reach + 0.5, a - 0.5))
        reach = max(reach, b)
    assert gaps, "the timeline should leave a gap between episodes"
    lo, hi = gaps[-1]
    run._stretch(lo)
    w_lo = run.compiled.w.copy()
    run._stretch(hi)
    assert np.array_equal(run.compiled.w, w_lo)
    run._stretch(run.horizon)
    assert not np.array_equal(run.compiled.w, w_lo)  # an episode follows every gap


def test_the_sampled_rule_refuses_a_gate():
    from neurosim.build import build
    from networks import small_supervised_batch
    net, params, _, _ = small_supervised_batch()
    with pytest.raises(ValueError, match="rhythm_gate needs the event-driven rule"):
        OnlinePlasticity(build(net, params, 2), [1.0], PlasticityConfig("baseline_hebb", rhythm_gate=True))
