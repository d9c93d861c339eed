"""The vocabulary of scenario files: one schema per top-level section.

Every key a scenario may contain is declared here with its type, default and check; docs/
scenarios.md lists them for users. Sections added by later features register themselves in
``SECTIONS`` (kept in this one module so the whole file format reads in one place).
"""
from __future__ import annotations

from ..engine.scheduler import INTEGRATORS, SCHEDULERS
from ..model.activations import ACTIVATIONS
from ..model.network import INITS
from .schema import (REQUIRED, Field, Table, TableArray, nested_numbers, non_negative, number_list, positive,
                     positive_int, string_list)

KINDS = ("relax",)

BLOCK = Table({
    "name": Field((str,), REQUIRED, doc="block name, unique"),
    "size": Field((int,), REQUIRED, check=positive_int, doc="number of units"),
    "activation": Field((str,), "hard_sigmoid", choices=tuple(ACTIVATIONS)),
    "bias": Field((float,), 0.0, doc="initial bias of every unit"),
    "tau": Field((float,), 1.0, check=positive, doc="time constant τ"),
    "rate": Field((float,), 1.0, check=positive, doc="updates per τ under the poisson scheduler"),
})

PROJECTION = Table({
    "pre": Field((str,), REQUIRED, doc="pre block (W has shape (n_pre, n_post))"),
    "post": Field((str,), REQUIRED),
    "gain": Field((float,), 1.0, check=non_negative),
    "init": Field((str,), "glorot", choices=INITS),
})

MEMORY = Table({
    "block": Field((str,), REQUIRED),
    "patterns": Field((int,), REQUIRED, check=positive_int),
    "beta": Field((float,), 1.0, check=positive),
    "gain": Field((float,), 1.0, check=non_negative),
})

NETWORK = Table({
    "blocks": TableArray(BLOCK, default=REQUIRED, min_len=1),
    "projections": TableArray(PROJECTION),
    "memories": TableArray(MEMORY),
    "particles": Field((int,), 1, check=positive_int, doc="P, independent copies of the activity"),
    "dtype": Field((str,), "float64", choices=("float64", "float32")),
    "init_state": Field((str,), "zeros", choices=("zeros", "random")),
}, default=REQUIRED)

SIMULATION = Table({
    "scheduler": Field((str,), "poisson", choices=SCHEDULERS),
    "dt": Field((float,), 0.1, check=positive, doc="tick length; longest sub-step under poisson"),
    "integrator": Field((str,), "exp", choices=tuple(INTEGRATORS)),
    "duration": Field((float,), 10.0, check=positive, doc="simulated time, in τ"),
})

CLAMP = Table({
    "block": Field((str,), REQUIRED),
    "values": Field((list,), None, check=nested_numbers,
                    doc="n numbers (all particles) or P rows of n numbers"),
    "pattern": Field((str,), "values", choices=("values", "random", "bars")),
})

NUDGE = Table({
    "block": Field((str,), REQUIRED),
    "target": Field((list,), REQUIRED, check=nested_numbers),
    "lam": Field((float,), 0.5, doc="amplitude of λ(t)"),
    "cost": Field((str,), "mse", choices=("mse", "ce")),
    "schedule": Field((str,), "constant", choices=("constant", "step", "sinusoid")),
    "t_on": Field((float,), 0.0, check=non_negative, doc="start of a step schedule"),
    "period": Field((float,), 10.0, check=positive, doc="period of a sinusoid, in τ"),
})

PROBES = Table({
    "interval": Field((float,), 0.1, check=positive, doc="sampling interval, in τ"),
    "blocks": Field((list,), None, check=string_list, doc="blocks to record (default: all)"),
    "energy": Field((bool,), True),
    "events": Field((bool,), True),
    "particles": Field((int,), None, check=positive_int, doc="record the first k particles (default: all)"),
    "until": Field((float,), None, check=positive, doc="stop sampling after this time (default: never)"),
})

