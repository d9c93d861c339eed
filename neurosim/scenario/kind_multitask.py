"""``kind = "multitask"``: ``[[tasks]]``, ``[[reverse]]``, ``[multitask]`` and ``[plasticity]``
(docs/multitask.md) and their cross-checks. Plasticity rules come from
:mod:`neurosim.learning.plasticity`, data fields from :mod:`neurosim.data.multimodal`, the image
geometry from :func:`neurosim.data.datasets.described_image_shape`.

A task with a ``noise_level`` table is a denoising task over a whole noise schedule
(``experiments/noise_level_task.py``), and ``[multitask.sample]`` samples p(image | condition) from
the trained lump through that task's ports by its own reverse process (``experiments/lump_sampling.py``)."""
from __future__ import annotations

from ..data.datasets import describe, described_image_shape
from ..data.multimodal import CONDITION_FIELDS, FIELDS, TASK_MADE, field_sizes
from ..engine.scheduler import INTEGRATORS, SCHEDULERS
from ..generative.embedding import EMBEDDINGS, embed_dim
from ..learning.estimators import estimator_class
from ..learning.optim import OPTIMIZERS
from ..learning.plasticity import RULES as PLASTICITY_RULES
from .crossref import require_block, require_holomorphic
from .kind_train import COST_NAMES
from .schema import REQUIRED, Field, ScenarioError, Table, TableArray, non_negative, number_list, positive, positive_int, string_list
from .sections import register_kind


def taking_holomorphic() -> tuple[str, ...]:
    """Plasticity rules that run on complex states (named after their estimator)."""
    from ..learning.estimators import ESTIMATORS
    return tuple(r for r in PLASTICITY_RULES if r in ESTIMATORS and estimator_class(r).holomorphic)


#: the reverse-process updates of ``experiments/lump_sampling.py`` (its SAMPLERS)
LUMP_SAMPLERS = ("euler", "ancestral")

NOISE_LEVEL = Table({
    "noisy": Field((str,), REQUIRED, doc="condition block shown x₀ + σε, σ drawn per example"),
    "level": Field((str,), REQUIRED, doc="condition block clamped to e(u(σ)); its condition_data is \"level\""),
    "sigma": Field((list,), [0.02, 2.0], check=number_list,
                   doc="[σ_min, σ_max]: ln σ ~ U(ln σ_min, ln σ_max), u(σ) = ln(σ/σ_min)/ln(σ_max/σ_min)"),
    "embedding": Field((str,), "fourier", choices=EMBEDDINGS, doc="the level's embedding e(u) (generative/embedding.py):"),
    "n_embed": Field((int,), 4, check=positive_int, doc="frequencies (fourier: 2n + 1 features) or bins"),
    "eval_sigma": Field((float,), 0.5, check=positive, doc="the one σ of the held-out evaluation's MSE"),
}, default="absent")

SAMPLE = Table({
    "task": Field((str,), REQUIRED, doc="the noise_level task whose ports sample"),
    "sampler": Field((str,), "euler", choices=LUMP_SAMPLERS,
                     doc="the reverse-process update, the probability-flow ODE's Euler step or Euler-ancestral:"),
    "steps": Field((int,), 18, check=positive_int, doc="noise levels of the Karras grid σ_max … σ_min, then 0"),
    "guidance": Field((list,), [1.0], check=number_list,
                      doc="classifier-free guidance weights w, one set of samples each (the first: the sample grid)"),
    "guidance_sigma": Field((list,), [], check=number_list,
                            doc="[σ_lo, σ_hi]: guide only at the steps with σ_lo ≤ σ ≤ σ_hi ([]: at every step)"),
    "per_class": Field((int,), 20, check=positive_int, doc="samples of every class, each conditioned on a held-out example's condition"),
    "warm": Field((float,), 10.0, check=positive, doc="relaxation per step, in τ (the first step: eval_relax.duration)"),
    "bp": Field((bool,), False, doc="also sample the bp control's network of the task (trained as the bp control is) "
                "by the same reverse process: sampling_bp, samples_bp.npz"),
}, default="absent")

CONDITION_MASK = Table({
    "fraction": Field((float,), REQUIRED, doc="fraction f of the block's units given (0 < f < 1); the rest are silent (0)"),
    "block": Field((str,), "", doc="the condition block shown through the mask (\"\": the task's only condition block)"),
}, default="absent")

