"""``traces.npz``: probed activity, energy, events and task schedules over time, a training run's
phase and weight traces, and the on-intervals of a 0/1 schedule."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .contract import TRACES


@dataclass
class Traces:
    time: np.ndarray                                   # (S,)
    energy: np.ndarray | None = None                   # (S,) or (S, P)
    activity: dict[str, np.ndarray] = field(default_factory=dict)  # block -> (S, P, n)
    block_names: list[str] = field(default_factory=list)
    event_time: np.ndarray | None = None               # (E,)
    event_block: np.ndarray | None = None              # (E,) int
    lam: dict[str, np.ndarray] = field(default_factory=dict)       # task -> (S,)
    clamp: dict[str, np.ndarray] = field(default_factory=dict)     # task -> (S,) 0/1
    gain: dict[str, np.ndarray] = field(default_factory=dict)      # task -> (S,) condition gain g(t) ∈ [0, 1]

    def events_of(self, block: str) -> np.ndarray:
        """Update times of ``block`` (empty if unknown)."""
        if self.event_time is None or self.event_block is None or block not in self.block_names:
            return np.empty(0)
        return self.event_time[self.event_block == self.block_names.index(block)]

    @property
    def has_events(self) -> bool:
        return self.event_time is not None and self.event_block is not None and len(self.event_time) > 0


def _as_str_list(arr: np.ndarray) -> list[str]:
    return [x.decode() if isinstance(x, bytes) else str(x) for x in np.asarray(arr).ravel().tolist()]


def read_traces(run_dir: Path | str) -> Traces | None:
    path = Path(run_dir) / TRACES
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        keys = list(z.keys())
        if "time" not in keys:
            raise ValueError(f"{path}: no 'time' array")
        tr = Traces(time=np.asarray(z["time"], dtype=float).ravel())
        if "energy" in keys:
            tr.energy = np.asarray(z["energy"], dtype=float)
        if "block_names" in keys:
            tr.block_names = _as_str_list(z["block_names"])
        if "event_time" in keys and "event_block" in keys:
            tr.event_time = np.asarray(z["event_time"], dtype=float).ravel()
            tr.event_block = np.asarray(z["event_block"]).astype(np.int64).ravel()
        for key in keys:
            prefix, _, name = key.partition("/")
            if not name:
                continue
            if prefix == "activity":
                a = np.asarray(z[key], dtype=float)
                if a.ndim == 2:            # (S, n) without a particle axis
                    a = a[:, None, :]
                tr.activity[name] = a
            elif prefix == "lambda":
                tr.lam[name] = np.asarray(z[key]).ravel()
            elif prefix == "clamp":
                tr.clamp[name] = np.asarray(z[key], dtype=float).ravel()
            elif prefix == "gain":
                tr.gain[name] = np.asarray(z[key], dtype=float).ravel()
    # Activity panels in block-id order where known.
    order = {b: i for i, b in enumerate(tr.block_names)}
    tr.activity = dict(sorted(tr.activity.items(), key=lambda kv: order.get(kv[0], len(order))))
    return tr


def read_train_traces(run_dir: Path | str) -> dict[str, np.ndarray] | None:
    """The ``phases/…`` and ``weights/…`` arrays of a training run's ``traces.npz`` (None when
    the file is absent or holds neither)."""
    path = Path(run_dir) / TRACES
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in z.keys() if k.startswith(("phases/", "weights/"))}
    return out or None


def on_intervals(time: np.ndarray, flag: np.ndarray) -> list[tuple[float, float]]:
    """Intervals [t0, t1) where ``flag`` > 0.5, sample-and-hold between sample times."""
    time = np.asarray(time, dtype=float)
    on = np.asarray(flag, dtype=float) > 0.5
    if len(time) == 0 or not on.any():
        return []
    step = float(np.median(np.diff(time))) if len(time) > 1 else 1.0
    edges = np.append(time, time[-1] + step)
    d = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(float(edges[a]), float(edges[b])) for a, b in zip(starts, stops)]
