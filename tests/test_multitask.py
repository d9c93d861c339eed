"""Concurrent tasks: the ownership rule, the controls' gradients, and a short learning run (the online
plasticity's gradient is tested with the event-driven one, test_event_plasticity.py)."""
import copy

import numpy as np
import pytest

from neurosim.build import build
from neurosim.learning.reference import implicit_gradient
from neurosim.model.tasks import Episode, TaskSpec, overlap_fraction, timeline
from neurosim.scenario.load import from_dict, load_scenario
from neurosim.scenario.schema import ScenarioError

from networks import small_supervised_batch
from scenario_dicts import one_task_lump


def _task(name, cond, target, rate=0.2):
    return TaskSpec(name, tuple(cond), ("image",) * len(cond), tuple(target), ("image",) * len(target),
                    rate=rate, duration=(5.0, 10.0))


def test_tasks_sharing_a_block_never_overlap_and_disjoint_ones_do():
    tasks = [_task("a", ["x"], ["y"]), _task("b", ["x"], ["z"]), _task("c", ["u"], ["v"])]
    eps = timeline(tasks, 2000.0, np.random.default_rng(0))
    by = {k: [e for e in eps if e.task == k] for k in range(3)}
    for e in by[0]:
        for f in by[1]:
            assert e.stop <= f.start or f.stop <= e.start  # a and b share block x
    assert any(e.start < f.stop and f.start < e.stop for e in by[0] for f in by[2])
    assert [(e.task, e.start) for e in eps] == [(e.task, e.start) for e in timeline(tasks, 2000.0, np.random.default_rng(0))]


def test_overlap_fraction_counts_time_with_at_least_two_tasks():
    eps = [Episode(0, 0, 0.0, 6.0), Episode(1, 0, 4.0, 8.0), Episode(2, 0, 5.0, 7.0)]
    assert overlap_fraction(eps, 10.0) == pytest.approx(0.3)      # [4, 7)
    assert overlap_fraction(eps, 10.0, 3) == pytest.approx(0.1)   # [5, 6)


def _tiny_multitask(lr):
    sc = load_scenario("scenarios/brain_multitask.toml")
    data = one_task_lump(copy.deepcopy(sc.data), "inpaint", {"inp_top", "inp_bottom", "h_vis"}, n_eval=120, lr=lr)
    return from_dict(data, "tiny_multitask")


def test_concurrent_learning_improves_and_fails_without_plasticity(tmp_path):
    from neurosim.experiments.multitask_run import run_multitask
    learned, _, _ = run_multitask(_tiny_multitask(0.004), False, tmp_path, False)
    frozen, _, _ = run_multitask(_tiny_multitask(0.0), False, tmp_path, False)
    t_l, t_f = learned["tasks"]["inpaint"], frozen["tasks"]["inpaint"]
    assert t_f["final"] == pytest.approx(t_f["initial"])
    assert t_l["final"] < 0.8 * t_l["initial"]
    assert (tmp_path / "history.csv").exists()
    # every score was read off a fixed point
    assert learned["eval_residual_max"] <= 1e-6


def test_evaluation_reports_a_relaxation_that_missed_the_fixed_point():
    """A synchronous step of 2τ makes the evaluation oscillate; the residual it ends at says so."""
    from neurosim.experiments.multitask import Evaluation, port_blocks, task_specs
    from neurosim.experiments.setup import make_network
    sc = _tiny_multitask(0.0)
    net = make_network(sc["network"])
    params = net.init_params(np.random.default_rng(0))
    for name in params.weights:  # strong couplings: the regime where parallel jumps overshoot
        params.weights[name] *= 8.0
    tasks = task_specs(sc)
    rng = np.random.default_rng(1)
    data = {"top": rng.uniform(0, 1, (20, 32)), "bottom": rng.uniform(0, 1, (20, 32)), "_y": np.zeros(20)}
    residual = {}
    for dt in (0.125, 0.5):
        ev = Evaluation()
        relax = dict(scheduler="sync", dt=dt, integrator="exp", duration=40.0, tol=1e-6)
        ev.task(net, params, tasks[0], data, relax, 20, port_blocks(tasks))
        residual[dt] = ev.worst_residual
    assert residual[0.125] <= 1e-6
    assert residual[0.5] > 1e-3


@pytest.mark.parametrize("change, key", [
    (lambda d: d["tasks"][0].update(condition=["nope"]), "tasks[0].condition"),
    (lambda d: d["tasks"][0].update(condition_data=["image", "label"]), "tasks[0].condition_data"),
    (lambda d: d["tasks"][0].update(target_data=["smell"]), "tasks[0].target_data"),
    (lambda d: d["tasks"][0].update(target=["cls_image"]), "tasks[0].target"),
    (lambda d: d["tasks"][1].update(name=d["tasks"][0]["name"]), "tasks[1].name"),
    (lambda d: d["tasks"][0].update(duration=[5.0, 1.0]), "tasks[0].duration"),
    (lambda d: d["tasks"][0].update(condition=["inp_top"]), "tasks[0].condition"),
    (lambda d: d["multitask"]["eval_relax"].update(dt=0.5), "multitask.eval_relax.dt"),
    (lambda d: d["tasks"][1].update(fade=100.0), "tasks[1].fade"),
    (lambda d: (d["plasticity"].update(rule="hep_continuous"),
                d["network"]["blocks"][0].update(activation="hard_sigmoid")), "plasticity.rule"),
])
def test_bad_multitask_scenarios_name_the_key(change, key):
    data = copy.deepcopy(load_scenario("scenarios/brain_multitask.toml").data)
    change(data)
    with pytest.raises(ScenarioError) as err:
        from_dict(data, "bad.toml")
    assert f"'{key}'" in str(err.value) and "bad.toml" in str(err.value)


