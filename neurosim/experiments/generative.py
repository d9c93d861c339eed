"""``kind = "generative"``: train the block network as a denoiser / velocity field, then sample
(docs/generative-network.md).

Training step k draws its minibatch from a generator seeded by (training seed, k), so a resumed
run sees the same batches. The batch becomes the P particles of one
:class:`~neurosim.learning.estimators.Problem`: the input block is clamped to [x_t | e(u) | c], the
readout is nudged toward the objective's target, the rule's estimator returns dL/dθ
(L = mean ½‖out − target‖²) and the shared optimiser descends it.

Evaluation (every ``eval_every`` steps and at the end): ``n_eval`` samples from the sampler, each
step of which relaxes the network with the new x_t clamped; W2 (exact assignment) and MMD against
``n_eval`` fresh (toys) or held-out (digits) samples, beside the W2 floor. Digits add
``conditional_accuracy`` (a logistic regression trained on real training digits scores generated
images of each class), the W2 per class to the test images of that class, and (``inpaint``)
top half → bottom half inpainting figures.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import toy2d
from ..engine.simulator import SimulationDiverged
from ..engine.threads import configure_blas_threads
from ..generative import objectives as ob
from ..generative import samplers as sa
from ..generative.network_denoiser import FF_RULES, NetworkDenoiser, RelaxSpec
from ..generative.schedules import get_schedule
from ..learning.optim import make_optimizer, resolve_lrs
from ..metrics import mmd, w2
from .progress import Progress
from .rundir import read_npz, write_csv, write_json, write_npz
from .train import fingerprint, missing_key, resume_arrays
from .setup import make_network

#: the scenario keys a resumed generative run may change (train longer)
RESUME_FREE = (("generative", "steps"), ("training", "epochs"))
HISTORY_COLUMNS = ["step", "train_loss", "w2", "mmd", "conditional_accuracy", "seconds"]
TOY_DATA = ("moons", "eight_gaussians", "gaussian_mixture")
DATA_NAMES = TOY_DATA + ("digits",)
N_CLASSES_DIGITS = 10
HALF = 32


# -- data -----------------------------------------------------------------------------------------
class GenData:
    """Training and reference samples. Toys are drawn fresh (infinite data); digits come from the
    stratified 1347/450 split, pixels scaled to [−1, 1]. ``labels`` are classes (digits) or mixture
    components (gaussian_mixture, used as the condition of score composition)."""

    def __init__(self, name: str, options: dict, split_seed: int = 0):
        self.name, self.options = name, dict(options)
        self.n_classes = 0
        if name == "digits":
            from ..data import load_dataset
            ds = load_dataset("digits", seed=split_seed)
            self.x_train, self.y_train = 2.0 * ds.x_train - 1.0, ds.y_train
            self.x_test, self.y_test = 2.0 * ds.x_test - 1.0, ds.y_test
            self.n_classes, self.dim = N_CLASSES_DIGITS, 64
        elif name == "gaussian_mixture":
            self.means = np.asarray(options["means"], float)
            self.stds = np.asarray(options["stds"], float)
            self.weights = np.asarray(options.get("weights", np.ones(len(self.means)) / len(self.means)), float)
            self.n_classes, self.dim = len(self.means), self.means.shape[1]
        elif name in ("moons", "eight_gaussians"):
            self.dim = 2
        else:
            raise ValueError(f"unknown generative data {name!r}; expected one of {DATA_NAMES}")

    def sample(self, n: int, rng: np.random.Generator, train: bool = True):
        """(x, labels or None): n training samples (``train``) or n fresh / held-out reference samples."""
        if self.name == "digits":
            x, y = (self.x_train, self.y_train) if train else (self.x_test, self.y_test)
            idx = rng.integers(0, len(x), n)
            return x[idx], y[idx]
        if self.name == "moons":
            return toy2d.moons(n, rng, **self.options), None
        if self.name == "eight_gaussians":
            return toy2d.eight_gaussians(n, rng, **self.options), None
        k = rng.choice(len(self.weights), size=n, p=self.weights / self.weights.sum())
        stds = self.stds if self.stds.ndim == 2 else self.stds[:, None] * np.ones_like(self.means)
        return self.means[k] + stds[k] * rng.standard_normal((n, self.dim)), k

    def exact(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.sample(n, rng, train=False)[0]

    def product(self, classes, n: int, rng: np.random.Generator) -> np.ndarray:
        """Exact samples of the normalised product Π_c N(μ_c, diag s_c²) (score composition)."""
        stds = self.stds if self.stds.ndim == 2 else self.stds[:, None] * np.ones_like(self.means)
        prec = sum(1.0 / stds[c] ** 2 for c in classes)
        mean = sum(self.means[c] / stds[c] ** 2 for c in classes) / prec
        return mean + rng.standard_normal((n, self.dim)) / np.sqrt(prec)


def cond_dim(g: dict, data: GenData) -> int:
    kind = g["condition"]
    if kind == "none":
        return 0
    if kind == "class":
        return data.n_classes
    return data.n_classes + HALF  # class+top


def make_cond(g: dict, data: GenData, x0, labels, rng=None, drop: bool = False):
    """Condition rows c for clean samples ``x0`` with ``labels``; ``drop`` replaces each part by
    the null value 0 at its rate (classifier-free guidance training)."""
    kind = g["condition"]
    if kind == "none":
        return None
    p = len(x0)
    onehot = np.zeros((p, data.n_classes))
    onehot[np.arange(p), labels] = 1.0
    if drop:
        onehot *= (rng.random(p) >= g["p_uncond"])[:, None]
    if kind == "class":
        return onehot
    top = x0[:, :HALF].copy()
    if drop:
        top *= (rng.random(p) >= g["p_drop_top"])[:, None]
    return np.concatenate([onehot, top], axis=1)


# -- the objective: noisy inputs, noise level u and target --------------------------------------
@dataclass
class Objective:
    kind: str                   # icfm | otcfm | dsm
    schedule: object = None
    parametrisation: str = "eps"
    sigma_min: float = 0.0
    sigma_data: float = 0.5

    @classmethod
    def from_spec(cls, g: dict):
        sched = get_schedule(g["schedule"], **g["schedule_options"]) if g["objective"] == "dsm" else None
        return cls(g["objective"], sched, g["parametrisation"], g["sigma_min"], g["sigma_data"])

    # noise level → u ∈ [0, 1] for the embedding
    def u_of_sigma(self, sigma):
        s = self.schedule
        lo, hi = np.log(getattr(s, "sigma_min", 0.002)), np.log(getattr(s, "sigma_max", 80.0))
        return np.clip((np.log(np.maximum(sigma, 1e-12)) - lo) / (hi - lo), 0.0, 1.0)

    def u_of_t(self, t):
        if self.kind != "dsm" or self.schedule.name == "vp":
            return np.asarray(t, float)
        return self.u_of_sigma(np.asarray(t, float) if self.schedule.name == "edm" else self.schedule.sigma(t))

    def c_in(self, alpha, sigma):
        return 1.0 / np.sqrt(alpha ** 2 * self.sigma_data ** 2 + sigma ** 2)

    def edm_coeffs(self, sigma):
        sd2 = self.sigma_data ** 2
        c_skip = sd2 / (sigma ** 2 + sd2)
        c_out = sigma * self.sigma_data / np.sqrt(sigma ** 2 + sd2)
        return c_skip, c_out

    def batch(self, x1, rng):
        """(network x input, u, target) for clean samples ``x1``."""
        p = len(x1)
        if self.kind in ("icfm", "otcfm"):
            x0 = rng.standard_normal(x1.shape)
            fn = ob.otcfm_batch if self.kind == "otcfm" else ob.icfm_batch
            xt, t, u = fn(x0, x1, rng, sigma_min=self.sigma_min)
            return xt, t, u
        s = self.schedule
        t = s.sample_t(rng, p)
        alpha, sigma = s.alpha(t)[:, None], s.sigma(t)[:, None]
        eps = rng.standard_normal(x1.shape)
        xt = alpha * x1 + sigma * eps
        if self.parametrisation == "edm":
            c_skip, c_out = self.edm_coeffs(sigma)
            target = (x1 - c_skip * xt) / c_out
        else:
            target = ob.from_x0(x1, self.parametrisation, xt, alpha, sigma) if self.parametrisation != "eps" else eps
        return self.c_in(alpha, sigma) * xt, self.u_of_t(t), target

    # -- model calls for the samplers -----------------------------------------------------------
    def x0_hat(self, model_fn, x, alpha, sigma):
        """x̂ from the network's output at the noisy point x (α, σ scalars)."""
        out = model_fn(self.c_in(alpha, sigma) * x, self.u_of_sigma(sigma) if self.schedule.name != "vp" else None)
        if self.parametrisation == "edm":
            c_skip, c_out = self.edm_coeffs(sigma)
            return c_skip * x + c_out * out
        return ob.to_x0(out, self.parametrisation, x, alpha, sigma)


