"""engine.fastpath: the view-free block update gives the same bits as the general drive + step
it replaces in the event loop, and its pieces (the flat coupling loops, the flat logistic) give
the same bits as the view-based ones; on the bench's network the event loop with it reproduces
an update-by-update replay through the general path."""
import numpy as np
import pytest
from numba import njit

from neurosim.build import build
from neurosim.engine.drive import _acc_matmul, _acc_rows, drive_into, static_drive
from neurosim.engine.fastpath import flow_update, small_blocks
from neurosim.engine.simulator import Simulator
from neurosim.engine.update import update_block
from neurosim.engine.vexp import rho_block, rho_rows
from neurosim.model.activations import SIGMOID, SIGMOID4, TANH
from neurosim.model.network import Network


@njit(cache=False)
def _general(topo, nudge, b, x, r, g, w, bias, target, scratch, base, j0, gamma):
    drive_into(topo, nudge, b, 0.0, x, r, g, w, bias, target, scratch, base, j0, True, False)
    return update_block(topo, b, gamma, False, x, r, g)


@njit(cache=False)
def _fast(topo, b, x, r, g, w, base, j0, gamma):
    return flow_update(topo[0], topo[1], topo[2], topo[3], topo[4], topo[5], topo[7], topo[11],
                       topo[12], topo[13], topo[14], x, r, g, w, base, b, j0, gamma, w, True)


def _net(acts):
    net = Network()
    sizes = [7, 32, 13, 32, 1, 20]
    for i, s in enumerate(sizes):
        net.add_block(f"b{i}", s, acts[i % len(acts)])
    for i in range(len(sizes) - 1):
        net.add_projection(f"b{i}", f"b{i + 1}", gain=0.9)
    net.add_projection("b0", "b3", gain=0.6)
    net.add_projection("b5", "b1", gain=0.6)
    net.add_projection("b1", "b3", gain=0.6)
    return net


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("P", [1, 5])
def test_flow_update_is_the_general_update_bit_for_bit(dtype, P):
    net = _net(["sigmoid4", "hard_sigmoid", "tanh", "sigmoid", "identity"])
    c = build(net, net.init_params(np.random.default_rng(1)), P, dtype=dtype)
    sim = Simulator(c, scheduler="poisson", dt=1.0, seed=0)
    rng = np.random.default_rng(2)
    sim.clamp("b0", rng.uniform(0, 1, (P, 7)).astype(dtype))  # b1, b3: a folded-in neighbour
    small = np.zeros(c.n_blocks, dtype=np.bool_)
    small_blocks(sim.topo, small)
    assert small.all() == (P == 1)  # P = 5: b1 → b3's 5·32·32 multiply-adds go to BLAS
    for trial in range(20):
        sim.x[...] = rng.normal(0.5, 1.0, sim.x.shape).astype(dtype)
        sim.refresh()
        static_drive(sim.topo, sim.free, sim.r, c.w, c.bias, sim.base, sim.j0, sim.scratch)
        b = int(rng.integers(1, c.n_blocks))
        if not small[b]:
            continue
        gamma = float(rng.uniform(0.05, 1.0))
        bufs = [(sim.x.copy(), sim.r.copy(), sim.g.copy()) for _ in range(2)]
        ok_g = _general(sim.topo, sim.nudge_args, b, *bufs[0], c.w, c.bias, sim.target, sim.scratch,
                        sim.base, sim.j0[b], gamma)
        ok_f = _fast(sim.topo, b, *bufs[1], c.w, sim.base, sim.j0[b], gamma)
        assert ok_g == ok_f
        for u, v in zip(bufs[0], bufs[1], strict=True):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("P,k,n", [(1, 32, 32), (1, 7, 13), (2, 13, 1), (3, 5, 40), (1, 1, 1)])
@pytest.mark.parametrize("transpose", [False, True])
def test_flat_coupling_loops_are_the_view_loops(P, k, n, transpose):
    rng = np.random.default_rng(3)
    r, w, g = rng.normal(size=500), rng.normal(size=3000), rng.normal(size=500)
    ro, wo, go = 11, 101, 37
    a = r[ro:ro + P * k].reshape(P, k)
    m = w[wo:wo + k * n].reshape((n, k) if transpose else (k, n))
    ref = g.copy()
    _acc_matmul(a, m, ref[go:go + P * n].reshape(P, n), np.zeros(P * n), transpose)
    got = g.copy()
    _acc_rows(r, ro, w, wo, got, go, P, k, n, transpose)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(got[go:go + P * n].reshape(P, n) - g[go:go + P * n].reshape(P, n),
                               a @ (m.T if transpose else m), rtol=1e-12, atol=1e-12)


@njit(cache=False)
def _rho_two_ways(act, src, s0, dst, d0, n):
    a = dst.copy()
    rho_block(act, src[s0:s0 + n], a[d0:d0 + n])
    b = dst.copy()
    rho_rows(act, src, s0, b, d0, n)
    return a, b


@pytest.mark.parametrize("act", [SIGMOID4, SIGMOID, TANH])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_flat_rho_is_the_block_rho(act, dtype):
    rng = np.random.default_rng(4)
    src = rng.normal(0, 4, 300).astype(dtype)
    a, b = _rho_two_ways(act, src, 17, np.zeros(300, dtype=dtype), 40, 101)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[40:141] > -1) and np.all(a[:40] == 0) and np.all(a[141:] == 0)


def test_event_loop_replays_through_the_general_path():
    """The bench's kind of network under ``poisson``: replaying the recorded events one by one
    through drive_into + update_block (elapsed time split into the same sub-steps) gives the
    loop's states bit for bit."""
    net = Network()
    for i in range(8):
        net.add_block(f"b{i}", 32, "sigmoid4")
    for i in range(8):
        net.add_projection(f"b{i}", f"b{(i + 1) % 8}", gain=0.5)
    net.add_projection("b0", "b4", gain=0.5)
    c = build(net, net.init_params(np.random.default_rng(0)), 1)
    sim = Simulator(c, scheduler="poisson", dt=0.7, seed=5, record_events=True)
    x0, r0 = sim.x.copy(), sim.r.copy()
    sim.run(30.0)
    times, blocks = sim.traces()["event_time"], sim.traces()["event_block"]
    assert len(times) > 100
    x, r, g = x0.copy(), r0.copy(), np.zeros_like(x0)
    base, j0, scratch = np.zeros_like(x0), np.zeros(c.n_blocks, dtype=np.int64), np.zeros(32)
    free = np.ones(c.n_blocks, dtype=np.bool_)
    static_drive(sim.topo, free, r, c.w, c.bias, base, j0, scratch)
    last = np.zeros(c.n_blocks)
    for t, b in zip(times, blocks, strict=True):
        elapsed = t - last[b]
        n_sub = max(1, int(np.ceil(elapsed / 0.7 - 1e-9)))
        gamma = 1.0 - np.exp(-(elapsed / n_sub) / c.tau[b])
        for _ in range(n_sub):
            assert _general(sim.topo, sim.nudge_args, b, x, r, g, c.w, c.bias, sim.target, scratch,
                            base, j0[b], gamma)
        last[b] = t
    np.testing.assert_array_equal(x, sim.x)
    np.testing.assert_array_equal(r, sim.r)