TASK = Table({
    "name": Field((str,), REQUIRED),
    "condition": Field((list,), REQUIRED, check=string_list, doc="blocks clamped to data"),
    "condition_data": Field((list,), REQUIRED, check=string_list,
                            doc="data field of each condition block (image, top, bottom, label, code; level: a noise_level task's embedding)"),
    "condition_noise": Field((list,), [], check=number_list,
                             doc="std of fresh Gaussian noise added to each condition block (denoising)"),
    "target": Field((list,), REQUIRED, check=string_list, doc="blocks nudged toward data"),
    "target_data": Field((list,), REQUIRED, check=string_list),
    "metric": Field((str,), "mse", choices=("mse", "accuracy")),
    "cost": Field((str,), "mse", choices=COST_NAMES),
    "rate": Field((float,), 0.05, check=positive, doc="example arrivals per τ"),
    "duration": Field((list,), [20.0, 40.0], doc="[min, max] clamp duration, in τ"),
    "period": Field((float,), 8.0, check=positive, doc="period of the task's own rhythm, in τ"),
    "fade": Field((float,), 0.0, check=non_negative,
                  doc="the condition clamps fade in and out linearly over this time, in τ (0: steps)"),
    "noise_level": NOISE_LEVEL,
    "condition_mask": CONDITION_MASK,
})

REVERSE = Table({
    "name": Field((str,), REQUIRED),
    "condition": Field((list,), REQUIRED, check=string_list),
    "condition_data": Field((list,), REQUIRED, check=string_list),
    "target": Field((list,), REQUIRED, check=string_list),
    "target_data": Field((list,), REQUIRED, check=string_list),
    "metric": Field((str,), "mse", choices=("mse", "accuracy")),
})

EVAL_RELAX = Table({
    "scheduler": Field((str,), "sync", choices=SCHEDULERS),
    "dt": Field((float,), 0.5, check=positive, doc="≤ the smallest block τ under sync / alternating"),
    "integrator": Field((str,), "euler", choices=tuple(INTEGRATORS)),
    "duration": Field((float,), 40.0, check=positive, doc="longest relaxation, in τ"),
    "tol": Field((float,), 1e-6, check=positive,
                 doc="stop once the stationarity residual max|Π(x + g) − x| is below this (checked every 2 τ)"),
})

MULTITASK = Table({
    "dataset": Field((str,), "digits"),
    "split_seed": Field((int,), 0),
    "code_dim": Field((int,), 16, check=positive_int),
    "code_noise": Field((float,), 0.1, check=non_negative),
    "duration": Field((float,), 2000.0, check=positive, doc="simulated time of the concurrent run"),
    "eval_every": Field((float,), 200.0, check=positive),
    "n_eval": Field((int,), 450, check=positive_int, doc="held-out examples per evaluation"),
    "eval_relax": EVAL_RELAX,
    "probe_interval": Field((float,), 0.25, check=positive),
    "probe_particles": Field((int,), 1, check=positive_int, doc="particles whose activity is recorded"),
    "probe_until": Field((float,), 200.0, check=positive, doc="activity and energy are recorded for [0, probe_until]"),
    "record_blocks": Field((list,), None, check=string_list),
    "isolated": Field((bool,), True, doc="also learn each task alone (the isolated_final figures)"),
    "controls": Field((list,), ["bp", "ep_symmetric"], check=string_list,
                      doc="batch controls: bp per task alone, two-phase EP one task at a time"),
    "control_lr": Field((float,), 0.0005, check=non_negative, doc="learning rate of the batch controls"),
    "control_optimizer": Field((str,), "adam", choices=OPTIMIZERS, doc="optimiser of the batch controls"),
    "gradient_probe": Field((bool,), True, doc="cosine of the online update to −∇Σ_k C_k at each evaluation"),
    "probe_batch": Field((int,), 16, check=positive_int),
    # who does what (experiments/division_of_labour.py), on the final weights
    "division_of_labour": Field((bool,), False, doc="block × task map: score drop when a block is silenced, "
                                "share of each task's exact gradient per block"),
    "division_batch": Field((int,), 32, check=positive_int, doc="training examples of the map's gradient shares"),
    "judge": Field((list,), [], check=string_list,
                   doc="tasks whose image answer is also scored by a judging classifier (judged_accuracy)"),
    # generation by the lump's own reverse process (experiments/lump_generation_eval.py), on the final weights
    "sample": SAMPLE,
}, default="absent")

PLASTICITY = Table({
    "rule": Field((str,), "hep_continuous", choices=PLASTICITY_RULES),
    "rhythm": Field((str,), "shared", choices=("shared", "per_task")),
    "rhythm_gate": Field((bool,), False, doc="demodulate only with the rhythms of the tasks that are on "
                         "(each reference gated by its task's clamp) instead of every task's"),
    "beta": Field((float,), 0.5, check=positive, doc="|β|: amplitude of every task's λ_k(t)"),
    "period": Field((float,), 8.0, check=positive, doc="period of the shared rhythm, in τ"),
    "lr": Field((float,), 0.05, check=non_negative),
    "baseline_tau": Field((float,), 20.0, check=positive),
    "sample_interval": Field((float,), 0.25, check=positive,
                             doc="δ of the sampled reference rule; the run integrates in continuous time"),
    "bias_lr_scale": Field((float,), 1.0, check=non_negative),
    "lr_schedule": Field((str,), "constant", choices=("constant", "cosine"),
                         doc="η over the run: constant, or a cosine from lr down to lr·lr_final at the horizon"),
    "lr_final": Field((float,), 0.1, check=non_negative, doc="η at the horizon as a fraction of lr (cosine)"),
    "apply_every": Field((int,), 1, check=positive_int,
                         doc="a projection below the BLAS size applies its update once per this many of its "
                             "integration segments, as one rank-K product (1: at every segment)"),
}, default="absent")


