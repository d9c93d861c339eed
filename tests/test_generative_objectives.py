"""Schedules, DSM parametrisations and their conversions, flow-matching batches, spike noise."""
import itertools

import numpy as np
import pytest

from neurosim.generative import objectives as ob
from neurosim.generative.schedules import EDM, VE, VP, get_schedule, karras_sigmas

KINDS = ob.KINDS


def _noisy(rng, n=64, d=3):
    x0 = rng.standard_normal((n, d))
    eps = rng.standard_normal((n, d))
    alpha, sigma = rng.uniform(0.2, 1.0, n), rng.uniform(0.1, 1.5, n)
    x_t = alpha[:, None] * x0 + sigma[:, None] * eps
    return x0, eps, x_t, alpha, sigma


@pytest.mark.parametrize("kind_from,kind_to", list(itertools.permutations(KINDS, 2)))
def test_conversions_are_mutual_inverses(kind_from, kind_to):
    rng = np.random.default_rng(0)
    _, _, x_t, alpha, sigma = _noisy(rng)
    pred = rng.standard_normal(x_t.shape)
    there = ob.convert_prediction(pred, kind_from, kind_to, x_t, alpha, sigma)
    back = ob.convert_prediction(there, kind_to, kind_from, x_t, alpha, sigma)
    np.testing.assert_allclose(back, pred, rtol=0, atol=1e-12)
    assert not np.allclose(there, pred)


def test_true_targets_satisfy_defining_equations():
    rng = np.random.default_rng(1)
    x0, eps, x_t, alpha, sigma = _noisy(rng)
    a, s = alpha[:, None], sigma[:, None]
    truth = {"x0": x0, "eps": eps, "score": -eps / s, "velocity": a * eps - s * x0}
    for kind_from, kind_to in itertools.product(KINDS, KINDS):
        got = ob.convert_prediction(truth[kind_from], kind_from, kind_to, x_t, alpha, sigma)
        np.testing.assert_allclose(got, truth[kind_to], atol=1e-12)
    # score = −(x_t − α x̂)/σ²
    np.testing.assert_allclose(truth["score"], -(x_t - a * x0) / s**2, atol=1e-12)


