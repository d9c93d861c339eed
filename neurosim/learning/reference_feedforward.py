"""Ordinary backprop through the feed-forward view of a layered graph: a_0 = ρ(x_in),
x_l = S(a_{l−1} W_l + b_l), a_l = ρ(x_l), cost on x_L (the ``bp_ff`` rule)."""
from __future__ import annotations

import numpy as np

from ..model import energy as en
from ..model.activations import STATE_BOUNDS, drho, rho
from ..model.network import Network, Params
from .gradients import zeros_like
from .reference_implicit import loss_at


def _layered_weights(net: Network, params: Params, layers):
    layers = list(layers)
    if len(layers) < 2:
        raise ValueError("layers must list at least an input and an output block")
    names = set(net.block_names())
    for b in layers:
        if b not in names:
            raise ValueError(f"layer {b!r} is not a block of the network")
    if len(set(layers)) != len(layers) or set(layers) != names:
        raise ValueError(f"layers {layers} must list every block of the network exactly once "
                         f"(blocks: {net.block_names()})")
    if net.memories:
        raise ValueError("the feed-forward view has no memory (log-sum-exp) terms; "
                         f"network has memories on {sorted(net.memories)}")
    pos = {b: i for i, b in enumerate(layers)}
    ws = [None] * (len(layers) - 1)
    for proj in net.projections:
        i, j = pos[proj.pre], pos[proj.post]
        if abs(i - j) != 1:
            raise ValueError(f"projection {proj.name} does not join consecutive layers of {layers}; "
                             "the feed-forward view needs a layered graph")
        w = params.weights[proj.name]
        ws[min(i, j)] = (proj.name, w if i < j else w.T, i > j)
    for l, w in enumerate(ws):
        if w is None:
            raise ValueError(f"no projection between layers {layers[l]!r} and {layers[l + 1]!r}")
    return layers, ws


def _state_map(act, h):
    bounds = STATE_BOUNDS.get(act)
    if bounds is None:
        return h, np.ones_like(h)
    lo, hi = bounds
    return np.clip(h, lo, hi), ((h > lo) & (h < hi)).astype(float)


def feedforward_forward(net: Network, params: Params, x_in, layers) -> dict:
    """Feed-forward pass: a_0 = ρ(x_in); x_l = S(a_{l−1} W_l + b_l), a_l = ρ(x_l). Returns block → (P, n)
    (x_in included). The ``bp_ff`` rule's ``predict``."""
    layers, ws = _layered_weights(net, params, layers)
    x = {layers[0]: np.asarray(x_in, float)}
    a = rho(net.block(layers[0]).activation, x[layers[0]])
    for l in range(1, len(layers)):
        blk = net.block(layers[l])
        x[blk.name], _ = _state_map(blk.activation, a @ ws[l - 1][1] + params.biases[blk.name])
        a = rho(blk.activation, x[blk.name])
    return x


def feedforward_loss(net: Network, params: Params, x_in, out: str, target, kind: str, layers) -> float:
    """L = (1/P) Σ_p C(x_L,p, y_p) of the feed-forward pass."""
    if out != list(layers)[-1]:
        raise ValueError(f"readout {out!r} must be the last layer ({list(layers)[-1]!r})")
    return loss_at(feedforward_forward(net, params, x_in, layers), out, target, kind)


def feedforward_gradient(net: Network, params: Params, x_in, out: str, target, kind: str, layers) -> Params:
    """Backprop of L through the feed-forward view: δ_L = (1/P) ∂C/∂x_L; for l = L … 1:
    e_l = δ_l ⊙ S'(h_l), dW_l = a_{l−1}ᵀ e_l, db_l = Σ_p e_l, δ_{l−1} = (e_l W_lᵀ) ⊙ ρ'(x_{l−1}).
    The input block's bias gets zero gradient; a projection declared out→in gets the transpose."""
    layers, ws = _layered_weights(net, params, layers)
    if out != layers[-1]:
        raise ValueError(f"readout {out!r} must be the last layer ({layers[-1]!r})")
    target = np.asarray(target, float)
    x, hs, acts = {layers[0]: np.asarray(x_in, float)}, {}, {}
    acts[layers[0]] = rho(net.block(layers[0]).activation, x[layers[0]])
    for l in range(1, len(layers)):
        blk = net.block(layers[l])
        hs[blk.name] = acts[layers[l - 1]] @ ws[l - 1][1] + params.biases[blk.name]
        x[blk.name], _ = _state_map(blk.activation, hs[blk.name])
        acts[blk.name] = rho(blk.activation, x[blk.name])
    p = x[out].shape[0]
    grad = zeros_like(params)
    delta = en.cost_grad(kind, x[out], target) / p
    for l in range(len(layers) - 1, 0, -1):
        blk = net.block(layers[l])
        _, sprime = _state_map(blk.activation, hs[blk.name])
        e = delta * sprime
        name, w, transposed = ws[l - 1]
        dw = acts[layers[l - 1]].T @ e
        grad.weights[name] = dw.T if transposed else dw
        grad.biases[blk.name] = e.sum(axis=0)
        prev = net.block(layers[l - 1])
        delta = (e @ w.T) * drho(prev.activation, x[prev.name])
    return grad
