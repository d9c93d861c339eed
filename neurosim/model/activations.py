"""Activation functions ρ, their derivatives, and the registry that names them.

Every activation exists once, as a numba scalar function dispatched on an integer id, so the
same code serves the engine's kernels (real and complex states) and numpy callers
(``rho(name, x)`` vectorises the scalar form). Names, ids and formulas:

==============  ==  =====================================  ==================================
name            id  ρ(x)                                   holomorphic (usable with complex λ)
==============  ==  =====================================  ==================================
hard_sigmoid    0   clip(x, 0, 1)                          no (piecewise linear)
sigmoid4        1   σ(4x − 2) = 1 / (1 + e^{−(4x−2)})      yes (poles at x = ½ + iπ(2k+1)/4)
tanh            2   tanh(x)                                yes (poles at x = iπ(k+½))
identity        3   x                                      yes
sigmoid         4   σ(x) = 1 / (1 + e^{−x})                yes (poles at x = iπ(2k+1))
==============  ==  =====================================  ==================================

``hard_sigmoid`` also has a *state domain* [0, 1]: the engine projects a block's state onto it
after every update (Scellier & Bengio 2017), so at dt = τ the update is the fixed-point form
x ← clip(h, 0, 1).
"""
from __future__ import annotations

import numpy as np
from numba import njit

HARD_SIGMOID, SIGMOID4, TANH, IDENTITY, SIGMOID = 0, 1, 2, 3, 4

ACTIVATIONS = {
    "hard_sigmoid": HARD_SIGMOID,
    "sigmoid4": SIGMOID4,
    "tanh": TANH,
    "identity": IDENTITY,
    "sigmoid": SIGMOID,
}
HOLOMORPHIC = {"sigmoid4", "tanh", "identity", "sigmoid"}
#: |Im| of the poles nearest the real axis: ρ is analytic in the strip |Im x| < this distance
POLE_DISTANCE = {"sigmoid4": np.pi / 4, "tanh": np.pi / 2, "sigmoid": np.pi, "identity": np.inf}
#: state domain (lo, hi) onto which a block's state is projected after each update
STATE_BOUNDS = {"hard_sigmoid": (0.0, 1.0)}


def activation_id(name: str) -> int:
    """Integer id of an activation name; ``KeyError`` lists the known names."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise KeyError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}") from None


@njit(cache=True, inline="always")
def rho_scalar(act, x):
    """ρ(x) for activation id ``act`` (real or complex x)."""
    if act == HARD_SIGMOID:
        r = x.real
        if r < 0.0:
            return x * 0.0
        if r > 1.0:
            return x * 0.0 + 1.0
        return x
    if act == SIGMOID4:
        return 1.0 / (1.0 + np.exp(-(4.0 * x - 2.0)))
    if act == TANH:
        return np.tanh(x)
    if act == SIGMOID:
        return 1.0 / (1.0 + np.exp(-x))
    return x


@njit(cache=True, inline="always")
def drho_scalar(act, x):
    """ρ'(x) for activation id ``act``."""
    if act == HARD_SIGMOID:
        r = x.real
        if r < 0.0 or r > 1.0:
            return x * 0.0
        return x * 0.0 + 1.0
    if act == SIGMOID4:
        s = 1.0 / (1.0 + np.exp(-(4.0 * x - 2.0)))
        return 4.0 * s * (1.0 - s)
    if act == TANH:
        t = np.tanh(x)
        return 1.0 - t * t
    if act == SIGMOID:
        s = 1.0 / (1.0 + np.exp(-x))
        return s * (1.0 - s)
    return x * 0.0 + 1.0


@njit(cache=True, inline="always")
def drho_given_rho(act, x, r):
    """ρ'(x) when r = ρ(x) is already known (saves the exponential on the hot path)."""
    if act == SIGMOID4:
        return 4.0 * r * (1.0 - r)
    if act == TANH:
        return 1.0 - r * r
    if act == SIGMOID:
        return r * (1.0 - r)
    return drho_scalar(act, x)


@njit(cache=True, inline="always")
def d2rho_scalar(act, x):
    """ρ''(x) for activation id ``act`` (0 almost everywhere for the piecewise-linear ones)."""
    if act == SIGMOID4:
        s = 1.0 / (1.0 + np.exp(-(4.0 * x - 2.0)))
        return 16.0 * s * (1.0 - s) * (1.0 - 2.0 * s)
    if act == TANH:
        t = np.tanh(x)
        return -2.0 * t * (1.0 - t * t)
    if act == SIGMOID:
        s = 1.0 / (1.0 + np.exp(-x))
        return s * (1.0 - s) * (1.0 - 2.0 * s)
    return x * 0.0


@njit(cache=True)
def _apply(fn_id, act, x, out):
    flat_x = x.ravel()
    flat_o = out.ravel()
    for i in range(flat_x.size):
        if fn_id == 0:
            flat_o[i] = rho_scalar(act, flat_x[i])
        elif fn_id == 1:
            flat_o[i] = drho_scalar(act, flat_x[i])
        else:
            flat_o[i] = d2rho_scalar(act, flat_x[i])
    return out


def _vectorised(fn_id: int, name: str, x):
    x = np.ascontiguousarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.complexfloating)):
        x = x.astype(np.float64)
    return _apply(fn_id, activation_id(name), x, np.empty_like(x))


def rho(name: str, x):
    """ρ(x), elementwise, for a named activation."""
    return _vectorised(0, name, x)


def drho(name: str, x):
    """ρ'(x), elementwise."""
    return _vectorised(1, name, x)


def d2rho(name: str, x):
    """ρ''(x), elementwise."""
    return _vectorised(2, name, x)
