"""``neurosim gradcheck``: the CLI, the gradcheck.json contract, gradients.npz, the plot."""
import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.experiments.gradcheck import run_gradcheck
from neurosim.scenario.load import load_scenario


def _small(path="scenarios/gradcheck_layered.toml", **changes):
    sc = load_scenario(path)
    opts = dict(gradcheck__estimators=["bp", "ep", "ep_symmetric", "hep"],
                gradcheck__betas=[0.001, 0.1], gradcheck__n_points=[4])
    opts.update(changes)
    return sc.with_changes(**opts)


def test_cli_writes_contract(tmp_path, capsys):
    sc = _small()
    scen = tmp_path / "gc.toml"
    scen.write_text(sc.to_toml())
    out = tmp_path / "run"
    assert main(["gradcheck", str(scen), "--out", str(out), "--quiet"]) == 0
    assert f"report: {out / 'report.html'}" in capsys.readouterr().out
    gc = json.loads((out / "gradcheck.json").read_text())
    assert gc["exact"] == "implicit"
    names = set(gc["estimators"])
    assert {"bp", "ep_beta0.001", "ep_beta0.1", "ep_symmetric_beta0.001", "hep_N4_beta0.1"} <= names
    for e in gc["estimators"].values():
        assert {"estimator", "cosine_total", "rel_error_total", "beta", "n_points", "per_projection"} <= set(e)
        assert set(e["per_projection"]) == {"x->h1", "h1->h2", "h2->y"}
        assert {"cosine", "rel_error"} <= set(e["per_projection"]["h1->h2"])
    est = gc["estimators"]
    assert est["ep_symmetric_beta0.001"]["cosine_total"] >= 0.9999
    assert est["ep_beta0.001"]["cosine_total"] >= 0.999
    assert est["hep_N4_beta0.1"]["cosine_total"] >= 0.99999
    assert est["hep_N4_beta0.1"]["rel_error_total"] <= 1e-3
    assert est["hep_N4_beta0.1"]["n_points"] == 4 and est["hep_N4_beta0.1"]["beta"] == 0.1
    assert 0.04 < est["ep_beta0.1"]["rel_error_total"] < 0.2
    z = np.load(out / "gradients.npz")
    for key in ("weights/h1->h2", "bias/h1", "input/x", "target", "exact/weights/h1->h2",
                "estimate/hep_N4_beta0.1/weights/h1->h2", "estimate/ep_beta0.1/bias/y"):
        assert key in z.files, key
    exact = z["exact/weights/h1->h2"]
    hep = z["estimate/hep_N4_beta0.1/weights/h1->h2"]
    assert np.linalg.norm(hep - exact) <= 1e-3 * np.linalg.norm(exact)
    # the runner draws what `neurosim plot` draws, and the report
    for name in ("gradcheck.png", "gradcheck_projections.png", "network.png"):
        assert (out / "plots" / name).stat().st_size > 1000, name
    assert not (out / "plots" / "gradcheck_cosine.png").exists()
    assert "neurosim gradcheck" in (out / "report.html").read_text()


def test_graph_scenario_hep(tmp_path):
    gc = run_gradcheck(_small("scenarios/gradcheck_graph.toml",
                              gradcheck__estimators=["hep"]), tmp_path)
    e = gc["estimators"]["hep_N4_beta0.1"]
    assert e["cosine_total"] >= 0.99999 and e["rel_error_total"] <= 1e-3
    assert "h3->h1" in e["per_projection"]


def test_diverging_setting_is_reported_not_fatal(tmp_path):
    gc = run_gradcheck(_small(gradcheck__estimators=["ep_symmetric"], gradcheck__betas=[2.0]), tmp_path)
    e = gc["estimators"]["ep_symmetric_beta2"]
    assert e["cosine_total"] is None and "non-finite" in e["error"]


def test_bad_scenario_exit_code_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(_small().to_toml().replace('input = "x"', 'input = "nope"'))
    assert main(["gradcheck", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gradcheck.input" in err[0]
    relax = tmp_path / "relax.toml"
    relax.write_text('[network]\n[[network.blocks]]\nname = "a"\nsize = 2\n')
    assert main(["gradcheck", str(relax), "--out", str(tmp_path / "o")]) == 2


def test_an_interrupted_gradcheck_resumes_with_the_next_setting(tmp_path):
    """On the one loop: two settings done, then --resume runs only the rest; the results equal an
    uninterrupted run's (the settings done are read back, not recomputed)."""
    from neurosim.experiments.gradcheck import GradcheckJob, gradcheck
    from neurosim.experiments.loop import run_loop
    sc = _small(gradcheck__estimators=["bp", "ep", "ep_symmetric"], gradcheck__betas=[0.01, 0.1])
    full = gradcheck(sc, tmp_path / "full")
    job = GradcheckJob(sc, tmp_path / "part")
    run_loop(job, sc, tmp_path / "part", False, 2, 1)            # stopped after two settings
    resumed = gradcheck(sc, tmp_path / "part", resume=True)
    assert list(resumed["estimators"]) == list(full["estimators"])
    for name, e in full["estimators"].items():
        assert resumed["estimators"][name]["cosine_total"] == e["cosine_total"], name
    done_first = list(full["estimators"])[:2]
    assert all(resumed["estimators"][n]["wall_seconds"] == job.results[n]["wall_seconds"] for n in done_first)
    with np.load(tmp_path / "full" / "gradients.npz") as a, np.load(tmp_path / "part" / "gradients.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_a_gradcheck_run_offers_resume_like_every_kind_on_the_loop(tmp_path, capsys):
    """``neurosim run`` of a gradcheck scenario keeps the loop's checkpoint, so an existing --out is
    refused with --resume offered, and the Ctrl-C hint names the checkpoint and its step."""
    from neurosim.cli import resume_hint
    scen = tmp_path / "gc.toml"
    scen.write_text(_small(gradcheck__estimators=["bp", "ep"], gradcheck__betas=[0.1]).to_toml())
    out = tmp_path / "run"
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--no-plots"]) == 0
    hint = resume_hint("run", out)
    assert "--resume continues from" in hint and "after step" in hint, hint
    capsys.readouterr()
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--no-plots"]) == 2
    assert "--resume to continue it" in capsys.readouterr().err
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--no-plots", "--resume"]) == 0


@pytest.mark.parametrize("name,cost", [("layered", "mse"), ("graph", "mse"), ("layered", "ce")])
def test_the_runner_builds_the_batches_the_estimator_tests_check(name, cost, gradcheck_batch):
    """The estimator tests (test_estimators.py, test_hep_radius.py) build their batches from the
    model layer; their thresholds were set on the bundled scenarios' batches, so both must be the
    same, bit for bit: network, parameters, inputs, targets and relaxation."""
    from neurosim.experiments.gradcheck import make_problem

    sc = load_scenario(f"scenarios/gradcheck_{name}.toml").with_changes(gradcheck__cost=cost)
    ran, ran_net, ran_params = make_problem(sc)
    built, net, params = gradcheck_batch(name, cost)
    assert net.blocks == ran_net.blocks and net.projections == ran_net.projections
    assert [(kind, key) for kind, key, _ in params.items()] == [(kind, key) for kind, key, _ in ran_params.items()]
    for kind, key, value in params.items():
        assert np.array_equal(value, getattr(ran_params, kind)[key]), (kind, key)
    assert built.clamped.keys() == ran.clamped.keys()
    assert all(np.array_equal(built.clamped[k], ran.clamped[k]) for k in built.clamped)
    assert np.array_equal(built.target, ran.target) and built.out == ran.out and built.cost == ran.cost
    assert built.relax == ran.relax
