"""The one loop (experiments/loop.py): the initial row, the step progress bar, resume."""
from __future__ import annotations

import numpy as np

from neurosim.experiments.loop import Job, run_loop


class _Scenario:
    def __init__(self, steps: int):
        self.data = {"name": "toy", "kind": "toy", "toy": {"steps": steps}}

    def __getitem__(self, key):
        return self.data[key]


class _Counter(Job):
    """State: one number, step i adds i; row 0 holds the starting value."""

    kind = "toy"
    may_change = ("toy.steps",)
    columns = ["step", "train_loss", "value", "seconds"]

    def __init__(self):
        self.value, self.initial_calls, self.bars = 10.0, 0, []

    def initial(self):
        self.initial_calls += 1
        return {"value": self.value}

    def step(self, i):
        self.bars.append(self.bar is not None)
        self.value += i
        return float(i)

    def record(self, i):
        return {"value": self.value}

    def arrays(self):
        return {"value": np.array(self.value)}

    def restore(self, arrays, meta):
        self.value = float(arrays["value"])

    def final(self, history):
        return {"value": self.value, "rows": len(history)}


def _values(history):
    return [(row["step"], row["value"], row["train_loss"]) for row in history]


def test_initial_row_then_steps_and_a_resume_that_skips_it(tmp_path):
    for name in ("full", "cut"):
        (tmp_path / name).mkdir()
    full = _Counter()
    whole = run_loop(full, _Scenario(4), tmp_path / "full", False, 4, 2)
    assert full.initial_calls == 1 and all(full.bars) and full.bar is None
    assert _values(whole.history) == [(0, 10.0, None), (2, 11.0, 0.5), (4, 16.0, 2.5)]
    assert (tmp_path / "full" / "history.csv").read_text().splitlines()[1] == "0,,10.0,0.0"

    run_loop(_Counter(), _Scenario(2), tmp_path / "cut", False, 2, 2)
    again = _Counter()
    resumed = run_loop(again, _Scenario(4), tmp_path / "cut", True, 4, 2)
    assert again.initial_calls == 0                      # row 0 came from the checkpoint
    assert _values(resumed.history) == _values(whole.history)
    assert resumed.metrics == whole.metrics == {"value": 16.0, "rows": 3}
