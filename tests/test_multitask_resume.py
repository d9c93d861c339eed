"""Checkpoint and --resume of a multitask run: a run killed with SIGKILL and resumed writes the
same metrics.json and history.csv as an uninterrupted one; damaged checkpoints and changed
scenarios are refused with one line."""
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurosim.api import run
from neurosim.experiments.checkpoint import CheckpointError, read_checkpoint
from neurosim.experiments.rundir import metrics_without_timing
from neurosim.scenario.load import from_dict, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _short_scenario(tmp_path: Path, **multitask) -> Path:
    """The bundled scenario shrunk to seconds: 4 particles, a 16-unit visual block, 60 τ, an
    evaluation every 20 τ, every control on (isolated, bp, two-phase EP)."""
    data = copy.deepcopy(load_scenario(ROOT / "scenarios/brain_multitask.toml").data)
    data["network"]["particles"] = 4
    for b in data["network"]["blocks"]:
        b["size"] = {"h_vis": 16, "h_sem": 8}.get(b["name"], b["size"])
    data["multitask"].update(duration=60.0, eval_every=20.0, n_eval=30, probe_until=30.0, probe_batch=4,
                             **multitask)
    data["multitask"]["eval_relax"]["duration"] = 8.0
    for t in data["tasks"]:
        t.update(rate=0.25, duration=[10.0, 15.0], fade=4.0)
    path = tmp_path / "short_multitask.toml"
    path.write_text(from_dict(data, "short").to_toml())
    return path


def _phase(ckpt: Path):
    try:
        _, state, _ = read_checkpoint(ckpt, "multitask")
    except (CheckpointError, FileNotFoundError):
        return None
    return state["job"]["phase"], state["job"]["current"] is not None


def _kill_when(scenario: Path, out: Path, ready, resume: bool = False):
    """Run ``neurosim run`` (``--resume``) in a subprocess and SIGKILL it once ``ready(phase)``
    holds for its checkpoint; returns the phase it was killed at."""
    cmd = [sys.executable, "-c", "import sys; from neurosim.cli import main; sys.exit(main())", "run",
           str(scenario), "--out", str(out), "--no-plots", "--quiet"] + (["--resume"] if resume else [])
    before = _phase(out / "checkpoint.npz")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            phase = _phase(out / "checkpoint.npz")
            if phase is not None and phase != before and ready(phase):
                proc.kill()  # SIGKILL: no cleanup, no final write
                proc.wait()
                return phase
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pytest.fail(f"the run ended (rc {proc.returncode}) before it could be killed: {proc.stderr.read()[-500:]}")


def _same_run(a: Path, b: Path):
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert metrics_without_timing(ma) == metrics_without_timing(mb)
    assert (a / "history.csv").read_bytes() == (b / "history.csv").read_bytes()
    with np.load(a / "traces.npz") as ta, np.load(b / "traces.npz") as tb:
        assert sorted(ta.files) == sorted(tb.files)
        for k in ta.files:
            assert np.array_equal(ta[k], tb[k]), k


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    scenario = _short_scenario(tmp)
    out = tmp / "uninterrupted"
    start = time.perf_counter()
    result = run(scenario, out, plots=False)
    print(f"short multitask run: {time.perf_counter() - start:.1f} s")
    return scenario, out, result.metrics


def test_short_run_checkpoints_every_evaluation_and_reports_every_control(reference):
    scenario, out, metrics = reference
    rows = (out / "history.csv").read_text().splitlines()
    assert len(rows) == 1 + 4  # header, t = 0, 20, 40, 60
    _, state, _ = read_checkpoint(out / "checkpoint.npz", "multitask")
    assert state["job"]["phase"] == "done" and len(state["history"]) == 4
    for name, entry in metrics["tasks"].items():
        for label, status in (("isolated_final", "isolated_status"), ("bp_final", "bp_status"),
                              ("ep_sync_final", "ep_sync_status")):
            assert entry[status] == "ok" or entry[status].startswith("failed: ")
            assert (entry[label] is None) == (entry[status] != "ok")  # a failure never shows a figure
    with np.load(out / "checkpoint.npz") as z:  # the plots' weights are at the top level
        assert any(k.startswith("weights/") for k in z.files)
    plan = [f"isolated_final/{k}" for k in range(3)] + [f"bp_final/{k}" for k in range(3)] + ["ep_sync_final"]
    seconds, peaks = metrics["control_wall_seconds"], metrics["control_peak_rss_mib"]
    assert list(seconds) == list(peaks) == plan
    assert all(s > 0 for s in seconds.values()) and sum(seconds.values()) <= metrics["controls_wall_seconds"]
    assert all(0 < m < 1e5 for m in peaks.values()) and metrics["concurrent_peak_rss_mib"] > 0