def _switch_leak(fade: float) -> float:
    """|Σ ΔW| from example switches alone: the rhythm demodulates, but no task nudges (λ_k = 0),
    so everything the synapses accumulate is leak from the clamps' transients."""
    import dataclasses
    from neurosim.data import load_dataset
    from neurosim.data.multimodal import modality_fields
    from neurosim.experiments.multitask import ConcurrentRun, task_specs
    from neurosim.experiments.setup import make_network
    data = copy.deepcopy(_tiny_multitask(1.0).data)
    data["tasks"][0].update(fade=fade, duration=[20.0, 40.0], rate=0.25)
    data["multitask"]["duration"] = 400.0
    sc = from_dict(data, "leak")
    mt = sc["multitask"]
    train, _ = modality_fields(load_dataset(mt["dataset"], seed=0), sc.rng("data"), mt["code_dim"], mt["code_noise"])
    net = make_network(sc["network"])
    run = ConcurrentRun(sc, [dataclasses.replace(t, lam=0.0) for t in task_specs(sc)], train,
                        net.init_params(sc.rng("params")))
    run.plasticity.apply = False
    run.plasticity.keep_total = True
    run.run()
    gain = run.gain_trace["inpaint"]
    assert gain.min() >= 0.0 and gain.max() <= 1.0
    assert np.any((gain > 0) & (gain < 1)) == (fade > 0)  # the recorded g(t) shows the ramps
    weights, _ = run.plasticity.total_update()
    return float(np.linalg.norm(np.concatenate([w.ravel() for w in weights.values()])))


def test_a_fade_of_one_rhythm_period_removes_most_of_the_switch_leak():
    """A linear ramp lasting T = 2π/ω has no spectrum at ω (sinc(ωT/2) = 0): fading the clamps
    over one period should leave far less switch transient in the demodulated update than steps."""
    period = load_scenario("scenarios/brain_multitask.toml")["plasticity"]["period"]
    assert _switch_leak(period) < 0.5 * _switch_leak(0.0)


def test_cosine_plasticity_schedule_runs_from_eta_to_its_final_fraction():
    from neurosim.learning.plasticity import lr_factor
    assert lr_factor("cosine", 0.0, 0.1) == pytest.approx(1.0)
    assert lr_factor("cosine", 0.5, 0.1) == pytest.approx(0.55)
    assert lr_factor("cosine", 1.0, 0.1) == pytest.approx(0.1)
    assert lr_factor("constant", 0.7, 0.1) == 1.0
    with pytest.raises(ValueError):
        lr_factor("linear", 0.5, 0.1)


def test_fade_gain_ramps_in_and_out_over_the_fade():
    task = TaskSpec("t", ("a",), ("image",), ("b",), ("image",), fade=4.0)
    gains = [task.fade_gain(t, 10.0, 30.0) for t in (10.0, 12.0, 14.0, 20.0, 28.0, 30.0)]
    assert gains == pytest.approx([0.0, 0.5, 1.0, 1.0, 0.5, 0.0])
    assert TaskSpec("t", ("a",), ("image",), ("b",), ("image",)).fade_gain(10.0, 10.0, 30.0) == 1.0


def test_masked_implicit_gradient_is_the_gradient_of_the_kept_particles():
    net, params, x_in, y = small_supervised_batch()
    keep = np.array([True, False, True, True])
    masked, info = implicit_gradient(net, params, {"in": x_in}, "out", y, "mse", particles=keep)
    subset, _ = implicit_gradient(net, params, {"in": x_in[keep]}, "out", y[keep], "mse")
    assert info["min_eigs"].shape == (4,) and info["residuals"].shape == (4,)
    for kind, name, g in subset.items():
        np.testing.assert_allclose(getattr(masked, kind)[name], g, rtol=1e-8, atol=1e-12)


