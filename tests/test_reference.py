"""Exact reference gradients (neurosim.learning.reference) against finite differences."""
import numpy as np
import pytest

from neurosim.learning import reference as R
from neurosim.learning.gradients import (cosine, fd_gradient, flatten, param_keys, per_parameter,
                                         relative_error, unflatten, zeros_like)
from neurosim.model import energy as en
from neurosim.model.activations import rho
from neurosim.model.network import Network

from networks import NetSpec, make_network

P = 3


def _randomise_biases(params, rng, lo=-0.3, hi=0.3):
    for b in params.biases:
        params.biases[b] = rng.uniform(lo, hi, params.biases[b].shape)
    return params


def _batch(spec: NetSpec, rng, input_range):
    """(net, params, clamped, target): the network of ``spec`` with U(−0.3, 0.3) biases, P inputs
    U(input_range) on ``in`` and one-hot targets on the 3 ``out`` units."""
    net = make_network(spec)
    params = _randomise_biases(net.init_params(rng), rng)
    clamped = {"in": rng.uniform(*input_range, (P, spec.blocks[0]["size"]))}
    target = np.eye(3)[rng.integers(0, 3, P)]
    return net, params, clamped, target


def layered(act="sigmoid4", memory=False, seed=0):
    """in → h1 → h2 → out."""
    blocks = [dict(name=n, size=s, activation=act) for n, s in (("in", 4), ("h1", 5), ("h2", 4), ("out", 3))]
    spec = NetSpec(blocks, [("in", "h1", 1.0, "glorot"), ("h1", "h2", 1.0, "glorot"), ("h2", "out", 1.0, "glorot")],
                   memories=[("h1", 3, 2.0, 1.0)] if memory else [])
    return _batch(spec, np.random.default_rng(seed), (0, 1))


def loopy(act="tanh", memory=True, seed=1):
    """Non-layered: a triangle h1–h2–out (odd loop) plus an input to h1 and h2; lse memory on h2."""
    blocks = [dict(name=n, size=s, activation=act) for n, s in (("in", 3), ("h1", 4), ("h2", 4), ("out", 3))]
    spec = NetSpec(blocks, [("in", "h1", 1.0, "glorot"), ("in", "h2", 0.5, "glorot"), ("h1", "h2", 1.0, "glorot"),
                            ("h2", "out", 1.0, "glorot"), ("out", "h1", 0.5, "glorot")],
                   memories=[("h2", 3, 2.0, 1.0)] if memory else [])
    return _batch(spec, np.random.default_rng(seed), (-1, 1))


def hard(seed=2):
    rng = np.random.default_rng(seed)
    net = Network()
    net.add_block("in", 4, "hard_sigmoid")
    net.add_block("h", 8, "hard_sigmoid")
    net.add_block("out", 3, "hard_sigmoid")
    net.add_projection("in", "h", gain=0.5)
    net.add_projection("h", "out", gain=0.5)
    params = _randomise_biases(net.init_params(rng), rng, 0.2, 0.9)
    params.biases["h"][:2] = [-0.5, 1.6]          # force some units onto the bounds
    clamped = {"in": rng.uniform(0, 1, (P, 4))}
    target = np.eye(3)[rng.integers(0, 3, P)]
    return net, params, clamped, target


# ------------------------------------------------------------------------------------------
def test_solver_reaches_stationarity():
    for maker in (layered, loopy):
        net, params, clamped, _ = maker()
        st, info = R.solve_fixed_point(net, params, clamped, return_info=True)
        assert info["residual"] <= 1e-12
        g = en.network_grad(net, params, st)
        assert max(np.abs(g[b]).max() for b in st if b not in clamped) <= 1e-12
        assert np.array_equal(st["in"], clamped["in"])


def test_solver_hard_sigmoid_projected_stationarity():
    net, params, clamped, _ = hard()
    st, info = R.solve_fixed_point(net, params, clamped, return_info=True)
    assert info["residual"] <= 1e-12
    g = en.network_grad(net, params, st)
    for b in ("h", "out"):
        x = st[b]
        assert x.min() >= 0.0 and x.max() <= 1.0
        inside = (x > 0) & (x < 1)
        assert np.abs(g[b][inside]).max() <= 1e-12
        assert np.all(g[b][x == 0] >= 0) and np.all(g[b][x == 1] <= 0)
    assert np.any(st["h"] == 0.0) and np.any(st["h"] == 1.0)


