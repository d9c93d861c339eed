"""The scenario the tests train on, as the nested dict a scenario file parses to: digits (200 train,
150 test images) on a 64-32-10 network, three epochs of ep_symmetric (β = 0.5) in batches of 20.
``small(training__epochs=1, ...)`` changes nested keys (``__`` separates the levels)."""
from __future__ import annotations

import copy

SMALL = {
    "name": "digits_small", "kind": "train", "seed": 3, "plots": False,
    "network": {
        "blocks": [{"name": "in", "size": 64}, {"name": "h", "size": 32}, {"name": "out", "size": 10}],
        "projections": [{"pre": "in", "post": "h"}, {"pre": "h", "post": "out"}],
    },
    "data": {"name": "digits", "limit_train": 200, "limit_test": 150},
    "training": {"input_block": "in", "output_block": "out", "epochs": 3, "batch_size": 20,
                 "lr": [0.1, 0.05], "rule": "ep_symmetric", "rule_options": {"beta": 0.5},
                 "relax": {"free_duration": 15.0, "nudged_duration": 5.0}},
}


def small(**changes):
    doc = copy.deepcopy(SMALL)
    for key, value in changes.items():
        d = doc
        parts = key.split("__")
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = value
    return doc


def one_task_lump(data: dict, task: str, keep: set, n_eval: int, lr: float, hidden: int = 48) -> dict:
    """A multitask scenario dict cut down to one task on a small lump: only the blocks in ``keep``
    (``h_vis`` shrunk to ``hidden`` units) and the projections among them, 16 particles, 300 τ with
    one evaluation, no controls; the task shown half the time in 10–20 τ episodes without fade,
    learned at plasticity rate ``lr`` (changes ``data`` in place and returns it)."""
    data["network"]["particles"] = 16
    data["tasks"] = [t for t in data["tasks"] if t["name"] == task]
    data["reverse"] = []
    data["network"]["blocks"] = [dict(b, size=hidden) if b["name"] == "h_vis" else b
                                 for b in data["network"]["blocks"] if b["name"] in keep]
    data["network"]["projections"] = [p for p in data["network"]["projections"]
                                      if p["pre"] in keep and p["post"] in keep]
    data["multitask"].update(duration=300.0, eval_every=300.0, n_eval=n_eval, isolated=False, controls=[],
                             gradient_probe=False)
    data["tasks"][0].update(rate=0.5, duration=[10.0, 20.0], fade=0.0)
    data["plasticity"]["lr"] = lr
    return data
