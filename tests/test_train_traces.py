"""Training runs record phase traces and weight statistics (experiments/train_traces.py) and draw
them (plotting/training.py): shapes, that they measure what they claim, that tracing does not
change training, resume, and the figures in report.html."""
from __future__ import annotations

import numpy as np
import pytest
from command_line import ROOT

import neurosim.api as ns
from neurosim.scenario.schema import ScenarioError

XOR = ROOT / "scenarios" / "xor_ep.toml"
TINY = {"training.epochs": 2, "data.limit_train": 8}   # 2 batches of 4 per epoch


def _npz(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.keys()}


def test_poisson_train_run_writes_phase_traces_events_and_figures(tmp_path):
    res = ns.run(XOR, tmp_path / "p", plots=True,
                 overrides={**TINY, "training.relax.scheduler": "poisson"})
    tr = _npz(tmp_path / "p" / "traces.npz")
    assert tr["phases/epoch"].tolist() == [1, 1, 2, 2] and tr["phases/batch"].tolist() == [0, 1, 0, 1]
    assert tr["phases/labels"].tolist() == ["free", "β = +0.5", "β = -0.5"]
    s0, s1 = len(tr["phases/free_time"]), len(tr["phases/nudged_time"])
    assert tr["phases/free_time"][-1] == pytest.approx(20.0) and s0 > 10 and s1 > 5
    assert tr["phases/free_energy"].shape == tr["phases/free_residual"].shape == (4, s0)
    assert tr["phases/nudged_energy"].shape == tr["phases/nudged_residual"].shape == (4, 2, s1)
    assert tr["phases/end_residual"].shape == (4, 3) and np.all(tr["phases/end_residual"] > 0)
    # the nudged phase starts at the free fixed point: F jumps by λC there, of the sign of λ
    jump = tr["phases/nudged_energy"][:, :, 0] - tr["phases/free_energy"][:, -1:]
    assert np.all(jump[:, 0] > 1e-4) and np.all(jump[:, 1] < -1e-4)
    # the free phase relaxes: its energy falls (asynchronous updates only ever descend F)
    assert np.all(tr["phases/free_energy"][:, -1] < tr["phases/free_energy"][:, 0])
    # update events of the traced batches, on the traces' time axis, for the raster
    assert len(tr["event_time"]) > 50 and tr["event_time"].max() <= tr["time"].max() + 1e-9
    names = tr["block_names"].tolist()
    assert names.index("in") not in set(tr["event_block"].tolist())  # the clamped input never updates
    # weight statistics: epochs 0..2, per projection; training moved the weights
    assert tr["weights/epoch"].tolist() == [0, 1, 2] and tr["weights/norm"].shape == (3, 2)
    assert np.all(tr["weights/update"][0] == 0) and np.all(tr["weights/update"][1:] > 1e-4)
    assert np.all(np.abs(np.diff(tr["weights/norm"], axis=0)) > 0)
    html = res.report.read_text()
    for fig in ("phases", "weight_norms", "raster"):
        assert f'src="plots/{fig}.png"' in html


def test_lr_zero_gives_zero_updates_and_tracing_does_not_change_training(tmp_path):
    ns.run(XOR, tmp_path / "frozen", overrides={**TINY, "training.lr": 0.0})
    tr = _npz(tmp_path / "frozen" / "traces.npz")
    assert np.all(tr["weights/update"] == 0) and np.all(tr["weights/norm"] == tr["weights/norm"][0])
    assert "event_time" not in tr            # sync: no update events kept
    ns.run(XOR, tmp_path / "traced", overrides=TINY)
    ns.run(XOR, tmp_path / "plain", overrides={**TINY, "training.trace_batches": 0})
    a, b = _npz(tmp_path / "traced" / "checkpoint.npz"), _npz(tmp_path / "plain" / "checkpoint.npz")
    for key in a:
        if key.startswith(("weights/", "bias/")):
            np.testing.assert_array_equal(a[key], b[key])
    plain = _npz(tmp_path / "plain" / "traces.npz")
    assert "phases/epoch" not in plain and plain["weights/update"].shape == (3, 2)
    np.testing.assert_array_equal(plain["weights/norm"], _npz(tmp_path / "traced" / "traces.npz")["weights/norm"])


def test_resumed_run_has_the_traces_of_an_uninterrupted_one(tmp_path):
    full = tmp_path / "full"
    ns.run(XOR, full, overrides={**TINY, "training.trace_epochs": [1, 2]})
    part = tmp_path / "part"
    ns.run(XOR, part, overrides={**TINY, "training.epochs": 1, "training.trace_epochs": [1, 2]})
    ns.run(XOR, part, resume=True, overrides={**TINY, "training.trace_epochs": [1, 2]})
    a, b = _npz(full / "traces.npz"), _npz(part / "traces.npz")
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_bad_trace_epochs_names_the_key():
    with pytest.raises(ScenarioError, match="training.trace_epochs"):
        ns.load(XOR, {"training.trace_epochs": "middle"})


@pytest.mark.parametrize("scheduler", ["sync", "poisson"])
def test_traced_phases_end_where_the_estimators_phases_end(scheduler):
    """The trace re-runs the batch: each phase's last residual equals the residual the estimator's
    own PhaseRunner reaches on the same batch and seed."""
    import dataclasses

    from neurosim.experiments.train import Trainer
    from neurosim.learning.nudging import Phase, PhaseRunner
    tr = Trainer(ns.load(XOR, {**TINY, "training.relax.scheduler": scheduler}))
    problem = tr.problem(tr.order(1)[:4], tr.batch_seed(1, 0))
    tr.tracer.batch(tr, 1, 0, problem)
    runner = PhaseRunner(dataclasses.replace(problem, relax=dataclasses.replace(problem.relax, residuals=True)))
    runner.free()
    for lam in (0.5, -0.5):
        runner.nudged(Phase(lam))
    np.testing.assert_allclose(tr.tracer.phase_arrays()["phases/end_residual"][0], runner.residuals, rtol=1e-9)
