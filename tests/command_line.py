"""Running the ``neurosim`` command line in a subprocess, and the paths the tests run it on."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_cli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    """``python -m neurosim.cli ARGS`` in a subprocess (text output, never raises on exit code)."""
    return subprocess.run([sys.executable, "-m", "neurosim.cli", *map(str, args)], cwd=cwd or ROOT,
                          env=cli_env(), capture_output=True, text=True, timeout=timeout)
