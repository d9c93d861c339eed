"""The run's JSON and TOML documents read as plain data: scenario.toml, metrics.json,
sweep.json, gradcheck.json, samples.json, and the dotted flattening the report prints metrics with."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .contract import GRADCHECK, METRICS, SAMPLES_JSON, SCENARIO, SWEEP_JSON


def read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_scenario_text(run_dir: Path | str) -> str | None:
    path = Path(run_dir) / SCENARIO
    return path.read_text(encoding="utf-8") if path.is_file() else None


def read_metrics(run_dir: Path | str) -> dict | None:
    return read_json(Path(run_dir) / METRICS)


def read_sweep(run_dir: Path | str) -> dict | None:
    """``sweep.json`` of a ``neurosim sweep`` directory (one entry per cell, mean/std over seeds)."""
    return read_json(Path(run_dir) / SWEEP_JSON)


def read_gradcheck(run_dir: Path | str) -> dict | None:
    return read_json(Path(run_dir) / GRADCHECK)


def read_samples_info(run_dir: Path | str) -> dict | None:
    return read_json(Path(run_dir) / SAMPLES_JSON)


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
