"""What the engine-timing tools share: a scenario with ``KEY=VALUE`` overrides, and one call timed
in wall and process-CPU seconds (the CPU figure is the one to trust on a loaded machine).

Imports only ``neurosim.scenario.load.load_scenario`` and ``Scenario.with_changes``, so it runs
against older checkouts too (copy it beside ``train_epoch_seconds.py``).
"""
from __future__ import annotations

import json
import time

from neurosim.scenario.load import load_scenario


def scenario_with(path, assignments):
    """The scenario at ``path`` with every ``KEY=VALUE`` of ``assignments`` set (dotted keys; the
    value read as JSON, else as a plain string)."""
    sc = load_scenario(path)
    for kv in assignments:
        key, value = kv.split("=", 1)
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass  # a plain string
        sc = sc.with_changes(**{key.replace(".", "__"): value})
    return sc


def timed(fn) -> tuple[float, float]:
    """(wall seconds, process-CPU seconds) of ``fn()``."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c