def _guided(fn, guidance: float, cond):
    """f(x, u) with the condition ``cond``; (1 + w) f(·|c) − w f(·|∅) when w ≠ 0."""
    if cond is None or not guidance:
        return lambda x, u: fn(x, u, cond, "c")
    return sa.classifier_free_guidance(lambda x, u: fn(x, u, cond, "c"), lambda x, u: fn(x, u, None, "null"),
                                       guidance)


def sample(model: NetworkDenoiser, objective: Objective, n: int, dim: int, rng: np.random.Generator,
           sampler: str = "euler", steps: int = 100, cond=None, guidance: float = 0.0,
           compose=None, langevin: dict | None = None) -> np.ndarray:
    """n samples; every model call relaxes the network (or runs its feed-forward view).

    ``cond``: (n, c) condition rows (None: the null condition). ``compose``: a list of condition
    arrays whose scores are summed (score composition; needs a score-based objective).
    """
    model.reset()

    def fn(x, u, c, key):
        return model.predict(x, u, c, key=key)

    if objective.kind in ("icfm", "otcfm"):
        if sampler not in ("euler", "heun"):
            raise ValueError(f"flow objectives sample with 'euler' or 'heun', not {sampler!r}")
        vf = _guided(fn, guidance, cond)
        return sa.flow_sample(lambda x, t: vf(x, t), (n, dim), rng, n_steps=steps, method=sampler)
    s = objective.schedule
    conds = compose if compose is not None else [cond]

    def score_fn(x, sigma, alpha=1.0, t=None):
        total = 0.0
        for i, c in enumerate(conds):
            g = _guided(lambda xx, uu, cc, key: fn(xx, uu, cc, f"{key}{i}"), guidance, c)
            if s.name == "vp":
                x0 = objective.x0_hat(lambda xi, _u: g(xi, t), x, alpha, sigma)
            else:
                x0 = objective.x0_hat(lambda xi, ui: g(xi, ui), x, alpha, sigma)
            total = total + (alpha * x0 - x) / sigma ** 2
        return total

    if sampler in ("euler", "heun"):
        if s.name == "vp":
            raise ValueError("the EDM-grid ODE samplers need a VE or EDM schedule (α = 1); use 'ancestral' for VP")
        smin, smax = getattr(s, "sigma_min", 0.002), getattr(s, "sigma_max", 80.0)
        return sa.edm_sample(score_fn, (n, dim), rng, n_steps=steps, sigma_min=smin, sigma_max=smax,
                             method=sampler)
    if sampler == "ancestral":
        if s.name != "vp":
            raise ValueError("the ancestral sampler needs a VP schedule")
        return sa.ancestral_sample(lambda x, t: score_fn(x, float(s.sigma(t)), float(s.alpha(t)), t),
                                   (n, dim), rng, schedule=s, n_steps=steps)
    if sampler == "langevin":
        if s.name == "vp":
            raise ValueError("annealed Langevin needs a VE or EDM schedule (α = 1)")
        lg = langevin or {}
        return sa.annealed_langevin_sample(score_fn, (n, dim), rng, sigma_max=lg.get("sigma_max", 3.0),
                                           sigma_min=lg.get("sigma_min", 0.05), n_levels=lg.get("levels", 10),
                                           n_steps_per_level=steps, eps=lg.get("eps", 1.25e-3))
    raise ValueError(f"unknown sampler {sampler!r}")


