"""The noise-level task declared in a scenario: validated, built, learned concurrently, and
evaluated by sampling through the lump's own reverse process (``[multitask.sample]``)."""
import copy
import json
import numpy as np
import pytest

from neurosim.experiments.lump_sampling import SAMPLERS
from neurosim.experiments.multitask import task_specs
from neurosim.experiments.noise_level_task import NoiseLevelTask
from neurosim.generative.embedding import embed
from neurosim.scenario.kind_multitask import LUMP_SAMPLERS
from neurosim.scenario.load import from_dict, load_scenario
from neurosim.scenario.schema import ScenarioError

from scenario_dicts import one_task_lump


SCENARIO = "scenarios/brain_generative.toml"


def _data():
    return copy.deepcopy(load_scenario(SCENARIO).data)


def test_the_bundled_scenario_declares_a_noise_level_task_that_round_trips():
    sc = load_scenario(SCENARIO)
    tasks = task_specs(sc)
    gen = next(t for t in tasks if t.name == "generate")
    assert isinstance(gen, NoiseLevelTask) and not any(isinstance(t, NoiseLevelTask) for t in tasks if t is not gen)
    assert (gen.noisy_block, gen.level_block, gen.sigma_min, gen.sigma_max, gen.eval_sigma) == \
        ("gen_noisy", "gen_level", 0.02, 2.0, 0.5)
    # scenario.toml of a run (the resolved scenario) builds the same tasks
    again = from_dict(sc.resolved(), "scenario.toml")
    assert task_specs(again) == tasks and again["multitask"]["sample"] == sc["multitask"]["sample"]
    assert LUMP_SAMPLERS == SAMPLERS


def test_the_evaluation_shows_every_example_at_the_evaluation_sigma():
    gen = next(t for t in task_specs(load_scenario(SCENARIO)) if t.name == "generate")
    rng = np.random.default_rng(0)
    data = {"image": rng.uniform(0, 1, (30, 64)), "label": np.eye(10)[rng.integers(0, 10, 30)]}
    train = gen.condition_values(data, slice(None), np.random.default_rng(1))
    ev = gen.evaluated().condition_values(data, slice(None), np.random.default_rng(1))
    # training: one σ per example; evaluation: σ = eval_sigma for all
    assert np.unique(train["gen_level"].round(12), axis=0).shape[0] == 30
    np.testing.assert_allclose(ev["gen_level"], embed(gen.level_u(0.5), "fourier", 4, 30))
    np.testing.assert_allclose((ev["gen_noisy"] - data["image"]).std(), 0.5, rtol=0.05)
    np.testing.assert_array_equal(ev["gen_label"], data["label"])


def _task(d):
    return d["tasks"][1]


@pytest.mark.parametrize("change, key", [
    (lambda d: _task(d)["noise_level"].update(n_embed=3), "tasks[1].noise_level.level"),
    (lambda d: _task(d)["noise_level"].update(noisy="cls_image"), "tasks[1].noise_level.noisy"),
    (lambda d: _task(d)["noise_level"].update(level="gen_label"), "tasks[1].condition_data"),
    (lambda d: _task(d).pop("noise_level"), "tasks[1].condition_data"),
    (lambda d: _task(d)["noise_level"].update(sigma=[2.0, 0.02]), "tasks[1].noise_level.sigma"),
    (lambda d: _task(d)["noise_level"].update(embedding="wavelet"), "tasks[1].noise_level.embedding"),
    (lambda d: _task(d).update(condition_noise=[0.0, 0.5, 0.0]), "tasks[1].condition_noise"),
    (lambda d: _task(d).update(target_data=["level"]), "tasks[1].target_data"),
    (lambda d: d["multitask"]["sample"].update(task="classify"), "multitask.sample.task"),
    (lambda d: d["multitask"]["sample"].update(sampler="heun"), "multitask.sample.sampler"),
    (lambda d: d["multitask"]["sample"].update(guidance=[-1.0]), "multitask.sample.guidance"),
    (lambda d: d["multitask"]["sample"].update(stepz=4), "multitask.sample.stepz"),
    (lambda d: d["multitask"]["sample"].update(guidance_sigma=[0.5]), "multitask.sample.guidance_sigma"),
    (lambda d: d["multitask"]["sample"].update(guidance_sigma=[0.5, 0.1]), "multitask.sample.guidance_sigma"),
    (lambda d: d["multitask"]["sample"].update(guidance_sigma=[-0.1, 1.0]), "multitask.sample.guidance_sigma"),
    (lambda d: d["multitask"]["sample"].update(guidance_sigma=[0.1, float("inf")]), "multitask.sample.guidance_sigma[1]"),
    (lambda d: d["multitask"]["sample"].update(bp="yes"), "multitask.sample.bp"),
    (lambda d: d["multitask"].update(judge=["classify"]), "multitask.judge[0]"),
    (lambda d: d["tasks"].append(dict(d["tasks"][0], name="imagine", condition=["cls_label"], condition_data=["label"],
                                      target=["cls_image"], target_data=["image"], metric="mse")),
     "multitask.gradient_probe"),
])
def test_bad_noise_level_declarations_name_the_key(change, key):
    data = _data()
    change(data)
    with pytest.raises(ScenarioError) as err:
        from_dict(data, "bad.toml")
    assert f"'{key}'" in str(err.value) and "bad.toml" in str(err.value)


