"""The vocabulary of scenario files: the sections every kind shares (network, simulation, clamps,
nudges, probes, sweep) and the registry of kinds.

Every key a scenario may contain is declared with its type, default and check; docs/scenarios.md
lists them for users. Each other kind declares its own sections and cross-checks in its module
(``kind_train``, ``kind_gradcheck``, ``kind_multitask``, ``kind_generative``) through
:func:`register_kind`; lists of names (activations, schedulers, rules, …) are read from the module
that owns them.
"""
from __future__ import annotations

from ..engine.scheduler import INTEGRATORS, SCHEDULERS
from ..model.activations import ACTIVATIONS
from ..model.network import INITS
from ..build import COSTS
from .schema import REQUIRED, Field, Table, TableArray, nested_numbers, non_negative, positive, positive_int, string_list

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
    "cost": Field((str,), "mse", choices=tuple(COSTS)),
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
}


def root_schema() -> Table:
    return Table(dict(SECTIONS), default=REQUIRED)


# -- which kind reads which section ---------------------------------------------------------------
#: top-level keys every kind reads
COMMON_KEYS = ("name", "description", "kind", "seed", "network", "plots", "sweep")
#: kind → (sections it reads, sections it requires); each kind's module registers its own
KIND_SECTIONS: dict = {"relax": (("simulation", "clamps", "nudges", "probes"), ())}
#: kind → its cross-check fn(data, path)
KIND_CHECKS: dict = {}


def register_kind(kind: str, sections: dict | None = None, reads=(), required=(), check=None) -> None:
    """Allow another value of the top-level ``kind`` key: its own top-level ``sections``
    (name → schema), the sections it reads and requires, and its cross-check
    ``check(data, path)`` (raises :class:`ScenarioError`), run after the network's."""
    global KINDS
    if kind not in KINDS:
        KINDS = KINDS + (kind,)
        SECTIONS["kind"] = Field((str,), "relax", choices=KINDS)
    SECTIONS.update(sections or {})
    KIND_SECTIONS[kind] = (tuple(reads), tuple(required))
    if check is not None:
        KIND_CHECKS[kind] = check


def kinds_reading(section: str) -> list[str]:
    return [k for k, (reads, _) in KIND_SECTIONS.items() if section in reads]
