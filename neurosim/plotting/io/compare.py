"""A ``neurosim compare`` directory: per-rule results (``compare.json`` / ``compare.csv``), the
per-epoch history with wall seconds joined from the sub-runs, and the order the rules ran in."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .contract import COMPARE_CSV, COMPARE_HISTORY, COMPARE_JSON, HISTORY
from .documents import read_json
from .tables import Table, read_csv_table


def read_compare(run_dir: Path | str) -> dict | None:
    """``compare.json``; falls back to ``compare.csv`` (one row per rule) when the JSON is absent."""
    run_dir = Path(run_dir)
    data = read_json(run_dir / COMPARE_JSON)
    if data is not None:
        return data
    table = read_csv_table(run_dir / COMPARE_CSV)
    if table is None or "rule" not in table.text:
        return None
    rules = {}
    for i, rule in enumerate(table.text["rule"]):
        rules[rule] = {k: float(v[i]) for k, v in table.numeric.items()}
    return {"rules": rules}


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
    doc = read_json(run_dir / COMPARE_JSON)
    if isinstance(doc, dict) and isinstance(doc.get("rules"), dict):
        order += [r for r in doc["rules"] if r not in order]
    return order
