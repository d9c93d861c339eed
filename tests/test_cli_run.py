"""The command line: ``neurosim validate`` and ``neurosim run`` on valid and invalid scenarios.

An invalid file makes both commands exit 2 with one line on stderr naming the file and the
offending key — never a traceback — and ``run`` writes nothing. The CLI runs in subprocesses
(``python -m neurosim.cli``), several at a time to keep the suite fast.
"""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from command_line import QUICKSTART

QUICK = QUICKSTART.read_text()


def _sub(old, new, count=1):
    def edit(text):
        assert old in text, old
        return text.replace(old, new, count)
    return edit


def _drop_network(text):
    # everything from [network] up to [simulation] goes, projections and blocks included
    start, end = text.index("[network]"), text.index("[simulation]")
    return text[:start] + text[end:]


#: name → (edit of the quickstart text, key the message must name)
INVALID = {
    "bad_toml": (_sub('seed = 7', 'seed = = 7'), "line 4"),
    "unterminated_string": (_sub('name = "quickstart"', 'name = "quickstart'), "line 1"),
    "unknown_key": (_sub('dt = 0.05', 'stepsize = 0.05'), "simulation.stepsize"),
    "unknown_top_level_key": (_sub('seed = 7', 'seed = 7\nsed = 3'), "'sed'"),
    "wrong_type_duration": (_sub('duration = 30.0', 'duration = "long"'), "simulation.duration"),
    "wrong_type_size": (_sub('size = 16', 'size = 1.5'), "network.blocks[0].size"),
    "wrong_type_seed": (_sub('seed = 7', 'seed = "seven"'), "'seed'"),
    "unknown_scheduler": (_sub('scheduler = "poisson"', 'scheduler = "fifo"'), "simulation.scheduler"),
    "unknown_activation": (_sub('activation = "sigmoid4"', 'activation = "relu"'),
                           "network.blocks[1].activation"),
    "unknown_block_in_projection": (_sub('post = "out"', 'post = "nowhere"'),
                                    "network.projections[4].post"),
    "unknown_block_in_clamp": (_sub('block = "input"', 'block = "inptu"'), "clamps[0].block"),
    "unknown_block_in_probes": (_sub('interval = 0.05', 'interval = 0.05\nblocks = ["h9"]'),
                                "probes.blocks"),
    "negative_duration": (_sub('duration = 30.0', 'duration = -1.0'), "simulation.duration"),
    "zero_dt": (_sub('dt = 0.05', 'dt = 0.0'), "simulation.dt"),
    "missing_network": (_drop_network, "'network'"),
}


@pytest.fixture(scope="module")
def invalid_results(tmp_path_factory, cli):
    """(name → (path, out dir, validate result, run result)), run in parallel."""
    root = tmp_path_factory.mktemp("invalid")
    jobs = {}
    for name, (edit, _) in INVALID.items():
        path = root / f"{name}.toml"
        path.write_text(edit(QUICK))
        jobs[name] = (path, root / f"out_{name}")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: (pool.submit(cli, "validate", path),
                          pool.submit(cli, "run", path, "--out", out, "--no-plots"))
                   for name, (path, out) in jobs.items()}
        return {name: (*jobs[name], v.result(), r.result()) for name, (v, r) in futures.items()}


def test_validate_accepts_the_quickstart(cli):
    res = cli("validate", QUICKSTART)
    assert res.returncode == 0, res.stderr
    assert "ok" in res.stdout
    assert "Traceback" not in res.stderr


def _check_one_line_error(res, path, key):
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    msg = res.stderr.strip()
    assert msg and "\n" not in msg, f"expected one line, got {res.stderr!r}"
    assert str(path) in msg, msg
    assert key in msg, msg


@pytest.mark.parametrize("name", sorted(INVALID))
def test_validate_rejects_an_invalid_file(invalid_results, name):
    path, _, res, _ = invalid_results[name]
    _check_one_line_error(res, path, INVALID[name][1])
    assert "ok" not in res.stdout


@pytest.mark.parametrize("name", sorted(INVALID))
def test_run_on_an_invalid_file_writes_nothing(invalid_results, name):
    path, out, _, res = invalid_results[name]
    _check_one_line_error(res, path, INVALID[name][1])
    assert not out.exists()


def test_validate_names_a_missing_file(tmp_path, cli):
    path = tmp_path / "nope.toml"
    res = cli("validate", path)
    _check_one_line_error(res, path, "not found")


def test_run_writes_the_run_directory(tmp_path, cli):
    out = tmp_path / "quick"
    res = cli("run", QUICKSTART, "--out", out, "--no-plots", "--quiet")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    for f in ("scenario.toml", "metrics.json", "traces.npz"):
        assert (out / f).is_file(), f
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"final_energy", "n_events", "wall_seconds"} <= set(metrics)
    timing = [k for k in metrics if re.search("wall|seconds|elapsed", k)]
    assert timing and all(k.endswith("_seconds") for k in timing), timing
    with np.load(out / "traces.npz") as tr:
        s = tr["time"].shape[0]
        assert s == 601   # every 0.05 over 30 τ, both ends included
        assert tr["energy"].shape in ((s,), (s, 4))
        for block, n in (("input", 16), ("h1", 12), ("h2", 12), ("h3", 8), ("out", 4)):
            assert tr[f"activity/{block}"].shape == (s, 4, n)
        assert tr["event_time"].shape == tr["event_block"].shape == (metrics["n_events"],)
        assert np.all(np.diff(tr["event_time"]) >= 0)
        # the energy of a relaxation never rises (the input is clamped, there is no nudge)
        e = tr["energy"]
        assert np.max(np.diff(e, axis=0)) <= 1e-10 * max(1.0, np.abs(e).max())
    # the resolved scenario can be validated and run again
    res = cli("validate", out / "scenario.toml")
    assert res.returncode == 0, res.stderr


def test_run_finishes_when_duration_is_not_a_multiple_of_dt(tmp_path, cli):
    """A tick scheduler runs whole ticks: 1.0 τ at dt = 0.3 is three ticks, and the run ends."""
    path = tmp_path / "ragged.toml"
    path.write_text(QUICK.replace('scheduler = "poisson"', 'scheduler = "sync"')
                    .replace("dt = 0.05", "dt = 0.3").replace("duration = 30.0", "duration = 1.0"))
    res = cli("run", path, "--out", tmp_path / "ragged", "--no-plots", "--quiet", timeout=30)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "ragged" / "metrics.json").read_text())
    assert metrics["simulated_time"] == pytest.approx(0.9)
    assert metrics["n_events"] == 3 * 4   # 3 ticks × 4 free blocks
