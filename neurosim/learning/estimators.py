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

from dataclasses import dataclass, field

import numpy as np

from ..build import Compiled
from ..model import energy as en
from ..model.activations import drho, rho
from ..model.network import Params
from . import nudging as nd
from . import reference as ref
from .analytic import AnalyticGuard, circle_contrast
from .gradients import zeros_like
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
    cplx = any(np.iscomplexobj(ph.lam) and ph.lam.imag != 0 for ph, _ in phases)
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


class ContrastEstimator(Estimator):
    """A free phase, then the nudged phases of a schedule, combined linearly (module table)."""

    complex_states = False

    def __init__(self, beta: float = 0.1):
        self.beta = float(beta)

    def schedule(self):
        raise NotImplementedError

    def gradient(self, problem):
        phases, c0 = self.schedule()
        runner = _free_runner(problem, phases, self.name)
        grad = runner.contrast(phases, c0)
        return grad, _info(runner, problem.out, lambdas=[complex(ph.lam) for ph, _ in phases])


class EP(ContrastEstimator):
    name = "ep"
    options = ("beta",)

    def schedule(self):
        return nd.one_sided(self.beta)


class EPSymmetric(ContrastEstimator):
    name = "ep_symmetric"
    options = ("beta",)

    def schedule(self):
        return nd.symmetric(self.beta)


class EPRandomSign(ContrastEstimator):
    name = "ep_random_sign"
    options = ("beta",)

    def __init__(self, beta: float = 0.1, seed: int = 0):
        super().__init__(beta)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def schedule(self):
        return nd.random_sign(self.beta, self._rng)


class CHL(ContrastEstimator):
    name = "chl"
    options = ()  # the readout is clamped to y: no β

    def schedule(self):
        return nd.clamped_phase()


class HEP(ContrastEstimator):
    """The circle of :func:`nudging.circle`, relaxed under the analytic-region guard: when a
    complex state heads for a pole of ρ (|β| outside the radius of validity for this batch) the
    circle is retried on half the radius, at most ``max_halvings`` times (0: raise at once), see
    :mod:`.analytic`. ``info["radius"]`` is the radius used; ``n_shrunk`` counts the calls that
    needed a smaller one (each halving depth is warned about once per estimator)."""

    name = "hep"
    options = ("beta", "n_points", "max_halvings")
    holomorphic = True

    def __init__(self, beta: float = 0.1, n_points: int = 4, max_halvings: int = 4):
        super().__init__(beta)
        self.n_points, self.max_halvings = int(n_points), int(max_halvings)
        self._warned: set = set()
        self._n_shrunk = 0

    @property
    def n_shrunk(self) -> int:
        return self._n_shrunk

    def schedule(self):
        return nd.circle(self.beta, self.n_points)

    def gradient(self, problem):
        phases, _ = self.schedule()
        runner = _free_runner(problem, phases, self.name)
        grad, radius = circle_contrast(runner, self.beta, self.n_points, self.name, self.max_halvings,
                                       self._warned)
        self._n_shrunk += radius < abs(self.beta)
        lams = [complex(ph.lam) for ph, _ in nd.circle(radius, self.n_points)[0]]
        return grad, _info(runner, problem.out, lambdas=lams, radius=radius)


class ContinuousEstimator(Estimator):
    """λ(t) oscillates while the network relaxes; ∂E/∂θ(x(t)) is demodulated every step.

    Period T = n_points · steps_per_point · dt (``dt`` defaults to the problem's). The first
    ``warmup_periods`` are not accumulated; then ``periods`` whole periods are.
    """

    def __init__(self, beta: float = 0.5, n_points: int = 10, steps_per_point: int = 20,
                 periods: int = 10, warmup_periods: int = 1, dt: float | None = None):
        self.beta, self.n_points, self.steps_per_point = float(beta), int(n_points), int(steps_per_point)
        self.periods, self.warmup_periods, self.dt = int(periods), int(warmup_periods), dt

    def _run(self, problem, runner, lam_kind, reference, scale, tau_avg=None):
        sim = runner.sim
        dt = self.dt or problem.relax.dt
        n_steps = self.n_points * self.steps_per_point
        period = n_steps * dt
        omega = 2 * np.pi / period
        t0 = sim.t
        sim.nudge(problem.out, problem.target, abs(self.beta) if lam_kind == "rotation" else self.beta,
                  cost=problem.cost, kind=lam_kind, omega=omega, phase=-omega * t0)
        tick_dt = runner.relax.dt
        if abs(tick_dt - dt) > 1e-15:
            raise ValueError("continuous estimators step with the problem's relax dt")
        demod = nd.Demodulator(lambda t: reference(omega * (t - t0)), tau_avg=tau_avg)
        # complex states: stop with a clear error once a state heads for a pole (see .analytic)
        guard = AnalyticGuard(runner.compiled, self.name, abs(self.beta)) if lam_kind == "rotation" else None
        for i in range((self.warmup_periods + self.periods) * n_steps):
            if guard is None:
                sim.run(dt)
            else:
                guard.run(sim, dt, every_step=False)
            if i >= self.warmup_periods * n_steps:
                # the state after a step was driven by λ at the step's start: sample mid-step
                demod.add(runner.param_grads(), sim.t - 0.5 * dt, dt)
        sim.clear_nudge(problem.out)
        return nd.real_part(nd.combine([(scale / (self.periods * period), demod.acc)]))


