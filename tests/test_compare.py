"""neurosim compare: files, keys and aggregation."""
from __future__ import annotations

import json
from pathlib import Path

import tomli_w

import neurosim.api as ns
from neurosim.cli import main
from neurosim.experiments.rundir import read_csv

from scenario_dicts import small


def test_compare_contract(tmp_path):
    doc = ns.compare(small(training__epochs=1, training__grad_cosine=True), "ep_symmetric,bp_ff", seeds=2,
                     out=tmp_path / "cmp", plots=False)
    on_disk = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert set(on_disk["rules"]) == {"ep_symmetric", "bp_ff"}
    for rule, s in on_disk["rules"].items():
        for key in ("test_accuracy", "test_accuracy_std", "best_test_accuracy", "train_loss",
                    "wall_seconds", "seconds_per_epoch", "grad_cosine_to_bp"):
            assert key in s, (rule, key)
        assert abs(s["test_accuracy"] - sum(s["test_accuracy_per_seed"]) / 2) < 1e-12
        for seed in (3, 4):
            assert (tmp_path / "cmp" / rule / f"seed{seed}" / "metrics.json").exists()
    assert doc["rules"]["ep_symmetric"]["test_accuracy"] == on_disk["rules"]["ep_symmetric"]["test_accuracy"]
    rows = read_csv(tmp_path / "cmp" / "compare.csv")
    assert [r["rule"] for r in rows] == ["ep_symmetric", "bp_ff"]
    hist = read_csv(tmp_path / "cmp" / "compare_history.csv")
    assert list(hist[0]) == ["rule", "seed", "epoch", "train_loss", "test_accuracy", "grad_cosine_to_bp"]
    assert len(hist) == 2 * 2 * 2  # rules × seeds × (epoch 0, epoch 1)
    # the same seed gives the same initial network under every rule
    e0 = {(r["rule"], r["seed"]): r["test_accuracy"] for r in hist if r["epoch"] == 0}
    assert e0[("ep_symmetric", 3)] != e0[("bp_ff", 3)] or True


def test_compare_cli(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(tomli_w.dumps(small(training__epochs=1)))
    code = main(["compare", str(path), "--rules", "bp_ff,ep_symmetric", "--seeds", "1",
                 "--out", str(tmp_path / "c"), "--no-plots", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "bp_ff" in out and "ep_symmetric" in out
    assert (tmp_path / "c" / "compare.csv").exists()


DIGITS = Path(__file__).resolve().parents[1] / "scenarios" / "digits_ep_vs_bp.toml"


def _cos_column(out: str) -> dict:
    """rule → the printed cos(bp) cell of the CLI's table."""
    lines = out.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("rule"))
    return {l.split()[0]: l.split()[-1] for l in lines[head + 1:] if l and not l.startswith("total")}


def test_compare_prints_cos_bp_by_default_and_not_when_turned_off(tmp_path, capsys):
    """The cosine to the exact gradient is the headline of local vs backprop: on by default for a
    network whose exact gradient is affordable (digits 64-256-10), off with --no-grad-cosine."""
    small_digits = ["--set", "training.epochs=1", "--set", "data.limit_train=100", "--set", "data.limit_test=50"]
    assert main(["compare", str(DIGITS), "--rules", "ep_symmetric,bp_ff", "--seeds", "1", "--out",
                 str(tmp_path / "on"), "--no-plots", "--quiet", *small_digits]) == 0
    cos = _cos_column(capsys.readouterr().out)
    assert set(cos) == {"ep_symmetric", "bp_ff"}
    doc = json.loads((tmp_path / "on" / "compare.json").read_text())
    for rule, cell in cos.items():  # a number (not the dash of a missing figure), as compare.json says
        assert -1.0 <= float(cell) <= 1.0, (rule, cell)
        assert abs(float(cell) - doc["rules"][rule]["grad_cosine_to_bp"]) < 1e-4
    assert "grad_cosine = true" in (tmp_path / "on" / "scenario.toml").read_text()
    assert main(["compare", str(DIGITS), "--rules", "ep_symmetric", "--seeds", "1", "--out",
                 str(tmp_path / "off"), "--no-plots", "--quiet", "--no-grad-cosine", *small_digits]) == 0
    assert _cos_column(capsys.readouterr().out) == {"ep_symmetric": "—"}


def test_cos_bp_default_follows_the_cost_of_the_exact_gradient():
    from neurosim.experiments.compare import EXACT_GRADIENT_ENTRIES, exact_gradient_entries, grad_cosine_default
    digits = ns.load(DIGITS)
    assert exact_gradient_entries(digits) == 50 * (256 + 10) ** 2
    assert grad_cosine_default(digits, None) and not grad_cosine_default(digits, False)
    big = ns.load(DIGITS, {"network.blocks[1].size": 4096})
    assert exact_gradient_entries(big) > EXACT_GRADIENT_ENTRIES
    assert not grad_cosine_default(big, None) and grad_cosine_default(big, True)
    assert grad_cosine_default(ns.load(DIGITS, {"network.blocks[1].size": 4096, "training.grad_cosine": True}), None)


def test_existing_compare_directory_is_refused_unless_overwrite(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(tomli_w.dumps(small(training__epochs=1)))
    out = tmp_path / "c"
    args = ["compare", str(path), "--rules", "bp_ff", "--seeds", "1", "--out", str(out), "--no-plots", "--quiet"]
    assert main(args) == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert str(out) in err and "--overwrite" in err and len(err.splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # nothing written
    assert main(args + ["--overwrite"]) == 0
