"""bp where it exists (learning/minima_gradient.py) against independent computations: the particles
kept are those the eigenvalues and residuals say, the dense gradient is bit for bit the implicit
gradient of the kept particles' batch, and the matrix-free one equals it to 1e-8."""
import tracemalloc

import numpy as np

from neurosim.learning.minima_gradient import above_curvature, dense_fits, minima_gradient
from neurosim.learning.reference import implicit_gradient, solve_fixed_point
from neurosim.learning.reference_derivatives import hessian

from networks import small_supervised_batch


def _batch(act="sigmoid", p=8):
    net, params, _, _ = small_supervised_batch(act=act)
    rng = np.random.default_rng(5)
    clamped, y = {"in": 2.0 * rng.random((p, 5)) - 0.5}, rng.random((p, 3))
    x_star = {b: v for b, v in solve_fixed_point(net, params, clamped).items() if b != "in"}
    return net, params, clamped, y, x_star


def _rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def test_kept_particles_and_their_gradient_bit_for_bit():
    for act in ("sigmoid", "tanh", "hard_sigmoid"):
        net, params, clamped, y, x_star = _batch(act)
        _, info = implicit_gradient(net, params, clamped, "out", y, "mse", x_star=x_star)
        eigs = info["min_eigs"]
        # half the particles fall below this curvature (hard_sigmoid: most units on a bound, every λ_min = 1)
        min_eig = float(np.median(eigs)) if np.ptp(eigs) > 0 else 0.5
        x_star = {b: v.copy() for b, v in x_star.items()}
        x_star["h"][int(np.argmax(eigs))] += 1e-3  # and the flattest-free one is off its fixed point
        _, info = implicit_gradient(net, params, clamped, "out", y, "mse", x_star=x_star)
        expected = (info["min_eigs"] > min_eig) & (info["residuals"] <= 1e-6)
        assert 0 < expected.sum() < len(y), act
        grad, keep = minima_gradient(net, params, clamped, "out", y, "mse", x_star, min_eig, 1e-6, matrix_free=False)
        np.testing.assert_array_equal(keep, expected)
        sub = implicit_gradient(net, params, {"in": clamped["in"][keep]}, "out", y[keep], "mse",
                                x_star={b: v[keep] for b, v in x_star.items()})[0]
        for kind, name, g in sub.items():
            assert np.array_equal(getattr(grad, kind)[name], g), (act, kind, name)
        cg, cg_keep = minima_gradient(net, params, clamped, "out", y, "mse", x_star, min_eig, 1e-6,
                                      matrix_free=True, cg_tol=1e-13)
        np.testing.assert_array_equal(cg_keep, expected)  # 11 free units ≤ 30 Lanczos steps: exact λ_min
        for kind, name, g in sub.items():
            assert _rel(getattr(cg, kind)[name], g) <= 1e-8, (act, kind, name)


def test_every_particle_kept_is_the_whole_batch_gradient_and_none_kept_is_none():
    net, params, clamped, y, x_star = _batch()
    full, _ = implicit_gradient(net, params, clamped, "out", y, "mse", x_star=x_star)
    grad, keep = minima_gradient(net, params, clamped, "out", y, "mse", x_star, 1e-3, 1e-6)
    assert keep.all()
    for kind, name, g in full.items():
        assert np.array_equal(getattr(grad, kind)[name], g)
    grad, keep = minima_gradient(net, params, clamped, "out", y, "mse", x_star, 1e3, 1e-6)
    assert grad is None and not keep.any()


def test_cholesky_curvature_test_is_the_eigenvalue_test():
    net, params, clamped, _, x_star = _batch(p=12)
    h = hessian(net, params, {**clamped, **x_star}, ["h", "out"])
    lam = np.linalg.eigvalsh(h)[:, 0]
    rows = np.ones(len(h), dtype=bool)
    rows[3] = False
    for eps in np.quantile(lam, [0.2, 0.5, 0.8]):
        np.testing.assert_array_equal(above_curvature(h, rows, eps), rows & (lam > eps))


def test_the_dense_hessians_are_built_only_when_they_fit():
    assert dense_fits(32, 500) and not dense_fits(32, 2000)


def test_at_2000_units_the_kept_gradient_is_matrix_free_by_itself():
    """Four 2003-unit Hessians would take 128 MB > DENSE_HESSIAN_BYTES: the default solver is CG,
    and no allocation comes near one N × N matrix per particle."""
    net, params, _, _ = small_supervised_batch(hidden=2000, gain=0.5)
    rng = np.random.default_rng(2)
    p, n = 4, 2003
    clamped, y = {"in": rng.random((p, 5))}, rng.random((p, 3))
    x = {"h": 0.1 * rng.standard_normal((p, 2000)), "out": rng.random((p, 3))}
    assert not dense_fits(p, n)
    tracemalloc.start()
    grad, keep = minima_gradient(net, params, clamped, "out", y, "mse", x, 1e-3, np.inf, lanczos_steps=20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert keep.all() and peak < 0.25 * p * n * n * 8
    assert all(np.isfinite(g).all() for _, _, g in grad.items()) and np.abs(grad.weights["h->out"]).max() > 0
