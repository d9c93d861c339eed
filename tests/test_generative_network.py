"""The block network as the denoiser: training lowers the DSM / CFM loss, the runner's contract,
``neurosim generate``, ``neurosim compare`` on a generative scenario, and the digits metric machinery."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.data.toy2d import moons
from neurosim.experiments.denoiser import NetworkDenoiser, denoiser_network
from neurosim.experiments.generative_metrics import digit_classifier, per_class_w2
from neurosim.generative.data import GenData, make_cond
from neurosim.generative.embedding import embed, embed_dim
from neurosim.generative.objective import Objective
from neurosim.generative import objectives as ob
from neurosim.learning.estimators import get_estimator
from neurosim.learning.nudging import RelaxConfig
from neurosim.learning.optim import make_optimizer, resolve_lrs
from neurosim.scenario.load import from_dict
from neurosim.scenario.schema import ScenarioError


def tiny_scenario(rule="bp_ff", steps=20, objective="icfm", hidden=16, **gen):
    n_in = 2 + embed_dim("fourier", 4)
    g = {"data": "moons", "objective": objective, "n_embed": 4, "steps": steps, "eval_every": 10,
         "n_eval": 100, "sampler_steps": 10, "warm_duration": 5.0}
    if objective == "dsm":
        g.update({"schedule": "edm", "parametrisation": "edm", "sampler": "heun", "sampler_steps": 6})
    g.update(gen)
    return {
        "name": "tiny_gen", "kind": "generative", "seed": 0, "plots": False,
        "network": {"blocks": [{"name": "input", "size": n_in, "activation": "identity"},
                               {"name": "h1", "size": hidden, "activation": "hard_sigmoid"},
                               {"name": "out", "size": 2, "activation": "identity"}],
                    "projections": [{"pre": "input", "post": "h1"}, {"pre": "h1", "post": "out"}]},
        "training": {"input_block": "input", "output_block": "out", "rule": rule, "batch_size": 64,
                     "optimizer": "adam", "lr": 3e-3, "rule_options": {"beta": 0.2},
                     "relax": {"free_duration": 20.0, "nudged_duration": 8.0}},
        "generative": g,
    }


def test_embedding_and_input_layout():
    e = embed(np.array([0.0, 0.5, 1.0]), "fourier", 3)
    assert e.shape == (3, 7) and np.allclose(e[:, 0], [0, 0.5, 1])
    oh = embed(np.array([0.0, 0.49, 0.99, 1.0]), "onehot", 4)
    assert oh.sum(axis=1).tolist() == [1, 1, 1, 1] and oh.argmax(axis=1).tolist() == [0, 1, 3, 3]
    net = denoiser_network(2, (8,), cond_dim=3, n_embed=4)
    model = NetworkDenoiser(net, net.init_params(np.random.default_rng(0)), 2, n_embed=4, cond_dim=3)
    inp = model.inputs(np.ones((5, 2)), 0.3, None)
    assert inp.shape == (5, 2 + 9 + 3) and np.all(inp[:, -3:] == 0)       # null condition = 0
    with pytest.raises(ValueError, match="needs"):
        NetworkDenoiser(net, net.init_params(np.random.default_rng(0)), 2, n_embed=4, cond_dim=0)


def _fixed_batch(objective, n=512, seed=99):
    rng = np.random.default_rng(seed)
    x1 = moons(n, rng)
    return objective.batch(x1, rng)


def _loss(model, batch):
    x, u, target = batch
    model.reset()
    return float(np.mean(0.5 * np.sum((model.predict(x, u, warm=False) - target) ** 2, axis=1)))


@pytest.mark.parametrize("rule,objective", [("ep_symmetric", "icfm"), ("ep_symmetric", "dsm"),
                                            ("bp_ff", "icfm")])
def test_training_lowers_the_loss_and_lr_zero_does_not(rule, objective):
    obj = (Objective("icfm") if objective == "icfm" else
           Objective.from_spec({"objective": "dsm", "schedule": "edm", "schedule_options": {},
                                "parametrisation": "edm", "sigma_min": 0.0, "sigma_data": 0.7}))
    batch = _fixed_batch(obj)
    losses = {}
    for lr in (0.0, 3e-3):
        net = denoiser_network(2, (32,), n_embed=4)
        params = net.init_params(np.random.default_rng(1))
        model = NetworkDenoiser(net, params, 2, n_embed=4, relax=RelaxConfig(dt=1.0, free_duration=20, nudged_duration=8, tol=None),
                                view="ff" if rule == "bp_ff" else "relax")
        opt = make_optimizer("adam", params, resolve_lrs(params, [(p.name, p.pre, p.post) for p in net.projections], lr))
        est = get_estimator(rule, **({"beta": 0.2} if rule != "bp_ff" else {}))
        before = _loss(model, batch)
        for step in range(250):
            rng = np.random.default_rng([3, step])
            x1 = moons(64, rng)
            x, u, target = obj.batch(x1, rng)
            grad, _ = est.gradient(model.problem(x, u, None, target, seed=step))
            opt.step(params, grad)
        losses[lr] = (before, _loss(model, batch))
    assert losses[0.0][0] == pytest.approx(losses[0.0][1])          # lr = 0: nothing moves
    assert losses[3e-3][1] < 0.8 * losses[3e-3][0], losses            # trained: the loss falls


def test_run_contract_generate_and_compare(tmp_path, capsys):
    from neurosim.api import generate, run
    from neurosim.cli import main
    from neurosim.experiments.compare import compare
    res = run(tiny_scenario("ep_symmetric", steps=20), tmp_path / "run")
    m = res.metrics
    for key in ("w2", "w2_floor", "mmd"):
        assert np.isfinite(m[key])
    assert (tmp_path / "run" / "checkpoint.npz").exists() and (tmp_path / "run" / "samples.npz").exists()
    assert [r["step"] for r in res.history] == [10, 20]
    with np.load(tmp_path / "run" / "samples.npz") as z:
        assert z["samples"].shape == (100, 2) and z["reference"].shape == (100, 2)
    assert main(["generate", str(tmp_path / "run"), "--n", "60", "--sampler", "heun", "--steps", "5",
                 "--out", str(tmp_path / "g" / "s.npz")]) == 0
    with np.load(tmp_path / "g" / "s.npz") as z:
        assert z["samples"].shape == (60, 2)
    assert (tmp_path / "g" / "s.png").exists()
    info = generate(tmp_path / "run", n=30, steps=4, plot=True)
    assert info["shape"] == [30, 2] and (tmp_path / "run" / "generate" / "samples.npz").exists()
    # the generate folder is a run directory: the figure and report `neurosim plot` would draw
    gen = tmp_path / "run" / "generate"
    assert info["report"] == str(gen / "report.html") and (gen / "plots" / "samples.png").exists()
    assert "neurosim generate · " in (gen / "report.html").read_text()
    doc = compare(from_dict(tiny_scenario(steps=10)), ["bp_ff", "ep_symmetric"], seeds=1,
                  out=tmp_path / "cmp", plots=False)
    assert set(doc["rules"]) == {"bp_ff", "ep_symmetric"}
    assert all(np.isfinite(doc["rules"][r]["w2"]) for r in doc["rules"])
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["rules"]["bp_ff"]["w2_floor"] > 0


def test_dsm_run_and_validation_messages(tmp_path):
    from neurosim.api import run
    m = run(tiny_scenario("bp_ff", steps=10, objective="dsm"), tmp_path / "dsm").metrics
    assert np.isfinite(m["w2"]) and m["sampler"] == "heun"
    bad = tiny_scenario()
    bad["network"]["blocks"][0]["size"] = 5
    with pytest.raises(ScenarioError, match="training.input_block.*11 units"):
        from_dict(bad)
    with pytest.raises(ScenarioError, match="generative.sampler"):
        from_dict(tiny_scenario(sampler="ancestral"))
    with pytest.raises(ScenarioError, match="generative.condition"):
        from_dict(tiny_scenario(condition="class"))


def test_digits_metric_machinery():
    data = GenData("digits", {})
    assert data.x_train.min() == -1.0 and data.x_train.max() == 1.0
    clf = digit_classifier(data.x_train, data.y_train)
    acc = clf.score(data.x_test, data.y_test)
    assert acc > 0.9, acc                                     # the judge of conditional accuracy
    # real test digits as "generated" samples: per-class W2 is finite, and labels line up
    pcw = per_class_w2(data.x_test, data.y_test, data.x_test, data.y_test)
    assert len(pcw) == 10 and all(v == pytest.approx(0.0, abs=1e-9) for v in pcw.values())
    g = {"condition": "class+top", "p_uncond": 1.0, "p_drop_top": 0.0}
    c = make_cond(g, data, data.x_test[:4], data.y_test[:4], np.random.default_rng(0), drop=True)
    assert c.shape == (4, 42) and np.all(c[:, :10] == 0) and np.allclose(c[:, 10:], data.x_test[:4, :32])


@pytest.mark.parametrize("changes", [
    {"objective": "dsm", "schedule": "vp", "parametrisation": "eps", "sampler": "ancestral"},
    {"objective": "dsm", "schedule": "vp", "parametrisation": "velocity", "sampler": "ancestral"},
    {"objective": "dsm", "schedule": "ve", "parametrisation": "x0", "sampler": "langevin", "sampler_steps": 3},
    {"objective": "dsm", "schedule": "edm", "parametrisation": "score", "sampler": "euler"},
    {"objective": "otcfm", "sampler": "heun"},
])
def test_every_objective_and_sampler_runs(tmp_path, changes):
    from neurosim.api import run
    m = run(tiny_scenario("bp_ff", steps=5, **changes), tmp_path / "r").metrics
    assert np.isfinite(m["w2"]) and np.isfinite(m["mmd"]) and m["sampler"] == changes["sampler"]


def test_hep_needs_holomorphic_hidden_blocks():
    with pytest.raises(ScenarioError, match="holomorphic"):
        from_dict(tiny_scenario("hep"))
    sc = tiny_scenario("hep")
    sc["network"]["blocks"][1]["activation"] = "sigmoid4"
    assert from_dict(sc)["training"]["rule"] == "hep"


@pytest.mark.parametrize("parametrisation", ["edm", "eps", "velocity"])
def test_the_runners_dsm_batch_is_the_librarys(parametrisation):
    """The runner's minibatch of step k is make_dsm_batch on the generator of (training seed, k),
    scaled by the library's EDM preconditioning — the same numbers, bit for bit."""
    from neurosim.experiments.generative import GenTrainer
    from neurosim.generative.schedules import EDM
    tr = GenTrainer(from_dict(tiny_scenario(objective="dsm", parametrisation=parametrisation, sigma_data=0.7)))
    xin, u, cond, target = tr.batch(3)
    rng = np.random.default_rng([tr.seed, 3])
    x1, _ = tr.data.sample(64, rng)
    kind = "x0" if parametrisation == "edm" else parametrisation
    x_t, sigma, want, _ = ob.make_dsm_batch(x1, EDM(), rng, target=kind)
    c_skip, c_out, c_in, _ = (c[:, None] for c in EDM(sigma_data=0.7).preconditioning(sigma))
    if parametrisation == "edm":  # the raw network F of D = c_skip x + c_out F
        want = (want - c_skip * x_t) / c_out
        np.testing.assert_allclose(c_skip * x_t + c_out * target, x1, atol=1e-12)
    np.testing.assert_array_equal(xin, c_in * x_t)
    np.testing.assert_array_equal(target, want)
    lo, hi = np.log(EDM().sigma_min), np.log(EDM().sigma_max)
    np.testing.assert_allclose(u, np.clip((np.log(sigma) - lo) / (hi - lo), 0, 1))
    assert cond is None


