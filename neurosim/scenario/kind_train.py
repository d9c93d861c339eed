"""``kind = "train"``: the ``[data]`` and ``[training]`` sections (docs/training.md) and their
cross-checks against the network. ``[training]`` is shared with ``kind = "generative"``.

Every list of names is its owner's: rules from :mod:`neurosim.learning.estimators` (each rule's
options and needs are declared on its class), data sets from :mod:`neurosim.data.datasets`,
optimisers from :mod:`neurosim.learning.optim`, costs from :mod:`neurosim.build`.
"""
from __future__ import annotations

from ..build import COSTS
from ..data.datasets import DATASETS
from ..engine.scheduler import INTEGRATORS, SCHEDULERS
from ..learning.estimators import ESTIMATORS, taking
from ..learning.optim import LR_SCHEDULES, OPTIMIZERS
from .crossref import check_dataset, require_block, require_rule
from .schema import REQUIRED, Field, ScenarioError, Table, non_negative, positive, positive_int
from .sections import register_kind

RULES = ESTIMATORS
DATASET_NAMES = tuple(DATASETS)
COST_NAMES = tuple(COSTS)


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

def _takers(option: str) -> str:
    return ", ".join(taking(option))


_RULE_OPTION_FIELDS = {
    "beta": lambda: Field((float,), None, check=positive, doc="nudge strength β (|β| for hep; the estimator's default if absent)"),
    "n_points": lambda: Field((int,), None, check=positive_int, doc=f"{_takers('n_points')}: points on the complex circle"),
    "steps_per_point": lambda: Field((int,), None, check=positive_int, doc=f"{_takers('steps_per_point')}: steps per point of a period"),
    "periods": lambda: Field((int,), None, check=positive_int, doc=f"{_takers('periods')}: periods accumulated"),
}
RULE_OPTIONS = Table({
    **{k: f() for k, f in _RULE_OPTION_FIELDS.items()},
    # per-rule overrides, e.g. [training.rule_options.pc] beta = 0.01 (used by neurosim compare)
    **{rule: Table({k: f() for k, f in _RULE_OPTION_FIELDS.items()}, default="absent",
                   doc=f"options for rule {rule!r} only") for rule in RULES},
}, doc="estimator options; only those the rule's estimator takes are passed")

AUGMENT = Table({
    "shift": Field((int,), 0, check=lambda v: None if v >= 0 else "a non-negative integer",
                   doc="translate each training image, each epoch, by a random (dy, dx) in [-shift, shift]² "
                       "(blank fill; 0: off); needs a data set of images, shift < the image side"),
}, default="absent", doc="data augmentation of the training split (docs/training.md)")

TRAINING = Table({
    "input_block": Field((str,), REQUIRED, doc="block clamped to the inputs"),
    "output_block": Field((str,), REQUIRED, doc="readout block (nudged toward the one-hot label)"),
    "cost": Field((str,), "mse", choices=COST_NAMES),
    "rule": Field((str,), "ep_symmetric", choices=RULES, doc="gradient estimator"),
    "rule_options": RULE_OPTIONS,
    "epochs": Field((int,), 10, check=positive_int),
    "batch_size": Field((int,), 20, check=positive_int, doc="P: the minibatch is the particles"),
    "optimizer": Field((str,), "sgd", choices=OPTIMIZERS),
    "lr": Field((float, list, dict), 0.05, check=learning_rates,
                doc="one rate, an array (one per projection, declaration order) or a table name → rate"),
    "lr_schedule": Field((str,), "constant", choices=LR_SCHEDULES,
                         doc="factor of every rate per epoch e of E: constant (1) or cosine "
                             "(½(1 + cos(π (e − 1)/E)), annealed towards 0)"),
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
    "augment": AUGMENT,
    "relax": RELAX,
}, default="absent", doc="supervised training (kind = \"train\")")


def io_sizes(data, path) -> tuple[int, int]:
    """Units of ``[training]``'s input and output blocks (a ScenarioError if either is unknown)."""
    t = data["training"]
    return (require_block(data, path, "training.input_block", t["input_block"]),
            require_block(data, path, "training.output_block", t["output_block"]))


def augment_shift(training: dict) -> int:
    """``training.augment.shift``, 0 when the table is absent (no augmentation)."""
    return (training.get("augment") or {}).get("shift", 0)


def check_augment(t, d, path) -> None:
    """``training.augment.shift`` needs a data set of images and must stay below the image side."""
    shift = augment_shift(t)
    if not shift:
        return
    from ..data.datasets import described_image_shape
    shape = described_image_shape(d["name"], d["options"])
    if shape is None:
        raise ScenarioError(path, "training.augment.shift",
                            f"expected 0: data set {d['name']!r} has no image shape to translate")
    if shift >= min(shape):
        raise ScenarioError(path, "training.augment.shift",
                            f"expected an integer below {min(shape)} (the {shape[0]}x{shape[1]} images of "
                            f"{d['name']!r}), got {shift}")


def check_training(data, path):
    """Cross-checks of ``[data]`` and ``[training]`` against the network (kind = "train")."""
    t, d = data["training"], data["data"]
    n_in, n_out = io_sizes(data, path)
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
    check_augment(t, d, path)
    require_rule(data, path, "training.rule", t["rule"], t["input_block"], t["output_block"])
    if d["limit_train"] and t["batch_size"] > d["limit_train"]:
        raise ScenarioError(path, "training.batch_size",
                            f"expected at most data.limit_train = {d['limit_train']} examples")


register_kind("train", {"data": DATA, "training": TRAINING}, reads=("data", "training"),
              required=("data", "training"), check=check_training)
