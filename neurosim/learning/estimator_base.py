"""The interface every gradient estimator implements (the registry and the rules' formulas:
:mod:`.estimators`): :class:`Problem`, one batch of a supervised task; :class:`Estimator`, whose
``gradient(problem)`` returns an estimate of dL/dθ and an ``info`` dict; and the two helpers the
rules share, a phase runner at the free equilibrium and the ``info`` every rule returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..build import Compiled
from ..model.network import Params
from . import nudging as nd
from .nudging import PhaseRunner, RelaxConfig


@dataclass
class Problem:
    """One batch of a supervised task on a compiled network (real dtype, n_particles = P)."""

    compiled: Compiled
    clamped: dict
    out: str
    target: np.ndarray
    cost: str = "mse"
    relax: RelaxConfig = field(default_factory=RelaxConfig)
    init_state: dict | None = None

    @property
    def net(self):
        return self.compiled.net

    def params(self) -> Params:
        return self.compiled.params()


def _free_runner(problem, phases, name: str) -> PhaseRunner:
    """A phase runner at the free equilibrium, with complex states when any λ of ``phases`` is
    complex (then every activation must be holomorphic)."""
    cplx = any(complex(ph.lam).imag != 0 for ph, _ in phases)
    if cplx:
        nd.require_holomorphic(problem.compiled, name)
    runner = PhaseRunner(problem, complex_states=cplx)
    runner.free()
    return runner


def _info(runner_or_state, out, **extra) -> dict:
    """The estimator's ``info`` (free state and output, residuals); releases a runner."""
    free = runner_or_state if isinstance(runner_or_state, dict) else runner_or_state.free_state
    free = {k: np.real(v).astype(np.float64) for k, v in free.items()}
    info = {"free_state": free, "free_output": free[out].copy()}
    if not isinstance(runner_or_state, dict):
        info["residuals"] = list(runner_or_state.residuals)
        runner_or_state.release()  # the estimate is done: the simulator goes back to the pool
    info.update(extra)
    return info


class Estimator:
    """Base class: ``gradient(problem) -> (Params, info)``."""

    name = "estimator"
    #: the options a scenario may set (constructor keywords; ``seed`` is the runner's)
    options: tuple[str, ...] = ()
    #: needs holomorphic activations (complex states); needs a layered chain input → … → output
    holomorphic = False
    layered = False
    #: what the rule trains: the free equilibrium ("relax") or the feed-forward view ("ff")
    view = "relax"

    def gradient(self, problem: Problem):  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({opts})"
