"""Probes: what the run records, into buffers allocated before the run starts.

A probe samples, every ``interval`` of simulated time, the activity of the chosen blocks (all
particles) and the total energy F per particle. Block-update events are recorded as (time,
block id) pairs. Probes never draw random numbers and never change the state, so adding one
changes nothing else in the run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EVENT_CHUNK = 1 << 16


@dataclass
class ProbeSpec:
    """``blocks``: names to record (None: all); ``interval``: sampling interval in τ;
    ``particles``: record the activity of the first k particles only (None: all);
    ``until``: stop sampling after this simulated time (None: never) — long runs keep a window."""

    blocks: list[str] | None = None
    interval: float = 0.1
    energy: bool = True
    events: bool = True
    particles: int | None = None
    until: float | None = None

    def n_recorded(self, n_particles: int) -> int:
        return n_particles if self.particles is None else min(self.particles, n_particles)


def probe_bytes(compiled, spec: ProbeSpec, duration: float) -> int:
    """Memory the probe buffers of a run of ``duration`` will take, in bytes."""
    window = duration if spec.until is None else min(duration, spec.until)
    n_samples = int(np.floor(window / spec.interval + 1e-9)) + 1
    names = spec.blocks if spec.blocks is not None else compiled.names
    units = sum(int(compiled.sizes[compiled.index(n)]) for n in names)
    item = compiled.dtype.itemsize
    per_sample = spec.n_recorded(compiled.n_particles) * units * item + 8
    if spec.energy:
        per_sample += compiled.n_particles * item
    return n_samples * per_sample + (EVENT_CHUNK * 16 if spec.events else 0)


class ProbeRecorder:
    """Sample buffers for one ``Simulator.run`` call; chunks accumulate across calls."""

    def __init__(self, compiled, spec: ProbeSpec | None):
        self.c, self.spec = compiled, spec
        self.names = [] if spec is None else list(spec.blocks if spec.blocks is not None else compiled.names)
        self.k = spec.n_recorded(compiled.n_particles) if spec is not None else 0
        # a block's slice holds its (P, n) matrix row by row: the first k particles lead it
        idx = [compiled.block_slice(compiled.index(n)).start
               + np.arange(self.k * int(compiled.sizes[compiled.index(n)])) for n in self.names]
        self.idx = np.concatenate(idx).astype(np.int64) if idx else np.zeros(0, dtype=np.int64)
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.next_time = 0.0
        self._alloc(0)

    def _alloc(self, n_samples: int):
        p = self.c.n_particles
        n_e = p if (self.spec is not None and self.spec.energy) else 0
        self.state = np.zeros((n_samples, self.idx.size), dtype=self.c.dtype)
        self.energy = np.zeros((n_samples, n_e), dtype=self.c.dtype)
        self.time = np.zeros(n_samples)
        self.count = 0
        self.start_time = self.next_time

    def begin(self, t: float, t_end: float):
        """Allocate the buffers for the samples due in [t, t_end]."""
        if self.spec is None:
            self._alloc(0)
            return
        self.next_time = max(self.next_time, t)
        if self.spec.until is not None:
            t_end = min(t_end, self.spec.until)
        n = int(np.floor((t_end - self.next_time) / self.spec.interval + 1e-9)) + 1
        self._alloc(max(n, 0))

    def kernel_args(self):
        dt = self.spec.interval if self.spec is not None else 1.0
        return (self.start_time + self.count * dt, dt, self.idx, self.state, self.energy,
                self.time, self.count)

    def advance(self, n_written: int, _ticks=None):
        self.count = n_written
        dt = self.spec.interval if self.spec is not None else 1.0
        self.next_time = self.start_time + self.count * dt

    def end(self):
        if self.count:
            self.chunks.append((self.time[:self.count].copy(), self.state[:self.count].copy(),
                                self.energy[:self.count].copy()))
        self._alloc(0)

    def state_dict(self) -> dict:
        """Everything recorded so far (between runs) and the time the next sample is due."""
        time, state, energy = self._joined()
        return {"time": time, "state": state, "energy": energy, "next_time": np.array(self.next_time)}

    def load_state_dict(self, arrays: dict) -> None:
        self.chunks = ([(arrays["time"].copy(), arrays["state"].copy(), arrays["energy"].copy())]
                       if len(arrays["time"]) else [])
        self.next_time = float(arrays["next_time"])
        self._alloc(0)

    def _joined(self):
        if not self.chunks:
            return (np.zeros(0), np.zeros((0, self.idx.size), dtype=self.c.dtype),
                    np.zeros((0, 0), dtype=self.c.dtype))
        return tuple(np.concatenate([c[i] for c in self.chunks]) for i in range(3))

    def traces(self) -> dict[str, np.ndarray]:
        """``time`` (S,), ``energy`` (S, P) if recorded, ``activity/<block>`` (S, k, n)."""
        time, state, energy = self._joined()
        out = {"time": time}
        if self.spec is not None and self.spec.energy:
            out["energy"] = energy
        p, col = self.k, 0
        for name in self.names:
            n = int(self.c.sizes[self.c.index(name)])
            out[f"activity/{name}"] = state[:, col:col + p * n].reshape(-1, p, n)
            col += p * n
        return out


class EventRecorder:
    """(time, block) of every block update, flushed in chunks of EVENT_CHUNK."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.time = np.zeros(EVENT_CHUNK)
        self.block = np.zeros(EVENT_CHUNK, dtype=np.int64)
        self.count = 0
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.total = 0

    def kernel_args(self):
        return self.time, self.block, self.count

    def room(self) -> int:
        return EVENT_CHUNK - self.count

    def advance(self, n_written: int):
        self.total += n_written - self.count
        self.count = n_written
        if self.count >= EVENT_CHUNK:
            self.flush()

    def flush(self):
        if self.enabled and self.count:
            self.chunks.append((self.time[:self.count].copy(), self.block[:self.count].copy()))
        self.count = 0

    def state_dict(self) -> tuple[dict, dict]:
        """The events flushed so far and the buffer as it stands (the kernels fill it on)."""
        done = self.chunks
        arrays = {"time": np.concatenate([c[0] for c in done]) if done else np.zeros(0),
                  "block": np.concatenate([c[1] for c in done]) if done else np.zeros(0, dtype=np.int64),
                  "buffer_time": self.time[:self.count].copy(), "buffer_block": self.block[:self.count].copy()}
        return arrays, {"count": int(self.count), "total": int(self.total)}

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        self.chunks = [(arrays["time"].copy(), arrays["block"].copy())] if len(arrays["time"]) else []
        self.count, self.total = int(meta["count"]), int(meta["total"])
        self.time[:self.count], self.block[:self.count] = arrays["buffer_time"], arrays["buffer_block"]

    def arrays(self):
        self.flush()
        if not self.chunks:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        return (np.concatenate([c[0] for c in self.chunks]),
                np.concatenate([c[1] for c in self.chunks]))