def test_killed_twice_then_resumed_writes_the_same_files(reference, tmp_path):
    """Killed after its first checkpoint (concurrent run), resumed and killed again inside a
    control (an isolated run's or a batch control's own checkpoint), resumed to the end."""
    scenario, ref_out, _ = reference
    out = tmp_path / "killed"
    assert _kill_when(scenario, out, lambda ph: ph[0] == "concurrent") == ("concurrent", False)
    assert _kill_when(scenario, out, lambda ph: ph == ("controls", True), resume=True) == ("controls", True)
    run(scenario, out, resume=True, plots=False)
    _same_run(ref_out, out)
    metrics = json.loads((out / "metrics.json").read_text())  # every control timed across the kills
    assert all(s is not None and s > 0 for s in metrics["control_wall_seconds"].values())
    run(scenario, out, resume=True, plots=False)  # resuming a finished run changes nothing
    _same_run(ref_out, out)


def test_resume_refuses_another_scenario(reference, tmp_path):
    scenario, ref_out, _ = reference
    other = tmp_path / "other.toml"
    data = copy.deepcopy(load_scenario(scenario).data)
    data["plasticity"]["lr"] = 0.003
    data["plots"] = False  # allowed to change
    other.write_text(from_dict(data, "other").to_toml())
    with pytest.raises(CheckpointError, match=r"differs .* in plasticity\.lr"):
        run(other, ref_out, resume=True, plots=False)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no_meta"])
def test_a_damaged_checkpoint_is_one_line(tmp_path, damage):
    path = tmp_path / "checkpoint.npz"
    if damage == "no_meta":
        np.savez(path, weights=np.zeros(3))
    else:
        from neurosim.experiments.checkpoint import write_checkpoint
        write_checkpoint(path, {"x": np.arange(1000.0)}, {"phase": "concurrent"}, "multitask", {"seed": 1})
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"not a zip file" * 10)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path, "multitask")
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_checkpoint_of_another_kind_is_refused(tmp_path):
    from neurosim.experiments.checkpoint import write_checkpoint
    path = write_checkpoint(tmp_path / "c.npz", {}, {}, "generative", {})
    with pytest.raises(CheckpointError, match="generative"):
        read_checkpoint(path, "multitask")


def test_cli_resume_with_a_damaged_checkpoint_exits_2(reference, tmp_path, capsys):
    from neurosim.cli import main
    scenario, _, _ = reference
    out = tmp_path / "damaged"
    out.mkdir()
    (out / "scenario.toml").write_text(scenario.read_text())
    (out / "checkpoint.npz").write_bytes(b"PK\x03\x04 truncated")
    assert main(["run", str(scenario), "--out", str(out), "--resume", "--no-plots", "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "checkpoint.npz" in lines[0] and "damaged or truncated" in lines[0]
    assert not (out / "metrics.json").exists() and not (out / "network.json").exists()  # nothing written


@pytest.mark.parametrize("rule", ["bp", "ep_symmetric"])
def test_a_batch_control_stopped_at_a_checkpoint_continues_bit_identically(reference, rule):
    from neurosim.data import load_dataset
    from neurosim.data.multimodal import modality_fields
    from neurosim.experiments.multitask import port_blocks, task_specs
    from neurosim.experiments.multitask_controls import BatchControl
    from neurosim.experiments.setup import make_network
    from neurosim.learning.nudging import RelaxConfig
    sc = load_scenario(reference[0])
    mt = sc["multitask"]
    train, _ = modality_fields(load_dataset("digits"), sc.rng("data"), mt["code_dim"], mt["code_noise"])
    net, tasks = make_network(sc["network"]), task_specs(sc)
    params0 = net.init_params(sc.rng("params"))
    relax = RelaxConfig(scheduler="sync", dt=0.125, integrator="exp", free_duration=8.0, nudged_duration=4.0,
                        tol=1e-6, check_every=2.0)

    def control():
        return BatchControl(net, params0, tasks, [0, 1, 2, 0, 1], rule, 0.01, train, port_blocks(tasks), relax,
                            4, sc.rng("training"))

    whole = control().run()
    saved = []

    class Killed(Exception):
        pass

    def checkpoint(c):
        arrays, meta = c.state_dict()
        saved.append(({k: v.copy() for k, v in arrays.items()}, json.loads(json.dumps(meta))))
        raise Killed

    first = control()
    with pytest.raises(Killed):
        first.run(checkpoint=lambda: checkpoint(first), every=2)
    resumed = control()
    resumed.load_state_dict(*saved[0])
    assert resumed.done == 2
    params = resumed.run()
    for kind, name, a in whole.items():
        assert np.array_equal(a, getattr(params, kind)[name]), (kind, name)
