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

import time
from pathlib import Path

import numpy as np

from ..engine.threads import configure_blas_threads
from ..generative.data import GenData, cond_dim, make_cond
from ..generative.objective import Objective
from .denoiser import NetworkDenoiser
from .generative_metrics import digit_classifier, evaluate
from .generative_sampling import sample
from .checkpoint import params_arrays, read_params_into
from .loop import Job, run_loop
from .rundir import read_npz, write_npz
from .readout import relax_config
from .setup import make_network, optimizer_for

HISTORY_COLUMNS = ["step", "train_loss", "w2", "mmd", "conditional_accuracy", "seconds"]


# -- the run ----------------------------------------------------------------------------------------
class GenTrainer:
    def __init__(self, scenario):
        from ..learning.estimators import estimator_class, get_estimator
        from .train import rule_options
        configure_blas_threads()
        self.scenario = scenario
        self.g = g = scenario["generative"]
        self.training = training = scenario["training"]
        self.rule = training["rule"]
        self.data = GenData(g["data"], g["data_options"], g["split_seed"])
        self.objective = Objective.from_spec(g)
        self.net = make_network(scenario["network"])
        self.params = self.net.init_params(scenario.rng("params"))
        relax = relax_config(training["relax"])
        self.seed = int(scenario.seeds["training"])
        self.model = NetworkDenoiser(self.net, self.params, self.data.dim, g["embedding"], g["n_embed"],
                                     cond_dim(g, self.data), training["input_block"], training["output_block"], relax,
                                     view=estimator_class(self.rule).view, seed=self.seed,
                                     warm_duration=g["warm_duration"] or None)
        self.optimizer = optimizer_for(training, self.net, self.params)
        self.estimator = get_estimator(self.rule, **rule_options(training, self.seed))
        self.step = 0
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

    # -- the loop's pieces (experiments/loop.py) ------------------------------------------------
    def step_at(self, i: int) -> float:
        """Loop step i: the training step of batch i."""
        assert i == self.step, (i, self.step)
        return self.train_step()

    def record(self, i: int) -> dict:
        g = self.g
        if not g["eval_during"] or i >= g["steps"]:
            return {}
        _, _, _, m = self.evaluate(n=g["n_eval_quick"])
        return {k: m.get(k) for k in ("w2", "mmd", "conditional_accuracy")}

    def arrays(self) -> dict:
        out = params_arrays(self.params)
        out.update(self.optimizer.state_dict())
        return out

    def meta(self) -> dict:
        return {"step": self.step}

    def restore(self, arrays: dict, meta: dict) -> None:
        self.load_arrays(arrays)
        self.optimizer.load_state_dict({k: v for k, v in arrays.items() if k.startswith("optim/")})
        self.step = int(meta["step"])

    def load_arrays(self, arrays: dict, path=None) -> None:
        """The parameters from checkpoint arrays (any layout with ``weights/…``, ``bias/…``, ``memory/…``)."""
        read_params_into(arrays, self.params, path or "checkpoint.npz")  # in place: the model and optimiser hold them


def trainer_from_run(run_dir) -> GenTrainer:
    """The trainer of a finished run, parameters loaded from its checkpoint."""
    from ..scenario.load import load_scenario
    run_dir = Path(run_dir)
    scenario = load_scenario(run_dir / "scenario.toml")
    tr = GenTrainer(scenario)
    ckpt = run_dir / "checkpoint.npz"
    tr.load_arrays(read_npz(ckpt), ckpt)
    return tr


def samples_arrays(samples, labels, ref) -> dict:
    out = {"samples": np.asarray(samples), "reference": np.asarray(ref)}
    if labels is not None:
        out["labels"] = np.asarray(labels)
    return out


class GenJob(Job):
    """A generative run for :func:`~.loop.run_loop`: the trainer's steps, then the final samples."""

    kind = "generative"
    may_change = ("generative.steps", "training.epochs")  # a resumed run may train longer
    columns = HISTORY_COLUMNS

    def __init__(self, trainer: GenTrainer, run_dir: Path):
        self.tr, self.run_dir = trainer, Path(run_dir)
        self.step, self.record = trainer.step_at, trainer.record
        self.arrays, self.meta, self.restore = trainer.arrays, trainer.meta, trainer.restore

    def final(self, history: list[dict]) -> dict:
        """Samples, metrics and their files; the last history row gets the final W2 / MMD."""
        tr, g = self.tr, self.tr.g
        t0 = time.perf_counter()
        samples, labels, ref, metrics = tr.evaluate(final=True)
        sample_seconds = time.perf_counter() - t0
        if history:
            history[-1].update({k: metrics.get(k) for k in ("w2", "mmd", "conditional_accuracy")})
        write_npz(self.run_dir / "samples.npz", samples_arrays(samples, labels, ref))
        inpainting = metrics.pop("_inpainting", None)
        if inpainting is not None:
            # the figure is drawn by neurosim.plotting from this file (run_scenario plots at the end)
            x, filled = inpainting
            write_npz(self.run_dir / "inpainting.npz", {"original": x, "inpainted": filled, "labels": tr.data.y_test})
        metrics.update({
            "rule": tr.rule, "objective": g["objective"], "data": g["data"], "steps": tr.step,
            "train_loss": history[-1]["train_loss"] if history else None,
            "sample_seconds": float(sample_seconds),
            "n_eval": g["n_eval"], "sampler": g["sampler"], "sampler_steps": g["sampler_steps"],
            "model_view": tr.model.view, "relaxations": tr.model.n_relaxations,
        })
        if "w2_floor" in metrics and metrics["w2_floor"]:
            metrics["w2_over_floor"] = metrics["w2"] / metrics["w2_floor"]
        return metrics


def run_generative(scenario, progress: bool, run_dir: Path, resume: bool):
    """The ``generative`` runner: returns (metrics, traces, extra) for :func:`run_scenario`."""
    tr = GenTrainer(scenario)
    job = GenJob(tr, run_dir)
    result = run_loop(job, scenario, run_dir, resume, tr.g["steps"], tr.g["eval_every"], progress,
                      label=f"{scenario['name']} [{tr.rule}]")
    metrics = dict(result.metrics)
    metrics["wall_seconds"] = float(result.seconds)
    return metrics, {}, {"trainer": tr}


from .generative_generate import generate  # noqa: E402,F401  (the API's entry point)
