"""The vectorised logistic of engine.vexp: float64 against the scalar ρ, float32 against float64."""
import numpy as np
import pytest
from numba import njit

from neurosim.engine.vexp import rho_block
from neurosim.model.activations import SIGMOID, SIGMOID4, rho_scalar


@njit(cache=False)
def _rho(act, x):
    out = np.empty_like(x)
    rho_block(act, x, out)
    return out


@njit(cache=False)
def _rho_scalar(act, x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = rho_scalar(act, x[i])
    return out


def _inputs():
    rng = np.random.default_rng(0)
    return np.concatenate([np.linspace(-60, 60, 40001), rng.uniform(-3, 3, 20000),
                           [0.0, 0.5, -0.0, 1e30, -1e30, np.inf, -np.inf]])


@pytest.mark.parametrize("act", [SIGMOID, SIGMOID4])
def test_float64_logistic_is_the_scalar_one_to_a_few_ulp(act):
    x = _inputs()
    fast, ref = _rho(act, x), _rho_scalar(act, x)
    assert fast.dtype == np.float64
    mid = np.abs(x) < 100  # beyond, e^z is clamped: the logistic is 0 or 1 to 1e-300
    # (sigmoid4: the fused 4x − 2 of the vector loop differs from the scalar one by an ulp of z)
    np.testing.assert_array_max_ulp(fast[mid], ref[mid], maxulp=4)
    assert np.abs(fast[~mid] - ref[~mid]).max() < 1e-300
    assert np.isnan(_rho(act, np.array([np.nan]))[0])


@pytest.mark.parametrize("act", [SIGMOID, SIGMOID4])
def test_float32_logistic_is_computed_in_float32_to_float32_accuracy(act):
    x = _inputs().astype(np.float32)
    fast = _rho(act, x)
    assert fast.dtype == np.float32
    ref = _rho(act, x.astype(np.float64))  # the float64 logistic of the same float32 inputs
    # absolute: within 1.5 ulp of 1 (the outputs near 1 set the floor)
    assert np.abs(fast - ref).max() <= 1.5 * 2.0 ** -23
    # relative, where the argument is exact in float32 (sigmoid: no 4x − 2 rounding) and the
    # output a normal float32
    if act == SIGMOID:
        ok = ref > 1e-37
        rel = np.abs(fast[ok] - ref[ok]) / np.spacing(ref[ok].astype(np.float32))
        assert rel.max() <= 3
    assert np.isnan(_rho(act, np.array([np.nan], dtype=np.float32))[0])
    # below e^−87 the float32 logistic stops at its clamp: tiny, never negative or NaN
    tail = fast[ref < 1e-37]
    assert np.all((tail >= 0) & (tail < 1e-37))