def test_a_bad_declaration_exits_2_and_writes_nothing(tmp_path, cli):
    import tomli_w
    data = _data()
    _task(data)["noise_level"]["n_embed"] = 3
    bad = tmp_path / "bad.toml"
    bad.write_bytes(tomli_w.dumps(data).encode())
    out = tmp_path / "out"
    proc = cli("run", bad, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert "noise_level.level" in proc.stderr and "bad.toml" in proc.stderr
    assert not out.exists()


def _tiny_generative(lr):
    """The generate task alone on a small lump, learned for 300 τ, sampled 2 per class."""
    data = one_task_lump(_data(), "generate", {"gen_label", "gen_noisy", "gen_level", "gen_image", "h_vis"},
                         n_eval=100, lr=lr)
    data["multitask"]["sample"].update(per_class=2, steps=4, guidance=[1.0, 0.0])
    return from_dict(data, "tiny_generative")


def test_the_noise_level_task_learns_and_the_run_samples_through_its_ports(tmp_path):
    from neurosim.experiments.multitask_run import run_multitask
    learned, _, _ = run_multitask(_tiny_generative(0.004), False, tmp_path / "on", False)
    frozen, _, _ = run_multitask(_tiny_generative(0.0), False, tmp_path / "off", False)
    on, off = learned["tasks"]["generate"], frozen["tasks"]["generate"]
    assert off["final"] == pytest.approx(off["initial"])
    assert on["final"] < 0.8 * on["initial"]
    s_on, s_off = learned["sampling"], frozen["sampling"]
    for s in (s_on, s_off):
        assert set(s["guidance"]) == {"1", "0"} and 0.0 <= s["judge_accuracy"] <= 1.0
        assert s["diversity_ratio"] == s["guidance"]["1"]["diversity_ratio_mean"]
    # learning lowers the denoising error at every σ (frozen: the untrained lump's)
    assert all(s_on["denoise_mse"][k] < s_off["denoise_mse"][k] for k in s_on["denoise_mse"])
    with np.load(tmp_path / "on" / "samples.npz") as z:
        assert z["samples"].shape == (20, 64) and list(z["labels"]) == list(np.repeat(np.arange(10), 2))
    with np.load(tmp_path / "on" / "lump_trajectory.npz") as z:
        assert z["trajectory"].shape == (5, 20, 64) and z["estimates"].shape == (4, 20, 64)
    json.dumps(learned)  # metrics.json-ready


def test_judged_accuracy_reads_the_class_of_an_image_answer():
    """label → image with W = the class-mean images: every answer is its class's mean image,
    which the judge (96.9 % on real digits) reads as its class; with W = 0 every answer is the
    same blank image, one class."""
    from neurosim.data import load_dataset
    from neurosim.experiments.judged_images import judged_accuracy
    from neurosim.experiments.lump_sampling import judge
    from neurosim.model.network import Network
    from neurosim.model.tasks import TaskSpec
    ds = load_dataset("digits", seed=0)
    net = Network()
    net.add_block("label", 10, "identity")
    net.add_block("image", 64, "identity")
    net.add_projection("label", "image")
    params = net.init_params(np.random.default_rng(0))
    params.weights["label->image"][...] = np.stack([ds.x_train[ds.y_train == c].mean(0) for c in range(10)])
    params.biases["image"][...] = 0.0
    task = TaskSpec("imagine", ("label",), ("label",), ("image",), ("image",))
    data = {"label": np.eye(10)[ds.y_test], "image": ds.x_test, "_y": ds.y_test}
    relax = {"scheduler": "sync", "dt": 0.2, "integrator": "exp", "duration": 40.0, "tol": 1e-9}
    clf = judge(ds.x_train, ds.y_train)
    assert judged_accuracy(net, params, task, data, relax, 200, ["label", "image"], clf) > 0.95
    params.weights["label->image"][...] = 0.0
    assert judged_accuracy(net, params, task, data, relax, 200, ["label", "image"], clf) < 0.2


def test_sampling_and_judging_are_deterministic_and_resume_to_the_same_figures(tmp_path):
    """Same scenario and seed → the same metrics (timings aside); a resume from the finished
    run's checkpoint recomputes the sampling and the judged accuracies to the same figures."""
    from neurosim.experiments.multitask_run import run_multitask
    from neurosim.experiments.rundir import metrics_without_timing
    sc = _tiny_generative(0.004)
    data = copy.deepcopy(sc.data)
    data["multitask"].update(isolated=True, judge=["generate"])
    sc = from_dict(data, "tiny_generative")
    a, _, _ = run_multitask(sc, False, tmp_path / "a", False)
    b, _, _ = run_multitask(sc, False, tmp_path / "b", False)
    again, _, _ = run_multitask(sc, False, tmp_path / "a", True)
    entry = a["tasks"]["generate"]
    assert 0.0 <= entry["judged_accuracy"] <= 1.0 and 0.0 <= entry["isolated_judged_accuracy"] <= 1.0
    assert metrics_without_timing(a) == metrics_without_timing(b) == metrics_without_timing(again)


def _tiny_with_bp(control_lr=0.0005, controls=()):
    sc = _tiny_generative(0.004)
    data = copy.deepcopy(sc.data)
    data["multitask"]["sample"]["bp"] = True
    data["multitask"].update(control_lr=control_lr, controls=list(controls))
    return from_dict(data, "tiny_generative_bp")


def test_the_bp_twin_is_sampled_by_the_same_code_beside_the_lump(tmp_path):
    """``sample.bp``: the task's bp control, retrained after the run, is sampled and judged like
    the lump (sampling_bp, samples_bp.npz on the same labels); the run's own bp control, when it
    has one, gives the same weights and so the same figures; the lump's figures do not change."""
    from neurosim.experiments.multitask_run import run_multitask
    from neurosim.experiments.rundir import metrics_without_timing
    m, _, _ = run_multitask(_tiny_with_bp(), False, tmp_path / "bp", False)
    plain, _, _ = run_multitask(_tiny_generative(0.004), False, tmp_path / "plain", False)
    s, lump = m["sampling_bp"], m["sampling"]
    assert s["status"] == "ok" and s["task"] == "generate" and set(s["guidance"]) == set(lump["guidance"])
    assert 0.0 <= s["judge_accuracy"] <= 1.0
    for key in ("diversity_ratio", "mmd2", "w2"):
        assert np.isfinite(s[key]) and s[key] != lump[key]  # another network's samples
    # bp trained the denoiser: its error at σ = eval_sigma is below the untrained network's
    assert s["task_mse"] < m["tasks"]["generate"]["initial"]
    assert metrics_without_timing(plain)["sampling"] == metrics_without_timing(m)["sampling"]
    with np.load(tmp_path / "bp" / "samples_bp.npz") as zb, np.load(tmp_path / "bp" / "samples.npz") as z:
        assert zb["samples"].shape == z["samples"].shape and list(zb["labels"]) == list(z["labels"])
        assert not np.array_equal(zb["samples"], z["samples"])
    reused, _, _ = run_multitask(_tiny_with_bp(controls=["bp"]), False, tmp_path / "reused", False)
    assert metrics_without_timing(reused)["sampling_bp"] == metrics_without_timing(m)["sampling_bp"]
    assert reused["tasks"]["generate"]["bp_final"] == pytest.approx(s["task_mse"], rel=1e-12)
    json.dumps(m)


def test_a_bp_twin_that_did_not_train_is_reported_not_sampled(tmp_path):
    """control_lr = 0: the bp network ends where it started, its status says so, and no samples
    of it are written (a failed control's samples would be a figure of the failure)."""
    from neurosim.experiments.multitask_run import run_multitask
    m, _, _ = run_multitask(_tiny_with_bp(control_lr=0.0), False, tmp_path / "r", False)
    s = m["sampling_bp"]
    assert s["status"].startswith("failed: ended at an error") and "judge_accuracy" not in s
    assert s["task_mse"] == pytest.approx(m["tasks"]["generate"]["initial"])
    assert not (tmp_path / "r" / "samples_bp.npz").exists() and (tmp_path / "r" / "samples.npz").exists()


def test_resample_reads_the_saved_weights_and_reproduces_the_run(tmp_path, monkeypatch):
    """``neurosim resample``: with no overrides the run's sampling and sampling_bp to the last bit,
    from checkpoint.npz and the bp_twin.npz the run saved (nothing trained again); another
    step count changes the figures; without bp_twin.npz the twin is trained again to the same weights
    and saved; a damaged one is refused, naming it, before anything is written."""
    import neurosim.api as ns
    from neurosim.experiments.multitask_run import MultitaskRun
    from neurosim.experiments.rundir import RunDirError, metrics_without_timing
    run_dir = tmp_path / "run"
    ns.run(_tiny_with_bp(), run_dir, plots=False)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (run_dir / "bp_twin.npz").is_file()

    def same(doc):
        doc = json.loads(json.dumps(doc, default=float))
        return all(metrics_without_timing(doc[k]) == metrics_without_timing(metrics[k])
                   for k in ("sampling", "sampling_bp"))

    real_bp_network = MultitaskRun.bp_network
    monkeypatch.setattr(MultitaskRun, "bp_network", lambda self, k: pytest.fail("the twin was trained again"))
    doc = ns.resample(run_dir)
    assert same(doc) and doc["out"] == str(run_dir / "resample")
    assert json.loads((run_dir / "resample" / "resample.json").read_text())["sampling_bp"]["status"] == "ok"
    with np.load(run_dir / "samples_bp.npz") as a, np.load(run_dir / "resample" / "samples_bp.npz") as b:
        assert np.array_equal(a["samples"], b["samples"])
    fewer = ns.resample(run_dir, ["multitask.sample.steps=3"], out=tmp_path / "steps3")
    assert fewer["sampling"]["steps"] == 3 and fewer["sampling_bp"]["steps"] == 3
    assert fewer["sampling"]["diversity_ratio"] != metrics["sampling"]["diversity_ratio"]
    monkeypatch.setattr(MultitaskRun, "bp_network", real_bp_network)
    (run_dir / "bp_twin.npz").unlink()
    assert same(ns.resample(run_dir, out=tmp_path / "again")) and (run_dir / "bp_twin.npz").is_file()
    (run_dir / "bp_twin.npz").write_bytes(b"not an npz")
    with pytest.raises(RunDirError, match="bp_twin.npz: not a readable bp twin"):
        ns.resample(run_dir, out=tmp_path / "damaged")
    assert not (tmp_path / "damaged").exists()


def test_resample_refuses_a_key_outside_the_sampling_and_writes_nothing(tmp_path, cli):
    import neurosim.api as ns
    from neurosim.scenario.schema import ScenarioError
    run_dir = tmp_path / "run"
    ns.run(_tiny_generative(0.004), run_dir, plots=False)
    with pytest.raises(ScenarioError, match="multitask.duration.*multitask.sample"):
        ns.resample(run_dir, {"multitask.duration": 100.0})
    proc = cli("resample", run_dir, "--set", "multitask.sample.steps=0")
    assert proc.returncode == 2 and "multitask.sample.steps" in proc.stderr, proc.stderr
    proc = cli("resample", tmp_path / "nowhere")
    assert proc.returncode == 2 and "no scenario.toml" in proc.stderr, proc.stderr
    assert not (run_dir / "resample").exists()