def test_bp_control_leaves_out_particles_that_are_not_at_a_fixed_point():
    """A free phase too short to converge: those particles are dropped, not followed."""
    from neurosim.experiments.multitask_controls import MAX_RESIDUAL, fixed_point_gradient
    from neurosim.learning.estimators import Problem, get_estimator
    from neurosim.learning.nudging import RelaxConfig
    net, params, x_in, y = small_supervised_batch()
    converged = RelaxConfig(scheduler="sync", dt=0.1, integrator="exp", free_duration=200.0, tol=1e-10, check_every=2.0)
    problem = Problem(build(net, params, 4), {"in": x_in}, "out", y, "mse", converged)
    grad, valid = fixed_point_gradient(problem, matrix_free=True)
    exact, _ = get_estimator("bp").gradient(problem)
    assert valid.all()
    dense, _ = fixed_point_gradient(problem, matrix_free=False)
    for kind, name, g in exact.items():  # nothing changes where bp is valid (CG vs the dense solve)
        np.testing.assert_allclose(getattr(grad, kind)[name], g, rtol=1e-8, atol=1e-12 * np.abs(g).max())
        assert np.array_equal(getattr(dense, kind)[name], g)
    short = RelaxConfig(scheduler="sync", dt=0.1, integrator="exp", free_duration=0.2, tol=None)
    grad, valid = fixed_point_gradient(Problem(build(net, params, 4), {"in": x_in}, "out", y, "mse", short))
    assert grad is None and not valid.any() and MAX_RESIDUAL < 1  # nothing converged in 0.2 τ


@pytest.mark.parametrize("metric, final, initial, chance, failure, expected", [
    ("accuracy", 0.92, 0.08, 0.11, None, "ok"),
    ("accuracy", 0.10, 0.08, 0.11, None, "failed: ended at 10.0 %, no better than chance"),
    ("accuracy", 0.50, 0.60, 0.11, None, "failed: ended at 50.0 %, worse than"),
    ("mse", 0.03, 0.27, None, None, "ok"),
    ("mse", 0.30, 0.27, None, None, "failed: ended at an error of 0.3"),
    ("mse", float("nan"), 0.27, None, None, "failed: the trained network's figure is not finite"),
    ("mse", None, 0.27, None, "non-finite gradient at batch 3", "failed: non-finite gradient at batch 3"),
])
def test_control_status_names_the_failure(metric, final, initial, chance, failure, expected):
    from neurosim.experiments.multitask_controls import control_status
    assert control_status(metric, final, initial, chance, failure).startswith(expected)


def _traced_run(scheduler):
    """The tiny inpaint run with the probes on for its whole length, weights learning."""
    from neurosim.data import load_dataset
    from neurosim.data.multimodal import modality_fields
    from neurosim.experiments.multitask import ConcurrentRun, task_specs
    from neurosim.experiments.setup import make_network
    data = copy.deepcopy(_tiny_multitask(0.004).data)
    data["tasks"][0].update(fade=4.0)
    data["multitask"].update(duration=120.0, probe_until=120.0, probe_interval=0.25)
    data["simulation"].update(scheduler=scheduler, dt=0.25 if scheduler == "poisson" else 0.05)
    sc = from_dict(data, "traced")
    mt = sc["multitask"]
    train, _ = modality_fields(load_dataset(mt["dataset"], seed=0), sc.rng("data"), mt["code_dim"], mt["code_noise"])
    net = make_network(sc["network"])
    run = ConcurrentRun(sc, task_specs(sc), train, net.init_params(sc.rng("params")))
    w0 = run.compiled.w.copy()
    run.run(lambda t, p: None, 40.0)
    return run, w0


@pytest.mark.parametrize("scheduler", ["poisson", "sync"])
def test_the_kernel_plays_the_timeline_and_traces_it_on_the_probe_clock(scheduler):
    from neurosim.engine.plastic_loop import fade_gain
    run, w0 = _traced_run(scheduler)
    tr = run.traces()
    t = tr["time"]
    on = np.zeros(len(t), dtype=bool)
    gain = np.zeros(len(t))
    for e in run.episodes:
        inside = (t > e.start + 1e-9) & (t < e.stop - 1e-9)
        on |= inside
        gain[inside] = [fade_gain(4.0, e.start, e.stop, s) for s in t[inside]]
    # away from a switch (a tick scheduler plays it at the next tick) the traces are the timeline's
    near = np.zeros(len(t), dtype=bool)
    for e in run.episodes:
        near |= (np.abs(t - e.start) <= 0.05 + 1e-9) | (np.abs(t - e.stop) <= 0.05 + 1e-9)
    assert len(run.episodes) >= 2 and on.any() and (~on).any()
    np.testing.assert_array_equal(tr["clamp/inpaint"][~near].astype(bool), on[~near])
    np.testing.assert_allclose(tr["gain/inpaint"][~near], gain[~near], atol=0.05 / 4.0 + 1e-12)
    lam = tr["lambda/inpaint"]
    assert np.all(lam[~on & ~near] == 0) and np.abs(lam[on & ~near]).max() == pytest.approx(0.25, abs=0.01)
    assert np.abs(run.compiled.w - w0).max() > 0  # the synapses learned during the run
    assert run.finished and not run.showing.keys() - {0}
    again, _ = _traced_run(scheduler)  # same scenario and seed: bit-identical weights and traces
    assert np.array_equal(again.compiled.w, run.compiled.w) and np.array_equal(again.compiled.bias, run.compiled.bias)
    for k, v in again.traces().items():
        assert np.array_equal(v, tr[k]), k
