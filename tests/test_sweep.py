"""``neurosim sweep`` on real Dask clusters: a 2-worker LocalCluster (the default path) and a
separately started ``dask scheduler`` + ``dask worker`` pair on 127.0.0.1 (the --scheduler path).

Every run's metrics equal those of a single in-process run of its scenario.toml, bit for bit;
rerunning does only the missing work; a diverged cell is recorded while the others finish; a
killed worker's run is retried elsewhere and the sweep completes with every run exactly once.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from command_line import ROOT

from neurosim.api import load, sweep
from neurosim.experiments.rundir import metrics_without_timing
from neurosim.experiments.run import run_scenario

pytest.importorskip("distributed")

XOR = ROOT / "scenarios" / "xor_ep.toml"
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"


def _metrics(run_dir: Path) -> dict:
    return metrics_without_timing(json.loads((run_dir / "metrics.json").read_text()))


def _run_dirs(out: Path) -> list:
    return sorted(p.parent for p in out.glob("*/seed*/scenario.toml"))


def _single_run(run_dir: Path, tmp: Path) -> dict:
    """``neurosim run RUN_DIR/scenario.toml`` in this process, into a fresh directory."""
    target = tmp / "single" / run_dir.parent.name / run_dir.name
    return metrics_without_timing(run_scenario(load(run_dir / "scenario.toml"), target, progress=False,
                                               plots=False).metrics)


def test_two_local_workers_match_single_runs_and_a_rerun_does_no_work(tmp_path):
    out = tmp_path / "sweep"
    grid = ["training.rule=ep_symmetric,bp", "training.lr=[0.5, 0.25],0.1"]
    doc = sweep(XOR, grid, seeds=1, out=out, workers=2, overrides=["training.epochs=4"], plots=False)
    assert doc["ran"] == 4 and doc["skipped"] == 0 and len(doc["cells"]) == 4
    assert all(c["n_finished"] == 1 and c["n_failed"] == 0 for c in doc["cells"])
    runs = _run_dirs(out)
    assert len(runs) == 4
    workers = {json.loads((r / "status.json").read_text())["worker"] for r in runs}
    assert len(workers) == 2  # both worker processes ran cells
    for r in runs:  # bit-identical to a plain run of the same resolved scenario and seed
        assert _metrics(r) == _single_run(r, tmp_path)
    header = (out / "sweep.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["cell", "training.rule", "training.lr", "n_finished", "n_failed"]
    assert "test_accuracy_std" in header
    stamps = {r: (r / "metrics.json").stat().st_mtime_ns for r in runs}
    again = sweep(XOR, grid, seeds=1, out=out, workers=2, overrides=["training.epochs=4"], plots=False)
    assert again["ran"] == 0 and again["skipped"] == 4  # no cluster is even started
    assert again["cells"] == doc["cells"]
    assert all((r / "metrics.json").stat().st_mtime_ns == stamps[r] for r in runs)


# -- a separately started scheduler and worker pair --------------------------------------------
@pytest.fixture(scope="module")
def dask_pair(tmp_path_factory):
    """``dask scheduler`` + ``dask worker --nworkers 2 --nthreads 1`` on 127.0.0.1 (subprocesses)."""
    from distributed import Client
    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], env=env, cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        for _ in range(300):
            if file.is_file() and file.stat().st_size:
                break
            time.sleep(0.1)
        procs.append(subprocess.Popen([str(bindir / "dask"), "worker", "--scheduler-file", str(file),
                                       "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1",
                                       "--no-dashboard"], env=env, cwd=folder,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        address = json.loads(file.read_text())["address"]
        client = Client(address, timeout="30s")
        client.wait_for_workers(2, timeout=60)
        client.run(lambda: __import__("neurosim.experiments.run"))  # import once, outside the tests' timing
        yield address, client
        client.close()
    finally:  # each command leads its own process group: its spawned worker processes go with it
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=20)


def test_scheduler_path_records_a_diverged_cell_reruns_only_a_deleted_run_and_plots(dask_pair, tmp_path):
    from neurosim.plotting import main_plot
    address, _ = dask_pair
    out = tmp_path / "sweep"
    # identity blocks coupled by gains of 1e6: E is unbounded below, the states blow up after a
    # few τ; stopped at 3 τ every run finishes, run for 30 τ every run diverges
    overrides = {**{f"network.blocks[{i}].activation": "identity" for i in (1, 2, 3)},
                 **{f"network.projections[{i}].gain": 1e6 for i in range(5)}}
    grid = {"simulation.duration": [3.0, 30.0], "probes.interval": [0.05, 0.1]}
    doc = sweep(QUICKSTART, grid, seeds=2, out=out, scheduler=address, overrides=overrides, plots=False)
    assert doc["scheduler"] == address and doc["ran"] == 8
    ok, ok2, boom, boom2 = doc["cells"]
    assert boom["name"] == "duration=30.0_interval=0.05"
    assert boom["n_failed"] == boom2["n_failed"] == 2 and boom["n_finished"] == 0
    assert boom["mean"]["final_energy"] is None
    assert boom["failures"][0]["error"] == "SimulationDiverged" and "non-finite" in boom["failures"][0]["message"]
    assert ok["n_finished"] == ok2["n_finished"] == 2 and doc["headline"][0] == "final_energy"
    accs = [_metrics(out / ok["name"] / f"seed{s}")["final_energy"] for s in doc["seeds"]]
    assert ok["per_seed"]["final_energy"] == accs and ok["mean"]["final_energy"] == pytest.approx(sum(accs) / 2)
    runs = [r for r in _run_dirs(out) if (r / "metrics.json").exists()]
    assert len(runs) == 4
    for r in runs:
        assert _metrics(r) == _single_run(r, tmp_path)

    stamps = {r: (r / "status.json").stat().st_mtime_ns for r in _run_dirs(out)}
    victim = runs[1]
    reference = _metrics(victim)
    for f in victim.iterdir():
        f.unlink()
    victim.rmdir()
    again = sweep(QUICKSTART, grid, seeds=2, out=out, scheduler=address, overrides=overrides, plots=False)
    assert again["ran"] == 1 and again["skipped"] == 7  # a recorded failure is a result, not missing work
    assert _metrics(victim) == reference
    assert all((r / "status.json").stat().st_mtime_ns == t for r, t in stamps.items() if r != victim)

    assert main_plot(out) == 0  # neurosim plot DIR: from sweep.json alone
    names = {p.name for p in (out / "plots").glob("*.png")}
    assert {"sweep_simulation.duration.png", "sweep_probes.interval.png", "sweep_heatmap.png"} <= names
    report = (out / "report.html").read_text()
    assert "Sweep: 4 cells" in report and "SimulationDiverged" in report


def test_killed_worker_run_is_retried_and_every_run_appears_once(dask_pair, tmp_path):
    address, client = dask_pair
    out = tmp_path / "sweep"
    grid = {"training.lr": [[0.5, 0.25], 0.1]}
    kwargs = dict(seeds=2, out=out, scheduler=address, overrides={"training.epochs": 15}, plots=False)
    result, killed = {}, {}
    thread = threading.Thread(target=lambda: result.update(sweep(XOR, grid, **kwargs)))
    thread.start()
    pids = client.run(os.getpid)  # worker address → pid
    deadline = time.time() + 60
    while not killed and time.time() < deadline:  # kill the first worker seen running one of our runs
        started = [p.parent for p in out.glob("*/seed*/scenario.toml") if not (p.parent / "metrics.json").exists()]
        busy = [w for w, tasks in client.processing().items() if any("run_cell" in str(t) for t in tasks)]
        if started and busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.update(pid=pids[busy[0]], started=started)
        time.sleep(0.05)
    thread.join(timeout=120)
    assert killed and not thread.is_alive()
    assert result["ran"] == 4 and all(c["n_finished"] == 2 and c["n_failed"] == 0 for c in result["cells"])
    assert len(_run_dirs(out)) == 4 and len((out / "sweep.csv").read_text().splitlines()) == 1 + 2
    workers = [json.loads((r / "status.json").read_text())["worker"] for r in _run_dirs(out)]
    assert not any(w.endswith(f":{killed['pid']}") for w in workers)  # the killed worker finished nothing
    for r in killed["started"]:  # the runs in flight when the worker died: retried, bit-identical
        assert _metrics(r) == _single_run(r, tmp_path)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
