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

from .memory import check_memory
from .schema import ScenarioError
from .sections import COMMON_KEYS, KIND_SECTIONS, kinds_reading, root_schema

#: the independent random streams spawned from the master seed, in a fixed order
SEED_ROLES = ("params", "scheduler", "state", "data", "tasks", "training")

#: extra cross-reference checks registered by features: fn(scenario_dict, path) raising ScenarioError
CHECKS: list = []


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
    for check in CHECKS:
        check(data, path)
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


# -- kind = "train": sections present, blocks known, sizes matching the data ------------------
def check_training(data, path):
    """Cross-checks of ``[data]`` and ``[training]`` against the network (kind = "train")."""
    if data["kind"] == "generative":  # [training] is shared; experiments/generative.py checks the rest
        return
    if data["kind"] != "train":  # sections against the kind: _sections_of_kind
        return
    t, d = data["training"], data["data"]
    n_in = require_block(data, path, "training.input_block", t["input_block"])
    n_out = require_block(data, path, "training.output_block", t["output_block"])
    if t["input_block"] == t["output_block"]:
        raise ScenarioError(path, "training.output_block", "expected a block other than the input block")
    shape = check_dataset(d["name"], d["options"], path, "data.options")
    if n_in != shape[0]:
        raise ScenarioError(path, "training.input_block",
                            f"expected a block of {shape[0]} units (the dimension of {d['name']!r}), "
                            f"block {t['input_block']!r} has {n_in}")
    if n_out != shape[1]:
        raise ScenarioError(path, "training.output_block",
                            f"expected a block of {shape[1]} units (the classes of {d['name']!r}), "
                            f"block {t['output_block']!r} has {n_out}")
    projs = [f"{p['pre']}->{p['post']}" for p in data["network"]["projections"]]
    lr = t["lr"]
    if isinstance(lr, list) and len(lr) != len(projs):
        raise ScenarioError(path, "training.lr", f"expected {len(projs)} learning rates (one per projection: "
                            f"{', '.join(projs)}), got {len(lr)}")
    if isinstance(lr, dict):
        for name in lr:
            if name not in projs:
                raise ScenarioError(path, f"training.lr.{name}", f"unknown projection; expected one of {projs}")
        if set(lr) != set(projs):
            raise ScenarioError(path, "training.lr", f"missing learning rates for {sorted(set(projs) - set(lr))}")
    if t["rule"] in ("hep", "hep_continuous"):
        require_holomorphic(data, path, "training.rule", t["rule"])
    if t["rule"] == "bp_ff":
        from ..experiments.setup import make_network
        from ..experiments.train import layer_order
        if data["network"]["memories"] or layer_order(make_network(data["network"]), t["input_block"],
                                                      t["output_block"]) is None:
            raise ScenarioError(path, "training.rule", "expected a layered chain input → … → output "
                                "without memories for 'bp_ff'")
    if d["limit_train"] and t["batch_size"] > d["limit_train"]:
        raise ScenarioError(path, "training.batch_size",
                            f"expected at most data.limit_train = {d['limit_train']} examples")


CHECKS.append(check_training)


