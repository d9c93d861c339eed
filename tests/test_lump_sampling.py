"""Sampling inside the network: the reverse process lands where the network's denoiser says."""
import dataclasses

import numpy as np
import pytest

from neurosim.experiments.lump_sampling import (LumpDenoiser, LumpPorts, mean_pairwise_distance, sample,
                                                sample_metrics, sigma_grid)
from neurosim.model.network import Network

RELAX = {"scheduler": "sync", "dt": 0.2, "integrator": "exp", "duration": 40.0, "tol": 1e-11}
MU = np.array([[0.2, 0.8, 0.1, 0.5], [0.9, 0.1, 0.6, 0.3], [0.4, 0.4, 0.9, 0.0]])


def _prototype_net(bias=0.0):
    """out* = b + Wᵀ label with W = class means: D(x; σ, c) = μ_c, the exact denoiser of a point
    mass at μ_c (any x, any σ); with the label silenced, D = b."""
    net = Network()
    net.add_block("noisy", 4, "identity")
    net.add_block("label", 3, "identity")
    net.add_block("out", 4, "identity")
    net.add_projection("noisy", "out")
    net.add_projection("label", "out")
    params = net.init_params(np.random.default_rng(0))
    params.weights["noisy->out"][...] = 0.0
    params.weights["label->out"][...] = MU
    params.biases["out"][...] = bias
    return net, params


@pytest.mark.parametrize("sampler", ["euler", "ancestral"])
def test_the_reverse_process_ends_at_the_denoisers_point_mass(sampler):
    net, params = _prototype_net()
    ports = LumpPorts(noisy="noisy", estimate="out", condition={"label": "label"})
    labels = np.array([0, 1, 2, 1])
    cond = {"label": np.eye(3)[labels]}
    out = sample(LumpDenoiser(net, params, ports, RELAX), cond, 4, np.random.default_rng(1), sampler=sampler,
                 n_steps=12, sigma_max=3.0)
    np.testing.assert_allclose(out["samples"], MU[labels], atol=1e-8)
    assert out["trajectory"].shape == (13, 4, 4) and out["estimates"].shape == (12, 4, 4)
    # the start is pure noise at σ_max, far from the answer
    assert np.abs(out["trajectory"][0] - MU[labels]).mean() > 1.0


def test_guidance_extrapolates_away_from_the_unconditional_estimate():
    """D_w = (1 + w) D(x | c) − w D(x | ∅) = (1 + w) μ_c − w b for this network."""
    b = np.array([0.5, 0.5, 0.5, 0.5])
    net, params = _prototype_net(bias=b)
    ports = LumpPorts(noisy="noisy", estimate="out", condition={"label": "label"})
    labels = np.array([0, 2])
    out = sample(LumpDenoiser(net, params, ports, RELAX), {"label": np.eye(3)[labels]}, 2, np.random.default_rng(2),
                 n_steps=8, guidance=1.5)
    np.testing.assert_allclose(out["samples"], 2.5 * (MU[labels] + b) - 1.5 * b, atol=1e-8)


def test_a_guidance_interval_guides_only_the_steps_inside_it():
    """Inside [σ_lo, σ_hi] the estimate is D_w = 2.5 (μ_c + b) − 1.5 b, outside the plain μ_c + b; the
    last step (σ_min, outside) makes the sample the unguided point mass; an interval holding every σ
    gives the guided run to the last bit."""
    b = np.array([0.5, 0.5, 0.5, 0.5])
    net, params = _prototype_net(bias=b)
    ports = LumpPorts(noisy="noisy", estimate="out", condition={"label": "label"})
    labels = np.array([0, 2])
    cond = {"label": np.eye(3)[labels]}

    def run(interval):
        return sample(LumpDenoiser(net, params, ports, RELAX), cond, 2, np.random.default_rng(2), n_steps=8,
                      guidance=1.5, guidance_sigma=interval)
    out = run((0.5, 10.0))
    plain, guided = MU[labels] + b, 2.5 * (MU[labels] + b) - 1.5 * b
    inside = (out["sigmas"][:-1] >= 0.5)
    assert 0 < inside.sum() < len(inside)
    for est, s_in in zip(out["estimates"], inside):
        np.testing.assert_allclose(est, guided if s_in else plain, atol=1e-8)
    np.testing.assert_allclose(out["samples"], plain, atol=1e-8)
    everywhere, never = run((0.0, 10.0)), run(None)
    for k in ("samples", "trajectory", "estimates"):
        np.testing.assert_array_equal(everywhere[k], never[k])


