"""The local rules that nudge the readout of the energy-based network at its free fixed point
(formulas: the table of :mod:`.estimators`): the phase contrasts ``ep``, ``ep_symmetric``,
``ep_random_sign``, ``chl`` and ``hep`` (:meth:`PhaseRunner.contrast`), the continuously
demodulated ``hep_continuous`` and ``baseline_hebb``, and ``first_step``.
"""
from __future__ import annotations

import numpy as np

from . import nudging as nd
from .analytic import AnalyticGuard, circle_contrast
from .estimator_base import Estimator, _free_runner, _info
from .nudging import PhaseRunner


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