def check_multitask(data, path):
    """Cross-checks of ``[[tasks]]``, ``[[reverse]]``, ``[multitask]`` and ``[plasticity]``."""
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
                allowed = CONDITION_FIELDS if role == "condition" else FIELDS
                for b, f in zip(blocks, fields):
                    n = require_block(data, path, f"{key}.{role}", b)
                    if f not in allowed:
                        raise ScenarioError(path, f"{key}.{role}_data", f"unknown field {f!r}; expected one of {list(allowed)}")
                    if f in TASK_MADE:
                        continue  # checked with the task's noise_level table
                    expected = _field_size(f, data, path)
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
            if section == "tasks":
                _check_noise_level(data, path, key, t)
                _check_condition_mask(path, key, t)
    _check_sample(data, path)
    if data["multitask"]["gradient_probe"]:
        # the probe clamps every task's conditions at once and nudges every target
        cond = {b: t["name"] for t in data["tasks"] for b in t["condition"]}
        for t in data["tasks"]:
            both = [b for b in t["target"] if b in cond]
            if both:
                raise ScenarioError(path, "multitask.gradient_probe",
                                    f"expected false: block {both[0]!r} is task {t['name']!r}'s target and task "
                                    f"{cond[both[0]]!r}'s condition, and the probe clamps every task at once")
    for i, name in enumerate(data["multitask"]["judge"]):
        t = next((t for t in data["tasks"] if t["name"] == name), None)
        if t is None or t["target_data"] != ["image"] or _image_shape(data, path) is None:
            raise ScenarioError(path, f"multitask.judge[{i}]",
                                f"expected the name of a task whose one target shows 'image' (of an image data set), got {name!r}")
    if data["plasticity"]["rule"] in taking_holomorphic():
        require_holomorphic(data, path, "plasticity.rule", data["plasticity"]["rule"])
    relax = data["multitask"]["eval_relax"]
    tau_min = min(b["tau"] for b in data["network"]["blocks"])
    if relax["scheduler"] in ("sync", "alternating") and relax["dt"] > tau_min + 1e-12:
        # every block jumps most of the way to its target at once: the relaxation oscillates and
        # the scores are read off states that are not fixed points (seen: 0.12 vs 0.043 MSE)
        raise ScenarioError(path, "multitask.eval_relax.dt",
                            f"expected dt ≤ {tau_min:g} (the smallest block τ) for a {relax['scheduler']} "
                            f"relaxation; got {relax['dt']:g}")


def _check_noise_level(data, path, key, t):
    """A ``noise_level`` table names two of the task's condition blocks: the noisy image and the
    level port (condition_data "level", as many units as the embedding has features)."""
    nl = t.get("noise_level")
    made = [b for b, f in zip(t["condition"], t["condition_data"]) if f in TASK_MADE]
    if nl is None:
        if made:
            raise ScenarioError(path, f"{key}.condition_data",
                                f"field 'level' (block {made[0]!r}) needs a {key}.noise_level table naming it")
        return
    cond = dict(zip(t["condition"], t["condition_data"]))
    for role in ("noisy", "level"):
        if nl[role] not in cond:
            raise ScenarioError(path, f"{key}.noise_level.{role}",
                                f"expected one of the task's condition blocks {t['condition']}, got {nl[role]!r}")
    if nl["noisy"] == nl["level"]:
        raise ScenarioError(path, f"{key}.noise_level.level", "expected a block other than noise_level.noisy")
    if cond[nl["level"]] != "level":
        raise ScenarioError(path, f"{key}.condition_data",
                            f"expected field 'level' for the level block {nl['level']!r}, got {cond[nl['level']]!r}")
    if cond[nl["noisy"]] in TASK_MADE:
        raise ScenarioError(path, f"{key}.condition_data",
                            f"expected a data field for the noisy block {nl['noisy']!r}, got {cond[nl['noisy']]!r}")
    if made != [nl["level"]]:
        raise ScenarioError(path, f"{key}.condition_data", f"expected field 'level' on {nl['level']!r} only")
    want = embed_dim(nl["embedding"], nl["n_embed"])
    n = require_block(data, path, f"{key}.noise_level.level", nl["level"])
    if n != want:
        raise ScenarioError(path, f"{key}.noise_level.level",
                            f"block {nl['level']!r} has {n} units but the {nl['embedding']} embedding with "
                            f"n_embed = {nl['n_embed']} has {want}")
    lo_hi = nl["sigma"]
    if len(lo_hi) != 2 or not 0 < lo_hi[0] < lo_hi[1]:
        raise ScenarioError(path, f"{key}.noise_level.sigma", f"expected [σ_min, σ_max] with 0 < σ_min < σ_max, got {lo_hi}")
    if t["condition_noise"]:
        raise ScenarioError(path, f"{key}.condition_noise",
                            "expected none on a noise_level task (its noise is σε, σ drawn from noise_level.sigma)")