# -- supervised training (kind = "train"; docs/training.md) ------------------------------------
RULES = ("ep", "ep_symmetric", "ep_random_sign", "chl", "hep", "hep_continuous", "first_step",
         "baseline_hebb", "pc", "bp", "bp_ff")
DATASET_NAMES = ("digits", "mnist5k", "mnist_idx", "xor", "bars_and_stripes")


def learning_rates(v):
    """A number, an array of numbers (one per projection) or a table projection → number, all ≥ 0."""
    if isinstance(v, bool):
        return "a number, an array of numbers or a table of numbers"
    if isinstance(v, (int, float)):
        return None if v >= 0 else "a non-negative learning rate"
    values = v if isinstance(v, list) else list(v.values())
    if not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in values):
        return "a number, an array of numbers or a table of numbers"
    return None if all(e >= 0 for e in values) else "non-negative learning rates"


TRACE_EPOCHS = ("first_last", "first", "last", "all", "none")


def check_trace_epochs(v):
    """``training.trace_epochs``: a name of TRACE_EPOCHS or an array of epochs (integers ≥ 1)."""
    if isinstance(v, str):
        return None if v in TRACE_EPOCHS else f"one of {list(TRACE_EPOCHS)} or an array of epochs"
    ok = all(isinstance(e, int) and not isinstance(e, bool) and e >= 1 for e in v)
    return None if ok else "an array of epochs (integers ≥ 1)"


DATA = Table({
    "name": Field((str,), REQUIRED, choices=DATASET_NAMES, doc="data set (docs/data.md)"),
    "options": Field((dict,), {}, doc="keyword options of the loader, e.g. {path = \"...\"} for mnist_idx"),
    "split_seed": Field((int,), 0, check=lambda v: None if v >= 0 else "a non-negative integer",
                        doc="seed of the train/test split (fixed across scenario seeds)"),
    "limit_train": Field((int,), 0, check=lambda v: None if v >= 0 else "a non-negative integer",
                         doc="keep only the first N training examples (0: all)"),
    "limit_test": Field((int,), 0, check=lambda v: None if v >= 0 else "a non-negative integer",
                        doc="keep only the first N test examples (0: all)"),
}, default="absent", doc="the data set of a training run")

RELAX = Table({
    "scheduler": Field((str,), "sync", choices=SCHEDULERS),
    "dt": Field((float,), 1.0, check=positive, doc="tick length, in τ (1 with euler: x ← Π(ρ'(x)h))"),
    "integrator": Field((str,), "euler", choices=tuple(INTEGRATORS)),
    "free_duration": Field((float,), 30.0, check=positive, doc="free phase, in τ"),
    "nudged_duration": Field((float,), 10.0, check=positive, doc="each nudged phase, in τ"),
    "tol": Field((float,), 0.0, check=non_negative,
                 doc="end a phase early once the stationarity residual is below tol (0: run the full duration)"),
})

_RULE_OPTION_FIELDS = {
    "beta": lambda: Field((float,), None, check=positive, doc="nudge strength β (|β| for hep; the estimator's default if absent)"),
    "n_points": lambda: Field((int,), None, check=positive_int, doc="hep, hep_continuous: points on the complex circle"),
    "steps_per_point": lambda: Field((int,), None, check=positive_int, doc="hep_continuous, baseline_hebb: steps per point of a period"),
    "periods": lambda: Field((int,), None, check=positive_int, doc="hep_continuous, baseline_hebb: periods accumulated"),
}
RULE_OPTIONS = Table({
    **{k: f() for k, f in _RULE_OPTION_FIELDS.items()},
    # per-rule overrides, e.g. [training.rule_options.pc] beta = 0.01 (used by neurosim compare)
    **{rule: Table({k: f() for k, f in _RULE_OPTION_FIELDS.items()}, default="absent",
                   doc=f"options for rule {rule!r} only") for rule in RULES},
}, doc="estimator options; only those the rule's estimator takes are passed")

