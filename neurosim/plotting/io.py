"""Readers of run-directory files (see docs/design.md and docs/plotting.md).

Every reader takes the run directory and returns plain Python / numpy data, or ``None`` when
the file is absent. Nothing here draws; nothing here imports simulator objects.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
SAMPLES_JSON = "samples.json"          # ``neurosim generate``: what was sampled, and its scores
INPAINTING = "inpainting.npz"
GRADIENTS = "gradients.npz"
SWEEP_JSON = "sweep.json"
SWEEP_CSV = "sweep.csv"
DIVISION = "division_of_labour.npz"     # multitask: who does what (experiments/division_of_labour.py)
DIVISION_JSON = "division_of_labour.json"

KNOWN_FILES = (SCENARIO, METRICS, NETWORK, TRACES, CHECKPOINT, HISTORY, COMPARE_JSON,
               COMPARE_CSV, COMPARE_HISTORY, GRADCHECK, GRADIENTS, SAMPLES, SAMPLES_JSON, INPAINTING,
               SWEEP_JSON, SWEEP_CSV, DIVISION, DIVISION_JSON, "lump_trajectory.npz", "lump_generation.json")


def known_files(run_dir: Path | str) -> list[str]:
    """Names of the contract files present in ``run_dir``."""
    run_dir = Path(run_dir)
    return [name for name in KNOWN_FILES if (run_dir / name).is_file()]


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_scenario_text(run_dir: Path | str) -> str | None:
    path = Path(run_dir) / SCENARIO
    return path.read_text(encoding="utf-8") if path.is_file() else None


def read_metrics(run_dir: Path | str) -> dict | None:
    return _read_json(Path(run_dir) / METRICS)


def read_sweep(run_dir: Path | str) -> dict | None:
    """``sweep.json`` of a ``neurosim sweep`` directory (one entry per cell, mean/std over seeds)."""
    return _read_json(Path(run_dir) / SWEEP_JSON)


def read_gradcheck(run_dir: Path | str) -> dict | None:
    return _read_json(Path(run_dir) / GRADCHECK)


def read_samples_info(run_dir: Path | str) -> dict | None:
    return _read_json(Path(run_dir) / SAMPLES_JSON)


def scenario_header(run_dir: Path | str) -> dict:
    """``name``, ``kind`` and ``description`` of ``scenario.toml`` (empty when absent / unparsable)."""
    text = read_scenario_text(run_dir)
    if text is None:
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return {k: doc[k] for k in ("name", "kind", "description") if isinstance(doc.get(k), str)}


def read_compare(run_dir: Path | str) -> dict | None:
    """``compare.json``; falls back to ``compare.csv`` (one row per rule) when the JSON is absent."""
    run_dir = Path(run_dir)
    data = _read_json(run_dir / COMPARE_JSON)
    if data is not None:
        return data
    table = read_csv_table(run_dir / COMPARE_CSV)
    if table is None or "rule" not in table.text:
        return None
    rules = {}
    for i, rule in enumerate(table.text["rule"]):
        rules[rule] = {k: float(v[i]) for k, v in table.numeric.items()}
    return {"rules": rules}


# --------------------------------------------------------------------------- network.json
@dataclass
class BlockInfo:
    name: str
    size: int = 1
    activation: str = ""
    role: str = "free"
    task: str | None = None


@dataclass
class NetworkInfo:
    blocks: list[BlockInfo]
    projections: list[dict]

    def block(self, name: str) -> BlockInfo | None:
        for b in self.blocks:
            if b.name == name:
                return b
        return None

    def task_blocks(self, task: str) -> list[str]:
        """Blocks that belong to ``task`` (clamped or nudged by it)."""
        return [b.name for b in self.blocks if b.task == task and b.role != "free"]

    def tasks(self) -> list[str]:
        out: list[str] = []
        for b in self.blocks:
            if b.task and b.task not in out:
                out.append(b.task)
        return out


def read_network(run_dir: Path | str) -> NetworkInfo | None:
    data = _read_json(Path(run_dir) / NETWORK)
    if data is None:
        return None
    blocks = [BlockInfo(name=str(b["name"]), size=int(b.get("size", 1) or 1),
                        activation=str(b.get("activation", "") or ""),
                        role=str(b.get("role", "free") or "free"), task=b.get("task"))
              for b in data.get("blocks", [])]
    projections = []
    for p in data.get("projections", []):
        name = str(p.get("name") or f"{p['pre']}->{p['post']}")
        pre, post = p.get("pre"), p.get("post")
        if (pre is None or post is None) and "->" in name:
            pre, post = name.split("->", 1)
        projections.append({"name": name, "pre": str(pre), "post": str(post)})
    return NetworkInfo(blocks=blocks, projections=projections)


# --------------------------------------------------------------------------- traces.npz
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


# --------------------------------------------------------------------------- checkpoint.npz
def read_checkpoint(run_dir: Path | str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """``(weights, biases)`` keyed by projection / block name; other keys ignored."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        return None
    weights, biases = {}, {}
    with np.load(path, allow_pickle=False) as z:
        for key in z.keys():
            prefix, _, name = key.partition("/")
            if prefix == "weights" and name:
                weights[name] = np.asarray(z[key])
            elif prefix == "bias" and name:
                biases[name] = np.asarray(z[key])
    return weights, biases