# -- kind = "multitask": tasks name known blocks and data fields, each once -----------------------
def check_multitask(data, path):
    """Cross-checks of ``[[tasks]]``, ``[[reverse]]``, ``[multitask]`` and ``[plasticity]``."""
    from ..data.multimodal import FIELDS
    if data["kind"] != "multitask":
        return
    if not data["tasks"]:
        raise ScenarioError(path, "tasks", "expected at least one [[tasks]] entry for kind = \"multitask\"")
    names = set()
    for section in ("tasks", "reverse"):
        for i, t in enumerate(data.get(section, [])):
            key = f"{section}[{i}]"
            if section == "tasks":
                if t["name"] in names:
                    raise ScenarioError(path, f"{key}.name", f"duplicate task name {t['name']!r}")
                names.add(t["name"])
                lo_hi = t["duration"]
                if (len(lo_hi) != 2 or not all(isinstance(v, (int, float)) for v in lo_hi)
                        or not 0 < lo_hi[0] <= lo_hi[1]):
                    raise ScenarioError(path, f"{key}.duration", "expected [min, max] with 0 < min ≤ max")
                if 2 * t["fade"] > lo_hi[0]:
                    raise ScenarioError(path, f"{key}.fade",
                                        f"expected fade ≤ {lo_hi[0] / 2:g} (half the shortest clamp duration), "
                                        f"got {t['fade']:g}")
            for role in ("condition", "target"):
                blocks, fields = t[role], t[f"{role}_data"]
                if not blocks:
                    raise ScenarioError(path, f"{key}.{role}", "expected at least one block")
                if len(blocks) != len(fields):
                    raise ScenarioError(path, f"{key}.{role}_data",
                                        f"expected one data field per {role} block ({len(blocks)}), got {len(fields)}")
                for b, f in zip(blocks, fields):
                    n = require_block(data, path, f"{key}.{role}", b)
                    if f not in FIELDS:
                        raise ScenarioError(path, f"{key}.{role}_data", f"unknown field {f!r}; expected one of {list(FIELDS)}")
                    expected = _field_size(f, data["multitask"])
                    if expected is not None and n != expected:
                        raise ScenarioError(path, f"{key}.{role}",
                                            f"block {b!r} has {n} units but field {f!r} has {expected}")
            noise = t.get("condition_noise", [])
            if noise and (len(noise) != len(t["condition"]) or min(noise) < 0):
                raise ScenarioError(path, f"{key}.condition_noise",
                                    f"expected {len(t['condition'])} non-negative numbers, one per condition block")
            overlap = set(t["condition"]) & set(t["target"])
            if overlap:
                raise ScenarioError(path, f"{key}.target", f"blocks {sorted(overlap)} are both condition and target")
            if t["metric"] == "accuracy" and len(t["target"]) != 1:
                raise ScenarioError(path, f"{key}.metric", "expected one target block for the accuracy metric")
    if data["plasticity"]["rule"] == "hep_continuous":
        require_holomorphic(data, path, "plasticity.rule", "hep_continuous")
    relax = data["multitask"]["eval_relax"]
    tau_min = min(b["tau"] for b in data["network"]["blocks"])
    if relax["scheduler"] in ("sync", "alternating") and relax["dt"] > tau_min + 1e-12:
        # every block jumps most of the way to its target at once: the relaxation oscillates and
        # the scores are read off states that are not fixed points (seen: 0.12 vs 0.043 MSE)
        raise ScenarioError(path, "multitask.eval_relax.dt",
                            f"expected dt ≤ {tau_min:g} (the smallest block τ) for a {relax['scheduler']} "
                            f"relaxation; got {relax['dt']:g}")


def _field_size(field: str, mt: dict):
    """Units of a modality field for the multitask data set (None if it depends on the data)."""
    if mt["dataset"] != "digits":
        return None
    return {"image": 64, "top": 32, "bottom": 32, "label": 10, "code": mt["code_dim"]}[field]


CHECKS.append(check_multitask)


