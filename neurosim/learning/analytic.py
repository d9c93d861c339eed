"""The analytic region of a complex relaxation, and the guard that keeps holomorphic EP inside it.

Holomorphic EP reads G(λ) = ∂E/∂θ(x_λ) on the circle |λ| = r and takes its first Fourier
coefficient. That is dL/dθ (to O(r^N)) only while x_λ is the analytic continuation of the real
fixed point for every λ on and inside the circle: the circle must lie inside the *radius of
validity*, the distance from λ = 0 to the nearest singularity of λ ↦ x_λ (a λ where the nudged
Hessian H + λ ∂²C becomes singular, e.g. a fold of the free fixed point, or where a state reaches a
pole of ρ). Outside it the complex relaxation has no nearby fixed point to settle on: its states
drift into the complex plane until ρ(x) hits a pole and the state becomes NaN, or they wander
past the poles and come back finite but meaningless.

Each holomorphic activation is analytic in the strip |Im x| < s around the real axis, s the
imaginary part of its nearest pole (``POLE_DISTANCE``: sigmoid4 π/4, tanh π/2, sigmoid π,
identity ∞). The guard watches every free block after every step of a nudged phase and fires
when a state leaves the inner strip |Im x| < ``margin``·s (default ¾ s) or becomes non-finite:
the circle is then outside the radius for that batch. :func:`circle_contrast` retries the whole
circle on half the radius (the estimate is normalised by 1/r, so it still estimates dL/dθ, with a
smaller O(r^N) bias) up to ``max_halvings`` times, warning each time (:class:`RadiusWarning`), and
raises :class:`OutsideRadius` naming the estimator, the radius, the block and the time when even
the smallest radius leaves the strip. A phase that stays inside the strip runs exactly the steps
an unguarded one runs, so every result within the radius is unchanged.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..engine.simulator import SimulationDiverged
from ..model.activations import POLE_DISTANCE
from . import nudging as nd

#: fraction of the pole distance a complex state may reach before the guard fires
GUARD_MARGIN = 0.75


class OutsideRadius(SimulationDiverged):
    """A complex (or nudged) relaxation left the analytic region: |β| is outside the radius."""


class RadiusWarning(UserWarning):
    """The guard fired and the estimator retried on a smaller radius."""


class AnalyticGuard:
    """Watches a simulator's free blocks: raises :class:`OutsideRadius` when a state is non-finite
    or |Im x| ≥ margin · (pole distance of the block's activation)."""

    def __init__(self, compiled, estimator: str, radius: float, margin: float = GUARD_MARGIN):
        self.estimator, self.radius, self.margin = estimator, float(radius), float(margin)
        self.compiled = compiled
        self.limits = [(name, compiled.net.block(name).activation,
                        margin * POLE_DISTANCE.get(compiled.net.block(name).activation, np.inf))
                       for name in compiled.names]

    def _fail(self, sim, block, what):
        raise OutsideRadius(
            f"{self.estimator}: |β| = {self.radius:g} is outside the radius of validity: block "
            f"{block!r} {what} at t = {sim.t:.6g}")

    def check(self, sim) -> None:
        for name, act, limit in self.limits:
            if not sim.free[self.compiled.index(name)]:
                continue
            x = sim.state(name)
            if not np.all(np.isfinite(x)):
                self._fail(sim, name, "became non-finite")
            if np.iscomplexobj(x) and np.isfinite(limit):
                im = float(np.max(np.abs(x.imag))) if x.size else 0.0
                if im >= limit:
                    self._fail(sim, name, f"reached |Im x| = {im:.3g} ≥ {limit:.3g} "
                                          f"({self.margin:g} of the distance {limit / self.margin:.3g} "
                                          f"from the real axis to the poles of {act})")

    def run(self, sim, duration: float, every_step: bool) -> None:
        """``sim.run(duration)``, checked after every step of length dt when ``every_step`` (the
        same steps as one call: the tick count is the scheduler's), else once at the end."""
        try:
            if not every_step:
                sim.run(duration)
            else:
                t_end = sim.t + duration
                for _ in range(int(np.floor(duration / sim.dt + 1e-9))):
                    sim.run(sim.dt)
                    self.check(sim)
                if t_end - sim.t > 1e-12:  # event-driven schedulers: the part after the last step
                    sim.run(t_end - sim.t)
        except OutsideRadius:
            raise
        except SimulationDiverged as err:
            raise OutsideRadius(f"{self.estimator}: |β| = {self.radius:g} is outside the radius of "
                                f"validity: {err}") from None
        self.check(sim)

    def relax(self, sim, duration: float, tol: float | None, check_every: float,
              every_step: bool = True) -> float:
        """:meth:`Simulator.relax` (same stopping rule, same steps) under the guard."""
        if tol is None:
            self.run(sim, duration, every_step)
            return sim.residual()
        done, res = 0.0, sim.residual()
        while res > tol and done < duration - 1e-12:
            step = min(check_every, duration - done)
            self.run(sim, step, every_step)
            done += step
            res = sim.residual()
        return res


def circle_contrast(runner, beta: float, n_points: int, estimator: str = "hep",
                    max_halvings: int = 4, warned: set | None = None):
    """The hEP contrast of :func:`nudging.circle` on radius |β|, guarded (module docstring).

    Returns (gradient, radius used). Needs ``runner.free()`` first. ``warned``: radii already
    warned about (a training run warns once per halving depth, not once per batch).
    """
    r = abs(float(beta))
    for attempt in range(max_halvings + 1):
        guard = AnalyticGuard(runner.compiled, estimator, r)
        phases, c0 = nd.circle(r, n_points)
        try:
            return runner.contrast(phases, c0, guard=guard), r
        except OutsideRadius as err:
            if attempt == max_halvings:
                tried = f" (and on {max_halvings} halvings of |β| = {abs(beta):g})" if max_halvings else ""
                raise OutsideRadius(f"{err}{tried}; lower beta") from None
            if warned is None or r not in warned:
                later = "" if warned is None else " (later batches: without a warning)"
                warnings.warn(f"{err}; retrying this batch on |β| = {r / 2:g}{later}", RadiusWarning,
                              stacklevel=3)
                if warned is not None:
                    warned.add(r)
            r /= 2
