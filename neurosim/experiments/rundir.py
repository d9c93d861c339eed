"""Writing a run directory: every file is written to a temporary name and renamed into place,
so an interrupted run never leaves a half-written file behind (DESIGN.md §7)."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np


def _atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path


def write_text(path, text: str) -> Path:
    return _atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if np.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n")


def write_npz(path, arrays: dict) -> Path:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return _atomic_write_bytes(path, buf.getvalue())


def write_csv(path, rows: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or (list(rows[0]) if rows else [])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    return write_text(path, buf.getvalue())


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _parse(v):
    if v == "":
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def metrics_without_timing(metrics: dict) -> dict:
    """``metrics`` without timing keys (``*_seconds``, ``seconds*``) (for comparing runs)."""
    if isinstance(metrics, dict):
        return {k: metrics_without_timing(v) for k, v in metrics.items()
                if not (k.endswith("_seconds") or k.startswith("seconds"))}
    return metrics