TRAINING = Table({
    "input_block": Field((str,), REQUIRED, doc="block clamped to the inputs"),
    "output_block": Field((str,), REQUIRED, doc="readout block (nudged toward the one-hot label)"),
    "cost": Field((str,), "mse", choices=("mse", "ce")),
    "rule": Field((str,), "ep_symmetric", choices=RULES, doc="gradient estimator"),
    "rule_options": RULE_OPTIONS,
    "epochs": Field((int,), 10, check=positive_int),
    "batch_size": Field((int,), 20, check=positive_int, doc="P: the minibatch is the particles"),
    "optimizer": Field((str,), "sgd", choices=("sgd", "adam")),
    "lr": Field((float, list, dict), 0.05, check=learning_rates,
                doc="one rate, an array (one per projection, declaration order) or a table name → rate"),
    "momentum": Field((float,), 0.0, check=lambda v: None if 0 <= v < 1 else "a number in [0, 1)"),
    "adam_beta1": Field((float,), 0.9, check=lambda v: None if 0 <= v < 1 else "a number in [0, 1)"),
    "adam_beta2": Field((float,), 0.999, check=lambda v: None if 0 <= v < 1 else "a number in [0, 1)"),
    "adam_eps": Field((float,), 1e-8, check=positive),
    "persistent_states": Field((bool,), False, doc="start each example's free phase from its last free state"),
    "grad_cosine": Field((bool,), False, doc="record the cosine to the exact (bp) gradient on one fixed batch"),
    "trace_batches": Field((int,), 2, check=lambda v: None if v >= 0 else "a non-negative integer",
                           doc="record energy and stationarity residual over time of the free and nudged phases "
                               "of the first N batches of each traced epoch (traces.npz phases/…; 0: none)"),
    "trace_epochs": Field((str, list), "first_last", check=check_trace_epochs,
                          doc="epochs whose first trace_batches batches are traced: first_last, first, last, "
                              "all, none or an array of epoch numbers"),
    "relax": RELAX,
}, default="absent", doc="supervised training (kind = \"train\")")

SECTIONS: dict = {
    "name": Field((str,), "unnamed"),
    "description": Field((str,), ""),
    "kind": Field((str,), "relax", choices=KINDS),
    "seed": Field((int,), 0, check=lambda v: None if v >= 0 else "a non-negative integer"),
    "network": NETWORK,
    "simulation": SIMULATION,
    "clamps": TableArray(CLAMP),
    "nudges": TableArray(NUDGE),
    "probes": PROBES,
    "plots": Field((bool,), True, doc="draw plots and report.html at the end of the run"),
    "data": DATA,
    "training": TRAINING,
}


GRADCHECK_ESTIMATORS = ("ep", "ep_symmetric", "ep_random_sign", "chl", "hep", "hep_continuous",
                        "first_step", "baseline_hebb", "pc", "bp", "bp_ff")


def _choice_list(choices):
    def check(v):
        if not all(isinstance(e, str) and e in choices for e in v):
            return f"an array of names from {list(choices)}"
        return None
    return check


def _positive_numbers(v):
    ok = all(isinstance(e, (int, float)) and not isinstance(e, bool) and e > 0 for e in v)
    return None if ok and v else "a non-empty array of positive numbers"


def _positive_ints(v):
    ok = all(isinstance(e, int) and not isinstance(e, bool) and e >= 1 for e in v)
    return None if ok and v else "a non-empty array of positive integers"


