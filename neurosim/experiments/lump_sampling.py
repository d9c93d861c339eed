"""Generation by the lump's own reverse process: sampling p(X | C) inside a trained multitask network.

The network has a **noisy-image port** (clamped to x), an **estimate port** (free; its free
equilibrium is the network's denoised estimate D(x; σ, c)), optionally a **noise-level port**
(clamped to an embedding e(σ), ``generative/embedding.embed``) and **condition ports**
(clamped to the label, the code …). With α = 1 (x_σ = x₀ + σ ε, the corruption the denoising
task trains on), on a decreasing grid σ₀ = σ_max > … > σ_{N−1} = σ_min, σ_N = 0:

1. start the noisy port at pure noise, x₀ = σ_max z (``start = "noise"``; ``"mean_noise"`` adds
   the data mean, for a denoiser trained on x₀ + σε with pixels in [0, 1]);
2. clamp x_i (and e(σ_i), c) and let the lump relax, warm-started from the previous step's state;
   read D_i = D(x_i; σ_i, c) off the estimate port;
3. move the port with the sampler's update:

   * ``euler`` (probability-flow ODE, Karras et al. 2022 Alg. 1): x_{i+1} = x_i + (σ_{i+1} − σ_i) d_i,
     d_i = (x_i − D_i)/σ_i;
   * ``ancestral`` (Euler-ancestral): σ_up = σ_{i+1} √(1 − σ_{i+1}²/σ_i²), σ_down = √(σ_{i+1}² − σ_up²),
     x_{i+1} = x_i + (σ_down − σ_i) d_i + σ_up z;

4. repeat; the sample is x_N (= D_{N−1} on the last step to σ = 0).

**Classifier-free guidance** (Ho & Salimans 2022): D_w = (1 + w) D(x; σ, c) − w D(x; σ, ∅), the
unconditional estimate read with the condition ports silenced (held at 0: the null condition, as
an idle port is in the multitask run); two relaxations per step, each warm-started on its own.
With a **guidance interval** [σ_lo, σ_hi] (Kynkäänniemi et al. 2024) the guided estimate is used
only at the steps with σ_lo ≤ σ_i ≤ σ_hi and the plain D(x; σ_i, c) elsewhere: the class is decided
at the high noise levels, while guiding at the low ones mostly pulls every sample of a class
toward the same image (less diversity for no gain in the judged class).

The trajectory (x_i and D_i at every step) is returned with the samples. The metrics
(:func:`sample_metrics`): a judging classifier's accuracy on the samples (scikit-learn logistic
regression trained on real training digits), within-class diversity (mean pairwise distance of the
samples of a class) against that of the real test digits of the class, and the squared MMD
(``metrics.mmd``) and W2 per class.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..build import build
from ..engine.simulator import Simulator
from ..generative.embedding import embed
from ..metrics import mmd, w2
from .readout import eval_relax_config, relax_clamped

SAMPLERS = ("euler", "ancestral")


@dataclass
class LumpPorts:
    """Which blocks of the network play which part in sampling."""

    noisy: str                            # clamped to x_i
    estimate: str                         # read: D(x_i; σ_i, c)
    condition: dict = field(default_factory=dict)   # block → data field of the condition (e.g. label)
    level: str | None = None              # clamped to e(σ_i), if the network has a noise-level port
    embedding: str = "fourier"
    n_embed: int = 4
    sigma_range: tuple = (0.002, 80.0)    # σ ↦ u = log(σ/σ_min)/log(σ_max/σ_min) ∈ [0, 1] for e(u)
    silent: tuple = ()                    # further ports held at 0 throughout (the other tasks' ports)


def level_features(ports: LumpPorts, sigma: float, p: int) -> np.ndarray:
    """e(u(σ)) with u = log(σ/σ_min)/log(σ_max/σ_min) clipped to [0, 1], one row per particle."""
    lo, hi = ports.sigma_range
    u = float(np.clip(np.log(max(sigma, 1e-12) / lo) / np.log(hi / lo), 0.0, 1.0))
    return embed(u, ports.embedding, ports.n_embed, p)


def sigma_grid(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> np.ndarray:
    """σ_i = (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i < N, then σ_N = 0 (Karras)."""
    ramp = np.linspace(0.0, 1.0, n)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return np.append((hi + ramp * (lo - hi)) ** rho, 0.0)


class LumpDenoiser:
    """D(x; σ, c) read off the network's estimate port, one warm-started simulator per stream."""

    def __init__(self, net, params, ports: LumpPorts, relax: dict, warm: float | None = None, seed: int = 0):
        self.net, self.params, self.ports, self.relax = net, params, ports, relax
        self.readout = eval_relax_config(relax)
        self.warm = warm if warm is not None else relax["duration"]
        self.seed = seed
        self._sims: dict = {}
        self.n_relaxations = 0
        self.worst_residual = 0.0

    def __call__(self, x, sigma: float, cond: dict | None, key: str = "cond") -> np.ndarray:
        """The estimate for noisy images ``x`` (P, d) at ``sigma``; ``cond`` block → (P, n) values,
        or None for the null condition (every condition port at 0)."""
        p = x.shape[0]
        sim = self._sims.get(key)
        duration = self.warm
        if sim is None:
            sim = Simulator(build(self.net, self.params, p), scheduler=self.relax["scheduler"], dt=self.relax["dt"],
                            integrator=self.relax["integrator"], seed=self.seed)
            for b in self.ports.silent:
                sim.clamp(b, np.zeros((p, self.net.block(b).size)))
            self._sims[key] = sim
            duration = self.relax["duration"]
        clamps = {self.ports.noisy: x}
        if self.ports.level is not None:
            clamps[self.ports.level] = level_features(self.ports, sigma, p)
        for b in self.ports.condition:
            clamps[b] = cond[b] if cond is not None else np.zeros((p, self.net.block(b).size))
        res = relax_clamped(sim, clamps, self.readout, duration, residual=True)
        self.worst_residual = max(self.worst_residual, res)
        self.n_relaxations += 1
        return sim.state(self.ports.estimate).real.copy()


def sample(denoiser: LumpDenoiser, cond: dict, n: int, rng: np.random.Generator, *, sampler: str = "euler",
           n_steps: int = 18, sigma_min: float = 0.02, sigma_max: float = 2.0, rho: float = 7.0,
           guidance: float = 0.0, guidance_sigma: tuple | None = None, start=None,
           clip: tuple | None = None) -> dict:
    """Run the reverse process of the module docstring for ``n`` particles with condition ``cond``
    (block → (n, size)). ``guidance_sigma``: (σ_lo, σ_hi), guide only there (None: at every step).
    ``start``: an offset added to the initial noise (the data mean, say);
    ``clip``: (lo, hi) applied to every x_i (the pixel range), None for none. Returns
    ``samples`` (n, d), ``trajectory`` (N + 1, n, d) of x_i, ``estimates`` (N, n, d) of D_i, ``sigmas``."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
    sigmas = sigma_grid(n_steps, sigma_min, sigma_max, rho)
    d = denoiser.net.block(denoiser.ports.noisy).size
    x = sigmas[0] * rng.standard_normal((n, d)) + (0.0 if start is None else np.asarray(start, float))
    traj, ests = [x.copy()], []
    for s_cur, s_next in zip(sigmas[:-1], sigmas[1:]):
        est = denoiser(x, s_cur, cond, "cond")
        if guidance and (guidance_sigma is None or guidance_sigma[0] <= s_cur <= guidance_sigma[1]):
            est = (1.0 + guidance) * est - guidance * denoiser(x, s_cur, None, "uncond")
        ests.append(est)
        slope = (x - est) / s_cur
        if sampler == "euler" or s_next == 0:
            x = x + (s_next - s_cur) * slope
        else:
            up = s_next * np.sqrt(max(1.0 - s_next ** 2 / s_cur ** 2, 0.0))
            down = np.sqrt(max(s_next ** 2 - up ** 2, 0.0))
            x = x + (down - s_cur) * slope + up * rng.standard_normal(x.shape)
        if clip is not None:
            x = np.clip(x, *clip)
        traj.append(x.copy())
    return {"samples": x, "trajectory": np.stack(traj), "estimates": np.stack(ests), "sigmas": sigmas}


# -- metrics -----------------------------------------------------------------------------------
def mean_pairwise_distance(x) -> float:
    """(2/(n(n−1))) Σ_{i<j} ‖x_i − x_j‖: the within-set diversity."""
    x = np.asarray(x, float)
    if len(x) < 2:
        return 0.0
    d = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0.0))
    return float(d[np.triu_indices(len(x), 1)].mean())


def judge(train_x, train_y, seed: int = 0):
    """The judging classifier: multinomial logistic regression on real training images."""
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(max_iter=2000, C=1.0, random_state=seed).fit(train_x, train_y)


def sample_metrics(samples, labels, test_x, test_y, classifier) -> dict:
    """Judging accuracy, per-class diversity ratio (samples / real test digits of the class),
    per-class MMD² (``metrics.mmd``: multi-bandwidth RBF, unbiased) to the real test digits of the
    class and W2 to as many of them (the first n_c: W2 pairs equal-size sets); the real test
    digits' own judged accuracy."""
    samples, labels = np.asarray(samples, float), np.asarray(labels, int)
    out = {"judge_accuracy": float(np.mean(classifier.predict(samples) == labels)),
           "judge_accuracy_real": float(np.mean(classifier.predict(test_x) == test_y)), "per_class": {}}
    ratios, mmds, w2s = [], [], []
    for c in np.unique(labels):
        s, r = samples[labels == c], test_x[test_y == c]
        div_s, div_r = mean_pairwise_distance(s), mean_pairwise_distance(r)
        entry = {"diversity": div_s, "diversity_real": div_r, "diversity_ratio": div_s / div_r if div_r else np.nan,
                 "mmd2": mmd(s, r) if len(s) > 1 else np.nan,
                 "w2": w2(s, r[:len(s)]) if len(r) >= len(s) else np.nan}
        out["per_class"][str(int(c))] = entry  # str: as metrics.json reads it back
        ratios.append(entry["diversity_ratio"])
        mmds.append(entry["mmd2"])
        w2s.append(entry["w2"])
    out["diversity_ratio_mean"] = float(np.nanmean(ratios))
    out["mmd2_mean"] = float(np.nanmean(mmds))
    out["w2_mean"] = float(np.nanmean(w2s))
    return out
