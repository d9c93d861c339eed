"""Training seconds per epoch of a ``kind = "train"`` scenario, in CPU and wall time.

    python tools/train_epoch_seconds.py scenarios/digits_ep_vs_bp.toml 3 [KEY=VALUE ...]

Builds the scenario's trainer, warms up on one batch (numba compilation or cache load), trains
the given number of epochs, and prints one JSON line: the median process-CPU and wall seconds
of an epoch's training (evaluation excluded) and the test accuracy at the end. Run it alternately
in two checkouts (e.g. a worktree of an older commit) to compare engines on one machine:
the CPU figure is the one to trust on a loaded machine (copy tools/epoch_timing.py along with
it). About 3 s plus the epochs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path.cwd()))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from epoch_timing import scenario_with, timed  # noqa: E402

from neurosim.experiments.train import Trainer  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sc, epochs = scenario_with(argv[0], argv[2:]), int(argv[1])
    tr = Trainer(sc)
    tr.estimator.gradient(tr.problem(np.arange(tr.training["batch_size"]), 0))
    wall, cpu = np.array([timed(lambda: tr.train_epoch(epoch)) for epoch in range(1, epochs + 1)]).T
    print(json.dumps({"scenario": sc["name"], "epochs": epochs, "cpu_seconds": float(np.median(cpu)),
                      "wall_seconds": float(np.median(wall)),
                      "test_accuracy": tr.evaluate(tr.x_test, tr.y_test).accuracy}))


if __name__ == "__main__":
    main()