def test_solver_is_a_minimum_and_lowers_energy():
    net, params, clamped, _ = loopy()
    st = R.solve_fixed_point(net, params, clamped)
    h = R.hessian(net, params, st, ["h1", "h2", "out"])
    assert np.linalg.eigvalsh(h).min() > 0
    x0 = {b: np.zeros((P, net.block(b).size)) for b in net.block_names()}
    x0.update(clamped)
    assert np.all(en.network_energy(net, params, st) < en.network_energy(net, params, x0))


@pytest.mark.parametrize("maker", [layered, loopy])
def test_hessian_matches_fd_of_network_grad(maker):
    net, params, clamped, _ = maker(memory=True)
    rng = np.random.default_rng(5)
    free = ["h1", "h2", "out"]
    st = dict(clamped)
    for b in free:
        st[b] = rng.normal(0.3, 0.5, (P, net.block(b).size))
    h = R.hessian(net, params, st, free)
    layout = R.FreeLayout(net, free)
    x = layout.pack(st)
    eps = 1e-6
    h_fd = np.zeros_like(h)
    for j in range(layout.n):
        for sgn in (1, -1):
            xx = x.copy()
            xx[:, j] += sgn * eps
            s2 = dict(clamped)
            s2.update(layout.unpack(xx))
            h_fd[:, :, j] += sgn * layout.pack(en.network_grad(net, params, s2)) / (2 * eps)
    assert np.abs(h - h_fd).max() <= 1e-8 * max(1.0, np.abs(h).max())
    assert np.allclose(h, h.transpose(0, 2, 1))
    # Hessian-vector product agrees with the assembled Hessian
    v = rng.normal(size=(P, layout.n))
    hv = layout.pack(R.hvp(net, params, st, layout.unpack(v)))
    assert np.allclose(hv, np.einsum("pij,pj->pi", h, v), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("maker,act,memory,kind", [
    (layered, "sigmoid4", False, "mse"),
    (layered, "sigmoid4", True, "ce"),
    (layered, "tanh", False, "ce"),
    (loopy, "tanh", True, "mse"),
    (loopy, "sigmoid4", True, "ce"),
])
def test_implicit_gradient_matches_fd_of_resolved_loss(maker, act, memory, kind):
    net, params, clamped, target = maker(act=act, memory=memory)
    g, info = R.implicit_gradient(net, params, clamped, "out", target, kind)
    assert info["residual"] <= 1e-12 and info["min_eig"] > 0
    fd = fd_gradient(lambda p: R.fixed_point_loss(net, p, clamped, "out", target, kind, x0=info["x_star"]), params, eps=1e-5)
    assert relative_error(g, fd) <= 1e-5
    for key, d in per_parameter(g, fd).items():
        if d["norm_exact"] > 1e-8:
            assert d["relative_error"] <= 1e-5, key
    assert np.all(g.biases["in"] == 0)
    if memory:
        assert np.abs(g.memories[next(iter(net.memories))]).max() > 0


def test_implicit_gradient_hard_sigmoid_units_on_bound():
    net, params, clamped, target = hard()
    g, info = R.implicit_gradient(net, params, clamped, "out", target, "mse")
    assert info["n_on_bound"] > 0
    assert np.all(info["mu"]["h"][info["x_star"]["h"] == 0.0] == 0)
    fd = fd_gradient(lambda p: R.fixed_point_loss(net, p, clamped, "out", target, "mse", x0=info["x_star"]), params, eps=1e-6)
    assert relative_error(g, fd) <= 1e-5


@pytest.mark.parametrize("maker,kind,n_steps", [(layered, "mse", 7), (loopy, "ce", 25), (hard, "mse", 15)])
def test_bptt_matches_fd_of_unrolled_loss(maker, kind, n_steps):
    net, params, clamped, target = maker()
    rng = np.random.default_rng(3)
    x0 = {b: rng.uniform(0.1, 0.9, (P, net.block(b).size)) for b in net.block_names() if b not in clamped}
    step = 0.3
    g = R.bptt_gradient(net, params, clamped, "out", target, kind, n_steps, step, x0)
    fd = fd_gradient(lambda p: R.unrolled_loss(net, p, clamped, "out", target, kind, n_steps, step, x0),
                     params, eps=1e-6)
    assert relative_error(g, fd) <= 1e-6


@pytest.mark.parametrize("maker", [layered, loopy])
def test_bptt_converges_to_implicit(maker):
    net, params, clamped, target = maker(memory=True)
    gi, _ = R.implicit_gradient(net, params, clamped, "out", target, "mse")
    # step 0.5 < 2 / λ_max(H) (λ_max ≈ 3.4), so the Jacobi relaxation contracts to x*
    errs = [relative_error(R.bptt_gradient(net, params, clamped, "out", target, "mse", n, 0.5, None), gi)
            for n in (30, 100, 1000)]
    assert errs[1] < errs[0] and errs[2] <= errs[1] + 1e-12
    assert errs[2] <= 1e-6


def ff_net(seed=4):
    rng = np.random.default_rng(seed)
    net = Network()
    for name, n, act in [("in", 4, "sigmoid4"), ("h1", 6, "tanh"), ("h2", 5, "hard_sigmoid"), ("out", 3, "sigmoid4")]:
        net.add_block(name, n, act)
    net.add_projection("in", "h1")
    net.add_projection("h2", "h1")          # declared backwards: W used transposed
    net.add_projection("h2", "out")
    params = _randomise_biases(net.init_params(rng), rng, 0.1, 0.6)
    x_in = rng.uniform(0, 1, (P, 4))
    target = np.eye(3)[rng.integers(0, 3, P)]
    return net, params, x_in, target, ["in", "h1", "h2", "out"]


@pytest.mark.parametrize("kind", ["mse", "ce"])
def test_feedforward_gradient_matches_fd(kind):
    net, params, x_in, target, layers = ff_net()
    g = R.feedforward_gradient(net, params, x_in, "out", target, kind, layers)
    fd = fd_gradient(lambda p: R.feedforward_loss(net, p, x_in, "out", target, kind, layers), params, eps=1e-6)
    assert relative_error(g, fd) <= 1e-6
    assert np.all(g.biases["in"] == 0)
    x = R.feedforward_forward(net, params, x_in, layers)
    assert x["h2"].min() >= 0 and x["h2"].max() <= 1
    w1 = params.weights["in->h1"]
    assert np.allclose(x["h1"], rho("sigmoid4", x_in) @ w1 + params.biases["h1"])


def test_feedforward_rejects_non_layered():
    net, params, _, target = loopy(memory=True)
    with pytest.raises(ValueError, match="memory"):
        R.feedforward_forward(net, params, np.zeros((P, 3)), ["in", "h1", "h2", "out"])
    net, params, _, target = loopy(memory=False)
    with pytest.raises(ValueError, match="consecutive layers"):
        R.feedforward_gradient(net, params, np.zeros((P, 3)), "out", target, "mse", ["in", "h1", "h2", "out"])
    net, params, x_in, target, layers = ff_net()
    with pytest.raises(ValueError, match="every block"):
        R.feedforward_forward(net, params, x_in, layers[:-1])
    with pytest.raises(ValueError, match="last layer"):
        R.feedforward_gradient(net, params, x_in, "h2", target, "mse", layers)


def test_readout_validation():
    net, params, clamped, target = layered()
    with pytest.raises(ValueError, match="clamped"):
        R.implicit_gradient(net, params, clamped, "in", target, "mse")
    with pytest.raises(ValueError, match="shape"):
        R.implicit_gradient(net, params, clamped, "out", target[:, :2], "mse")


def test_gradient_comparison_helpers():
    net, params, _, _ = loopy()
    v = flatten(params)
    assert v.size == sum(a.size for _, _, a in params.items())
    back = unflatten(v, params)
    assert all(np.array_equal(a, b) for (_, _, a), (_, _, b) in zip(params.items(), back.items()))
    assert cosine(params, params) == pytest.approx(1.0)
    assert relative_error(params, params) == 0.0
    neg = unflatten(-v, params)
    assert cosine(params, neg) == pytest.approx(-1.0)
    assert relative_error(neg, params) == pytest.approx(2.0)
    assert cosine(params, neg, which="h1->h2") == pytest.approx(-1.0)
    assert flatten(params, "weights").size == sum(w.size for w in params.weights.values())
    assert set(per_parameter(params, params)) == set(param_keys(params))
    assert np.isnan(cosine(params, zeros_like(params)))
    with pytest.raises(KeyError):
        flatten(params, "nope")


def test_solver_warns_when_not_converged():
    net, params, clamped, _ = loopy()
    with pytest.warns(RuntimeWarning, match="residual"):
        R.solve_fixed_point(net, params, clamped, max_iter=3)
