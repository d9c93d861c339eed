"""The run-directory contract: the names of the files a run writes, and which are present.

Every reader of ``plotting/io`` takes a run directory and returns plain Python / numpy data, or
``None`` when its file is absent; nothing there draws and nothing imports simulator objects.
"""
from __future__ import annotations

from pathlib import Path

# File names of the run-directory contract.
SCENARIO = "scenario.toml"
METRICS = "metrics.json"
NETWORK = "network.json"
TRACES = "traces.npz"
CHECKPOINT = "checkpoint.npz"
HISTORY = "history.csv"
COMPARE_JSON = "compare.json"
COMPARE_CSV = "compare.csv"
COMPARE_HISTORY = "compare_history.csv"
GRADCHECK = "gradcheck.json"
SAMPLES = "samples.npz"
SAMPLES_BP = "samples_bp.npz"          # multitask sample.bp: the bp-trained twin's samples
SAMPLES_JSON = "samples.json"          # ``neurosim generate``: what was sampled, and its scores
INPAINTING = "inpainting.npz"
GRADIENTS = "gradients.npz"
SWEEP_JSON = "sweep.json"
SWEEP_CSV = "sweep.csv"
DIVISION = "division_of_labour.npz"     # multitask: who does what (experiments/division_of_labour.py)
DIVISION_JSON = "division_of_labour.json"

KNOWN_FILES = (SCENARIO, METRICS, NETWORK, TRACES, CHECKPOINT, HISTORY, COMPARE_JSON,
               COMPARE_CSV, COMPARE_HISTORY, GRADCHECK, GRADIENTS, SAMPLES, SAMPLES_BP, SAMPLES_JSON, INPAINTING,
               SWEEP_JSON, SWEEP_CSV, DIVISION, DIVISION_JSON, "lump_trajectory.npz", "lump_generation.json")


def known_files(run_dir: Path | str) -> list[str]:
    """Names of the contract files present in ``run_dir``."""
    run_dir = Path(run_dir)
    return [name for name in KNOWN_FILES if (run_dir / name).is_file()]