@pytest.mark.parametrize("schedule", [VP(), VP(kind="cosine"), VE(), EDM()])
@pytest.mark.parametrize("target", KINDS)
def test_dsm_batch_targets(schedule, target):
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((500, 2))
    x_t, t, tgt, w = ob.make_dsm_batch(x0, schedule, np.random.default_rng(3), target=target)
    alpha, sigma = schedule.alpha(t), schedule.sigma(t)
    eps = (x_t - alpha[:, None] * x0) / sigma[:, None]
    # same rng stream ⇒ the ε used is the one reconstructed here; check it is N(0, I)-like
    assert abs(eps.std() - 1.0) < 0.1
    expected = {"x0": x0, "eps": eps, "score": -eps / sigma[:, None],
                "velocity": alpha[:, None] * eps - sigma[:, None] * x0}[target]
    np.testing.assert_allclose(tgt, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(w, 1.0)


@pytest.mark.parametrize("weighting", ["snr", "edm"])
def test_weightings_give_same_loss_in_every_parametrisation(weighting):
    rng = np.random.default_rng(4)
    x0, _, x_t, alpha, sigma = _noisy(rng)
    x0_hat = x0 + 0.1 * rng.standard_normal(x0.shape)
    losses = []
    for kind in KINDS:
        pred = ob.from_x0(x0_hat, kind, x_t, alpha, sigma)
        target = ob.from_x0(x0, kind, x_t, alpha, sigma)
        w = ob.loss_weight(weighting, kind, alpha, sigma)
        losses.append(np.mean(w * ((pred - target) ** 2).sum(1)))
    np.testing.assert_allclose(losses, losses[0], rtol=1e-10)


def test_edm_weight_matches_karras():
    s = np.array([0.01, 0.5, 3.0])
    edm = EDM()
    np.testing.assert_allclose(ob.loss_weight("edm", "x0", 1.0, s), edm.loss_weight(s))
    np.testing.assert_allclose(edm.loss_weight(s), (s**2 + 0.25) / (s * 0.5) ** 2)


def test_schedules():
    t = np.linspace(0.01, 0.99, 50)
    for vp in (VP(), VP(kind="cosine")):
        np.testing.assert_allclose(vp.alpha(t) ** 2 + vp.sigma(t) ** 2, 1.0, atol=1e-14)
        assert np.all(np.diff(vp.log_snr(t)) < 0)
    for sch in (VP(), VP(kind="cosine"), VE(), EDM()):
        h = 1e-6
        fd = (sch.sigma(t + h) - sch.sigma(t - h)) / (2 * h)
        np.testing.assert_allclose(sch.dsigma_dt(t), fd, rtol=1e-6)
    ve = VE(sigma_min=0.01, sigma_max=50)
    np.testing.assert_allclose(ve.sigma(np.array([0.0, 1.0])), [0.01, 50])
    grid = karras_sigmas(18)
    np.testing.assert_allclose(grid[[0, -1]], [80.0, 0.002])
    assert np.all(np.diff(grid) < 0)
    logs = np.log(EDM().sample_t(np.random.default_rng(0), 200_000))
    assert abs(logs.mean() + 1.2) < 0.02 and abs(logs.std() - 1.2) < 0.02
    assert isinstance(get_schedule("VP", kind="cosine"), VP)
    with pytest.raises(ValueError):
        get_schedule("nope")


def test_edm_preconditioning_is_exact_for_gaussian_data():
    """For x_0 ~ N(0, σ_d²), D*(x; σ) = x σ_d²/(σ² + σ_d²) = c_skip x, so F ≡ 0 is optimal."""
    edm = EDM()
    d = edm.precondition(lambda x_in, c_noise: np.zeros_like(x_in))
    x, s = np.linspace(-3, 3, 7), 0.7
    np.testing.assert_allclose(d(x, s), x * 0.25 / (s**2 + 0.25))
    c_skip, c_out, c_in, _ = edm.preconditioning(s)
    # c_out² is the variance of the residual target (x_0 − c_skip x) for unit-variance F
    np.testing.assert_allclose(c_out**2, (1 - c_skip) ** 2 * 0.25 + c_skip**2 * s**2)
    np.testing.assert_allclose(c_in, 1 / np.sqrt(s**2 + 0.25))


def _pair_cost(x0, x1):
    return ((x0 - x1) ** 2).sum()


def test_ot_pairing_beats_random_and_matches_brute_force():
    rng = np.random.default_rng(5)
    x0, x1 = rng.standard_normal((6, 2)), rng.standard_normal((6, 2)) + 1.0
    _, t, u = ob.otcfm_batch(x0, x1, np.random.default_rng(0), sigma_min=0.0)
    paired_x1 = u + x0                       # σ_min = 0 ⇒ u = x1 − x0
    brute = min(_pair_cost(x0, x1[list(p)]) for p in itertools.permutations(range(6)))
    np.testing.assert_allclose(_pair_cost(x0, paired_x1), brute, rtol=1e-12)
    from neurosim.metrics import ot_assignment
    perm = ot_assignment(x0, x1)
    assert sorted(perm) == list(range(6))
    np.testing.assert_allclose(paired_x1, x1[perm], atol=1e-14)
    big0, big1 = rng.standard_normal((256, 2)), rng.standard_normal((256, 2))
    _, _, u_ot = ob.otcfm_batch(big0, big1, rng)
    assert (u_ot**2).sum() < 0.5 * _pair_cost(big0, big1)


def test_cfm_path_and_target():
    rng = np.random.default_rng(6)
    x0, x1, smin = rng.standard_normal((100, 2)), rng.standard_normal((100, 2)), 0.1
    psi, t, u = ob.icfm_batch(x0, x1, np.random.default_rng(7), sigma_min=smin)
    tc = t[:, None]
    np.testing.assert_allclose(psi, tc * x1 + (1 - (1 - smin) * tc) * x0)
    np.testing.assert_allclose(u, x1 - (1 - smin) * x0)
    # u is dψ/dt: a finite difference along the path agrees
    h = 1e-6
    psi_h = (tc + h) * x1 + (1 - (1 - smin) * (tc + h)) * x0
    np.testing.assert_allclose((psi_h - psi) / h, u, atol=1e-6)


def test_spike_corrupt_is_unbiased_bernoulli():
    rng = np.random.default_rng(8)
    p = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    spikes = ob.spike_corrupt(np.tile(p, (40_000, 1)), rng)
    assert set(np.unique(spikes)) <= {0.0, 1.0}
    np.testing.assert_allclose(spikes.mean(0), p, atol=0.01)
    with pytest.raises(ValueError):
        ob.spike_corrupt(np.array([1.2]), rng)
