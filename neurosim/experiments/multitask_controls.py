"""Controls of the multitask run: synchronous batch training with phases, one task per batch,
and the check that a control really trained before its figure is reported.

``bp`` and ``ep_symmetric`` see one 32-example batch per episode the concurrent run had; each
batch is a supervised problem (the task's conditions clamped, idle ports silent, the target
block read out) and the optimiser descends the rule's estimate of dL/dθ.

A control can fail — the free phase diverges, a gradient or a weight becomes non-finite, or the
trained network ends no better than chance or worse than it started. Its figure would then be
a fact about the failure, not about the rule, so :func:`control_status` names the failure and
the runner reports it instead of the figure.
"""
from __future__ import annotations

import numpy as np

from ..build import build
from ..engine.simulator import SimulationDiverged
from ..learning.estimators import Problem, get_estimator
from ..learning.nudging import PhaseRunner, RelaxConfig
from ..learning.minima_gradient import minima_gradient
from ..model.network import Params
from ..model.tasks import TaskSpec
from .multitask import silent
from .setup import optimizer_for

CHECKPOINT_BATCHES = 100  # a batch control writes a checkpoint every this many batches
MIN_EIG = 1e-3       # bp: a particle's free state counts as a strict minimum above this curvature
MAX_RESIDUAL = 1e-4  # … and as a fixed point below this stationarity residual
CONTROL_CG_TOL = 1e-10  # bp: relative CG residual (the gradient to ~1e-9 of the dense solve's)


def batch_problem(net, params, task: TaskSpec, data: dict, idx, ports, relax: RelaxConfig,
                  rng: np.random.Generator) -> Problem:
    """One batch of task k as a supervised problem: conditions clamped, idle ports silent."""
    clamps = silent(ports, set(task.blocks), len(idx), net)
    clamps.update(task.condition_values(data, idx, rng))
    if len(task.target) != 1:
        raise ValueError(f"task {task.name!r}: batch controls need one target block")
    return Problem(build(net, params, len(idx)), clamps, task.target[0], data[task.target_fields[0]][idx],
                   task.cost, relax)


def fixed_point_gradient(problem: Problem, matrix_free: bool | None = None):
    """bp where it exists: the implicit gradient over the particles whose free state is a
    fixed point (residual ≤ ``MAX_RESIDUAL``) and a strict minimum (smallest Hessian eigenvalue
    > ``MIN_EIG``); ``(grad or None, mask of the particles used)``
    (:func:`~neurosim.learning.minima_gradient.minima_gradient`).

    Why: dx*/dθ = −H⁻¹ ∂g/∂θ holds only at a strict minimum. Where the free phase has not
    converged, or the fixed point is about to vanish (a saddle-node: the smallest eigenvalue → 0,
    and relaxation slows down critically before it), μ = H⁻¹ ∂L/∂x is dominated by the soft
    mode, ‖μ‖ ~ ‖∂L/∂x‖/λ_min, and the "gradient" pushes the weights along the very direction
    that destroys the fixed point. Such particles are left out (a batch with none left is
    skipped) rather than followed over the edge.

    ``matrix_free``: the curvature by Lanczos and μ by conjugate gradients, never the (P, N, N)
    Hessian; False: the dense solve; None (default): matrix-free once the dense Hessians would
    exceed ``minima_gradient.DENSE_HESSIAN_BYTES``."""
    free = PhaseRunner(problem).free()
    x_star = {b: np.real(v) for b, v in free.items() if b not in problem.clamped}
    return minima_gradient(problem.net, problem.params(), problem.clamped, problem.out, problem.target,
                           problem.cost, x_star, MIN_EIG, MAX_RESIDUAL, matrix_free, cg_tol=CONTROL_CG_TOL)


def _finite(p: Params) -> bool:
    return all(np.all(np.isfinite(a)) for _, _, a in p.items())