# -- kind = "generative": the input block's layout [x | e(u) | c], readout size, samplers ------------
def check_generative(data, path):
    """Cross-checks of ``[generative]`` and ``[training]`` against the network (kind = "generative")."""
    if data["kind"] != "generative":
        return
    from ..generative.embedding import embed_dim
    g, t = data["generative"], data["training"]
    n_in = require_block(data, path, "training.input_block", t["input_block"])
    n_out = require_block(data, path, "training.output_block", t["output_block"])
    _check_generative_options(g, path)
    if g["data"] == "digits":
        dim, n_classes = 64, 10
    elif g["data"] == "gaussian_mixture":
        opts = g["data_options"]
        if "means" not in opts or "stds" not in opts:
            raise ScenarioError(path, "generative.data_options", "gaussian_mixture needs means and stds")
        try:
            means = np.asarray(opts["means"], float)
        except (TypeError, ValueError):
            means = np.zeros(0)
        if means.ndim != 2:
            raise ScenarioError(path, "generative.data_options.means", "expected K rows of d numbers")
        from ..data.toy2d import gaussian_mixture
        weights = opts.get("weights", [1.0 / len(means)] * len(means))
        try:
            gaussian_mixture(1, np.random.default_rng(0), means, opts["stds"], weights)
        except (TypeError, ValueError) as err:
            raise ScenarioError(path, "generative.data_options", f"expected a valid Gaussian mixture: {err}") from None
        dim, n_classes = means.shape[1], means.shape[0]
    else:
        dim, n_classes = 2, 0
    if g["condition"] != "none" and not n_classes:
        raise ScenarioError(path, "generative.condition", f"data {g['data']!r} has no classes to condition on")
    if g["condition"] == "class+top" and g["data"] != "digits":
        raise ScenarioError(path, "generative.condition", "class+top (inpainting) needs data = \"digits\"")
    n_cond = {"none": 0, "class": n_classes, "class+top": n_classes + 32}[g["condition"]]
    want = dim + embed_dim(g["embedding"], g["n_embed"]) + n_cond
    if n_in != want:
        raise ScenarioError(path, "training.input_block",
                            f"expected a block of {want} units = {dim} (x) + {embed_dim(g['embedding'], g['n_embed'])} "
                            f"({g['embedding']} embedding, n_embed = {g['n_embed']}) + {n_cond} (condition "
                            f"{g['condition']!r}); block {t['input_block']!r} has {n_in}")
    if n_out != dim:
        raise ScenarioError(path, "training.output_block",
                            f"expected a block of {dim} units (the data dimension); block {t['output_block']!r} has {n_out}")
    flow = g["objective"] in ("icfm", "otcfm")
    if flow and g["sampler"] not in ("euler", "heun"):
        raise ScenarioError(path, "generative.sampler", "flow objectives sample with \"euler\" or \"heun\"")
    if not flow:
        vp = g["schedule"] == "vp"
        if vp and g["sampler"] != "ancestral":
            raise ScenarioError(path, "generative.sampler", "a VP schedule samples with \"ancestral\"")
        if not vp and g["sampler"] == "ancestral":
            raise ScenarioError(path, "generative.sampler", "\"ancestral\" needs schedule = \"vp\"")
        if g["parametrisation"] == "edm" and vp:
            raise ScenarioError(path, "generative.parametrisation", "\"edm\" needs a VE or EDM schedule (α = 1)")
    if g["compose"]:
        if flow or g["condition"] != "class":
            raise ScenarioError(path, "generative.compose", "score composition needs objective = \"dsm\" and "
                                "condition = \"class\"")
        if g["data"] != "gaussian_mixture" or any(not isinstance(c, int) or not 0 <= c < n_classes for c in g["compose"]):
            raise ScenarioError(path, "generative.compose", f"expected component indices of a gaussian_mixture "
                                f"(0 … {n_classes - 1})")
    if t["rule"] in ("bp_ff", "pc"):
        from ..experiments.setup import make_network
        from ..experiments.train import layer_order
        if data["network"]["memories"] or layer_order(make_network(data["network"]), t["input_block"],
                                                      t["output_block"]) is None:
            raise ScenarioError(path, "training.rule", f"expected a layered chain input → … → output "
                                f"without memories for {t['rule']!r}")
    if t["rule"] in ("hep", "hep_continuous"):
        require_holomorphic(data, path, "training.rule", t["rule"])


CHECKS.append(check_generative)


def _check_generative_options(g: dict, path) -> None:
    """``data_options`` against the toy generator's signature (a trial draw of one point catches
    inconsistent mixtures) and ``schedule_options`` against the schedule's constructor."""
    from ..data import toy2d
    from ..generative.schedules import SCHEDULES
    from ..options import option_problem
    generators = {"moons": toy2d.moons, "eight_gaussians": toy2d.eight_gaussians,
                  "gaussian_mixture": toy2d.gaussian_mixture}
    opts = g["data_options"]
    if g["data"] == "digits" and opts:
        raise ScenarioError(path, f"generative.data_options.{next(iter(opts))}",
                            "expected no options for data = \"digits\"")
    if g["data"] in generators:
        problem = option_problem(generators[g["data"]], opts, skip=("n", "rng"))
        if problem:
            raise ScenarioError(path, f"generative.data_options.{problem[0]}", f"expected {problem[1]}")
        if g["data"] != "gaussian_mixture":
            generators[g["data"]](1, np.random.default_rng(0), **opts)
    problem = option_problem(SCHEDULES[g["schedule"]], g["schedule_options"])
    if problem:
        raise ScenarioError(path, f"generative.schedule_options.{problem[0]}", f"expected {problem[1]}")
    for key in ("p_uncond", "p_drop_top"):
        if not 0 <= g[key] <= 1:
            raise ScenarioError(path, f"generative.{key}", f"expected a probability in [0, 1], got {g[key]!r}")