# --------------------------------------------------------------------------- csv tables
@dataclass
class Table:
    columns: list[str]
    numeric: dict[str, np.ndarray]   # columns whose non-empty cells all parse as floats
    text: dict[str, list[str]]       # every column, raw

    def __len__(self) -> int:
        return len(next(iter(self.text.values()), []))


def _to_float(s: str) -> float:
    s = s.strip()
    if s == "" or s.lower() in ("nan", "none", "null", "na"):
        return math.nan
    return float(s)


def read_csv_table(path: Path | str) -> Table | None:
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return None
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    text = {h: [(r[i] if i < len(r) else "") for r in body] for i, h in enumerate(header)}
    numeric = {}
    for h, cells in text.items():
        try:
            vals = np.array([_to_float(c) for c in cells], dtype=float)
        except ValueError:
            continue
        numeric[h] = vals
    return Table(columns=header, numeric=numeric, text=text)


def read_history(run_dir: Path | str) -> Table | None:
    return read_csv_table(Path(run_dir) / HISTORY)


def read_compare_history(run_dir: Path | str) -> Table | None:
    """``compare_history.csv``, plus a numeric ``wall_seconds`` column (cumulative wall seconds of
    that rule × seed at that epoch / step) joined from the sub-runs' ``RULE/seed<S>/history.csv``
    ``seconds`` column when the table has none of its own."""
    run_dir = Path(run_dir)
    table = read_csv_table(run_dir / COMPARE_HISTORY)
    if table is None or "wall_seconds" in table.numeric or "rule" not in table.text:
        return table
    xcol = next((c for c in ("epoch", "step") if c in table.numeric), None)
    if xcol is None or "seed" not in table.text:
        return table
    cache: dict[tuple[str, str], dict[float, float]] = {}
    wall = np.full(len(table), np.nan)
    for i, (rule, seed) in enumerate(zip(table.text["rule"], table.text["seed"])):
        key = (rule, seed.strip())
        if key not in cache:
            cache[key] = {}
            sub = read_csv_table(run_dir / rule / f"seed{key[1]}" / HISTORY)
            if sub is not None and xcol in sub.numeric and "seconds" in sub.numeric:
                cum = np.cumsum(np.nan_to_num(sub.numeric["seconds"]))
                cache[key] = dict(zip(sub.numeric[xcol].tolist(), cum.tolist()))
        wall[i] = cache[key].get(float(table.numeric[xcol][i]), np.nan)
    if np.isfinite(wall).any():
        table.numeric["wall_seconds"] = wall
    return table


def rule_order(run_dir: Path | str) -> list[str]:
    """The rules of a comparison in the order they ran: ``compare.csv`` rows, then any others of
    ``compare_history.csv``, then of ``compare.json`` (whose keys are sorted on disk)."""
    run_dir = Path(run_dir)
    order: list[str] = []
    for table in (read_csv_table(run_dir / COMPARE_CSV), read_csv_table(run_dir / COMPARE_HISTORY)):
        if table is not None and "rule" in table.text:
            order += [r for r in table.text["rule"] if r and r not in order]
    doc = _read_json(run_dir / COMPARE_JSON)
    if isinstance(doc, dict) and isinstance(doc.get("rules"), dict):
        order += [r for r in doc["rules"] if r not in order]
    return order


# --------------------------------------------------------------------------- samples.npz
def read_samples(run_dir: Path | str) -> dict[str, np.ndarray] | None:
    """``samples.npz`` of a run directory (or the npz file ``run_dir`` itself)."""
    path = Path(run_dir)
    path = path if path.suffix == ".npz" else path / SAMPLES
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in ("samples", "reference", "labels") if k in z.keys()}
    if "samples" not in out:
        return None
    s = out["samples"]
    out["samples"] = s.reshape(len(s), -1) if s.ndim != 2 else s
    if "reference" in out and out["reference"].ndim != 2:
        out["reference"] = out["reference"].reshape(len(out["reference"]), -1)
    return out


def read_inpainting(run_dir: Path | str) -> dict[str, np.ndarray] | None:
    """``inpainting.npz``: ``original`` and ``inpainted`` (n, 64) test digits, optional ``labels``."""
    path = Path(run_dir) / INPAINTING
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in ("original", "inpainted", "labels") if k in z.keys()}
    if "original" not in out or "inpainted" not in out:
        raise ValueError(f"{path}: expected arrays 'original' and 'inpainted'")
    return out


def read_division(run_dir: Path | str) -> dict[str, np.ndarray] | None:
    """``division_of_labour.npz``: block × task arrays ``damage``, ``grad_share``, ``role`` with
    ``blocks``, ``tasks`` (and the rest of the map, see experiments/division_of_labour.py)."""
    path = Path(run_dir) / DIVISION
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in z.keys()}
    for k in ("blocks", "tasks", "damage", "grad_share", "role"):
        if k not in out:
            raise ValueError(f"{path}: expected an array {k!r}")
    return out


# --------------------------------------------------------------------------- metrics
def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts → ``{"a.b.c": leaf}`` in insertion order."""
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, key))
            else:
                out[key] = v
    else:
        out[prefix or "value"] = d
    return out
