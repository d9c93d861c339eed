"""``kind = "gradcheck"``: the ``[gradcheck]`` section (docs/gradcheck.md) and its cross-checks.
Estimator names come from :mod:`neurosim.learning.estimators`."""
from __future__ import annotations

from ..engine.scheduler import INTEGRATORS, SCHEDULERS
from ..learning.estimators import ESTIMATORS
from .crossref import require_block
from .kind_train import COST_NAMES
from .schema import REQUIRED, Field, ScenarioError, Table, non_negative, positive, positive_int
from .sections import register_kind


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
    "cost": Field((str,), "mse", choices=COST_NAMES),
    "estimators": Field((list,), ["ep", "ep_symmetric", "hep"], check=_choice_list(ESTIMATORS)),
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


def check_gradcheck(data, path):
    """The input and output blocks exist and differ."""
    gc = data["gradcheck"]
    for key in ("input", "output"):
        require_block(data, path, f"gradcheck.{key}", gc[key])
    if gc["input"] == gc["output"]:
        raise ScenarioError(path, "gradcheck.output", "must differ from gradcheck.input")


register_kind("gradcheck", {"gradcheck": GRADCHECK}, reads=("gradcheck",), required=("gradcheck",),
              check=check_gradcheck)
