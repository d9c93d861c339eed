"""The backprop gradient, exact or approximated locally (formulas: the table of
:mod:`.estimators`): ``bp`` by implicit differentiation at the free fixed point, and on the
layered view of a chain input → … → readout ``bp_ff`` (backprop through the feed-forward pass) and
``pc`` (predictive coding, which tends to ``bp_ff`` as β → 0).
"""
from __future__ import annotations

import numpy as np

from ..model import energy as en
from ..model.activations import drho, rho
from . import reference as ref
from .estimator_base import Estimator, _info
from .gradients import zeros_like
from .minima_gradient import implicit_gradient_that_fits
from .nudging import PhaseRunner


# -- layered view (pc, bp_ff) ----------------------------------------------------------------
def layered_order(net, inputs, out) -> list[str]:
    """Blocks ordered input → … → out when the graph is a chain from one clamped input to ``out``."""
    if len(inputs) != 1:
        raise ValueError(f"the layered view needs exactly one clamped input block, got {sorted(inputs)}")
    import networkx as nx
    und = net.graph.to_undirected()
    start = next(iter(inputs))
    dist = nx.single_source_shortest_path_length(und, start)
    order = sorted(dist, key=dist.get)
    if (len(order) != len(net.block_names()) or any(dist[b] != i for i, b in enumerate(order))
            or order[-1] != out or und.number_of_edges() != len(order) - 1):
        raise ValueError("the layered view needs a chain input → hidden … → readout "
                         f"(graph has blocks {net.block_names()}); pc and bp_ff do not apply")
    return order


class PredictiveCoding(Estimator):
    """Predictive coding with error units on the layered view (Whittington & Bogacz 2017), numpy.

    Value nodes x_l (l ≥ 1; x_0 = input), predictions μ_l = ρ(x_{l−1}) W_l + b_l, errors
    ε_l = x_l − μ_l, energy F_pc = Σ_l ½‖ε_l‖² + β C(x_L, y). Inference: gradient descent
    dx_l/dt = −ε_l + ρ'(x_l) ⊙ (ε_{l+1} W_{l+1}ᵀ) − [l = L] β∂C/∂x_L from the feed-forward pass
    (where ε = 0) to equilibrium (``tol`` on the drive). Learning: ΔW_l ∝ ε_l ρ(x_{l−1})ᵀ, i.e.
    ĝ_W = −(1/β) ρ(x_{l−1})ᵀ ε_l / P, ĝ_b = −(1/β) Σ_p ε_l / P. As β → 0 (weak feedback) this
    is the backprop gradient of the feed-forward view (``bp_ff``), not of the EBM's fixed point.
    States are unbounded (the feed-forward state map S is not applied).
    """

    name = "pc"
    options = ("beta", "dt", "max_steps", "tol")
    layered = True
    view = "ff"

    def __init__(self, beta: float = 1e-3, dt: float = 0.2, max_steps: int = 20000, tol: float = 1e-12):
        self.beta, self.dt, self.max_steps, self.tol = float(beta), float(dt), int(max_steps), float(tol)

    def gradient(self, problem):
        net, params = problem.net, problem.params()
        layers = layered_order(net, problem.clamped, problem.out)
        _, ws = ref._layered_weights(net, params, layers)
        acts = [net.block(b).activation for b in layers]
        x = [np.asarray(problem.clamped[layers[0]], float)]
        for l in range(1, len(layers)):
            x.append(rho(acts[l - 1], x[l - 1]) @ ws[l - 1][1] + params.biases[layers[l]])
        free = {b: v.copy() for b, v in zip(layers, x)}
        L = len(layers) - 1
        steps = 0
        for steps in range(1, self.max_steps + 1):
            eps = [None] + [x[l] - (rho(acts[l - 1], x[l - 1]) @ ws[l - 1][1] + params.biases[layers[l]])
                            for l in range(1, L + 1)]
            drive = []
            for l in range(1, L + 1):
                d = -eps[l]
                if l < L:
                    d = d + drho(acts[l], x[l]) * (eps[l + 1] @ ws[l][1].T)
                else:
                    d = d - self.beta * en.cost_grad(problem.cost, x[L], problem.target)
                drive.append(d)
            res = max(float(np.abs(d).max()) for d in drive)
            if res < self.tol:
                break
            for l in range(1, L + 1):
                x[l] = x[l] + self.dt * drive[l - 1]
        p = x[0].shape[0]
        grad = zeros_like(params)
        for l in range(1, L + 1):
            name, _, transposed = ws[l - 1]
            gw = -(rho(acts[l - 1], x[l - 1]).T @ eps[l]) / (self.beta * p)
            grad.weights[name] = gw.T if transposed else gw
            grad.biases[layers[l]] = -eps[l].sum(axis=0) / (self.beta * p)
        return grad, _info(free, problem.out, pc_residual=res, pc_steps=steps)


class BP(Estimator):
    """Reference (not local): exact dL/dθ by implicit differentiation at the free fixed point.

    The fixed point comes from the engine's free relaxation (``solver="engine"``, the default:
    fast, and the same fixed point the local rules start from) or from the independent numpy
    solver :func:`reference.solve_fixed_point` warm-started from ``init_state``
    (``solver="numpy"``). The adjoint is the dense solve where the (P, N, N) Hessians fit in
    ``minima_gradient.DENSE_HESSIAN_BYTES``, conjugate gradients on Hessian-vector products
    otherwise (:func:`~.minima_gradient.implicit_gradient_that_fits`)."""

    name = "bp"
    options = ("solver",)

    def __init__(self, solver: str = "engine"):
        if solver not in ("engine", "numpy"):
            raise ValueError(f"bp: unknown solver {solver!r}; expected 'engine' or 'numpy'")
        self.solver = solver

    def gradient(self, problem):
        net, params = problem.net, problem.params()
        if self.solver == "engine":
            runner = PhaseRunner(problem)
            free = runner.free()
            x_star = {b: np.real(v) for b, v in free.items() if b not in problem.clamped}
            grad, info = implicit_gradient_that_fits(net, params, problem.clamped, problem.out,
                                                     problem.target, problem.cost, x_star)
            return grad, _info(runner, problem.out, loss=info["loss"], residual=info["residual"])
        x0 = None
        if problem.init_state:
            x0 = {b: v for b, v in problem.init_state.items() if b not in problem.clamped}
            x0 = x0 if len(x0) == len(net.block_names()) - len(problem.clamped) else None
        x_star = ref.solve_fixed_point(net, params, problem.clamped, x0=x0)
        grad, info = implicit_gradient_that_fits(net, params, problem.clamped, problem.out, problem.target,
                                                 problem.cost, x_star)
        return grad, _info(x_star, problem.out, loss=info["loss"], residual=info["residual"])


class BPFeedForward(Estimator):
    """Reference (not local): backprop through the feed-forward view of a layered graph."""

    name = "bp_ff"
    layered = True
    view = "ff"

    def gradient(self, problem):
        net, params = problem.net, problem.params()
        layers = layered_order(net, problem.clamped, problem.out)
        x_in = problem.clamped[layers[0]]
        grad = ref.feedforward_gradient(net, params, x_in, problem.out, problem.target, problem.cost, layers)
        return grad, _info(ref.feedforward_forward(net, params, x_in, layers), problem.out)
