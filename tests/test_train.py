"""Training runs (kind = "train"), optimisers and bit-identical resume."""
from __future__ import annotations

import numpy as np
import pytest

import neurosim.api as ns
from neurosim.experiments.rundir import metrics_without_timing
from neurosim.learning.optim import Adam, SGD, make_optimizer, resolve_lrs
from neurosim.model.network import Params

from scenario_dicts import small

# -- optimisers -------------------------------------------------------------------------------
def _params():
    return Params({"a->b": np.ones((2, 3))}, {"a": np.zeros(2), "b": np.ones(3)})


def test_resolve_lrs_list_dict_and_bias_rule():
    projs = [("a->b", "a", "b"), ("b->c", "b", "c")]
    p = Params({"a->b": np.zeros((1, 1)), "b->c": np.zeros((1, 1))},
               {"a": np.zeros(1), "b": np.zeros(1), "c": np.zeros(1)})
    lrs = resolve_lrs(p, projs, [0.1, 0.05])
    assert lrs[("weights", "a->b")] == 0.1 and lrs[("weights", "b->c")] == 0.05
    assert lrs[("biases", "b")] == 0.1 and lrs[("biases", "c")] == 0.05  # incoming projection
    assert lrs[("biases", "a")] == 0.1                                     # outgoing, no incoming
    assert resolve_lrs(p, projs, {"a->b": 0.3, "b->c": 0.2})[("biases", "c")] == 0.2
    with pytest.raises(ValueError):
        resolve_lrs(p, projs, [0.1])


def test_sgd_momentum_and_adam_updates():
    p, g = _params(), _params()
    lrs = {("weights", "a->b"): 0.5, ("biases", "a"): 0.5, ("biases", "b"): 0.0}
    opt = SGD(p, lrs, momentum=0.9)
    opt.step(p, g)
    opt.step(p, g)   # v = 1, then 1.9: θ = 1 − 0.5·(1 + 1.9)
    assert np.allclose(p.weights["a->b"], 1 - 0.5 * 2.9)
    assert np.allclose(p.biases["b"], 1.0)                # lr 0 leaves it alone
    p2 = _params()
    adam = Adam(p2, lrs)
    adam.step(p2, _params())
    assert np.allclose(p2.weights["a->b"], 1 - 0.5, atol=1e-6)  # first Adam step is lr·sign(g)


def test_optimizer_state_roundtrip_is_bit_identical():
    rng = np.random.default_rng(0)
    lrs = {("weights", "a->b"): 0.1, ("biases", "a"): 0.1, ("biases", "b"): 0.1}
    grads = [Params({"a->b": rng.normal(size=(2, 3))}, {"a": rng.normal(size=2), "b": rng.normal(size=3)})
             for _ in range(6)]
    for kind in ("sgd", "adam"):
        p_a, p_b = _params(), _params()
        a = make_optimizer(kind, p_a, lrs, momentum=0.9)
        for g in grads:
            a.step(p_a, g)
        b = make_optimizer(kind, p_b, lrs, momentum=0.9)
        for g in grads[:3]:
            b.step(p_b, g)
        state = b.state_dict()
        c = make_optimizer(kind, p_b, lrs, momentum=0.9)
        c.load_state_dict(state)
        for g in grads[3:]:
            c.step(p_b, g)
        for (_, _, x), (_, _, y) in zip(p_a.items(), p_b.items()):
            assert np.array_equal(x, y)


# -- training ---------------------------------------------------------------------------------
def test_learning_rate_zero_does_not_learn(tmp_path):
    r = ns.train(small(training__lr=0.0), tmp_path / "lr0")
    acc = [row["test_accuracy"] for row in r.history]
    assert len(acc) == 4 and max(acc) == acc[0] < 0.3   # nothing changes: chance level throughout


@pytest.mark.parametrize("rule", ["ep_symmetric", "bp_ff"])
def test_learning_rate_positive_learns_digits(tmp_path, rule):
    r = ns.train(small(training__rule=rule, training__lr=[0.2, 0.1], training__batch_size=10,
                       data__limit_train=400), tmp_path / rule)
    assert r.history[0]["test_accuracy"] < 0.3
    assert r.metrics["test_accuracy"] > r.history[0]["test_accuracy"] + 0.25, r.history
    assert r.history[-1]["train_loss"] < r.history[1]["train_loss"]


def test_xor_learns(tmp_path):
    r = ns.train("scenarios/xor_ep.toml", tmp_path / "xor")
    assert r.metrics["test_accuracy"] == 1.0, r.history


def test_run_dir_contract(tmp_path):
    r = ns.train(small(training__epochs=1, training__grad_cosine=True), tmp_path / "run")
    for name in ("scenario.toml", "metrics.json", "history.csv", "checkpoint.npz", "network.json"):
        assert (tmp_path / "run" / name).exists(), name
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0].split(",")
    for col in ("epoch", "train_loss", "test_accuracy", "grad_cosine_to_bp", "seconds"):
        assert col in header
    for key in ("test_accuracy", "epochs", "best_test_accuracy", "train_loss", "wall_seconds",
                "seconds_per_epoch", "grad_cosine_to_bp"):
        assert key in r.metrics
    assert r.metrics["epochs"] == 1
    assert 0.0 < r.metrics["grad_cosine_to_bp"] <= 1.0   # symmetric EP at β = 0.5 points along bp
    from neurosim.experiments.checkpoint import read_checkpoint
    arrays, state, _ = read_checkpoint(tmp_path / "run" / "checkpoint.npz", "train")
    assert {"weights/in->h", "bias/h", "optim/t", "epoch", "step"} <= set(arrays)
    assert int(arrays["epoch"]) == int(arrays["step"]) == state["done"] == 1
    assert [row["epoch"] for row in state["history"]] == [0, 1]   # the rows history.csv shows


