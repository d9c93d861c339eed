"""Cross-reference checks every kind shares: block names, shapes of given values, the
activations a rule needs, a data set's options and shape. Each raises :class:`ScenarioError`
naming the key."""
from __future__ import annotations

import numpy as np

from .schema import ScenarioError


def block_sizes(data) -> dict[str, int]:
    return {b["name"]: b["size"] for b in data["network"]["blocks"]}


def require_block(data, path, key, name) -> int:
    """The size of block ``name``; a ScenarioError at ``key`` if there is no such block."""
    sizes = block_sizes(data)
    if name not in sizes:
        raise ScenarioError(path, key, f"unknown block {name!r}; blocks are {sorted(sizes)}")
    return sizes[name]


def check_network(data, path):
    names = set()
    for i, b in enumerate(data["network"]["blocks"]):
        if b["name"] in names:
            raise ScenarioError(path, f"network.blocks[{i}].name", f"duplicate block name {b['name']!r}")
        names.add(b["name"])
    pairs = set()
    for i, p in enumerate(data["network"]["projections"]):
        require_block(data, path, f"network.projections[{i}].pre", p["pre"])
        require_block(data, path, f"network.projections[{i}].post", p["post"])
        if p["pre"] == p["post"]:
            raise ScenarioError(path, f"network.projections[{i}]", "a block cannot project onto itself")
        pair = frozenset((p["pre"], p["post"]))
        if pair in pairs:
            raise ScenarioError(path, f"network.projections[{i}]",
                                f"blocks {p['pre']!r} and {p['post']!r} are already coupled")
        pairs.add(pair)
    for i, m in enumerate(data["network"]["memories"]):
        require_block(data, path, f"network.memories[{i}].block", m["block"])
    particles = data["network"]["particles"]
    for section in ("clamps", "nudges"):
        for i, c in enumerate(data.get(section, [])):
            n = require_block(data, path, f"{section}[{i}].block", c["block"])
            key = "values" if section == "clamps" else "target"
            values = c.get(key)
            if section == "clamps" and c["pattern"] == "values" and values is None:
                raise ScenarioError(path, f"clamps[{i}].values", "missing: give values or a pattern")
            if values is not None:
                _check_shape(values, n, particles, path, f"{section}[{i}].{key}")
    probe_blocks = data.get("probes", {}).get("blocks")
    for name in probe_blocks or []:
        require_block(data, path, "probes.blocks", name)
    sim = data.get("simulation", {})
    if sim and sim["dt"] > sim["duration"]:
        raise ScenarioError(path, "simulation.dt", f"expected dt ≤ duration ({sim['duration']})")


def _check_shape(values, n, particles, path, key):
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1 and arr.shape[0] == n:
        return
    if arr.ndim == 2 and arr.shape == (particles, n):
        return
    raise ScenarioError(path, key, f"expected {n} numbers or {particles} rows of {n}, got shape {arr.shape}")


def require_holomorphic(data, path, key: str, rule: str) -> None:
    """Complex-state rules need every block's activation to be holomorphic."""
    from ..model.activations import HOLOMORPHIC
    bad = sorted(b["name"] for b in data["network"]["blocks"] if b["activation"] not in HOLOMORPHIC)
    if bad:
        raise ScenarioError(path, key, f"expected holomorphic activations for {rule!r} "
                            f"(tanh, sigmoid4, sigmoid, identity); blocks {bad} are not")


def check_dataset(name: str, options: dict, path, key: str) -> tuple[int, int]:
    """Options of data set ``name`` against its loader's signature and ranges, and its
    (n_features, n_classes) — read without loading the data or importing optional packages."""
    from ..data.datasets import DATASETS, describe
    from ..options import option_problem
    problem = option_problem(DATASETS[name], options, skip=("seed",))
    if problem:
        raise ScenarioError(path, f"{key}.{problem[0]}", f"expected {problem[1]}")
    try:
        return describe(name, options)
    except (OSError, ValueError) as err:
        raise ScenarioError(path, key, f"cannot read data set {name!r}: {err}") from None




def require_chain(data, path, key: str, rule: str, first: str, last: str) -> None:
    """Rules of the feed-forward view need a chain first → … → last without memories."""
    from ..model.network import Network
    if data["network"]["memories"] or Network.from_spec(data["network"]).chain(first, last) is None:
        raise ScenarioError(path, key, f"expected a layered chain input → … → output without memories for {rule!r}")


def require_rule(data, path, key: str, rule: str, first: str, last: str) -> None:
    """What estimator ``rule`` declares it needs (:func:`neurosim.learning.estimators.estimator_class`)."""
    from ..learning.estimators import estimator_class
    cls = estimator_class(rule)
    if cls.holomorphic:
        require_holomorphic(data, path, key, rule)
    if cls.layered:
        require_chain(data, path, key, rule, first, last)
