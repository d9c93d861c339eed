"""--set KEY=VALUE on the verbs that take a scenario, and overrides= in the API: the same change."""
import json
from pathlib import Path

import neurosim.api as ns
from neurosim.cli import main

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.toml"


def test_run_set_shortens_the_run_like_the_api(tmp_path):
    assert main(["run", str(QUICKSTART), "--out", str(tmp_path / "cli"), "--quiet", "--no-plots",
                 "--set", "simulation.duration=2", "--set", "network.particles=2"]) == 0
    cli = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    api = ns.run(QUICKSTART, tmp_path / "api", plots=False,
                 overrides={"simulation.duration": 2, "network.particles": 2}).metrics
    assert abs(cli["simulated_time"] - 2.0) < 1e-9
    assert cli["final_energy"] == api["final_energy"]
    assert "duration = 2" in (tmp_path / "cli" / "scenario.toml").read_text()


def test_bad_set_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(QUICKSTART), "--out", str(out), "--set", "simulation.dt=-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "key 'simulation.dt'" in err and len(err.splitlines()) == 1
    assert not out.exists()
    assert main(["validate", str(QUICKSTART), "--set", "simulation.bogus=1"]) == 2