@pytest.mark.parametrize("changes", [
    {},
    {"training__optimizer": "adam", "training__lr": 0.002, "training__persistent_states": True,
     "training__rule": "ep_random_sign"},
    {"training__momentum": 0.9, "training__rule": "bp_ff"},
], ids=["sgd", "adam_persistent_random_sign", "momentum_bp_ff"])
def test_resume_equals_uninterrupted(tmp_path, changes):
    full = ns.train(small(training__epochs=2, **changes), tmp_path / "full")
    ns.train(small(training__epochs=1, **changes), tmp_path / "cut")
    resumed = ns.train(small(training__epochs=2, **changes), tmp_path / "cut", resume=True)
    assert metrics_without_timing(resumed.metrics) == metrics_without_timing(full.metrics)
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(resumed.history) == strip(full.history)
    with np.load(tmp_path / "full" / "checkpoint.npz") as a, np.load(tmp_path / "cut" / "checkpoint.npz") as b:
        assert a.files == b.files
        for key in a.files:
            if key != "meta":  # the meta entry holds wall times
                assert np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"), key


def test_resume_refuses_other_scenario(tmp_path):
    from neurosim.scenario.schema import ScenarioError
    ns.train(small(training__epochs=1), tmp_path / "run")
    with pytest.raises(ScenarioError, match="different scenario"):
        ns.train(small(training__epochs=2, training__batch_size=10), tmp_path / "run", resume=True)


def test_resume_with_fewer_epochs_than_the_checkpoint_is_refused(tmp_path):
    """It would train nothing and report the checkpoint's epoch as the run's end: refused, naming
    training.epochs, the checkpoint untouched."""
    from neurosim.scenario.schema import ScenarioError
    ns.train(small(training__epochs=2), tmp_path / "run")
    before = (tmp_path / "run" / "checkpoint.npz").read_bytes()
    with pytest.raises(ScenarioError, match=r"training.epochs.*expected at least 2 to resume"):
        ns.train(small(training__epochs=1), tmp_path / "run", resume=True)
    assert (tmp_path / "run" / "checkpoint.npz").read_bytes() == before


def test_cli_resume(tmp_path):
    from neurosim.cli import main
    import tomli_w
    path = tmp_path / "s.toml"
    path.write_text(tomli_w.dumps(small(training__epochs=1)))
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    path.write_text(tomli_w.dumps(small(training__epochs=2)))
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--resume", "--quiet"]) == 0
    rows = (tmp_path / "r" / "history.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]


# -- learning-rate schedule ---------------------------------------------------------------------
def test_lr_factor_constant_and_cosine():
    from neurosim.learning.optim import lr_factor
    assert [lr_factor("constant", e, 4) for e in (1, 4)] == [1.0, 1.0]
    # ½(1 + cos(π (e − 1)/4)) for e = 1..4: 1, (2 + √2)/4, ½, (2 − √2)/4
    assert np.allclose([lr_factor("cosine", e, 4) for e in range(1, 5)],
                       [1.0, (2 + np.sqrt(2)) / 4, 0.5, (2 - np.sqrt(2)) / 4])
    with pytest.raises(ValueError, match="cosine"):
        lr_factor("step", 1, 4)


def test_cosine_schedule_is_plain_sgd_at_the_scaled_rate():
    """Epoch 2 of 2 under cosine (factor ½) moves the weights exactly as a constant-rate run at half
    the rates does from the same weights; epoch 1 (factor 1) as the constant run at the full rates."""
    from neurosim.experiments.train import Trainer
    from neurosim.scenario.load import from_dict
    cos = Trainer(from_dict(small(training__epochs=2, training__lr_schedule="cosine", data__limit_train=60)))
    const = Trainer(from_dict(small(training__epochs=2, data__limit_train=60)))
    half = Trainer(from_dict(small(training__epochs=2, training__lr=[0.05, 0.025], data__limit_train=60)))
    cos.train_epoch(1)
    const.train_epoch(1)
    for (_, name, a), (_, _, b) in zip(cos.params.items(), const.params.items()):
        assert np.array_equal(a, b), name
    for kind, name, theta in half.params.items():
        theta[...] = getattr(cos.params, kind)[name]
    before = {name: theta.copy() for _, name, theta in cos.params.items()}
    cos.train_epoch(2)
    half.train_epoch(2)
    const.train_epoch(2)
    moved = []
    for (_, name, a), (_, _, b), (_, _, c) in zip(cos.params.items(), half.params.items(), const.params.items()):
        assert np.allclose(a, b, rtol=0, atol=1e-12), name
        moved.append(not np.allclose(a, c))
    assert any(moved)  # the schedule changed something: the constant run took the full step
    assert any(not np.allclose(before[name], a) for _, name, a in cos.params.items())


def test_lr_schedule_key_is_validated():
    from neurosim.scenario.load import from_dict
    from neurosim.scenario.schema import ScenarioError
    with pytest.raises(ScenarioError, match="training.lr_schedule"):
        from_dict(small(training__lr_schedule="linear"))
