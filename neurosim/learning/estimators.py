"""Gradient estimators: one interface for every learning rule (docs/training.md).

Task: inputs hard-clamped, readout block ``out`` with target y and cost C; the loss is
L(θ) = (1/P) Σ_p C(x*_out,p, y_p) at the free fixed point x* of E. Every estimator returns an
estimate of dL/dθ (descend it: θ ← θ − lr·ĝ) for all weights, biases (zero for clamped blocks)
and memories, plus ``info`` with at least ``free_state`` and ``free_output``.

Phase-based rules share :meth:`PhaseRunner.contrast` (see :mod:`.nudging`); with
G(λ) = ∂E/∂θ(x_λ) (the local products at the fixed point nudged by λ), dL/dθ = G'(0):

===================  =================================================================================
``ep``               (G(β) − G(0)) / β                                            error O(β)
``ep_symmetric``     (G(β) − G(−β)) / 2β                                          error O(β²)
``ep_random_sign``   ``ep`` with β → ±β at random each call                       O(β) per call, O(β²) mean
``chl``              G(clamped) − G(0): readout hard-clamped to y (contrastive Hebbian; not scaled)
``hep``              Re (1/(N|β|)) Σ_k G(|β|e^{2πik/N}) e^{−2πik/N}  (complex states)  error O(|β|^N);
                     |β| halved for a batch whose states leave the analytic strip (:mod:`.analytic`)
``hep_continuous``   Re (1/(K T |β|)) ∫ G(x(t)) e^{−2πit/T} dt, λ(t) = |β|e^{2πit/T}, K periods after a warm-up
``baseline_hebb``    (2/(K T β)) ∫ (G(x(t)) − Ḡ(t)) cos(2πt/T) dt, λ(t) = β cos(2πt/T), Ḡ running mean
``first_step``       (G(x_0 + Δ·v) − G(x_0)) / (βΔ), v = −β ∂C/∂x_out the onset velocity (one step Δ = dt)
``pc``               −(1/β) ε_l ρ(x_{l−1})ᵀ / P at the nudged predictive-coding equilibrium (layered)
``bp``               implicit differentiation at the free fixed point (reference, not local)
``bp_ff``            backprop through the feed-forward view of a layered graph (reference, not local)
===================  =================================================================================
"""
from __future__ import annotations

# the interface, then the rules (estimators_nudged: EP family, CHL, hEP, continuous, first step;
# estimators_backprop: bp, and pc / bp_ff on the layered view); every name stays importable here
from .estimator_base import Estimator, Problem, _free_runner, _info  # noqa: F401
from .estimators_backprop import BP, BPFeedForward, PredictiveCoding, layered_order  # noqa: F401
from .estimators_nudged import (CHL, EP, HEP, BaselineHebb, ContinuousEstimator,  # noqa: F401
                                ContrastEstimator, EPRandomSign, EPSymmetric, FirstStep,
                                HEPContinuous, onset_velocity)
from .nudging import PhaseRunner, RelaxConfig  # noqa: F401


_REGISTRY = {cls.name: cls for cls in (EP, EPSymmetric, EPRandomSign, CHL, HEP, HEPContinuous,
                                       FirstStep, BaselineHebb, PredictiveCoding, BP, BPFeedForward)}
ESTIMATORS: tuple[str, ...] = tuple(_REGISTRY)


def estimator_class(name: str) -> type[Estimator]:
    """The class registered under ``name``; its ``options``, ``holomorphic``, ``layered`` and
    ``view`` say what it takes and needs."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; expected one of {ESTIMATORS}") from None


def taking(option: str) -> tuple[str, ...]:
    """The estimators that take ``option`` (e.g. "beta", "n_points")."""
    return tuple(n for n, cls in _REGISTRY.items() if option in cls.options)


def get_estimator(name: str, **options) -> Estimator:
    """The estimator ``name`` (one of ``ESTIMATORS``) built with ``options`` (beta, n_points, …)."""
    return estimator_class(name)(**options)
