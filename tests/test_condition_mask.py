"""Random-mask inpainting: a task's ``condition_mask`` shows its condition block through a new
random subset of k = round(f n) units per example (the rest silent), and bad tables are refused."""
import copy

import numpy as np
import pytest

from neurosim.experiments.multitask import EVAL_NOISE_SEED, task_specs
from neurosim.scenario.load import from_dict, load_scenario
from neurosim.scenario.schema import ScenarioError

SIX = "scenarios/brain_six.toml"


def _inpaint(sc):
    return next(t for t in task_specs(sc) if t.name == "inpaint")


def test_the_mask_gives_half_the_pixels_and_differs_per_example():
    task = _inpaint(load_scenario(SIX))
    assert (task.mask_block, task.mask_fraction) == ("inp_seen", 0.5)
    rng = np.random.default_rng(0)
    image = rng.uniform(0.1, 1.0, (40, 64))        # no zero pixel: a zero in the shown values is a masked one
    shown = task.condition_values({"image": image}, np.arange(40), np.random.default_rng(1))["inp_seen"]
    given = shown != 0
    assert np.all(given.sum(axis=1) == 32)          # exactly round(0.5 · 64) pixels given per example
    np.testing.assert_array_equal(shown[given], image[given])  # the given pixels are the image's own
    assert len({row.tobytes() for row in given}) == 40   # every example its own subset
    # not a fixed region: every pixel is given to some examples and hidden from others
    assert 0 < given.mean(axis=0).min() and given.mean(axis=0).max() < 1
    # the same image shown twice gets two different masks (a new one at every presentation)
    again = task.condition_values({"image": image}, np.zeros(2, dtype=int), np.random.default_rng(2))["inp_seen"]
    assert not np.array_equal(again[0] != 0, again[1] != 0)


def test_the_evaluation_draws_its_masks_from_a_fixed_stream():
    task = _inpaint(load_scenario(SIX)).evaluated()
    image = np.ones((10, 64))
    a, b = (task.condition_values({"image": image}, np.arange(10), np.random.default_rng(EVAL_NOISE_SEED))["inp_seen"]
            for _ in range(2))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mask, key", [
    ({"fraction": 1.5}, "tasks[3].condition_mask.fraction"),
    ({"fraction": 0.0}, "tasks[3].condition_mask.fraction"),
    ({"fraction": 1.0}, "tasks[3].condition_mask.fraction"),
    ({"fraction": 0.5, "block": "inp_image"}, "tasks[3].condition_mask.block"),
    ({"block": "inp_seen"}, "tasks[3].condition_mask.fraction"),
])
def test_bad_condition_masks_name_the_key(mask, key):
    data = copy.deepcopy(load_scenario(SIX).data)
    assert data["tasks"][3]["name"] == "inpaint"
    data["tasks"][3]["condition_mask"] = mask
    with pytest.raises(ScenarioError) as err:
        from_dict(data, "bad.toml")
    assert f"'{key}'" in str(err.value) and "bad.toml" in str(err.value)


def test_a_mask_needs_a_named_block_on_a_task_with_several_conditions():
    data = copy.deepcopy(load_scenario(SIX).data)
    data["tasks"][0]["condition_mask"] = {"fraction": 0.5}   # classify: one condition, resolved to it
    classify = task_specs(from_dict(copy.deepcopy(data), "ok.toml"))[0]
    assert (classify.mask_block, classify.mask_fraction) == ("cls_image", 0.5)
    data["tasks"][2].update(condition=["img_label", "cm_image"], condition_data=["label", "image"],
                            condition_mask={"fraction": 0.5})
    with pytest.raises(ScenarioError, match="tasks\\[2\\].condition_mask.block"):
        from_dict(data, "bad.toml")
