"""Optimisers shared by every learning rule (docs/training.md): SGD with momentum and Adam over
:class:`~neurosim.model.network.Params`, with a learning rate per projection.

All optimisers *descend* the gradient they are given (an estimate of dL/dθ):

* ``sgd``:  v ← μ v + g,  θ ← θ − lr·v        (μ = 0: plain SGD, θ ← θ − lr·g)
* ``adam``: m ← β₁m + (1−β₁)g,  s ← β₂s + (1−β₂)g²,  θ ← θ − lr·m̂ / (√ŝ + ε)
  with m̂ = m / (1−β₁ᵗ), ŝ = s / (1−β₂ᵗ) (Kingma & Ba 2015)

Learning rates (:func:`resolve_lrs`) are given per projection: one number for all, a list in the
order the projections are declared, or a table ``{"in->h": 0.1, ...}`` (missing names take
``default``). A block's bias learns at the rate of the first projection that ends on it (its
incoming layer, as in an ``nn.Linear``), else of the first projection that starts from it.
Memories (modern-Hopfield K) take the default rate.

A learning-rate schedule (:func:`lr_factor`) multiplies every rate by a factor set per epoch
(``Optimizer.scale``): ``constant`` (1) or ``cosine`` (annealed towards 0 over the run).

``state_dict()`` / ``load_state_dict()`` give the whole optimiser state as flat numpy arrays, so
a checkpoint restores it bit-identically.
"""
from __future__ import annotations

import numpy as np

from ..model.network import Params

OPTIMIZERS = ("sgd", "adam")
LR_SCHEDULES = ("constant", "cosine")


def lr_factor(schedule: str, epoch: int, epochs: int) -> float:
    """The factor of every learning rate in ``epoch`` (1-based) of ``epochs``:
    ``constant``: 1; ``cosine``: ½(1 + cos(π (epoch − 1) / epochs)) — 1 in the first epoch, falling
    to ½(1 + cos(π (E − 1)/E)) > 0 in the last (SGDR's annealing, Loshchilov & Hutter 2017, without
    restarts). A function of the epoch alone, so a resumed run uses the rates it would have."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + float(np.cos(np.pi * (epoch - 1) / epochs)))
    raise ValueError(f"unknown lr schedule {schedule!r}; expected one of {LR_SCHEDULES}")


def resolve_lrs(params: Params, projections, lr, default: float | None = None) -> dict:
    """Map (kind, name) → learning rate for every parameter.

    ``projections``: list of (name, pre, post) in declaration order. ``lr``: a number, a list with
    one rate per projection, or a dict projection name → rate.
    """
    names = [p[0] for p in projections]
    if isinstance(lr, (int, float)):
        per_proj = {n: float(lr) for n in names}
        default = float(lr) if default is None else default
    elif isinstance(lr, (list, tuple)):
        if len(lr) != len(names):
            raise ValueError(f"expected {len(names)} learning rates (one per projection {names}), got {len(lr)}")
        per_proj = {n: float(v) for n, v in zip(names, lr)}
    elif isinstance(lr, dict):
        unknown = sorted(set(lr) - set(names))
        if unknown:
            raise ValueError(f"learning rates for unknown projections {unknown}; projections are {names}")
        if default is None and len(lr) < len(names):
            raise ValueError(f"no learning rate for projections {sorted(set(names) - set(lr))}")
        per_proj = {n: float(lr.get(n, default)) for n in names}
    else:
        raise TypeError(f"lr must be a number, a list or a dict, got {type(lr).__name__}")
    if default is None:
        default = float(next(iter(per_proj.values()))) if per_proj else 0.0
    out = {}
    for name in params.weights:
        out[("weights", name)] = per_proj.get(name, default)
    for block in params.biases:
        rate = next((per_proj[n] for n, _, post in projections if post == block), None)
        if rate is None:
            rate = next((per_proj[n] for n, pre, _ in projections if pre == block), default)
        out[("biases", block)] = rate
    for block in params.memories:
        out[("memories", block)] = default
    return out


class Optimizer:
    """Base class: per-parameter learning rates and a state of named arrays."""

    name = "base"

    def __init__(self, params: Params, lrs: dict):
        self.lrs = dict(lrs)
        self.scale = 1.0  # the schedule's factor of every rate (lr_factor), set by the trainer per epoch
        self.t = 0
        self.slots: dict[str, np.ndarray] = {}

    @staticmethod
    def _key(kind, name, slot):
        return f"{slot}/{kind}/{name}"

    def step(self, params: Params, grad: Params) -> None:
        """Update ``params`` in place from the gradient ``grad`` (descend it)."""
        self.t += 1
        for kind, name, theta in params.items():
            g = getattr(grad, kind).get(name)
            if g is None:
                continue
            lr = self.scale * self.lrs.get((kind, name), 0.0)
            self._update(kind, name, theta, np.asarray(g, dtype=theta.dtype).real, lr)

    def _update(self, kind, name, theta, g, lr):
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {f"optim/{k}": v.copy() for k, v in self.slots.items()}
        out["optim/t"] = np.array(self.t, dtype=np.int64)
        return out

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["optim/t"])
        self.slots = {k[len("optim/"):]: np.array(v) for k, v in state.items()
                      if k.startswith("optim/") and k != "optim/t"}


class SGD(Optimizer):
    name = "sgd"

    def __init__(self, params: Params, lrs: dict, momentum: float = 0.0):
        super().__init__(params, lrs)
        self.momentum = float(momentum)

    def _update(self, kind, name, theta, g, lr):
        if self.momentum:
            key = self._key(kind, name, "velocity")
            v = self.slots.get(key)
            v = g.copy() if v is None else self.momentum * v + g
            self.slots[key] = v
            g = v
        theta -= lr * g


class Adam(Optimizer):
    name = "adam"

    def __init__(self, params: Params, lrs: dict, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(params, lrs)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _update(self, kind, name, theta, g, lr):
        km, ks = self._key(kind, name, "m"), self._key(kind, name, "s")
        m = self.slots.get(km, np.zeros_like(theta))
        s = self.slots.get(ks, np.zeros_like(theta))
        m = self.beta1 * m + (1 - self.beta1) * g
        s = self.beta2 * s + (1 - self.beta2) * g * g
        self.slots[km], self.slots[ks] = m, s
        m_hat = m / (1 - self.beta1 ** self.t)
        s_hat = s / (1 - self.beta2 ** self.t)
        theta -= lr * m_hat / (np.sqrt(s_hat) + self.eps)


def make_optimizer(kind: str, params: Params, lrs: dict, momentum: float = 0.0,
                   beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    if kind == "sgd":
        return SGD(params, lrs, momentum)
    if kind == "adam":
        return Adam(params, lrs, beta1, beta2, eps)
    raise ValueError(f"unknown optimizer {kind!r}; expected one of {OPTIMIZERS}")
