"""Bad scenario input: every kind of mistake is a one-line error naming the file and the key,
exit status 2, and nothing written (validation of every key)."""
from __future__ import annotations

import copy

import pytest
import tomli_w

from neurosim.cli import main

from scenario_dicts import small

#: a valid training scenario; every case breaks one key of it
BASE = small(name="bad")


def _set(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[int(k)] if isinstance(d, list) else d[k]
    if value is _DELETE:
        del d[keys[-1]]
    elif isinstance(d, list):
        d[int(keys[-1])] = value
    else:
        d[keys[-1]] = value


_DELETE = object()

# (id, edits {dotted path: value}, key the message must name)
CASES = [
    ("unknown_top_level_key", {"colour": "red"}, "colour"),
    ("unknown_training_key", {"training.learning_rate": 0.1}, "training.learning_rate"),
    ("unknown_relax_key", {"training.relax.steps": 30}, "training.relax.steps"),
    ("wrong_type_epochs", {"training.epochs": "ten"}, "training.epochs"),
    ("wrong_type_batch_size", {"training.batch_size": 2.5}, "training.batch_size"),
    ("wrong_type_persistent", {"training.persistent_states": "yes"}, "training.persistent_states"),
    ("unknown_block_in_projection", {"network.projections.0.pre": "nope"}, "network.projections[0].pre"),
    ("unknown_input_block", {"training.input_block": "nope"}, "training.input_block"),
    ("unknown_output_block", {"training.output_block": "nope"}, "training.output_block"),
    ("nudges_in_train_kind", {"nudges": [{"block": "nope", "target": [0.0]}]}, "nudges"),
    ("input_size_mismatch", {"network.blocks.0.size": 63}, "training.input_block"),
    ("output_size_mismatch", {"network.blocks.2.size": 9}, "training.output_block"),
    ("negative_lr", {"training.lr": -0.1}, "training.lr"),
    ("negative_lr_in_list", {"training.lr": [0.1, -0.05]}, "training.lr"),
    ("lr_list_wrong_length", {"training.lr": [0.1]}, "training.lr"),
    ("lr_table_unknown_projection", {"training.lr": {"in->h": 0.1, "x->y": 0.1}}, "training.lr.x->y"),
    ("negative_free_duration", {"training.relax.free_duration": -1.0}, "training.relax.free_duration"),
    ("zero_dt", {"training.relax.dt": 0.0}, "training.relax.dt"),
    ("negative_beta", {"training.rule_options": {"beta": -0.5}}, "training.rule_options.beta"),
    ("missing_data_section", {"data": _DELETE}, "data"),
    ("missing_training_section", {"training": _DELETE}, "training"),
    ("missing_network_section", {"network": _DELETE}, "network"),
    ("missing_required_key", {"training.input_block": _DELETE}, "training.input_block"),
    ("unknown_rule", {"training.rule": "magic"}, "training.rule"),
    ("unknown_scheduler", {"training.relax.scheduler": "fastest"}, "training.relax.scheduler"),
    ("unknown_dataset", {"data.name": "cifar"}, "data.name"),
    ("unknown_data_option", {"data.options": {"colour": True}}, "data.options.colour"),
    ("hep_needs_holomorphic", {"training.rule": "hep"}, "training.rule"),
    ("momentum_out_of_range", {"training.momentum": 1.5}, "training.momentum"),
    ("zero_epochs", {"training.epochs": 0}, "training.epochs"),
    ("batch_larger_than_data", {"training.batch_size": 250}, "training.batch_size"),  # 200 images
    ("input_equals_output", {"training.output_block": "in"}, "training.output_block"),
    ("training_in_relax_kind", {"kind": "relax"}, "data"),
]


@pytest.mark.parametrize("edits,key", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_scenario_exit_2_names_file_and_key(tmp_path, capsys, edits, key):
    doc = copy.deepcopy(BASE)
    for path, value in edits.items():
        _set(doc, path, value)
    scenario = tmp_path / "bad.toml"
    scenario.write_text(tomli_w.dumps(doc))
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(scenario) in err and f"key '{key}'" in err, err
    assert not out.exists()


def test_not_toml(tmp_path, capsys):
    scenario = tmp_path / "broken.toml"
    scenario.write_text("kind = \n[[[")
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(scenario) in err and "TOML" in err and not out.exists()


def test_compare_bad_rule_writes_nothing(tmp_path, capsys):
    scenario = tmp_path / "ok.toml"
    scenario.write_text(tomli_w.dumps(BASE))
    out = tmp_path / "cmp"
    assert main(["compare", str(scenario), "--rules", "ep_symmetric,magic", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--rules" in err and "magic" in err and not out.exists()


def test_compare_invalid_variant_writes_nothing(tmp_path, capsys):
    """hep on hard_sigmoid blocks is caught for the hep variant before any rule runs."""
    scenario = tmp_path / "ok.toml"
    scenario.write_text(tomli_w.dumps(BASE))
    out = tmp_path / "cmp"
    assert main(["compare", str(scenario), "--rules", "ep_symmetric,hep", "--seeds", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "training.rule" in err and not out.exists()


def test_good_base_validates(tmp_path):
    scenario = tmp_path / "ok.toml"
    scenario.write_text(tomli_w.dumps(BASE))
    assert main(["validate", str(scenario)]) == 0
