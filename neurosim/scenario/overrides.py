"""Dotted-key overrides of a scenario: ``KEY=VALUE`` on the command line, ``{"a.b.c": value}`` in code.

A key is a dotted path into the scenario, with ``[i]`` for an entry of an array of tables::

    training.lr=0.01                  training.rule=bp_ff          seed=3
    training.rule_options.beta=0.5   network.blocks[1].size=128   training.lr=[0.01, 0.003]

A value is read as a TOML value (``tomllib.loads("v = " + text)``): integers, floats, booleans,
quoted strings, arrays and inline tables; text that is not a TOML value is taken as a bare string,
so ``training.rule=bp_ff`` needs no quotes. :func:`apply_overrides` sets the keys on a copy and
re-validates the whole scenario, so a bad key or value is the usual one-line ScenarioError naming
the key, raised before anything runs.
"""
from __future__ import annotations

import copy
import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .load import Scenario, from_dict
from .schema import ScenarioError
from .sections import SECTIONS

_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)$")


def parse_value(text: str):
    """A TOML value (number, bool, quoted string, array, inline table), else the bare string."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """``text`` split at ``sep`` outside brackets, braces and quotes (``[1,2],[3,4]`` → 2 parts)."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _key_and_text(text: str, option: str, path: str, form: str) -> tuple[str, str]:
    """``"KEY=REST"`` → (KEY, REST), the key checked; a ScenarioError naming ``form`` otherwise."""
    key, eq, rest = text.partition("=")
    key = key.strip()
    if not eq or not key or not rest.strip():
        raise ScenarioError(path, option, f"expected {form}, got {text!r}")
    split_key(key, path)
    return key, rest


def parse_assignment(text: str, option: str = "--set", path: str = "<command line>") -> tuple[str, object]:
    """``"KEY=VALUE"`` → (KEY, parsed VALUE)."""
    key, value = _key_and_text(text, option, path, "KEY=VALUE")
    return key, parse_value(value)


def parse_grid_option(text: str, option: str = "--grid", path: str = "<command line>") -> tuple[str, list]:
    """``"KEY=V1,V2,…"`` → (KEY, [V1, V2, …]); commas inside arrays or quotes do not split."""
    key, values = _key_and_text(text, option, path, "KEY=V1,V2,…")
    parts = split_top_level(values)
    if any(not p for p in parts):
        raise ScenarioError(path, option, f"empty value in {text!r}")
    return key, [parse_value(p) for p in parts]


def split_key(key: str, path: str = "<command line>") -> list:
    """``"network.blocks[1].size"`` → ``["network", "blocks", 1, "size"]``."""
    out = []
    for part in key.split("."):
        m = _PART.match(part)
        if not m:
            raise ScenarioError(path, key, "expected a dotted key such as training.lr or network.blocks[0].size")
        out.append(m.group(1))
        out += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return out


def set_key(data: dict, key: str, value, path: str = "<memory>") -> None:
    """Set dotted ``key`` in the nested dict ``data`` in place (tables on the way are created,
    except an absent optional section such as [training] on a relax scenario, which is an error:
    it would be a different kind of run)."""
    parts = split_key(key, path)
    node = data
    for depth, (part, nxt) in enumerate(zip(parts[:-1], parts[1:])):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ScenarioError(path, key, f"index [{part}] out of range (the array has {size} entries)")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(path, key, f"{'.'.join(map(str, parts[:depth]))} is not a table")
        if part not in node:
            if depth == 0 and getattr(SECTIONS.get(part), "default", None) == "absent":
                raise ScenarioError(path, key, f"the scenario has no [{part}] section "
                                    f"(kind = {data.get('kind', 'relax')!r})")
            node[part] = [] if isinstance(nxt, int) else {}
        node = node[part]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ScenarioError(path, key, f"index [{last}] out of range")
        node[last] = value
    elif not isinstance(node, dict):
        raise ScenarioError(path, key, f"{'.'.join(map(str, parts[:-1]))} is not a table")
    else:
        node[last] = value


def apply_overrides(scenario, overrides: dict, path: str | None = None) -> Scenario:
    """A re-validated :class:`Scenario` with every dotted key of ``overrides`` set.

    ``scenario`` is a Scenario or a scenario dict; ``path`` (default: the scenario's) names the file
    in error messages. Keys are applied in order, so ``{"training": {...}, "training.lr": 0.1}``
    replaces the section and then one key of it.
    """
    if isinstance(scenario, Scenario):
        data, path = copy.deepcopy(scenario.data), path or scenario.path
    else:
        data, path = copy.deepcopy(scenario), path or "<memory>"
    for key, value in overrides.items():
        set_key(data, key, copy.deepcopy(value), path)
    return from_dict(data, path)

