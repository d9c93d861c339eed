"""Docs that are generated from code stay in step with it."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scenario_key_table_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_scenario_docs.py"), "--check"])
    assert result.returncode == 0, "docs/scenarios.md is stale: run python tools/gen_scenario_docs.py"


def test_every_bundled_scenario_validates_and_is_listed_in_the_docs():
    from neurosim.api import load
    index = (ROOT / "docs" / "index.md").read_text() + (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        load(path)
    assert "brain_multitask.toml" in index and "quickstart.toml" in index
