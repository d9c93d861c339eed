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