GRADCHECK = Table({
    "input": Field((str,), REQUIRED, doc="input block, hard-clamped to random data"),
    "output": Field((str,), REQUIRED, doc="readout block carrying the cost"),
    "batch": Field((int,), 16, check=positive_int, doc="batch size P (overrides network.particles)"),
    "cost": Field((str,), "mse", choices=("mse", "ce")),
    "estimators": Field((list,), ["ep", "ep_symmetric", "hep"], check=_choice_list(GRADCHECK_ESTIMATORS)),
    "betas": Field((list,), [1e-3, 1e-2, 0.1, 0.5, 1.0], check=_positive_numbers, doc="|β| sweep"),
    "n_points": Field((list,), [1, 2, 4, 8], check=_positive_ints, doc="N sweep of hep"),
    "reference": Field((str,), "implicit", choices=("implicit", "bptt", "feedforward"),
                       doc="exact gradient: implicit differentiation, BPTT, feed-forward backprop"),
    "bptt_steps": Field((int,), 4000, check=positive_int),
    "bptt_step": Field((float,), 0.5, check=positive),
    "input_range": Field((list,), [0.0, 1.0], check=lambda v: None if len(v) == 2 and v[0] < v[1]
                         else "[low, high] with low < high"),
    "bias_spread": Field((float,), 0.5, check=non_negative,
                         doc="free blocks' biases get U(−s, s) added (params stream)"),
    "scheduler": Field((str,), "sync", choices=SCHEDULERS),
    "dt": Field((float,), 0.5, check=positive),
    "integrator": Field((str,), "euler", choices=tuple(INTEGRATORS)),
    "free_duration": Field((float,), 1000.0, check=positive, doc="longest free phase, in τ"),
    "nudged_duration": Field((float,), 1000.0, check=positive, doc="longest nudged phase, in τ"),
    "tol": Field((float,), 1e-11, check=positive, doc="phase ends once max|Π(x+g)−x| ≤ tol"),
    "continuous_points": Field((int,), 10, check=positive_int, doc="hep_continuous: points per period"),
    "steps_per_point": Field((int,), 20, check=positive_int),
    "periods": Field((int,), 10, check=positive_int, doc="demodulated periods"),
    "warmup_periods": Field((int,), 1, check=non_negative),
}, default="absent")

SECTIONS["gradcheck"] = GRADCHECK


def root_schema() -> Table:
    return Table(dict(SECTIONS), default=REQUIRED)


def register_kind(kind: str) -> None:
    """Allow another value of the top-level ``kind`` key (features with their own runner)."""
    global KINDS
    if kind not in KINDS:
        KINDS = KINDS + (kind,)
        SECTIONS["kind"] = Field((str,), "relax", choices=KINDS)


register_kind("train")
register_kind("gradcheck")


# -- concurrent multitask experiments (experiments/multitask.py) -----------------------------
register_kind("multitask")

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
    "cost": Field((str,), "mse", choices=("mse", "ce")),
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

RELAX = Table({
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
    "eval_relax": RELAX,
    "probe_interval": Field((float,), 0.25, check=positive),
    "probe_particles": Field((int,), 1, check=positive_int, doc="particles whose activity is recorded"),
    "probe_until": Field((float,), 200.0, check=positive, doc="activity and energy are recorded for [0, probe_until]"),
    "record_blocks": Field((list,), None, check=string_list),
    "isolated": Field((bool,), True, doc="also learn each task alone (the isolated_final figures)"),
    "controls": Field((list,), ["bp", "ep_symmetric"], check=string_list,
                      doc="batch controls: bp per task alone, two-phase EP one task at a time"),
    "control_lr": Field((float,), 0.0005, check=non_negative, doc="learning rate of the batch controls"),
    "control_optimizer": Field((str,), "adam", choices=("sgd", "adam"), doc="optimiser of the batch controls"),
    "gradient_probe": Field((bool,), True, doc="cosine of the online update to −∇Σ_k C_k at each evaluation"),
    "probe_batch": Field((int,), 16, check=positive_int),
}, default="absent")

PLASTICITY = Table({
    "rule": Field((str,), "hep_continuous",
                  choices=("hep_continuous", "baseline_hebb", "baseline_only", "none")),
    "rhythm": Field((str,), "shared", choices=("shared", "per_task")),
    "beta": Field((float,), 0.5, check=positive, doc="|β|: amplitude of every task's λ_k(t)"),
    "period": Field((float,), 8.0, check=positive, doc="period of the shared rhythm, in τ"),
    "lr": Field((float,), 0.05, check=non_negative),
    "baseline_tau": Field((float,), 20.0, check=positive),
    "sample_interval": Field((float,), 0.25, check=positive),
    "bias_lr_scale": Field((float,), 1.0, check=non_negative),
    "lr_schedule": Field((str,), "constant", choices=("constant", "cosine"),
                         doc="η over the run: constant, or a cosine from lr down to lr·lr_final at the horizon"),
    "lr_final": Field((float,), 0.1, check=non_negative, doc="η at the horizon as a fraction of lr (cosine)"),
}, default="absent")