class BatchControl:
    """Synchronous two-phase training over the batches of ``order`` (task indices), resumable:
    its state is the parameters, the optimiser's moments, the batch stream and the position."""

    def __init__(self, net, params: Params, tasks: list[TaskSpec], order: list[int], rule: str, lr: float,
                 data: dict, ports, relax: RelaxConfig, batch: int, rng: np.random.Generator,
                 optimizer: str = "adam"):
        self.net, self.tasks, self.order, self.data, self.ports = net, tasks, list(order), data, ports
        self.relax, self.batch, self.rng, self.rule = relax, batch, rng, rule
        self.params = params.copy()
        self.estimator = get_estimator(rule, **({"beta": tasks[0].lam} if rule.startswith("ep") else {}))
        self.optimizer = optimizer_for({"optimizer": optimizer, "lr": lr}, net, self.params)
        self.done = 0
        self.failure: str | None = None
        self.excluded = 0   # bp: examples left out (their free state was no strict minimum)
        self.skipped = 0    # bp: batches with no example left

    def run(self, on_batch=None, checkpoint=None, every: int = CHECKPOINT_BATCHES) -> Params:
        """Train to the end of ``order`` (or to the first failure); ``on_batch(done)`` after every
        batch, ``checkpoint()`` every ``every`` batches."""
        n = len(self.data["_y"])
        while self.done < len(self.order) and self.failure is None:
            k = self.order[self.done]
            idx = self.rng.integers(0, n, size=self.batch)
            problem = batch_problem(self.net, self.params, self.tasks[k], self.data, idx, self.ports,
                                    self.relax, self.rng)
            try:
                if self.rule == "bp":
                    grad, valid = fixed_point_gradient(problem)
                    self.excluded += int((~valid).sum())
                else:
                    grad, _ = self.estimator.gradient(problem)
            except SimulationDiverged as err:
                self.failure = f"the free phase of batch {self.done + 1} diverged ({err})"
                break
            if grad is None:
                self.skipped += 1
            elif not _finite(grad):
                self.failure = f"non-finite gradient at batch {self.done + 1}"
                break
            else:
                self.optimizer.step(self.params, grad)
            if not _finite(self.params):
                self.failure = f"non-finite weights after batch {self.done + 1}"
            self.done += 1
            if on_batch is not None:
                on_batch(self.done)
            if checkpoint is not None and self.done % every == 0 and self.done < len(self.order):
                checkpoint()
        if self.rule == "bp" and self.skipped == len(self.order) and self.failure is None:
            self.failure = "no batch had a free state at a strict minimum: nothing was learned"
        return self.params

    def state_dict(self) -> tuple[dict, dict]:
        arrays = {f"params/{kind}/{name}": a.copy() for kind, name, a in self.params.items()}
        arrays.update(self.optimizer.state_dict())
        return arrays, {"done": self.done, "failure": self.failure, "rng": self.rng.bit_generator.state,
                        "n_batches": len(self.order), "excluded": self.excluded, "skipped": self.skipped}

    def load_state_dict(self, arrays: dict, meta: dict) -> None:
        if meta["n_batches"] != len(self.order):
            raise ValueError("the saved control had another number of batches")
        for kind, name, a in self.params.items():
            a[...] = arrays[f"params/{kind}/{name}"]
        self.optimizer.load_state_dict({k: v for k, v in arrays.items() if k.startswith("optim/")})
        self.done, self.failure = int(meta["done"]), meta["failure"]
        self.excluded, self.skipped = int(meta["excluded"]), int(meta["skipped"])
        self.rng.bit_generator.state = meta["rng"]


def batch_train(net, params: Params, tasks: list[TaskSpec], order: list[int], rule: str, lr: float,
                data: dict, ports, relax: RelaxConfig, batch: int, rng: np.random.Generator,
                optimizer: str = "adam") -> Params:
    """:class:`BatchControl` run in one go (no checkpoints); the trained parameters."""
    return BatchControl(net, params, tasks, order, rule, lr, data, ports, relax, batch, rng, optimizer).run()


# -- did the control train? -------------------------------------------------------------------
def chance_level(metric: str, data: dict, n_eval: int, target_size: int) -> float | None:
    """Accuracy of always answering the most frequent class of the evaluation examples (None
    for an error metric: there the untrained network is the reference)."""
    if metric != "accuracy":
        return None
    y = np.asarray(data["_y"][:n_eval]).astype(int)
    return float(np.bincount(y, minlength=target_size).max() / len(y))


def control_status(metric: str, final: float | None, initial: float, chance: float | None,
                   failure: str | None = None) -> str:
    """``"ok"``, or ``"failed: …"`` when training failed, the figure is not finite, an accuracy
    ends at or below chance (the untrained network answers one class or worse), or the trained
    network ends worse than the untrained one it started from."""
    if failure:
        return f"failed: {failure}"
    if final is None or not np.isfinite(final):
        return "failed: the trained network's figure is not finite"
    if metric == "accuracy":
        if chance is not None and final <= chance + 1e-12:
            return (f"failed: ended at {100 * final:.1f} %, no better than chance ({100 * chance:.1f} %); "
                    f"started at {100 * initial:.1f} %")
        if final < initial:
            return f"failed: ended at {100 * final:.1f} %, worse than the {100 * initial:.1f} % it started at"
        return "ok"
    if final >= initial:
        return f"failed: ended at an error of {final:.4g}, no better than the {initial:.4g} it started at"
    return "ok"
