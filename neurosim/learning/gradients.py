"""Comparing gradient estimates: flatten a :class:`~neurosim.model.network.Params`, cosine
similarity and relative error, in total and per parameter.

Every estimator (EP, hEP, …) returns its estimate as a ``Params`` of the same structure as the
exact references of :mod:`neurosim.learning.reference`; these helpers compare the two.

Selection (``which``): ``None`` takes every parameter; otherwise a string or an iterable of
strings, each either a kind (``"weights"``, ``"biases"``, ``"memories"``), a parameter name
(a projection name ``"a->b"`` selects that weight; a block name selects that block's bias and
memory) or a key as returned by :func:`param_keys` (``"weights:a->b"``, ``"biases:h1"``, …).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..model.network import Params

KINDS = ("weights", "biases", "memories")


def param_keys(params: Params) -> list[str]:
    """Keys ``"kind:name"`` of every parameter, in the fixed order of :meth:`Params.items`."""
    return [f"{kind}:{name}" for kind, name, _ in params.items()]


def _selected(params: Params, which) -> list[tuple[str, str, np.ndarray]]:
    items = list(params.items())
    if which is None:
        return items
    if isinstance(which, str):
        which = [which]
    which = set(which)
    out = [(k, n, a) for k, n, a in items if k in which or n in which or f"{k}:{n}" in which]
    if not out:
        raise KeyError(f"selection {sorted(which)} matches no parameter; keys are {param_keys(params)}")
    return out


def flatten(params: Params, which=None) -> np.ndarray:
    """All selected parameters concatenated into one float vector (order of :meth:`Params.items`)."""
    parts = [np.ravel(a) for _, _, a in _selected(params, which)]
    return np.concatenate(parts) if parts else np.zeros(0)


def unflatten(vec: np.ndarray, like: Params) -> Params:
    """Inverse of :func:`flatten` (with ``which=None``): a ``Params`` shaped like ``like``."""
    vec = np.asarray(vec)
    out = Params()
    i = 0
    for kind, name, a in like.items():
        getattr(out, kind)[name] = vec[i:i + a.size].reshape(a.shape).copy()
        i += a.size
    if i != vec.size:
        raise ValueError(f"vector has {vec.size} entries, the parameters {i}")
    return out


def zeros_like(params: Params) -> Params:
    """A ``Params`` of zeros with the structure of ``params``."""
    return params.zeros()


def _check_same(g1: Params, g2: Params) -> None:
    if param_keys(g1) != param_keys(g2):
        raise ValueError(f"parameter sets differ: {param_keys(g1)} vs {param_keys(g2)}")


def cosine(g1: Params, g2: Params, which=None) -> float:
    """cos(g1, g2) = ⟨g1, g2⟩ / (‖g1‖ ‖g2‖) over the selected parameters (nan if a norm is 0)."""
    _check_same(g1, g2)
    a, b = flatten(g1, which), flatten(g2, which)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        return float("nan")
    return float(np.real(np.vdot(a, b)) / (na * nb))


def relative_error(est: Params, exact: Params, which=None) -> float:
    """‖est − exact‖ / ‖exact‖ over the selected parameters (0 if both vanish, inf if only exact)."""
    _check_same(est, exact)
    a, b = flatten(est, which), flatten(exact, which)
    num, den = np.linalg.norm(a - b), np.linalg.norm(b)
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return float(num / den)


def per_parameter(est: Params, exact: Params) -> dict[str, dict[str, float]]:
    """Per parameter key ``"kind:name"``: cosine, relative error and both norms."""
    _check_same(est, exact)
    out = {}
    for key in param_keys(exact):
        out[key] = {
            "cosine": cosine(est, exact, key),
            "relative_error": relative_error(est, exact, key),
            "norm_est": float(np.linalg.norm(flatten(est, key))),
            "norm_exact": float(np.linalg.norm(flatten(exact, key))),
        }
    return out


def fd_gradient(loss, params: Params, eps: float = 1e-6, which: Iterable[str] | str | None = None) -> Params:
    """Central finite differences (L(θ + εe_i) − L(θ − εe_i)) / 2ε of a scalar ``loss(params)``
    for every selected entry (others left at 0). Costs two loss evaluations per entry."""
    out = zeros_like(params)
    keys = {f"{k}:{n}" for k, n, _ in _selected(params, which)}
    for kind, name, arr in params.items():
        if f"{kind}:{name}" not in keys:
            continue
        g = getattr(out, kind)[name]
        for idx in np.ndindex(arr.shape):
            p = params.copy()
            getattr(p, kind)[name][idx] += eps
            lp = loss(p)
            getattr(p, kind)[name][idx] -= 2 * eps
            lm = loss(p)
            g[idx] = (lp - lm) / (2 * eps)
    return out
