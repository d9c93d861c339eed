"""``kind = "generative"``: the ``[generative]`` section (docs/generative-network.md) and its
cross-checks: the input block's layout [x | e(u) | c], the readout size, objective, schedule and
sampler together. Every list of names is the generative layer's own (data sets, objectives,
parametrisations, schedules, samplers, embeddings, conditions); ``[training]`` is kind = "train"'s.
"""
from __future__ import annotations

import numpy as np

from ..generative.data import CONDITIONS, DATA_NAMES, TOY_GENERATORS, cond_width, data_shape
from ..generative.embedding import EMBEDDINGS, embed_dim
from ..generative.objective import FLOW_OBJECTIVES, OBJECTIVES, PARAMETRISATIONS
from ..generative.samplers import ODE_METHODS, SAMPLERS
from ..generative.schedules import SCHEDULES
from ..options import option_problem
from .crossref import require_rule
from .kind_train import augment_shift, io_sizes
from .schema import REQUIRED, Field, ScenarioError, Table, non_negative, positive, positive_int
from .sections import register_kind


LANGEVIN = Table({
    "sigma_max": Field((float,), 3.0, check=positive),
    "sigma_min": Field((float,), 0.05, check=positive),
    "levels": Field((int,), 10, check=positive_int),
    "eps": Field((float,), 1.25e-3, check=positive, doc="step α_i = eps·σ_i²/σ_min²"),
}, doc="annealed Langevin settings (sampler = \"langevin\"; sampler_steps = steps per level)")

GENERATIVE = Table({
    "data": Field((str,), REQUIRED, choices=DATA_NAMES),
    "data_options": Field((dict,), {}, doc="moons: noise; eight_gaussians: radius, std; "
                          "gaussian_mixture: means, stds, weights"),
    "split_seed": Field((int,), 0, check=non_negative, doc="digits: seed of the 1347/450 split"),
    "objective": Field((str,), "icfm", choices=OBJECTIVES),
    "sigma_min": Field((float,), 0.0, check=non_negative, doc="CFM path width σ_min"),
    "schedule": Field((str,), "edm", choices=tuple(SCHEDULES), doc="dsm noise schedule"),
    "schedule_options": Field((dict,), {}, doc="keyword options of the schedule"),
    "parametrisation": Field((str,), "edm", choices=PARAMETRISATIONS,
                             doc="dsm: what the readout estimates (edm: Karras-preconditioned F)"),
    "sigma_data": Field((float,), 0.5, check=positive, doc="σ_d of the input scaling c_in and of edm"),
    "embedding": Field((str,), "fourier", choices=EMBEDDINGS),
    "n_embed": Field((int,), 8, check=positive_int, doc="fourier: K frequencies (2K+1 features); onehot: bins"),
    "condition": Field((str,), "none", choices=CONDITIONS,
                       doc="class: one-hot label; class+top: one-hot label and the top half (inpainting)"),
    "p_uncond": Field((float,), 0.1, check=non_negative, doc="rate at which the class is dropped to null"),
    "p_drop_top": Field((float,), 0.5, check=non_negative, doc="rate at which the top half is dropped to null"),
    "guidance": Field((float,), 0.0, doc="classifier-free guidance weight w at sampling"),
    "compose": Field((list,), [], doc="classes whose conditional scores are summed at sampling"),
    "steps": Field((int,), 2000, check=positive_int, doc="optimiser steps (training.epochs is not used)"),
    "eval_every": Field((int,), 500, check=positive_int),
    "eval_during": Field((bool,), False, doc="also sample n_eval_quick points at every evaluation"),
    "n_eval_quick": Field((int,), 500, check=positive_int),
    "n_eval": Field((int,), 2000, check=positive_int, doc="generated (and reference) samples of the final metrics"),
    "floor_repeats": Field((int,), 1, check=positive_int),
    "sampler": Field((str,), "euler", choices=SAMPLERS),
    "sampler_steps": Field((int,), 100, check=positive_int),
    "warm_duration": Field((float,), 10.0, check=non_negative,
                           doc="relaxation per sampler step after the first, warm-started (0: free_duration)"),
    "langevin": LANGEVIN,
}, default="absent", doc="generative training and sampling (kind = \"generative\")")


def check_generative(data, path):
    """Cross-checks of ``[generative]`` and ``[training]`` against the network (kind = "generative")."""
    g, t = data["generative"], data["training"]
    n_in, n_out = io_sizes(data, path)
    _check_generative_options(g, path)
    if augment_shift(t):
        raise ScenarioError(path, "training.augment.shift",
                            "expected 0 or no training.augment: only kind = \"train\" translates its images")
    if g["data"] == "gaussian_mixture":
        _check_mixture(g["data_options"], path)
    dim, n_classes = data_shape(g["data"], g["data_options"])
    if g["condition"] != "none" and not n_classes:
        raise ScenarioError(path, "generative.condition", f"data {g['data']!r} has no classes to condition on")
    if g["condition"] == "class+top" and g["data"] != "digits":
        raise ScenarioError(path, "generative.condition", "class+top (inpainting) needs data = \"digits\"")
    n_cond = cond_width(g["condition"], dim, n_classes)
    want = dim + embed_dim(g["embedding"], g["n_embed"]) + n_cond
    if n_in != want:
        raise ScenarioError(path, "training.input_block",
                            f"expected a block of {want} units = {dim} (x) + {embed_dim(g['embedding'], g['n_embed'])} "
                            f"({g['embedding']} embedding, n_embed = {g['n_embed']}) + {n_cond} (condition "
                            f"{g['condition']!r}); block {t['input_block']!r} has {n_in}")
    if n_out != dim:
        raise ScenarioError(path, "training.output_block",
                            f"expected a block of {dim} units (the data dimension); block {t['output_block']!r} has {n_out}")
    flow = g["objective"] in FLOW_OBJECTIVES
    if flow and g["sampler"] not in ODE_METHODS:
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
    require_rule(data, path, "training.rule", t["rule"], t["input_block"], t["output_block"])


def _check_mixture(opts: dict, path) -> None:
    """A gaussian_mixture needs K rows of d means, and stds and weights that fit them."""
    if "means" not in opts or "stds" not in opts:
        raise ScenarioError(path, "generative.data_options", "gaussian_mixture needs means and stds")
    try:
        means = np.asarray(opts["means"], float)
    except (TypeError, ValueError):
        means = np.zeros(0)
    if means.ndim != 2:
        raise ScenarioError(path, "generative.data_options.means", "expected K rows of d numbers")
    weights = opts.get("weights", [1.0 / len(means)] * len(means))
    try:
        TOY_GENERATORS["gaussian_mixture"](1, np.random.default_rng(0), means, opts["stds"], weights)
    except (TypeError, ValueError) as err:
        raise ScenarioError(path, "generative.data_options", f"expected a valid Gaussian mixture: {err}") from None


def _check_generative_options(g: dict, path) -> None:
    """``data_options`` against the toy generator's signature (a trial draw of one point catches
    inconsistent mixtures) and ``schedule_options`` against the schedule's constructor."""
    generators = TOY_GENERATORS
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


register_kind("generative", {"generative": GENERATIVE}, reads=("generative", "training"),
              required=("generative", "training"), check=check_generative)