def _check_condition_mask(path, key, t):
    """A ``condition_mask`` table: 0 < fraction < 1, on one condition block showing a data field
    (resolved in place: ``block`` = "" names the task's only condition block)."""
    m = t.get("condition_mask")
    if m is None:
        return
    if not 0 < m["fraction"] < 1:
        raise ScenarioError(path, f"{key}.condition_mask.fraction",
                            f"expected a fraction of the units given, 0 < fraction < 1, got {m['fraction']:g}")
    if not m["block"]:
        if len(t["condition"]) != 1:
            raise ScenarioError(path, f"{key}.condition_mask.block",
                                f"expected the name of one of the task's condition blocks {t['condition']}")
        m["block"] = t["condition"][0]
    if m["block"] not in t["condition"]:
        raise ScenarioError(path, f"{key}.condition_mask.block",
                            f"expected one of the task's condition blocks {t['condition']}, got {m['block']!r}")
    if t.get("noise_level"):
        raise ScenarioError(path, f"{key}.condition_mask",
                            "expected none on a noise_level task (its condition is the noisy image at a drawn σ)")


def _check_sample(data, path):
    """``[multitask.sample]`` names a noise_level task; guidance needs a condition to silence."""
    s = data["multitask"].get("sample")
    if s is None:
        return
    by_name = {t["name"]: t for t in data["tasks"]}
    with_level = [n for n, t in by_name.items() if t.get("noise_level")]
    if s["task"] not in with_level:
        raise ScenarioError(path, "multitask.sample.task",
                            f"expected the name of a task with a noise_level table {with_level}, got {s['task']!r}")
    if not s["guidance"] or min(s["guidance"]) < 0:
        raise ScenarioError(path, "multitask.sample.guidance", f"expected non-negative weights, got {s['guidance']}")
    gs = s["guidance_sigma"]
    if gs and not (len(gs) == 2 and 0 <= gs[0] < gs[1]):  # the schema has already refused non-finite values
        raise ScenarioError(path, "multitask.sample.guidance_sigma",
                            f"expected [] or [σ_lo, σ_hi] with 0 ≤ σ_lo < σ_hi, got {gs}")
    t, nl = by_name[s["task"]], by_name[s["task"]]["noise_level"]
    if len(t["condition"]) == 2 and max(s["guidance"]) > 0:
        raise ScenarioError(path, "multitask.sample.guidance",
                            f"task {s['task']!r} has no condition besides its noisy and level blocks: expected [0]")
    sizes = [require_block(data, path, "multitask.sample.task", b) for b in (nl["noisy"], *t["target"])]
    if len(sizes) != 2 or sizes[0] != sizes[1]:
        # the estimate port's equilibrium D(x; σ, c) moves the noisy port: one target, the same size
        raise ScenarioError(path, "multitask.sample.task",
                            f"expected task {s['task']!r} to have one target block of {sizes[0]} units "
                            f"(its noisy block's size), got {t['target']}")


def _image_shape(data: dict, path):
    """The multitask data set's described (rows, cols), None if it is not images."""
    name = data["multitask"]["dataset"]
    try:
        return described_image_shape(name, {})
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise ScenarioError(path, "multitask.dataset", str(exc).strip('"')) from None


def _field_size(field: str, data: dict, path):
    """Units of a modality field for the multitask data set, from its described image shape
    (None if the set is not images: modality_fields then refuses it at run time)."""
    shape = _image_shape(data, path)
    if shape is None:
        return None
    mt = data["multitask"]
    return field_sizes(shape, describe(mt["dataset"], {})[1], mt["code_dim"])[field]


register_kind("multitask", {"tasks": TableArray(TASK), "reverse": TableArray(REVERSE), "multitask": MULTITASK,
                            "plasticity": PLASTICITY},
              reads=("simulation", "tasks", "reverse", "multitask", "plasticity"),
              required=("tasks", "multitask", "plasticity"), check=check_multitask)