SECTIONS.update({"tasks": TableArray(TASK), "reverse": TableArray(REVERSE),
                 "multitask": MULTITASK, "plasticity": PLASTICITY})


# -- generative runs (kind = "generative"; experiments/generative.py, docs/generative-network.md) --
register_kind("generative")

LANGEVIN = Table({
    "sigma_max": Field((float,), 3.0, check=positive),
    "sigma_min": Field((float,), 0.05, check=positive),
    "levels": Field((int,), 10, check=positive_int),
    "eps": Field((float,), 1.25e-3, check=positive, doc="step α_i = eps·σ_i²/σ_min²"),
}, doc="annealed Langevin settings (sampler = \"langevin\"; sampler_steps = steps per level)")

GENERATIVE = Table({
    "data": Field((str,), REQUIRED, choices=("moons", "eight_gaussians", "gaussian_mixture", "digits")),
    "data_options": Field((dict,), {}, doc="moons: noise; eight_gaussians: radius, std; "
                          "gaussian_mixture: means, stds, weights"),
    "split_seed": Field((int,), 0, check=non_negative, doc="digits: seed of the 1347/450 split"),
    "objective": Field((str,), "icfm", choices=("icfm", "otcfm", "dsm")),
    "sigma_min": Field((float,), 0.0, check=non_negative, doc="CFM path width σ_min"),
    "schedule": Field((str,), "edm", choices=("vp", "ve", "edm"), doc="dsm noise schedule"),
    "schedule_options": Field((dict,), {}, doc="keyword options of the schedule"),
    "parametrisation": Field((str,), "edm", choices=("x0", "eps", "score", "velocity", "edm"),
                             doc="dsm: what the readout estimates (edm: Karras-preconditioned F)"),
    "sigma_data": Field((float,), 0.5, check=positive, doc="σ_d of the input scaling c_in and of edm"),
    "embedding": Field((str,), "fourier", choices=("fourier", "onehot", "none")),
    "n_embed": Field((int,), 8, check=positive_int, doc="fourier: K frequencies (2K+1 features); onehot: bins"),
    "condition": Field((str,), "none", choices=("none", "class", "class+top"),
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
    "sampler": Field((str,), "euler", choices=("euler", "heun", "ancestral", "langevin")),
    "sampler_steps": Field((int,), 100, check=positive_int),
    "warm_duration": Field((float,), 10.0, check=non_negative,
                           doc="relaxation per sampler step after the first, warm-started (0: free_duration)"),
    "langevin": LANGEVIN,
}, default="absent", doc="generative training and sampling (kind = \"generative\")")

SECTIONS["generative"] = GENERATIVE


# -- neurosim sweep (experiments/sweep.py): the grid a scenario file may carry ---------------------
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


# -- which kind reads which section ---------------------------------------------------------------
#: top-level keys every kind reads
COMMON_KEYS = ("name", "description", "kind", "seed", "network", "plots", "sweep")
#: kind → (sections it reads, sections it requires)
KIND_SECTIONS = {
    "relax": (("simulation", "clamps", "nudges", "probes"), ()),
    "train": (("data", "training"), ("data", "training")),
    "gradcheck": (("gradcheck",), ("gradcheck",)),
    "generative": (("generative", "training"), ("generative", "training")),
    "multitask": (("simulation", "tasks", "reverse", "multitask", "plasticity"), ("tasks", "multitask", "plasticity")),
}


def kinds_reading(section: str) -> list[str]:
    return [k for k, (reads, _) in KIND_SECTIONS.items() if section in reads]
