"""Read a scenario file: parse TOML, validate every key, fill defaults, check cross-references,
resolve the seeds. Nothing is simulated or written here.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
import tomli_w

from .crossref import check_network
from .memory import check_memory
from .schema import ScenarioError
from .sections import COMMON_KEYS, KIND_CHECKS, KIND_SECTIONS, kinds_reading, root_schema

#: the independent random streams spawned from the master seed, in a fixed order
SEED_ROLES = ("params", "scheduler", "state", "data", "tasks", "training")


@dataclass
class Scenario:
    """A validated scenario: ``data`` is the nested dict with every default filled in."""

    data: dict
    path: str = "<memory>"
    seeds: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    def seed_sequence(self, role: str) -> np.random.SeedSequence:
        """The independent random stream of one role (see ``SEED_ROLES``)."""
        return np.random.SeedSequence(self.data["seed"]).spawn(len(SEED_ROLES))[SEED_ROLES.index(role)]

    def rng(self, role: str) -> np.random.Generator:
        return np.random.default_rng(self.seed_sequence(role))

    def resolved(self) -> dict:
        """The scenario with defaults and the derived seeds, as written to ``scenario.toml``."""
        out = copy.deepcopy(self.data)
        out["resolved_seeds"] = dict(self.seeds)
        return _drop_none(out)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.resolved())

    def with_changes(self, **changes) -> "Scenario":
        """A re-validated copy with top-level sections replaced or dotted keys set."""
        data = copy.deepcopy(self.data)
        for key, value in changes.items():
            parts = key.split("__")
            d = data
            for p in parts[:-1]:
                d = d.setdefault(p, {})
            d[parts[-1]] = value
        return from_dict(data, self.path)


def _drop_none(d):
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [_drop_none(v) for v in d]
    return d


def load_scenario(path) -> Scenario:
    """Parse and validate a scenario file; raises :class:`ScenarioError` with a one-line message."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(path, "", "file not found")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "not valid TOML: the file is not UTF-8 text") from None
    except OSError as err:
        raise ScenarioError(path, "", f"cannot read the file: {err.strerror}") from None
    # some editors save UTF-8 with a byte-order mark; TOML itself does not allow one
    text = text.removeprefix("\ufeff")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(path, "", f"not valid TOML: {err}") from None
    return from_dict(raw, str(path))


def from_dict(raw: dict, path: str = "<memory>") -> Scenario:
    raw = _drop_none(copy.deepcopy(raw))
    raw.pop("resolved_seeds", None)  # a run directory's scenario.toml can be run again
    data = root_schema().validate(raw, "", path)
    data = _sections_of_kind(raw, data, path)
    check_network(data, path)
    if data["kind"] in KIND_CHECKS:
        KIND_CHECKS[data["kind"]](data, path)
    check_memory(data, path)
    seeds = {"master": data["seed"]}
    ss = np.random.SeedSequence(data["seed"]).spawn(len(SEED_ROLES))
    for role, s in zip(SEED_ROLES, ss):
        seeds[role] = int(s.generate_state(1)[0])
    return Scenario(data, path, seeds)


def _sections_of_kind(raw: dict, data: dict, path) -> dict:
    """Refuse a section the scenario's kind does not read (it would be silently ignored), require
    the ones it needs, and drop the unread sections that only hold defaults."""
    kind = data["kind"]
    reads, required = KIND_SECTIONS[kind]
    for section in raw:
        if section not in COMMON_KEYS and section not in reads:
            users = " or ".join(f'"{k}"' for k in kinds_reading(section))
            raise ScenarioError(path, section, f"not read by kind = \"{kind}\" (only by kind = {users}); "
                                "remove it or change the kind")
    for section in required:
        if section not in raw:
            raise ScenarioError(path, section, f"missing required section [{section}] for kind = \"{kind}\"")
    return {k: v for k, v in data.items() if k in COMMON_KEYS or k in reads}
