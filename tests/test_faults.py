"""Faults: a failing run never sinks a study, a refused command changes nothing on disk, a fresh
run leaves no stale files, Ctrl-C exits 130 with the checkpoint ``--resume`` would use.

Every refusal is checked the same way: exit status, one stderr line naming the file, key or
option, no traceback, and ``--out`` absent or byte-for-byte untouched.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tomli_w

import neurosim.api as ns
from neurosim.cli import main, resume_hint
from neurosim.experiments import compare as compare_mod
from neurosim.experiments.rundir import read_csv

from command_line import QUICKSTART, ROOT, cli_env
from scenario_dicts import small


def snapshot(path: Path):
    """{relative path: (mtime_ns, sha256)} of everything under ``path`` (None if absent)."""
    if not path.exists():
        return None
    out = {}
    for p in sorted(path.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(path))] = (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def one_line_error(stderr: str, *needles: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def write_scenario(path: Path, doc: dict) -> Path:
    path.write_text(tomli_w.dumps(doc))
    return path


def diverging(**changes) -> dict:
    """The small digits scenario with unbounded hidden/output blocks, where ep_symmetric with a
    nudge strength β = 1000 drives the states to infinity in epoch 2; other rules are unaffected."""
    doc = small(training__epochs=2, training__rule_options={"beta": 0.5, "ep_symmetric": {"beta": 1000.0}},
                **changes)
    doc["network"]["blocks"][1]["activation"] = "tanh"
    doc["network"]["blocks"][2]["activation"] = "identity"
    return doc


# -- A. a failing run is a row ---------------------------------------------------------------------
def test_compare_marks_the_diverged_rule_keeps_the_others_and_exits_1(tmp_path, cli):
    scenario = write_scenario(tmp_path / "div.toml", diverging())
    out = tmp_path / "cmp"
    proc = cli("compare", scenario, "--rules", "ep_symmetric,bp_ff", "--seeds", "2", "--out", out,
                   "--quiet", "--no-plots")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "ep_symmetric seed 3 diverged after epoch 1" in proc.stderr
    assert "ep_symmetric seed 4 diverged after epoch 1" in proc.stderr
    assert "bp_ff seed" not in proc.stderr
    assert "0/2" in proc.stdout and "2/2" in proc.stdout
    runs = read_csv(out / "compare_runs.csv")
    status = {(r["rule"], r["seed"]): (r["status"], r["epoch"]) for r in runs}
    assert status == {("ep_symmetric", 3): ("diverged", 1), ("ep_symmetric", 4): ("diverged", 1),
                      ("bp_ff", 3): ("ok", 2), ("bp_ff", 4): ("ok", 2)}
    assert all("non-finite" in r["message"] for r in runs if r["status"] == "diverged")
    doc = json.loads((out / "compare.json").read_text())
    assert doc["n_failed"] == 2
    ep, bp = doc["rules"]["ep_symmetric"], doc["rules"]["bp_ff"]
    assert (ep["n_seeds"], ep["n_runs"]) == (0, 2) and "test_accuracy" not in ep
    assert (bp["n_seeds"], bp["n_runs"]) == (2, 2)
    finished = [json.loads((out / "bp_ff" / f"seed{s}" / "metrics.json").read_text())["test_accuracy"]
                for s in (3, 4)]
    assert bp["test_accuracy"] == pytest.approx(sum(finished) / 2, abs=1e-12)
    table = {r["rule"]: r for r in read_csv(out / "compare.csv")}
    assert table["ep_symmetric"]["test_accuracy"] is None and table["bp_ff"]["n_seeds"] == 2
    hist = read_csv(out / "compare_history.csv")
    assert {r["rule"] for r in hist} == {"bp_ff"}  # curves average the finished seeds only


def test_compare_failed_seed_is_left_out_of_the_mean(tmp_path, monkeypatch):
    """Any error (not only a divergence) in one seed: status "failed", its traceback in the sub-run's
    error.txt, the rule's figures the mean over the other seed, and the figures still drawn."""
    real = compare_mod.run_scenario

    def flaky(variant, run_dir, **kw):
        if variant["training"]["rule"] == "bp_ff" and variant["seed"] == 4:
            real(variant.with_changes(training__epochs=1), run_dir, **kw)  # a finished epoch, then a fault
            raise RuntimeError("disk on fire")
        return real(variant, run_dir, **kw)

    monkeypatch.setattr(compare_mod, "run_scenario", flaky)
    out = tmp_path / "cmp"
    doc = ns.compare(small(training__epochs=2), "bp_ff,bp", seeds=2, out=out, plots=True)
    rows = {(r["rule"], r["seed"]): r for r in doc["runs"]}
    assert rows[("bp_ff", 4)]["status"] == "failed" and rows[("bp_ff", 4)]["epoch"] == 1
    assert rows[("bp_ff", 4)]["message"] == "RuntimeError: disk on fire"
    assert "Traceback" in (out / "bp_ff" / "seed4" / "error.txt").read_text()
    s = doc["rules"]["bp_ff"]
    seed3 = json.loads((out / "bp_ff" / "seed3" / "metrics.json").read_text())["test_accuracy"]
    assert (s["n_seeds"], s["n_runs"]) == (1, 2) and s["test_accuracy_per_seed"] == [seed3]
    assert doc["rules"]["bp"]["n_seeds"] == 2
    assert compare_mod.failed_runs(doc) == [rows[("bp_ff", 4)]]
    assert (out / "plots" / "compare_summary.png").is_file() and (out / "plots" / "compare_curves.png").is_file()


