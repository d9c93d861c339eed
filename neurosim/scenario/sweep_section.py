"""The ``[sweep]`` section: the grid a scenario file may carry (``neurosim sweep``,
experiments/sweep.py); every kind accepts it and ``neurosim run`` ignores it."""
from __future__ import annotations

from .schema import Field, Table, positive_int
from .sections import SECTIONS


def _sweep_grid(v):
    """Dotted key → non-empty array of values (nested tables are dotted keys written as TOML tables)."""
    def leaves(d):
        for value in d.values():
            if isinstance(value, dict):
                yield from leaves(value)
            else:
                yield value
    ok = all(isinstance(e, list) and e for e in leaves(v))
    return None if ok else "a table of dotted keys, each an array of values, e.g. {\"training.lr\" = [0.01, 0.1]}"


SECTIONS["sweep"] = Table({
    "grid": Field((dict,), {}, check=_sweep_grid, doc="dotted scenario key → array of values; the cells "
                  "are every combination (neurosim sweep; ignored by neurosim run)"),
    "seeds": Field((int,), 1, check=positive_int, doc="seeds per cell: seed, seed + 1, …"),
}, default="absent", doc="a parameter sweep (neurosim sweep)")
