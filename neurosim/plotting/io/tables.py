"""CSV tables (``history.csv`` and the comparison's tables): every column as text, and the columns
that parse as numbers as float arrays."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .contract import HISTORY


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