# -- conditional accuracy ----------------------------------------------------------------------------
def digit_classifier(x_train, y_train):
    """A multinomial logistic regression on real training digits (pixels in [−1, 1])."""
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(max_iter=2000, C=1.0)
    clf.fit(x_train, y_train)
    return clf


def per_class_w2(samples, labels, x_test, y_test) -> dict:
    """W2 between each class's generated images and its test images (first n_c of each)."""
    out = {}
    for c in np.unique(y_test):
        ref = x_test[y_test == c]
        gen = samples[labels == c]
        m = min(len(ref), len(gen))
        if m:
            out[int(c)] = w2(gen[:m], ref[:m])
    return out


# -- the run ----------------------------------------------------------------------------------------
class GenTrainer:
    def __init__(self, scenario):
        from ..learning.estimators import get_estimator
        from .train import rule_options
        configure_blas_threads()
        self.scenario = scenario
        self.g = g = scenario["generative"]
        t = self.t = scenario["training"]
        self.rule = t["rule"]
        self.data = GenData(g["data"], g["data_options"], g["split_seed"])
        self.objective = Objective.from_spec(g)
        self.net = make_network(scenario["network"])
        self.params = self.net.init_params(scenario.rng("params"))
        r = t["relax"]
        relax = RelaxSpec(scheduler=r["scheduler"], dt=r["dt"], integrator=r["integrator"],
                          free_duration=r["free_duration"], nudged_duration=r["nudged_duration"],
                          warm_duration=g["warm_duration"] or None, tol=r["tol"] or None)
        self.seed = int(scenario.seeds["training"])
        self.model = NetworkDenoiser(self.net, self.params, self.data.dim, g["embedding"], g["n_embed"],
                                     cond_dim(g, self.data), t["input_block"], t["output_block"], relax,
                                     view="ff" if self.rule in FF_RULES else "relax", seed=self.seed)
        projections = [(p.name, p.pre, p.post) for p in self.net.projections]
        self.optimizer = make_optimizer(t["optimizer"], self.params, resolve_lrs(self.params, projections, t["lr"]),
                                        momentum=t["momentum"], beta1=t["adam_beta1"], beta2=t["adam_beta2"],
                                        eps=t["adam_eps"])
        self.estimator = get_estimator(self.rule, **rule_options(t, self.seed))
        self.step = 0
        self.history: list[dict] = []
        self._classifier = None

    def train_step(self) -> float:
        rng = np.random.default_rng([self.seed, self.step])
        x1, labels = self.data.sample(self.t["batch_size"], rng)
        xin, u, target = self.objective.batch(x1, rng)
        cond = make_cond(self.g, self.data, x1, labels, rng, drop=True)
        problem = self.model.problem(xin, u, cond, target, seed=self.step)
        grad, info = self.estimator.gradient(problem)
        out = np.asarray(info["free_output"]).real
        self.optimizer.step(self.params, grad)
        self.step += 1
        return float(np.mean(0.5 * np.sum((out - target) ** 2, axis=1)))

    # -- evaluation -----------------------------------------------------------------------------
    def eval_conditions(self, n: int, rng):
        """(cond rows, labels) for n evaluation samples: classes in equal shares."""
        g = self.g
        if g["condition"] == "none" or g["compose"]:
            return None, None
        labels = np.arange(n) % self.data.n_classes
        onehot = np.eye(self.data.n_classes)[labels]
        if g["condition"] == "class+top":
            onehot = np.concatenate([onehot, np.zeros((n, HALF))], axis=1)
        return onehot, labels

    def generate(self, n: int, rng, sampler=None, steps=None, guidance=None):
        g = self.g
        sampler = sampler or g["sampler"]
        steps = steps or g["sampler_steps"]
        guidance = g["guidance"] if guidance is None else guidance
        cond, labels = self.eval_conditions(n, rng)
        compose = None
        if g["compose"]:
            eye = np.eye(self.data.n_classes)
            compose = [np.broadcast_to(eye[c], (n, self.data.n_classes)) for c in g["compose"]]
        samples = sample(self.model, self.objective, n, self.data.dim, rng, sampler, steps, cond, guidance,
                         compose, g["langevin"])
        return samples, labels

    def reference(self, n: int, rng):
        if self.g["compose"]:
            return self.data.product(self.g["compose"], n, rng)
        if self.data.name == "digits":
            return self.data.x_test[:n]
        return self.data.exact(n, rng)

    def classifier(self):
        if self._classifier is None:
            self._classifier = digit_classifier(self.data.x_train, self.data.y_train)
        return self._classifier

    def evaluate(self, final: bool = False, n: int | None = None):
        """Samples and metrics; ``final`` adds the floors and the digits extras."""
        g = self.g
        n = n or g["n_eval"]
        rng = np.random.default_rng([self.seed, 10 ** 9])
        samples, labels = self.generate(n, rng)
        metrics = {}
        if self.data.name == "digits":
            clf = self.classifier()
            metrics["conditional_accuracy"] = float(np.mean(clf.predict(samples) == labels))
            pcw = per_class_w2(samples, labels, self.data.x_test, self.data.y_test)
            metrics["w2"] = float(np.mean(list(pcw.values())))
            ref = self.data.x_test
            metrics["mmd"] = mmd(samples[:len(ref)], ref)
            if final:
                metrics["w2_per_class"] = {str(k): v for k, v in pcw.items()}
                # the floor: real training images of each class against the test images of that class
                floor_rng = np.random.default_rng([self.seed, 7])
                fl = []
                for c in range(self.data.n_classes):
                    tr = self.data.x_train[self.data.y_train == c]
                    te = self.data.x_test[self.data.y_test == c]
                    fl.append(w2(tr[floor_rng.permutation(len(tr))[:len(te)]], te))
                metrics["w2_floor"] = float(np.mean(fl))
                metrics["classifier_test_accuracy"] = float(clf.score(self.data.x_test, self.data.y_test))
                if g["condition"] == "class+top":
                    metrics.update(self.inpaint_metrics(rng))
            return samples, labels, ref, metrics
        ref = self.reference(n, np.random.default_rng([self.seed, 10 ** 9 + 1]))
        metrics["w2"] = w2(samples, ref)
        metrics["mmd"] = mmd(samples, ref)
        if final:
            frng = np.random.default_rng([self.seed, 10 ** 9 + 2])
            if g["compose"]:
                draw = lambda m, r: self.data.product(g["compose"], m, r)  # noqa: E731
            else:
                draw = self.data.exact
            metrics["w2_floor"] = float(np.mean([w2(draw(n, frng), draw(n, frng))
                                                 for _ in range(g["floor_repeats"])]))
            if g["compose"]:
                metrics["w2_analytic_composition"] = self.analytic_composition_w2(n, ref)
        return samples, labels, ref, metrics

    def analytic_composition_w2(self, n: int, ref) -> float:
        """W2 of the same Langevin sampler driven by the exact conditional scores (the sampler's own gap)."""
        d = self.data
        stds = d.stds if d.stds.ndim == 2 else d.stds[:, None] * np.ones_like(d.means)
        fns = [lambda x, sigma, c=c: toy2d.gaussian_mixture_score(x, d.means[c:c + 1], stds[c:c + 1], [1.0], sigma)
               for c in self.g["compose"]]
        lg = self.g["langevin"]
        x = sa.annealed_langevin_sample(sa.compose_scores(*fns), (n, d.dim), np.random.default_rng([self.seed, 5]),
                                        sigma_max=lg["sigma_max"], sigma_min=lg["sigma_min"], n_levels=lg["levels"],
                                        n_steps_per_level=self.g["sampler_steps"], eps=lg["eps"])
        return w2(x, ref)

    def inpaint_metrics(self, rng):
        """Top half → bottom half on the test digits: condition = [0 (no class) | top half]."""
        x, y = self.data.x_test, self.data.y_test
        cond = np.concatenate([np.zeros((len(x), self.data.n_classes)), x[:, :HALF]], axis=1)
        gen = sample(self.model, self.objective, len(x), 64, rng, self.g["sampler"], self.g["sampler_steps"],
                     cond, self.g["guidance"])
        filled = np.concatenate([x[:, :HALF], gen[:, HALF:]], axis=1)
        self._inpainted = (x, filled)
        return {"inpaint_mse": float(np.mean((gen[:, HALF:] - x[:, HALF:]) ** 2)),
                "inpaint_accuracy": float(np.mean(self.classifier().predict(filled) == y)),
                "inpaint_mse_mean_baseline": float(np.mean((self.data.x_train[:, HALF:].mean(0) - x[:, HALF:]) ** 2))}

    # -- checkpoints --------------------------------------------------------------------------
    def checkpoint_arrays(self) -> dict:
        prefix = {"weights": "weights", "biases": "bias", "memories": "memory"}
        out = {f"{prefix[k]}/{n}": a for k, n, a in self.params.items()}
        out.update(self.optimizer.state_dict())
        out["step"] = np.array(self.step, dtype=np.int64)
        out["fingerprint"] = np.array(fingerprint(self.scenario, RESUME_FREE))
        for col in HISTORY_COLUMNS:
            out[f"history/{col}"] = np.array([np.nan if r.get(col) is None else r[col] for r in self.history], float)
        return out

    def load_params(self, path: Path, optimizer: bool = True) -> None:
        arrays = resume_arrays(self.scenario, path, RESUME_FREE) if optimizer else read_npz(path)
        try:
            self._load(arrays, optimizer)
        except KeyError as err:
            raise missing_key(path, err.args[0]) from None

    def _load(self, arrays: dict, optimizer: bool) -> None:
        prefix = {"weights": "weights", "biases": "bias", "memories": "memory"}
        for kind, name, arr in self.params.items():
            arr[...] = arrays[f"{prefix[kind]}/{name}"]
        if optimizer:
            self.optimizer.load_state_dict({k: v for k, v in arrays.items() if k.startswith("optim/")})
            self.step = int(arrays["step"])
            n = len(arrays["history/step"])
            self.history = [{c: (None if np.isnan(arrays[f"history/{c}"][i]) else float(arrays[f"history/{c}"][i]))
                             for c in HISTORY_COLUMNS} for i in range(n)]
            for row in self.history:
                row["step"] = int(row["step"])


