"""Where a training epoch's CPU time goes: relaxation kernel, Hebbian products, the rest (Python).

    python tools/train_epoch_split.py scenarios/digits_ep_peers.toml 10 [KEY=VALUE ...]

Builds the scenario's trainer, warms up on one epoch (numba compilation or cache load), then
trains the given number of epochs with ``time.process_time`` around every call of the
relaxation kernel (``relaxation.relax_ticks``, as the simulator calls it) and of the one-call
contrast products (``products.contrast_products``, as the phase runner calls it). Prints one JSON
line of milliseconds per epoch: ``epoch``, ``kernel``, ``products`` and ``rest`` = epoch − both,
which is the per-batch Python (problem, phase runner, simulator pool, optimiser, bookkeeping) plus
the numba dispatch of the calls. Run it when the machine is quiet: on a loaded machine the
split shifts towards ``rest``. About 3 s plus the epochs.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from epoch_timing import scenario_with  # noqa: E402

import neurosim.engine.relaxation as relaxation  # noqa: E402
import neurosim.learning.nudging as nudging  # noqa: E402
from neurosim.experiments.train import Trainer  # noqa: E402


def timed_calls(module, name: str, total: dict, key: str) -> None:
    """Replace ``module.name`` by a wrapper adding its CPU seconds to ``total[key]``."""
    inner = getattr(module, name)

    def wrapper(*args):
        t0 = time.process_time()
        try:
            return inner(*args)
        finally:
            total[key] += time.process_time() - t0

    setattr(module, name, wrapper)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sc, epochs = scenario_with(argv[0], argv[2:]), int(argv[1])
    tr = Trainer(sc)
    tr.train_epoch(1)  # warm-up: compilation or cache load
    total = {"kernel": 0.0, "products": 0.0}
    timed_calls(relaxation, "relax_ticks", total, "kernel")
    timed_calls(nudging, "contrast_products", total, "products")
    t0 = time.process_time()
    for epoch in range(2, epochs + 2):
        tr.train_epoch(epoch)
    epoch_ms = 1e3 * (time.process_time() - t0) / epochs
    kernel, products = (1e3 * total[k] / epochs for k in ("kernel", "products"))
    print(json.dumps({"scenario": sc["name"], "epochs": epochs, "epoch_ms": round(epoch_ms, 2),
                      "kernel_ms": round(kernel, 2), "products_ms": round(products, 2),
                      "rest_ms": round(epoch_ms - kernel - products, 2)}))


if __name__ == "__main__":
    main()
