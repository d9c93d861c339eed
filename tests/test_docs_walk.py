"""Every command README.md and docs/index.md show succeeds, run in order from a fresh directory
(long studies as their quick variant): tools/walk_docs.py. Slow: minutes."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_walk_through_readme_and_index():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "walk_docs.py")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_the_walk_finds_the_commands_and_shortens_only_long_ones():
    sys.path.insert(0, str(ROOT / "tools"))
    import walk_docs
    steps = [walk_docs.plan(k, t) for k, t in walk_docs.shown_commands((ROOT / "README.md").read_text())]
    shell = [t for k, t in filter(None, steps) if k == "sh"]
    assert "neurosim run scenarios/quickstart.toml --out runs/quickstart" in shell  # pip install stripped
    assert "neurosim list" in shell and not any("pip install" in t for t in shell)
    brain = [t for t in shell if "brain_multitask" in t and "runs/brain " in t + " "]
    assert brain and all("multitask.isolated=false" in t for t in brain)
    assert any(k == "py" for k, _ in filter(None, steps))
