"""The Python API is the command line: one function per verb, the same options, results with arrays."""
import json
from pathlib import Path

import numpy as np
import pytest

import neurosim.api as ns
from neurosim.cli import build_parser, main
from neurosim.experiments.rundir import RunDirError

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"
GRADCHECK = ROOT / "scenarios" / "gradcheck_layered.toml"
MOONS = ROOT / "scenarios" / "toy2d_moons_flow.toml"

#: CLI verb → API function
VERBS = {"run": "run", "validate": "validate", "plot": "plot", "list": "list_scenarios", "bench": "bench",
         "gradcheck": "gradcheck", "generate": "generate", "compare": "compare", "sweep": "sweep",
         "fetch": "fetch", "resample": "resample"}


def test_every_verb_has_its_function_in_all():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(VERBS)
    for verb, name in VERBS.items():
        assert name in ns.__all__ and callable(getattr(ns, name)), verb
    for name in ns.__all__:
        assert hasattr(ns, name), name


def test_run_result_gives_the_traces_and_refuses_an_existing_out(tmp_path):
    out = tmp_path / "run"
    r = ns.run(QUICKSTART, out, plots=False, overrides={"simulation.duration": 2, "network.particles": 2})
    h1 = r.traces["activity/h1"]
    assert h1.shape[1:] == (2, 12) and h1.shape[0] == len(r.traces["time"])
    with np.load(out / "traces.npz") as z:
        assert np.array_equal(z["activity/h1"], h1) and np.array_equal(z["energy"], r.traces["energy"])
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(RunDirError, match="overwrite=True"):
        ns.run(QUICKSTART, out, plots=False, overrides={"simulation.duration": 1})
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    r2 = ns.run(QUICKSTART, out, plots=False, overrides={"simulation.duration": 1, "network.particles": 2},
                overwrite=True)
    assert r2.traces["time"][-1] < r.traces["time"][-1]


def test_run_cli_refuses_an_existing_out_naming_it(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", str(QUICKSTART), "--out", str(out), "--quiet", "--no-plots", "--set", "simulation.duration=1"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"neurosim: error: {out}: already holds an earlier run") and "--overwrite" in err
    assert "--resume" not in err  # a relax run keeps no checkpoint to resume
    assert main(args + ["--overwrite"]) == 0


def test_validate_returns_each_files_error():
    found = ns.validate(QUICKSTART, GRADCHECK, overrides=["seed=2"])
    assert found == {str(QUICKSTART): None, str(GRADCHECK): None}
    bad = ns.validate(QUICKSTART, overrides={"simulation.dt": -1})[str(QUICKSTART)]
    assert "simulation.dt" in bad


SMALL_GC = {"gradcheck.batch": 2, "gradcheck.estimators": ["ep_symmetric", "bp_ff"], "gradcheck.betas": [0.01]}


def test_gradcheck_api_is_the_cli(tmp_path, capsys):
    doc = ns.gradcheck(GRADCHECK, tmp_path / "api", overrides=SMALL_GC, plots=False)
    assert set(doc["estimators"]) == {"ep_symmetric_beta0.01", "bp_ff"}
    assert doc["estimators"]["ep_symmetric_beta0.01"]["cosine_total"] > 0.999
    sets = sum((["--set", f"{k}={json.dumps(v)}"] for k, v in SMALL_GC.items()), [])
    assert main(["gradcheck", str(GRADCHECK), "--out", str(tmp_path / "cli"), "--quiet", "--no-plots", *sets]) == 0
    cli = json.loads((tmp_path / "cli" / "gradcheck.json").read_text())
    for name, e in doc["estimators"].items():
        assert cli["estimators"][name]["cosine_total"] == e["cosine_total"]
    assert main(["gradcheck", str(GRADCHECK), "--out", str(tmp_path / "cli"), "--quiet", *sets]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_generate_says_which_step_its_checkpoint_is_from(tmp_path, capsys):
    run_dir = tmp_path / "moons"
    ns.run(MOONS, run_dir, plots=False, overrides={
        "training.rule": "bp_ff", "generative.steps": 6, "generative.eval_every": 3, "generative.n_eval": 50,
        "generative.sampler_steps": 2, "network.blocks[1].size": 8, "network.blocks[2].size": 8})
    info = ns.generate(run_dir, n=20, steps=2, plot=False)
    assert info["checkpoint_step"] == 6 and info["checkpoint_steps"] == 6
    assert main(["generate", str(run_dir), "--n", "20", "--steps", "2", "--no-plots",
                 "--out", str(tmp_path / "s.npz")]) == 0
    assert f"{run_dir / 'checkpoint.npz'}: training step 6 of 6" in capsys.readouterr().out


def test_list_scenarios_unpacks_as_before_and_carries_the_duration():
    infos = ns.list_scenarios(ROOT / "scenarios")
    path, description = infos[0]
    assert path == infos[0].path and description == infos[0].description
    moons = next(i for i in infos if i.path.endswith("toy2d_moons_flow.toml"))
    assert moons.kind == "generative" and moons.seconds > 120 and "--set generative.steps=" in moons.quick


def test_help_shows_the_defaults_that_say_something():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for verb, parser in sub.choices.items():
        text = parser.format_help()
        assert "(default: None)" not in text and "(default: False)" not in text, verb
        assert "(default: [])" not in text, verb
    assert "(default: 3)" in sub.choices["compare"].format_help()  # --seeds
    assert "(default: 1000)" in sub.choices["generate"].format_help()  # --n
