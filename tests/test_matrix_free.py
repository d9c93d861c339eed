"""The implicit gradient without the Hessian matrix against the dense one."""
import tracemalloc

import numpy as np

from neurosim.learning.matrix_free import implicit_gradient_cg
from neurosim.learning.reference import implicit_gradient, solve_fixed_point

from networks import small_supervised_batch


def test_matrix_free_gradient_and_curvature_equal_the_dense_ones():
    for act in ("sigmoid", "hard_sigmoid"):
        net, params, x_in, y = small_supervised_batch(act=act)
        clamped = {"in": x_in}
        x_star = solve_fixed_point(net, params, clamped)
        free = {b: v for b, v in x_star.items() if b != "in"}
        dense, d_info = implicit_gradient(net, params, clamped, "out", y, "mse", x_star=free)
        cg, c_info = implicit_gradient_cg(net, params, clamped, "out", y, "mse", x_star=free)
        assert c_info["cg_converged"].all()
        for kind, name, g in dense.items():
            got = getattr(cg, kind)[name]
            assert np.linalg.norm(got - g) <= 1e-8 * max(np.linalg.norm(g), 1e-300), (act, kind, name)
        # 11 free units: 11 ≤ LANCZOS_STEPS steps span the whole space, the Ritz value is exact
        np.testing.assert_allclose(c_info["min_eigs"], d_info["min_eigs"], rtol=1e-8, atol=1e-10)


def test_a_2000_unit_gradient_needs_no_n_by_n_matrix():
    net, params, _, _ = small_supervised_batch(hidden=2000, gain=0.5)
    rng = np.random.default_rng(2)
    p = 4
    clamped, y = {"in": rng.random((p, 5))}, rng.random((p, 3))
    x = {"h": 0.1 * rng.standard_normal((p, 2000)), "out": rng.random((p, 3))}
    tracemalloc.start()
    grad, info = implicit_gradient_cg(net, params, clamped, "out", y, "mse", x_star=x, lanczos_steps=20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = 2003
    assert peak < 0.25 * p * n * n * 8   # the dense Hessian alone would be P·N²·8 bytes
    assert info["cg_converged"].all() and np.isfinite(info["min_eigs"]).all()
    assert all(np.isfinite(g).all() for _, _, g in grad.items())
    assert any(np.abs(g).max() > 0 for _, _, g in grad.items())