class HEPContinuous(ContinuousEstimator):
    name = "hep_continuous"
    options = ("beta", "n_points", "steps_per_point", "periods", "warmup_periods")
    holomorphic = True

    def gradient(self, problem):
        nd.require_holomorphic(problem.compiled, self.name)
        runner = PhaseRunner(problem, complex_states=True)
        runner.free()
        grad = self._run(problem, runner, "rotation", lambda th: np.exp(-1j * th), 1.0 / abs(self.beta))
        return grad, _info(runner, problem.out)


class BaselineHebb(ContinuousEstimator):
    """The "Hebbian product minus its usual value" of the keynote *Learning and Inference Based on
    Diffusion and Flow*: λ(t) = β cos ωt, running mean Ḡ with
    time constant ``tau_avg`` (default one period), Δθ ∝ ∫ (G − Ḡ) cos ωt dt, scaled by 2/(KTβ)."""

    name = "baseline_hebb"
    options = ("beta", "steps_per_point", "periods", "warmup_periods", "tau_avg")

    def __init__(self, beta: float = 0.1, tau_avg: float | None = None, **kw):
        super().__init__(beta, **kw)
        self.tau_avg = tau_avg

    def gradient(self, problem):
        runner = PhaseRunner(problem)
        runner.free()
        period = self.n_points * self.steps_per_point * (self.dt or problem.relax.dt)
        grad = self._run(problem, runner, "sinusoid", np.cos, 2.0 / self.beta,
                         tau_avg=self.tau_avg or period)
        return grad, _info(runner, problem.out)


def onset_velocity(runner: PhaseRunner, lam: float) -> np.ndarray:
    """dx_out/dt at the instant the nudge λ switches on at the free fixed point: the drive
    −∂E/∂x − λ ∂C/∂x of the readout, which equals −λ ∂C/∂x (∂E/∂x = 0 at the free fixed point)."""
    p = runner.problem
    runner.set_state(runner.free_state)
    runner.sim.nudge(p.out, p.target, lam, cost=p.cost)
    v = runner.compiled.view(runner.sim.drive(), p.out).copy()
    runner.sim.clear_nudge(p.out)
    return v


class FirstStep(Estimator):
    """First step of the nudged dynamics: v = −β∂C/∂x_out at onset (Song 2020); one Euler step
    x_1 = x_0 + Δ v moves only the readout, so ĝ = (G(x_1) − G(x_0)) / (βΔ) is non-zero only for
    parameters touching the readout (its bias and its projections): the local error signal."""

    name = "first_step"
    options = ("beta",)

    def __init__(self, beta: float = 1e-3):
        self.beta = float(beta)

    def gradient(self, problem):
        runner = PhaseRunner(problem)
        free = runner.free()
        v = onset_velocity(runner, self.beta)
        delta = problem.relax.dt
        stepped = dict(free)
        stepped[problem.out] = free[problem.out] + delta * v
        grad = nd.combine([(1.0 / (self.beta * delta), runner.param_grads(stepped)),
                           (-1.0 / (self.beta * delta), runner.param_grads(free))])
        return nd.real_part(grad), _info(runner, problem.out, onset_velocity=v)


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
    (``solver="numpy"``)."""

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
            grad, info = ref.implicit_gradient(net, params, problem.clamped, problem.out,
                                               problem.target, problem.cost, x_star=x_star)
            return grad, _info(runner, problem.out, loss=info["loss"], residual=info["residual"])
        x0 = None
        if problem.init_state:
            x0 = {b: v for b, v in problem.init_state.items() if b not in problem.clamped}
            x0 = x0 if len(x0) == len(net.block_names()) - len(problem.clamped) else None
        x_star = ref.solve_fixed_point(net, params, problem.clamped, x0=x0)
        grad, info = ref.implicit_gradient(net, params, problem.clamped, problem.out, problem.target,
                                           problem.cost, x_star=x_star)
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
