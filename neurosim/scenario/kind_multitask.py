"""``kind = "multitask"``: ``[[tasks]]``, ``[[reverse]]``, ``[multitask]`` and ``[plasticity]``
(docs/multitask.md) and their cross-checks. Plasticity rules come from
:mod:`neurosim.learning.plasticity`, data fields from :mod:`neurosim.data.multimodal`, the digits
geometry from :func:`neurosim.data.datasets.describe`."""
from __future__ import annotations

from ..data.datasets import describe
from ..data.multimodal import FIELDS
from ..engine.scheduler import INTEGRATORS, SCHEDULERS
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


TASK = Table({
    "name": Field((str,), REQUIRED),
    "condition": Field((list,), REQUIRED, check=string_list, doc="blocks clamped to data"),
    "condition_data": Field((list,), REQUIRED, check=string_list,
                            doc="data field of each condition block (image, top, bottom, label, code)"),
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
}, default="absent")

PLASTICITY = Table({
    "rule": Field((str,), "hep_continuous", choices=PLASTICITY_RULES),
    "rhythm": Field((str,), "shared", choices=("shared", "per_task")),
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


def _field_size(field: str, mt: dict):
    """Units of a modality field for the multitask data set (None if it depends on the data)."""
    if mt["dataset"] != "digits":
        return None
    dim, n_classes = describe("digits", {})
    return {"image": dim, "top": dim // 2, "bottom": dim - dim // 2, "label": n_classes, "code": mt["code_dim"]}[field]


register_kind("multitask", {"tasks": TableArray(TASK), "reverse": TableArray(REVERSE), "multitask": MULTITASK,
                            "plasticity": PLASTICITY},
              reads=("simulation", "tasks", "reverse", "multitask", "plasticity"),
              required=("tasks", "multitask", "plasticity"), check=check_multitask)