def test_the_runners_flow_batch_is_the_librarys():
    from neurosim.experiments.generative import GenTrainer
    tr = GenTrainer(from_dict(tiny_scenario(objective="icfm")))
    xin, u, _, target = tr.batch(5)
    rng = np.random.default_rng([tr.seed, 5])
    x1, _ = tr.data.sample(64, rng)
    psi, t, v = ob.icfm_batch(rng.standard_normal(x1.shape), x1, rng)
    np.testing.assert_array_equal(xin, psi)
    np.testing.assert_array_equal(u, t)
    np.testing.assert_array_equal(target, v)


def test_a_resumed_generative_run_equals_an_uninterrupted_one(tmp_path):
    """The one loop (experiments/loop.py): stop after step 10, resume to 20 — same parameters,
    same history losses and metrics as 20 steps in one go; a changed scenario is refused."""
    from neurosim.api import run
    from neurosim.experiments.checkpoint import CheckpointError
    full = run(tiny_scenario("bp_ff", steps=20), tmp_path / "full")
    part = run(tiny_scenario("bp_ff", steps=10), tmp_path / "part")
    resumed = run(tiny_scenario("bp_ff", steps=20), tmp_path / "part", resume=True)
    assert resumed.history[0]["seconds"] == part.history[0]["seconds"]   # the first 10 steps: not rerun
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in full.history]
    assert resumed.metrics["w2"] == full.metrics["w2"] and resumed.metrics["steps"] == 20
    with np.load(tmp_path / "full" / "checkpoint.npz") as a, np.load(tmp_path / "part" / "checkpoint.npz") as b:
        for key in a.files:
            if key.startswith(("weights/", "bias/", "optim/")):
                np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(CheckpointError, match="differs"):
        run(tiny_scenario("bp_ff", steps=30, n_embed=4, p_uncond=0.2), tmp_path / "part", resume=True)