def trainer_from_run(run_dir) -> GenTrainer:
    """The trainer of a finished run, parameters loaded from its checkpoint."""
    from ..scenario.load import load_scenario
    run_dir = Path(run_dir)
    scenario = load_scenario(run_dir / "scenario.toml")
    tr = GenTrainer(scenario)
    tr.load_params(run_dir / "checkpoint.npz", optimizer=False)
    return tr


def samples_arrays(samples, labels, ref) -> dict:
    out = {"samples": np.asarray(samples), "reference": np.asarray(ref)}
    if labels is not None:
        out["labels"] = np.asarray(labels)
    return out


def run_generative(scenario, progress: bool, run_dir: Path, resume: bool):
    """The ``generative`` runner: returns (metrics, traces, extra) for :func:`run_scenario`."""
    tr = GenTrainer(scenario)
    run_dir = Path(run_dir)
    ckpt = run_dir / "checkpoint.npz"
    if resume and ckpt.exists():
        tr.load_params(ckpt)
        if progress:
            print(f"resuming {scenario['name']} after step {tr.step}", file=sys.stderr)
    g = tr.g
    steps, every = g["steps"], g["eval_every"]
    bar = Progress(steps, label=f"{scenario['name']} [{tr.rule}]", enabled=progress, unit="step")
    train_seconds = sum(r["seconds"] or 0.0 for r in tr.history)
    losses = []
    start = time.perf_counter()
    while tr.step < steps:
        losses.append(tr.train_step())
        if not np.isfinite(losses[-1]):  # later steps would only propagate the NaNs
            raise SimulationDiverged(f"training diverged at step {tr.step}: the train loss became "
                                     "non-finite; lower training.lr")
        bar.update(tr.step)
        if tr.step % every == 0 or tr.step == steps:
            elapsed = time.perf_counter() - start
            train_seconds += elapsed
            row = {"step": tr.step, "train_loss": float(np.mean(losses)), "seconds": elapsed}
            if g["eval_during"] and tr.step < steps:
                _, _, _, m = tr.evaluate(n=g["n_eval_quick"])
                row.update({k: m.get(k) for k in ("w2", "mmd", "conditional_accuracy")})
            tr.history.append(row)
            write_npz(ckpt, tr.checkpoint_arrays())  # first: history.csv never runs ahead of it
            write_csv(run_dir / "history.csv", tr.history, HISTORY_COLUMNS)
            losses = []
            start = time.perf_counter()
            bar.update(tr.step, f"loss {row['train_loss']:.3f}")
    bar.close()
    t0 = time.perf_counter()
    samples, labels, ref, metrics = tr.evaluate(final=True)
    sample_seconds = time.perf_counter() - t0
    if tr.history:
        tr.history[-1].update({k: metrics.get(k) for k in ("w2", "mmd", "conditional_accuracy")})
        write_csv(run_dir / "history.csv", tr.history, HISTORY_COLUMNS)
    write_npz(ckpt, tr.checkpoint_arrays())
    write_npz(run_dir / "samples.npz", samples_arrays(samples, labels, ref))
    if getattr(tr, "_inpainted", None) is not None:
        # the figure is drawn by neurosim.plotting from this file (run_scenario plots at the end)
        x, filled = tr._inpainted
        write_npz(run_dir / "inpainting.npz", {"original": x, "inpainted": filled, "labels": tr.data.y_test})
    metrics.update({
        "rule": tr.rule, "objective": g["objective"], "data": g["data"], "steps": tr.step,
        "train_loss": tr.history[-1]["train_loss"] if tr.history else None,
        "wall_seconds": float(train_seconds), "sample_seconds": float(sample_seconds),
        "n_eval": g["n_eval"], "sampler": g["sampler"], "sampler_steps": g["sampler_steps"],
        "model_view": tr.model.view, "relaxations": tr.model.n_relaxations,
    })
    if "w2_floor" in metrics and metrics["w2_floor"]:
        metrics["w2_over_floor"] = metrics["w2"] / metrics["w2_floor"]
    return metrics, {}, {"trainer": tr}