# -- B. a refused command changes nothing ----------------------------------------------------------
@pytest.fixture(scope="module")
def finished_train(tmp_path_factory):
    """A finished one-epoch training run (its scenario file and run directory)."""
    base = tmp_path_factory.mktemp("train")
    scenario = write_scenario(base / "s.toml", small(training__epochs=1))
    assert main(["run", str(scenario), "--out", str(base / "run"), "--quiet"]) == 0
    return base / "s.toml", base / "run"


def _copy_run(finished_train, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(finished_train[1], run)
    return run


def _truncate_checkpoint(run: Path) -> None:
    ckpt = run / "checkpoint.npz"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])


REFUSALS = {
    # name: (make(tmp_path, scenario, run) -> argv, needles in the error line)
    "resume_changed_lr": (lambda tmp, s, run: ["run", write_scenario(tmp / "lr.toml", small(training__epochs=2,
                                                                                             training__lr=0.3)),
                                               "--out", run, "--resume"],
                          ["checkpoint.npz", "different scenario", "training.epochs"]),
    "resume_damaged_checkpoint": (lambda tmp, s, run: (_truncate_checkpoint(run),
                                                       ["run", s, "--out", run, "--resume"])[1],
                                  ["checkpoint.npz", "damaged or truncated"]),
    "gradcheck_without_table": (lambda tmp, s, run: ["run", write_scenario(tmp / "g.toml", small(kind="gradcheck")),
                                                     "--out", tmp / "fresh"],
                                ["g.toml", "gradcheck"]),
    "out_not_a_run_dir": (lambda tmp, s, run: ((tmp / "mine").mkdir(), (tmp / "mine" / "notes.txt").write_text("x"),
                                               ["run", s, "--out", tmp / "mine"])[-1],
                          ["mine", "not a neurosim run directory"]),
    "generate_on_a_train_run": (lambda tmp, s, run: ["generate", run], ["scenario.toml", "'kind'", "generative"]),
    "generate_steps_0": (lambda tmp, s, run: ["generate", run, "--steps", "0"], ["--steps", "positive integer"]),
    "generate_n_0": (lambda tmp, s, run: ["generate", run, "--n", "0"], ["--n", "positive integer"]),
    "generate_guidance_nan": (lambda tmp, s, run: ["generate", run, "--guidance", "nan"], ["--guidance", "finite"]),
    "generate_sampler": (lambda tmp, s, run: ["generate", run, "--sampler", "rk4"], ["--sampler", "euler"]),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refused_command_exits_2_with_one_line_and_changes_nothing(name, finished_train, tmp_path, capsys):
    run = _copy_run(finished_train, tmp_path)
    make, needles = REFUSALS[name]
    argv = [str(a) for a in make(tmp_path, finished_train[0], run)]
    before = {p.name: snapshot(p) for p in tmp_path.iterdir() if p.is_dir()}
    capsys.readouterr()
    assert main(argv) == 2
    one_line_error(capsys.readouterr().err, *needles)
    assert {p.name: snapshot(p) for p in tmp_path.iterdir() if p.is_dir()} == before
    assert not (tmp_path / "fresh").exists()


@contextlib.contextmanager
def read_only(path: Path):
    """Make directory ``path`` unwritable for this process: mode 0555, or for root (whom modes do
    not stop) the immutable attribute."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("running as root without a working chattr: cannot make a directory read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("target", ["out", "parent"])
def test_read_only_out_is_refused_with_one_line(target, finished_train, tmp_path, cli):
    parent = tmp_path / "ro"
    parent.mkdir()
    out = parent / "run"
    if target == "out":
        shutil.copytree(finished_train[1], out)
    locked = out if target == "out" else parent
    before = snapshot(parent)
    with read_only(locked):
        proc = cli("run", finished_train[0], "--out", out, "--quiet")
    assert proc.returncode == 2, proc.stderr
    one_line_error(proc.stderr, str(locked), "not writable")
    assert snapshot(parent) == before


# -- a fresh run replaces the previous run's files -------------------------------------------------
def test_fresh_run_removes_the_previous_runs_files_and_keeps_unknown_ones(tmp_path):
    out = tmp_path / "run"
    ns.run(QUICKSTART, out, plots=True)
    assert (out / "traces.npz").is_file() and (out / "report.html").is_file() and (out / "plots").is_dir()
    (out / "my_notes.txt").write_text("keep me")
    (out / "generate").mkdir()
    (out / "generate" / "samples.npz").write_bytes(b"old")
    ns.run(small(training__epochs=1), out, plots=False, overwrite=True)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["checkpoint.npz", "history.csv", "metrics.json", "my_notes.txt", "network.json",
                     "scenario.toml", "traces.npz"]
    with np.load(out / "traces.npz") as z:  # the train run's own traces, not the relax run's
        assert "weights/epoch" in z.files and not any(k.startswith("activity/") for k in z.files)
    # a compare run into an older compare: rules no longer compared are gone, the rest rewritten
    cmp = tmp_path / "cmp"
    ns.compare(small(training__epochs=1), "bp_ff,bp", seeds=1, out=cmp, plots=False)
    (cmp / "bp" / "seed3" / "mine.txt").write_text("keep")
    ns.compare(small(training__epochs=1), "bp_ff", seeds=1, out=cmp, plots=False, overwrite=True)
    assert sorted(p.name for p in (cmp / "bp").rglob("*")) == ["mine.txt", "seed3"]
    assert set(json.loads((cmp / "compare.json").read_text())["rules"]) == {"bp_ff"}


# -- Ctrl-C --------------------------------------------------------------------------------------------
# A shell without job control starts background jobs with SIGINT ignored, and an ignored signal stays
# ignored across exec: pytest launched as `cmd &` would hand that to these tests, Python would keep
# SIG_IGN instead of installing its KeyboardInterrupt handler, and Ctrl-C would (rightly) do nothing.
def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def sigint_default():
    """Python's own Ctrl-C handler for the test, whatever the test runner inherited."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_sigint_during_training_exits_130_naming_the_checkpoint(tmp_path):
    scenario = write_scenario(tmp_path / "long.toml", small(training__epochs=500))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "neurosim.cli", "run", str(scenario), "--out", str(out),
                             "--quiet"], cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:  # wait for epoch 1's checkpoint
            history = out / "history.csv"
            if history.is_file() and len(history.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    line = one_line_error(stderr, "interrupted", "--resume continues from", "checkpoint.npz", "after epoch")
    epoch = int(line.rsplit("after epoch ", 1)[1].rstrip(")"))
    assert epoch >= 1 and not list(out.glob(".*.tmp"))
    assert main(["run", str(write_scenario(tmp_path / "short.toml", small(training__epochs=epoch + 1))),
                 "--out", str(out), "--resume", "--quiet"]) == 0


def test_resume_hint_without_checkpoint_and_for_relax(tmp_path):
    assert "no checkpoint" in resume_hint("run", tmp_path / "absent")
    relax = tmp_path / "relax"
    relax.mkdir()
    (relax / "scenario.toml").write_text(QUICKSTART.read_text())
    assert "no checkpoint to resume" in resume_hint("run", relax)
    assert "rerun it with --overwrite" in resume_hint("compare", tmp_path)
    assert resume_hint("plot", tmp_path) == ""


def test_interrupt_dropped_in_a_finalizer_still_exits_130(tmp_path, monkeypatch, capsys, sigint_default):
    """Ctrl-C that lands in a ``__del__`` is dropped by CPython ("Exception ignored in …") and the
    command would run on to exit 0; the command line's handler remembers it was pressed."""
    import gc
    import neurosim.api

    class Finalized:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)  # the handler runs here, inside the finalizer

    def run(*args, **kwargs):
        Finalized()
        gc.collect()
        return neurosim.api.RunResult(tmp_path, {})

    monkeypatch.setattr(neurosim.api, "run", run)
    assert main(["run", str(QUICKSTART), "--out", str(tmp_path / "never"), "--quiet"]) == 130
    err = capsys.readouterr().err
    one_line_error(err, "interrupted", "no checkpoint")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
