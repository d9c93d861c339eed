"""training.augment: random translations of the training images (neurosim/data/augment.py)."""
from __future__ import annotations

import numpy as np
import pytest
import tomli_w

import neurosim.api as ns
from neurosim.data.augment import random_offsets, translate
from neurosim.experiments.rundir import metrics_without_timing
from neurosim.scenario.schema import ScenarioError

from scenario_dicts import small


def rolled(img: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """The translation by hand: np.roll, then the rows / columns that wrapped round set to fill."""
    out = np.roll(img, (dy, dx), axis=(0, 1)).astype(float)
    if dy > 0:
        out[:dy, :] = fill
    elif dy < 0:
        out[dy:, :] = fill
    if dx > 0:
        out[:, :dx] = fill
    elif dx < 0:
        out[:, dx:] = fill
    return out


@pytest.mark.parametrize("fill", [0.0, -1.0])
def test_translate_equals_roll_with_fill(fill):
    rng = np.random.default_rng(0)
    rows, cols = 5, 7
    x = rng.random((40, rows * cols))
    offsets = rng.integers(-3, 4, size=(40, 2))
    got = translate(x, offsets, (rows, cols), fill)
    for i in range(len(x)):
        want = rolled(x[i].reshape(rows, cols), *offsets[i], fill)
        assert np.array_equal(got[i].reshape(rows, cols), want), offsets[i]


def test_translate_moves_content_down_and_right():
    img = np.zeros((4, 4))
    img[1, 1] = 1.0
    out = translate(img.reshape(1, 16), np.array([[1, 2]]), (4, 4)).reshape(4, 4)
    assert out[2, 3] == 1.0 and out.sum() == 1.0


def test_zero_offsets_are_the_identity():
    x = np.random.default_rng(1).random((6, 64))
    out = translate(x, np.zeros((6, 2), dtype=int), (8, 8), 0.5)
    assert np.array_equal(out, x) and out is not x


def test_offsets_are_seeded_by_seed_and_epoch_alone():
    a = random_offsets(3, 2, 5000, 1)
    assert np.array_equal(a, random_offsets(3, 2, 5000, 1))
    assert not np.array_equal(a, random_offsets(3, 3, 5000, 1))
    assert not np.array_equal(a, random_offsets(4, 2, 5000, 1))
    assert set(np.unique(a)) == {-1, 0, 1}                     # all of [-shift, shift], nothing else
    assert np.allclose(np.bincount((a + 1).ravel()) / a.size, 1 / 3, atol=0.02)


def _history(r):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in r.history]


def test_shift_zero_equals_no_augment_and_shift_changes_training(tmp_path):
    base = ns.train(small(training__epochs=1), tmp_path / "base")
    zero = ns.train(small(training__epochs=1, training__augment={"shift": 0}), tmp_path / "zero")
    one = ns.train(small(training__epochs=1, training__augment={"shift": 1}), tmp_path / "one")
    again = ns.train(small(training__epochs=1, training__augment={"shift": 1}), tmp_path / "again")
    assert _history(zero) == _history(base)
    assert _history(one) != _history(base)        # the network saw other images
    assert _history(again) == _history(one)       # same seed: the same translations
    with np.load(tmp_path / "one" / "checkpoint.npz") as a, np.load(tmp_path / "again" / "checkpoint.npz") as b:
        assert np.array_equal(a["weights/in->h"], b["weights/in->h"])


def test_the_batches_are_the_translated_images(tmp_path):
    """The trainer's batch inputs are translate() of the examples with the epoch's offsets."""
    from neurosim.experiments.train import Trainer
    from neurosim.scenario.load import from_dict
    tr = Trainer(from_dict(small(training__augment={"shift": 2})))
    idx = tr.order(1)[:20]
    offsets = random_offsets(tr.seed, 1, len(tr.x_train), 2)[:20]
    x = tr.problem(idx, 0, offsets=offsets).clamped["in"]
    assert tr.blank == 0.0 and tr.image_shape == (8, 8)
    for i in range(20):
        assert np.array_equal(x[i].reshape(8, 8), rolled(tr.x_train[idx[i]].reshape(8, 8), *offsets[i], 0.0))


def test_resume_with_augment_equals_uninterrupted(tmp_path):
    changes = {"training__augment": {"shift": 1}}
    full = ns.train(small(training__epochs=2, **changes), tmp_path / "full")
    ns.train(small(training__epochs=1, **changes), tmp_path / "cut")
    resumed = ns.train(small(training__epochs=2, **changes), tmp_path / "cut", resume=True)
    assert metrics_without_timing(resumed.metrics) == metrics_without_timing(full.metrics)
    assert _history(resumed) == _history(full)
    with np.load(tmp_path / "full" / "checkpoint.npz") as a, np.load(tmp_path / "cut" / "checkpoint.npz") as b:
        for key in a.files:
            if key != "meta":
                assert np.array_equal(a[key], b[key]), key


def test_nested_set_on_the_command_line(tmp_path):
    from neurosim.cli import main
    path = tmp_path / "s.toml"
    path.write_text(tomli_w.dumps(small(training__epochs=1)))
    assert main(["run", str(path), "--set", "training.augment.shift=1", "--out", str(tmp_path / "a"),
                 "--quiet", "--no-plots"]) == 0
    ref = ns.train(small(training__epochs=1, training__augment={"shift": 1}), tmp_path / "b")
    rows = (tmp_path / "a" / "history.csv").read_text().splitlines()
    assert abs(float(rows[-1].split(",")[3]) - ref.history[-1]["test_accuracy"]) < 1e-12


XOR = {"data__name": "xor", "network__blocks": [{"name": "in", "size": 2}, {"name": "h", "size": 8},
                                                 {"name": "out", "size": 2}]}


@pytest.mark.parametrize("changes, expected", [
    ({"training__augment": {"shift": -1}}, "a non-negative integer"),
    ({"training__augment": {"shift": 1.5}}, "an integer"),
    ({"training__augment": {"shift": 8}}, "below 8"),
    ({"training__augment": {"shift": 1}, **XOR}, "no image shape"),
    ({"training__augment": {"shfit": 1}}, "did you mean"),
], ids=["negative", "non_integer", "too_large", "not_images", "typo"])
def test_bad_augment_is_refused(tmp_path, capsys, changes, expected):
    from neurosim.cli import main
    doc = small(**changes)
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(doc))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "training.augment.s" in err and expected in err, err
    assert len(err.splitlines()) == 1 and not out.exists()
    with pytest.raises(ScenarioError):
        ns.load(path)


def test_generative_kind_refuses_augment():
    from pathlib import Path
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with open(Path(__file__).resolve().parents[1] / "scenarios" / "toy2d_moons_flow.toml", "rb") as f:
        doc = tomllib.load(f)
    from neurosim.scenario.load import from_dict
    from_dict(doc)   # valid as it is
    doc["training"]["augment"] = {"shift": 1}
    with pytest.raises(ScenarioError, match=r"training\.augment\.shift.*only kind = \"train\""):
        from_dict(doc)
