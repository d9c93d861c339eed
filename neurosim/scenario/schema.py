"""A small declarative schema for scenario files: every key, its type, default and check.

A schema validates a parsed TOML document and returns it with defaults filled in. The first
problem raises :class:`ScenarioError`, whose message names the file, the key (a dotted path such
as ``network.blocks[2].size``) and what was expected — one line, never a traceback.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

REQUIRED = object()


class ScenarioError(ValueError):
    """A scenario file is invalid: ``str(err)`` is the one-line message for the user."""

    def __init__(self, path, key: str, message: str):
        self.path, self.key, self.message = str(path), key, message
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}key '{key}': {message}" if key else f"{where}{message}")


_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
               list: "an array", dict: "a table"}


def _type_ok(value, types) -> bool:
    for t in types:
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t not in (int, float) and isinstance(value, t):
            return True
    return False


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class Field:
    """A scalar (or free-form list) value."""

    types: tuple
    default: Any = REQUIRED
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None
    doc: str = ""

    def validate(self, value, key, path):
        if not _type_ok(value, self.types):
            names = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in self.types)
            raise ScenarioError(path, key, f"expected {names}, got {_describe(value)}")
        bad = first_unbounded(value, key)
        if bad is not None:  # TOML has nan and ±inf; no key of a scenario means them
            what = "a finite number" if isinstance(bad[1], float) and not math.isfinite(bad[1]) else \
                f"a number of magnitude at most {MAX_MAGNITUDE:.0e}"
            raise ScenarioError(path, bad[0], f"expected {what}, got {_describe(bad[1])}")
        if float in self.types and isinstance(value, int) and int not in self.types:
            value = float(value)
        if self.choices is not None and value not in self.choices:
            raise ScenarioError(path, key, f"expected one of {list(self.choices)}, got {_describe(value)}")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ScenarioError(path, key, f"expected {problem}, got {_describe(value)}")
        return value

    def fill(self):
        return list(self.default) if isinstance(self.default, list) else self.default


@dataclass
class Table:
    """A TOML table with known keys; unknown keys are errors."""

    fields: dict[str, Any]
    default: Any = None  # None: optional, filled with its defaults; REQUIRED: must be present
    doc: str = ""

    def validate(self, value, key, path):
        if not isinstance(value, dict):
            raise ScenarioError(path, key, f"expected a table, got {_describe(value)}")
        out = {}
        for name in value:
            if name not in self.fields:
                known = ", ".join(sorted(self.fields))
                near = difflib.get_close_matches(str(name), list(self.fields), n=1, cutoff=0.75)
                hint = f"did you mean {'.'.join(filter(None, [key, near[0]]))!r}? " if near else ""
                raise ScenarioError(path, _join(key, name), f"unknown key; {hint}expected one of: {known}")
        for name, spec in self.fields.items():
            sub = _join(key, name)
            if name in value:
                out[name] = spec.validate(value[name], sub, path)
            elif getattr(spec, "default", None) is REQUIRED:
                raise ScenarioError(path, sub, "missing required key")
            else:
                filled = spec.fill()
                if filled is not None:
                    out[name] = filled
        return out

    def fill(self):
        if self.default is REQUIRED:
            return None
        if self.default == "absent":
            return None
        return self.validate({}, "", "")


@dataclass
class TableArray:
    """An array of tables (``[[name]]``), each validated by ``item``."""

    item: Table
    default: Any = field(default_factory=list)
    min_len: int = 0
    doc: str = ""

    def validate(self, value, key, path):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ScenarioError(path, key, f"expected an array of tables ([[{key}]]), got {_describe(value)}")
        if len(value) < self.min_len:
            raise ScenarioError(path, key, f"expected at least {self.min_len} entries, got {len(value)}")
        return [self.item.validate(v, f"{key}[{i}]", path) for i, v in enumerate(value)]

    def fill(self):
        if self.default is REQUIRED:
            return None
        return list(self.default)


#: no number in a scenario is larger: beyond it, counts overflow 64-bit integers (durations / dt
#: become tick counts) and products of sizes leave float64's exact range
MAX_MAGNITUDE = 1e15


def first_unbounded(value, key: str):
    """``(dotted key, value)`` of the first NaN, ±inf or number beyond ``MAX_MAGNITUDE`` inside
    ``value`` (numbers, arrays, tables)."""
    if isinstance(value, float) and not (math.isfinite(value) and abs(value) <= MAX_MAGNITUDE):
        return key, value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
        return key, value
    if isinstance(value, list):
        for i, v in enumerate(value):
            bad = first_unbounded(v, f"{key}[{i}]")
            if bad:
                return bad
    if isinstance(value, dict):
        for k, v in value.items():
            bad = first_unbounded(v, _join(key, k))
            if bad:
                return bad
    return None


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


# -- reusable checks --------------------------------------------------------------------------
def positive(v):
    return None if v > 0 else "a positive number"


def non_negative(v):
    return None if v >= 0 else "a non-negative number"


def positive_int(v):
    return None if v >= 1 else "a positive integer"


def probability(v):
    return None if 0 <= v <= 1 else "a number between 0 and 1"


def number_list(v):
    ok = all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in v)
    return None if ok else "an array of numbers"


def string_list(v):
    return None if all(isinstance(e, str) for e in v) else "an array of strings"


def nested_numbers(v):
    """A flat array of numbers or a rectangular array of such arrays (rows of equal length)."""
    if v and all(isinstance(e, list) for e in v):
        if not all(number_list(e) is None for e in v):
            return "an array of numbers or of arrays of numbers"
        lengths = sorted({len(e) for e in v})
        return None if len(lengths) == 1 else f"rows of equal length (got rows of {lengths} numbers)"
    return number_list(v)