def generate(run_dir, n: int = 1000, sampler: str | None = None, steps: int | None = None, out=None,
             seed: int = 0, guidance: float | None = None, plot: bool = True) -> dict:
    """Load a generative run's checkpoint and scenario, draw ``n`` samples, write ``samples.npz``
    (default ``RUN_DIR/generate/samples.npz``) and ``samples.json`` beside it.

    ``plot``: the folder of ``samples.npz`` is a run directory of its own — its figures
    (``plots/samples.png``) and ``report.html`` are drawn by :mod:`neurosim.plotting` from the files,
    as ``neurosim plot`` would. A custom file name (``--out other.npz``) gets ``other.png`` beside it,
    drawn by the same function from the file just written."""
    from .generate_options import check_generate
    check_generate(run_dir, n, sampler, steps, guidance, seed, out)  # refuse before loading or writing
    run_dir = Path(run_dir)
    tr = trainer_from_run(run_dir)
    out = Path(out) if out else run_dir / "generate" / "samples.npz"
    rng = np.random.default_rng([tr.seed, 2 ** 31 + int(seed)])
    t0 = time.perf_counter()
    samples, labels = tr.generate(n, rng, sampler, steps, guidance)
    seconds = time.perf_counter() - t0
    ref = tr.reference(n, np.random.default_rng([tr.seed, 2 ** 31 + int(seed), 1]))
    write_npz(out, samples_arrays(samples, labels, ref))
    info = {"samples": str(out), "n": n, "sampler": sampler or tr.g["sampler"],
            "steps": steps or tr.g["sampler_steps"], "seconds": seconds, "shape": list(samples.shape),
            "run_dir": str(run_dir), "scenario": tr.scenario["name"], "seed": int(seed)}
    if len(ref) == len(samples) and tr.data.name != "digits":
        info["w2"] = w2(samples, ref)
    if tr.data.name == "digits" and labels is not None:
        info["conditional_accuracy"] = float(np.mean(tr.classifier().predict(samples) == labels))
    write_json(out.with_name(out.stem + ".json"), info)
    if plot:
        from ..plotting import plot_and_report
        from ..plotting.io import read_samples
        from ..plotting.samples import plot_samples
        if out.name == "samples.npz":
            info["report"] = str(plot_and_report(out.parent))
            info["plot"] = str(out.parent / "plots" / "samples.png")
        else:
            info["plot"] = str(plot_samples(read_samples(out), out.with_suffix(".png")))
    return info