def test_sigma_grid_and_metrics():
    s = sigma_grid(5, 0.02, 2.0)
    assert s[0] == pytest.approx(2.0) and s[-2] == pytest.approx(0.02) and s[-1] == 0.0 and np.all(np.diff(s) < 0)
    a = np.random.default_rng(0).standard_normal((60, 3))
    assert mean_pairwise_distance(np.zeros((5, 3))) == 0.0
    assert mean_pairwise_distance(2 * a) == pytest.approx(2 * mean_pairwise_distance(a))


def test_sample_metrics_score_real_digits_as_real_and_wrong_or_collapsed_ones_as_not():
    from sklearn.datasets import load_digits
    from neurosim.experiments.lump_sampling import judge
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    clf = judge(x[:1200], y[:1200])
    test_x, test_y = x[1200:], y[1200:]
    real = sample_metrics(test_x[:200], test_y[:200], test_x[200:], test_y[200:], clf)
    assert real["judge_accuracy"] > 0.9 and 0.8 < real["diversity_ratio_mean"] < 1.25
    means = np.stack([test_x[test_y == c].mean(0) for c in range(10)])
    proto = sample_metrics(np.repeat(means, 5, axis=0), np.repeat(np.arange(10), 5), test_x, test_y, clf)
    assert proto["judge_accuracy"] > 0.9 and proto["diversity_ratio_mean"] == 0.0
    # real digits of the next class, labelled as this one: the judge and the distances see it
    shifted = np.concatenate([test_x[test_y == (c + 1) % 10][:15] for c in range(10)])
    wrong = sample_metrics(shifted, np.repeat(np.arange(10), 15), test_x[200:], test_y[200:], clf)
    assert wrong["judge_accuracy"] < 0.1
    assert wrong["mmd2_mean"] > 3 * real["mmd2_mean"] and wrong["w2_mean"] > real["w2_mean"]


def test_noise_level_task_shows_each_example_at_its_own_level_and_the_sampler_reads_the_same_embedding():
    from neurosim.experiments.lump_sampling import level_features
    from neurosim.experiments.noise_level_task import NoiseLevelTask
    task = NoiseLevelTask("gen", ("lab", "noisy", "lev"), ("label", "image", "level"), ("out",), ("image",),
                          noisy_block="noisy", level_block="lev", sigma_min=0.05, sigma_max=2.0)
    rng = np.random.default_rng(0)
    data = {"image": rng.uniform(0, 1, (4000, 64)), "label": np.eye(10)[rng.integers(0, 10, 4000)]}
    v = task.condition_values(data, np.arange(4000), np.random.default_rng(1))
    assert set(v) == {"lab", "noisy", "lev"} and v["lev"].shape == (4000, 9)
    sigma = (v["noisy"] - data["image"]).std(axis=1)
    # ln σ uniform on [ln 0.05, ln 2]: the per-example noise spans the range, median near √(0.05·2)
    assert sigma.min() < 0.1 and sigma.max() > 1.5 and 0.2 < np.median(sigma) < 0.45
    u = v["lev"][:, 0]   # the Fourier embedding's first feature is u itself
    np.testing.assert_allclose(u, task.level_u(sigma), atol=0.25)
    fixed = dataclasses.replace(task, fixed_sigma=0.5).condition_values(data, np.arange(10), rng)
    ports = LumpPorts(noisy="noisy", estimate="out", level="lev", sigma_range=(0.05, 2.0))
    np.testing.assert_allclose(fixed["lev"], level_features(ports, 0.5, 10), atol=1e-12)


def test_the_trajectory_is_drawn_from_the_run_directory(tmp_path):
    from neurosim.plotting import plot_run
    net, params = _prototype_net()
    ports = LumpPorts(noisy="noisy", estimate="out", condition={"label": "label"})
    labels = np.array([0, 1, 2])
    out = sample(LumpDenoiser(net, params, ports, RELAX), {"label": np.eye(3)[labels]}, 3, np.random.default_rng(0),
                 n_steps=5)
    np.savez(tmp_path / "lump_trajectory.npz", trajectory=out["trajectory"], estimates=out["estimates"],
             sigmas=out["sigmas"], labels=labels)
    assert any(p.name == "lump_trajectory.png" for p in plot_run(tmp_path, strict=True))
