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
from pathlib import Path

import numpy as np

from ..engine.simulator import SimulationDiverged
from ..engine.threads import configure_blas_threads
from ..generative.data import GenData, cond_dim, make_cond
from ..generative.objective import Objective
from ..learning.optim import make_optimizer, resolve_lrs
from ..metrics import w2
from .denoiser import FF_RULES, NetworkDenoiser, RelaxSpec
from .generative_metrics import digit_classifier, evaluate, stream
from .generative_sampling import sample
from .progress import Progress
from .rundir import read_npz, write_csv, write_json, write_npz
from .setup import make_network
from .train import fingerprint, missing_key, resume_arrays

#: the scenario keys a resumed generative run may change (train longer)
RESUME_FREE = (("generative", "steps"), ("training", "epochs"))
HISTORY_COLUMNS = ["step", "train_loss", "w2", "mmd", "conditional_accuracy", "seconds"]


# -- the run ----------------------------------------------------------------------------------------
class GenTrainer:
    def __init__(self, scenario):
        from ..learning.estimators import get_estimator
        from .train import rule_options
        configure_blas_threads()
        self.scenario = scenario
        self.g = g = scenario["generative"]
        self.training = t = scenario["training"]
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

    def batch(self, step: int):
        """(network x input, u, condition rows, target) of training step ``step``: data, then the
        objective's noisy inputs and target (:meth:`Objective.batch`), then the condition with its
        drop-outs, all from the generator seeded by (training seed, step)."""
        rng = np.random.default_rng([self.seed, step])
        x1, labels = self.data.sample(self.training["batch_size"], rng)
        xin, u, target = self.objective.batch(x1, rng)
        cond = make_cond(self.g, self.data, x1, labels, rng, drop=True)
        return xin, u, cond, target

    def train_step(self) -> float:
        xin, u, cond, target = self.batch(self.step)
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
            onehot = np.concatenate([onehot, np.zeros((n, self.data.half))], axis=1)
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
        """Samples and metrics (:func:`generative_metrics.evaluate`)."""
        return evaluate(self, final, n)

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
    inpainting = metrics.pop("_inpainting", None)
    if inpainting is not None:
        # the figure is drawn by neurosim.plotting from this file (run_scenario plots at the end)
        x, filled = inpainting
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


from .generative_generate import generate  # noqa: E402,F401  (the API's entry point)
