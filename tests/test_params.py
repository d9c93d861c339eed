"""Params arithmetic (model/network.py): every kind of parameter — weights, biases and memories —
takes part, and the results equal the arrays computed one by one."""
import numpy as np

from neurosim.model.network import Network, Params


def _params(seed):
    net = Network()
    net.add_block("a", 3)
    net.add_block("b", 2)
    net.add_projection("a", "b")
    net.add_memory("b", 4)
    p = net.init_params(np.random.default_rng(seed))
    p.biases = {k: v + seed for k, v in p.biases.items()}
    return p


def _same(p: Params, arrays: dict):
    got = {(kind, name): a for kind, name, a in p.items()}
    assert set(got) == set(arrays)
    for key, want in arrays.items():
        np.testing.assert_array_equal(got[key], want)


def test_add_sub_scale_real_zeros_cover_every_kind():
    p, q = _params(1), _params(2)
    pa, qa = {(k, n): a.copy() for k, n, a in p.items()}, {(k, n): a.copy() for k, n, a in q.items()}
    assert {k for k, _ in pa} == {"weights", "biases", "memories"}
    _same(p + q, {key: pa[key] + qa[key] for key in pa})
    _same(p - q, {key: pa[key] - qa[key] for key in pa})
    _same(p.scale(-0.5), {key: -0.5 * pa[key] for key in pa})
    z = p.scale(1 + 2j)
    assert all(np.iscomplexobj(a) for _, _, a in z.items())
    _same(z.real(), {key: pa[key] for key in pa})
    assert all(a.dtype == np.float64 for _, _, a in z.real().items())
    _same(p.zeros(), {key: np.zeros_like(pa[key]) for key in pa})
    _same(p.map(lambda a, b, c: a * b - c, q, p), {key: pa[key] * qa[key] - pa[key] for key in pa})
    _same(p, pa)   # nothing above changed its operands
