"""Dotted-key overrides (scenario/overrides.py) and the sweep plan: parsing, re-validation, errors
that name the key, cell names and seeds — all before anything runs."""
from __future__ import annotations

import pytest
from command_line import ROOT

from neurosim.api import load
from neurosim.cli import main
from neurosim.experiments.sweep import cell_names, plan_sweep, short_keys
from neurosim.scenario.overrides import apply_overrides, parse_assignment, parse_grid_option, parse_value
from neurosim.scenario.schema import ScenarioError

DIGITS = ROOT / "scenarios" / "digits_ep_vs_bp.toml"
XOR = ROOT / "scenarios" / "xor_ep.toml"


@pytest.mark.parametrize("text, value", [("0.003", 0.003), ("3", 3), ("true", True), ("bp_ff", "bp_ff"),
                                         ('"a b"', "a b"), ("[0.5, 0.1]", [0.5, 0.1]), ("1e-4", 1e-4),
                                         ("{in->h = 0.1}", "{in->h = 0.1}"), ('{"in->h" = 0.1}', {"in->h": 0.1})])
def test_values_are_read_as_toml(text, value):
    assert parse_value(text) == value


def test_grid_option_splits_at_top_level_commas_only():
    assert parse_grid_option("training.lr=0.001,[0.1, 0.2],0.01") == ("training.lr", [0.001, [0.1, 0.2], 0.01])
    assert parse_grid_option('training.rule=ep_symmetric,"bp_ff"') == ("training.rule", ["ep_symmetric", "bp_ff"])
    assert parse_assignment("training.rule_options.beta=0.5") == ("training.rule_options.beta", 0.5)
    for bad in ("training.lr", "training.lr=", "=1", "training.lr=1,,2"):
        with pytest.raises(ScenarioError):
            parse_grid_option(bad)


def test_apply_overrides_sets_nested_keys_and_array_entries_and_revalidates():
    base = load(DIGITS)
    s = apply_overrides(base, {"training.lr": 0.01, "training.rule_options.beta": 0.1,
                               "network.blocks[1].size": 128, "training.rule_options.pc.beta": 0.02})
    assert s["training"]["lr"] == 0.01 and s["training"]["rule_options"]["beta"] == 0.1
    assert s["training"]["rule_options"]["pc"]["beta"] == 0.02 and s["network"]["blocks"][1]["size"] == 128
    assert base["training"]["lr"] == 0.003  # the original is untouched
    assert apply_overrides(base.data, {"seed": 4})["seed"] == 4  # a plain dict works too


@pytest.mark.parametrize("overrides, key, words", [
    ({"training.lrr": 0.1}, "training.lrr", "unknown key"),
    ({"training.lr": -1}, "training.lr", "non-negative"),
    ({"training.rule": "nope"}, "training.rule", "expected one of"),
    ({"training.epochs": 1.5}, "training.epochs", "an integer"),
    ({"network.blocks[7].size": 3}, "network.blocks[7].size", "out of range"),
    ({"gradcheck.batch": 3}, "gradcheck.batch", "no [gradcheck] section"),
    ({"seed.x": 1}, "seed.x", "not a table"),
    ({"training..lr": 1}, "training..lr", "dotted key"),
])
def test_bad_overrides_name_the_key(overrides, key, words):
    with pytest.raises(ScenarioError) as info:
        apply_overrides(load(DIGITS), overrides)
    assert info.value.key == key and words in info.value.message
    assert str(DIGITS) in str(info.value)


def test_plan_is_the_product_of_the_grid_times_seeds_with_readable_names(tmp_path):
    plan = plan_sweep(DIGITS, ["training.lr=0.001,0.01", "training.rule=ep_symmetric,bp_ff"], 3, tmp_path)
    assert [c["name"] for c in plan.cells] == ["lr=0.001_rule=ep_symmetric", "lr=0.001_rule=bp_ff",
                                               "lr=0.01_rule=ep_symmetric", "lr=0.01_rule=bp_ff"]
    assert plan.seeds == [0, 1, 2] and len(plan.runs) == 12
    assert plan.runs[4].run_dir == tmp_path / "lr=0.001_rule=bp_ff" / "seed1"
    assert 'rule = "bp_ff"' in plan.runs[4].toml and "seed = 1" in plan.runs[4].toml
    assert short_keys(["training.rule_options.beta", "gradcheck.beta", "training.lr"]) == {
        "training.rule_options.beta": "rule_options.beta", "gradcheck.beta": "gradcheck.beta",
        "training.lr": "lr"}
    assert cell_names([{"k": [0.5, 0.1]}, {"k": "a/b"}], ["k"]) == ["k=0.5+0.1", "k=a-b"]


def test_sweep_table_of_a_scenario_file_is_the_default_grid(tmp_path):
    text = XOR.read_text() + '\n[sweep]\nseeds = 2\n[sweep.grid]\n"training.lr" = [0.5, 0.25]\n' \
                             'training.rule_options.beta = [0.1, 0.5]\n'
    path = tmp_path / "xor_sweep.toml"
    path.write_text(text)
    plan = plan_sweep(load(path), None, None, tmp_path / "out")
    assert list(plan.grid) == ["training.lr", "training.rule_options.beta"] and plan.seeds == [1, 2]
    assert len(plan.runs) == 8 and "[sweep]" not in plan.runs[0].toml  # cells are plain runs
    plan = plan_sweep(load(path), ["training.lr=0.1"], 1, tmp_path / "out")  # the command line wins
    assert plan.grid["training.lr"] == [0.1] and len(plan.runs) == 2
    path.write_text(XOR.read_text() + '\n[sweep]\ngrid = {"training.lr" = 0.5}\n')
    with pytest.raises(ScenarioError, match="sweep.grid"):
        load(path)


@pytest.mark.parametrize("grid, key", [("training.lrr=0.1,0.2", "training.lrr"), ("training.lr=0.1,-2", "training.lr"),
                                       ("seed=1,2", "seed"), ("training.lr=0.1,0.1", "training.lr")])
def test_bad_grid_exits_2_naming_the_key_and_writes_nothing(tmp_path, capsys, grid, key):
    out = tmp_path / "sweep"
    assert main(["sweep", str(XOR), "--grid", grid, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"key '{key}'" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
