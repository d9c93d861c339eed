"""The summary of a sweep, rebuilt from its run directories: ``sweep.json`` and ``sweep.csv``.

For every cell and every numeric metric m of ``metrics.json`` (nested tables flattened to dotted
names, e.g. ``tasks.digit.final``) over the seeds that finished::

    mean(m) = (1/n) Σᵢ mᵢ,   std(m) = sqrt((1/n) Σᵢ (mᵢ − mean)²)   (population std, as compare)

plus ``n_finished`` / ``n_failed`` and the failures' error and message (``status.json``).
``headline`` lists the metrics the figures and the printed table show: the kind's main metrics
first, then every other metric whose mean differs between cells, never a timing (``*seconds*``).
"""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import numpy as np

from .rundir import write_csv, write_json

STATUS = "status.json"

#: per kind, the metrics a reader looks at first (fnmatch patterns over the dotted names)
PRIMARY = {
    "train": ("test_accuracy", "best_test_accuracy", "train_loss", "grad_cosine_to_bp"),
    "generative": ("w2", "w2_over_floor", "mmd", "conditional_accuracy", "train_loss"),
    "relax": ("final_energy", "final_residual"),
    "gradcheck": ("estimators.*.cosine_total", "estimators.*.rel_error_total"),
    "multitask": ("tasks.*.final", "reverse.*.final", "overlap_fraction", "grad_cosine_to_bp"),
}


def read_json_file(path) -> dict | None:
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def numeric_metrics(metrics, prefix: str = "") -> dict:
    """Every int / float leaf of a metrics dict, nested keys joined with dots (bools excluded)."""
    out = {}
    for k, v in (metrics or {}).items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(numeric_metrics(v, key))
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
            out[key] = float(v)
    return out


def headline(kind: str, names: list, cells: list) -> list:
    """The kind's main metrics present, then the others whose cell means differ; no timings."""
    first = [n for pattern in PRIMARY.get(kind, ()) for n in names if fnmatch.fnmatchcase(n, pattern)]
    first = list(dict.fromkeys(first))
    rest = [n for n in names if n not in first and "seconds" not in n
            and len({c["mean"].get(n) for c in cells if c["mean"].get(n) is not None}) > 1]
    return [n for n in first + rest if "seconds" not in n]


def summarize(base, grid: dict, cells: list, seeds: list, out: Path) -> dict:
    """The sweep.json document of the run directories ``out/<cell>/seed<s>/``."""
    out = Path(out)
    names, rows = [], []
    for cell in cells:
        runs = []
        for s in seeds:
            run_dir = out / cell["name"] / f"seed{s}"
            status = read_json_file(run_dir / STATUS) or {}
            metrics = read_json_file(run_dir / "metrics.json")
            if status.get("status") == "failed":
                runs.append((s, None, status))
            elif metrics is not None:
                runs.append((s, numeric_metrics(metrics), status))
            else:
                runs.append((s, None, {"status": "missing"}))
        finished = [m for _, m, _ in runs if m is not None]
        for m in finished:
            names += [n for n in m if n not in names]
        rows.append((cell, runs, finished))
    doc_cells = []
    for cell, runs, finished in rows:
        entry = {"name": cell["name"], "params": cell["params"], "n_seeds": len(seeds),
                 "n_finished": len(finished), "n_failed": sum(st.get("status") == "failed" for _, _, st in runs),
                 "n_missing": sum(st.get("status") == "missing" for _, _, st in runs),
                 "mean": {}, "std": {}, "per_seed": {},
                 "failures": [{"seed": s, "error": st.get("error"), "message": st.get("message")}
                              for s, _, st in runs if st.get("status") == "failed"]}
        for n in names:
            vals = [m[n] for m in finished if n in m]
            entry["per_seed"][n] = [None if m is None else m.get(n) for _, m, _ in runs]
            entry["mean"][n] = float(np.mean(vals)) if vals else None
            entry["std"][n] = float(np.std(vals)) if vals else None
        doc_cells.append(entry)
    return {"scenario": base.path, "name": base["name"], "kind": base["kind"], "keys": list(grid),
            "values": grid, "seeds": list(seeds), "metrics": names,
            "headline": headline(base["kind"], names, doc_cells), "cells": doc_cells}


def write_summary(doc: dict, out: Path) -> None:
    """``sweep.json`` (everything) and ``sweep.csv`` (one row per cell: keys, counts, mean, std)."""
    out = Path(out)
    write_json(out / "sweep.json", doc)
    columns = ["cell", *doc["keys"], "n_finished", "n_failed"]
    for n in doc["metrics"]:
        columns += [n, f"{n}_std"]
    rows = []
    for c in doc["cells"]:
        row = {"cell": c["name"], "n_finished": c["n_finished"], "n_failed": c["n_failed"]}
        for k in doc["keys"]:
            v = c["params"][k]
            row[k] = v if isinstance(v, (int, float, str)) else json.dumps(v, separators=(",", ":"))
        for n in doc["metrics"]:
            row[n], row[f"{n}_std"] = c["mean"].get(n), c["std"].get(n)
        rows.append(row)
    write_csv(out / "sweep.csv", rows, columns)
