"""Same scenario + same seed ⇒ identical ``traces.npz`` (every array) and identical ``metrics.json``
apart from the ``*_seconds`` keys; another seed ⇒ different traces. Through the CLI on the
quickstart, and through the Python API under each of the four schedulers."""
from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from command_line import QUICKSTART
from networks import SCHEDULERS

import neurosim.api as api
from neurosim.experiments.rundir import metrics_without_timing


def load_traces(run_dir) -> dict:
    with np.load(run_dir / "traces.npz") as f:
        return {k: f[k] for k in f.files}


def load_metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def assert_same_run(a, b):
    ta, tb = load_traces(a), load_traces(b)
    assert sorted(ta) == sorted(tb)
    for key in ta:
        assert ta[key].dtype == tb[key].dtype, key
        assert ta[key].shape == tb[key].shape, key
        np.testing.assert_array_equal(ta[key], tb[key], err_msg=key)
    ma, mb = load_metrics(a), load_metrics(b)
    assert metrics_without_timing(ma) == metrics_without_timing(mb)
    assert "wall_seconds" in ma and "wall_seconds" not in metrics_without_timing(ma)
    assert (a / "scenario.toml").read_text() == (b / "scenario.toml").read_text()


def assert_different_run(a, b):
    ta, tb = load_traces(a), load_traces(b)
    differs = [k for k in ta if k in tb and (ta[k].shape != tb[k].shape or not np.array_equal(ta[k], tb[k]))]
    assert any(k.startswith("activity/") for k in differs), differs
    assert metrics_without_timing(load_metrics(a)) != metrics_without_timing(load_metrics(b))


def test_metrics_without_timing_drops_only_seconds_and_memory():
    m = {"final_energy": 1.0, "wall_seconds": 2.0, "nested": {"compile_seconds": 1, "n": 3},
         "control_peak_rss_mib": {"bp_final/0": 80.0}, "rss_note": 1}
    assert metrics_without_timing(m) == {"final_energy": 1.0, "nested": {"n": 3}, "rss_note": 1}


def test_cli_same_seed_same_run_other_seed_differs(tmp_path, cli):
    other = tmp_path / "seed8.toml"
    text = QUICKSTART.read_text()
    assert "seed = 7" in text
    other.write_text(text.replace("seed = 7", "seed = 8"))
    runs = {}
    for name, path in [("a", QUICKSTART), ("b", QUICKSTART), ("c", other)]:
        res = cli("run", path, "--out", tmp_path / name, "--no-plots", "--quiet")
        assert res.returncode == 0, res.stderr
        runs[name] = tmp_path / name
    assert_same_run(runs["a"], runs["b"])
    assert_different_run(runs["a"], runs["c"])
    # the traces hold what the contract names
    tr = load_traces(runs["a"])
    for key in ("time", "energy", "event_time", "event_block", "activity/input", "activity/out"):
        assert key in tr, key


def quickstart_dict(scheduler: str, seed: int) -> dict:
    with open(QUICKSTART, "rb") as f:
        data = tomllib.load(f)
    data["seed"] = seed
    data["simulation"]["scheduler"] = scheduler
    data["simulation"]["duration"] = 10.0
    data["simulation"]["dt"] = 0.05
    return data


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_api_same_seed_same_run_other_seed_differs(tmp_path, scheduler):
    for name, seed in [("a", 3), ("b", 3), ("c", 4)]:
        api.run(quickstart_dict(scheduler, seed), tmp_path / name, plots=False)
    assert_same_run(tmp_path / "a", tmp_path / "b")
    assert_different_run(tmp_path / "a", tmp_path / "c")
    # the scheduler that ran is the one asked for
    with open(tmp_path / "a" / "scenario.toml", "rb") as f:
        assert tomllib.load(f)["simulation"]["scheduler"] == scheduler


def test_api_path_and_dict_agree(tmp_path):
    with open(QUICKSTART, "rb") as f:
        data = tomllib.load(f)
    api.run(QUICKSTART, tmp_path / "path", plots=False)
    api.run(data, tmp_path / "dict", plots=False)
    assert_same_run(tmp_path / "path", tmp_path / "dict")
