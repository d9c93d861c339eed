"""The free-equilibrium readout, and the relax tables of a scenario turned into its one config.

Every runner that asks the trained network for an answer does the same thing: clamp the inputs,
let the network relax toward its free fixed point x* (no nudge), read a block of x*. How long it
relaxes is the caller's stopping rule, an argument here rather than a copy per caller:

* a fixed ``duration`` (``tol`` None): run the whole duration — the training runs' test
  accuracy, the network denoiser's sampler steps;
* a ``tol``: stop once the stationarity residual r = max over free units |Π(x + g) − x|,
  g = −∂F/∂x, is ≤ tol (checked before starting and every ``check_every``), at most ``duration``
  — the multitask evaluations and the lump sampler, which keep the residual reached (an answer
  read off a state that is not a fixed point is not the network's answer).

The config is :class:`~neurosim.learning.nudging.RelaxConfig`, the one the estimators' phases use
(the readout reads ``free_duration``, ``tol`` and ``check_every``); :func:`relax_config` and
:func:`eval_relax_config` build it from a scenario's ``training.relax`` and evaluation tables.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..engine.simulator import Simulator, acquire_simulator, release_simulator
from ..learning.nudging import RelaxConfig


def relax_config(table: dict, **changes) -> RelaxConfig:
    """The config of a ``training.relax`` table (``tol = 0`` means no early stop)."""
    cfg = RelaxConfig(scheduler=table["scheduler"], dt=table["dt"], integrator=table["integrator"],
                      free_duration=table["free_duration"], nudged_duration=table["nudged_duration"],
                      tol=table["tol"] or None)
    return replace(cfg, **changes)


def eval_relax_config(table: dict, **changes) -> RelaxConfig:
    """The config of an evaluation table (``multitask.eval_relax``: ``duration``, ``tol``), the
    residual checked every 2 τ."""
    cfg = RelaxConfig(scheduler=table["scheduler"], dt=table["dt"], integrator=table["integrator"],
                      free_duration=table["duration"], nudged_duration=table["duration"], tol=table.get("tol"),
                      check_every=2.0)
    return replace(cfg, **changes)


def relax_clamped(sim: Simulator, clamps: dict, relax: RelaxConfig, duration: float | None = None,
                  residual: bool = False) -> float | None:
    """Clamp ``clamps`` (block → (P, n) values) on ``sim`` and relax it for ``duration`` (default
    ``relax.free_duration``) or until the residual is ≤ ``relax.tol``. Returns the residual
    reached (None with no ``tol`` unless ``residual``: it costs one more drive pass)."""
    for block, values in clamps.items():
        sim.clamp(block, values)
    return sim.relax(relax.free_duration if duration is None else duration, relax.tol,
                     check_every=relax.check_every, residual=residual)


def free_equilibrium(compiled, clamps: dict, relax: RelaxConfig, read=None, seed=None,
                     residual: bool = False) -> tuple[dict[str, np.ndarray], float | None]:
    """``({block: state at x*}, residual)`` of a fresh simulator of ``compiled`` (seeded by
    ``seed``, default ``relax.seed``) with ``clamps`` held; ``read``: the blocks to return
    (default every block)."""
    sim = acquire_simulator(compiled, relax.scheduler, relax.dt, relax.integrator,
                            relax.seed if seed is None else seed)
    res = relax_clamped(sim, clamps, relax, residual=residual)
    states = {b: sim.state(b).copy() for b in (compiled.names if read is None else read)}
    release_simulator(sim)
    return states, res
