"""``kind = "train"``: supervised training of a block network on a data set (docs/training.md).

One epoch: shuffle the training split with a generator seeded by (training seed, epoch) — so the
order never depends on what ran before, and a resumed run sees the same batches — (with
``training.augment.shift``, translate each image by offsets drawn from its own stream of the same
(seed, epoch): :mod:`neurosim.data.augment`), cut it into
minibatches of ``batch_size`` examples, which become the P particles of the network; the input
block is clamped to the (scaled) images, the rule's estimator returns dL/dθ, the shared optimiser
descends it. After every epoch: test accuracy (argmax of the free-phase readout; the
feed-forward pass for ``bp_ff``), a row of ``history.csv`` and ``checkpoint.npz`` (weights,
optimiser state, persistent states, estimator RNG state, history), both written atomically by the
one loop (:mod:`.loop`: a step is one epoch) in the one checkpoint layout (:mod:`.checkpoint`).

Row ``epoch = 0`` is the untrained network: its ``train_loss`` is the free-phase loss on the first
(at most 1000) training examples; later rows average the free-phase loss over the epoch's batches.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..build import compiled_for
from ..data.augment import random_offsets, translate
from ..engine.simulator import SimulationDiverged
from ..learning.optim import lr_factor
from ..model import energy as en
from ..scenario.kind_train import augment_shift
from ..scenario.schema import ScenarioError
from .checkpoint import params_arrays, read_params_into, rng_state, set_rng_state, under, with_prefix
from .loop import Job, read_resume, run_loop
from .readout import free_equilibrium, relax_config
from .setup import make_network, optimizer_for

#: the range every activation's inputs are scaled to (min–max of the training split)
INPUT_RANGES = {"hard_sigmoid": (0.0, 1.0), "sigmoid4": (0.0, 1.0), "sigmoid": (0.0, 1.0),
                "tanh": (-1.0, 1.0), "identity": (0.0, 1.0)}
HISTORY_COLUMNS = ["epoch", "train_loss", "train_accuracy", "test_accuracy", "grad_cosine_to_bp", "seconds"]
EVAL_CHUNK = 1000


def load_data(spec: dict):
    """The scenario's data set, limited to ``limit_train`` / ``limit_test`` examples."""
    from ..data import load_dataset
    ds = load_dataset(spec["name"], seed=spec["split_seed"], **spec["options"])
    if spec["limit_train"]:
        ds.x_train, ds.y_train = ds.x_train[:spec["limit_train"]], ds.y_train[:spec["limit_train"]]
    if spec["limit_test"]:
        ds.x_test, ds.y_test = ds.x_test[:spec["limit_test"]], ds.y_test[:spec["limit_test"]]
    return ds


def scale_inputs(x_train, x_test, activation: str):
    """Min–max scale (per data set, from the training split) into the activation's input range."""
    lo, hi = INPUT_RANGES.get(activation, (0.0, 1.0))
    mn, mx = float(x_train.min()), float(x_train.max())
    span = mx - mn if mx > mn else 1.0
    return [lo + (hi - lo) * (x - mn) / span for x in (x_train, x_test)]


def rule_options(training: dict, seed: int = 0) -> dict:
    """The estimator options for ``training.rule``: ``[training.rule_options]`` keys the rule's
    estimator accepts, overridden by ``[training.rule_options.<rule>]``; ``ep_random_sign`` gets a
    seed derived from the training seed."""
    import inspect

    from ..learning.estimators import _REGISTRY
    rule = training["rule"]
    accepted = set(inspect.signature(_REGISTRY[rule].__init__).parameters) - {"self"}
    opts = {k: v for k, v in training["rule_options"].items() if not isinstance(v, dict)}
    opts.update(training["rule_options"].get(rule) or {})
    out = {k: v for k, v in opts.items() if k in accepted}
    if "seed" in accepted:
        out["seed"] = int(seed)
    return out


@dataclass
class EvalResult:
    accuracy: float
    loss: float


class Trainer:
    """Everything a training run holds: data, network, parameters, estimator, optimiser, history."""

    def __init__(self, scenario):
        from ..learning.estimators import get_estimator
        self.scenario = scenario
        training = self.training = scenario["training"]
        self.rule = training["rule"]
        self.net = make_network(scenario["network"])
        self.params = self.net.init_params(scenario.rng("params"))
        self.dtype = np.dtype(scenario["network"]["dtype"])
        self.input, self.output, self.cost = training["input_block"], training["output_block"], training["cost"]
        ds = load_data(scenario["data"])
        act = self.net.block(self.input).activation
        self.x_train, self.x_test = scale_inputs(ds.x_train, ds.x_test, act)
        self.y_train, self.y_test, self.n_classes = ds.y_train, ds.y_test, ds.n_classes
        # training.augment.shift: random translations of the training images (0 or absent: none);
        # the blank fill is the darkest scaled pixel, the background of the digit images
        self.shift, self.image_shape = augment_shift(training), ds.image_shape
        self.blank = float(self.x_train.min()) if self.shift else 0.0
        self.train_targets = self.targets(self.y_train)  # one-hot once, not per batch
        self.layers = self.net.chain(self.input, self.output)
        self.optimizer = optimizer_for(training, self.net, self.params)
        self.seed = int(scenario.seeds["training"])
        options = rule_options(training, self.seed)
        self.estimator = get_estimator(self.rule, **options)
        self._get_estimator = get_estimator
        self.relax_cfg = relax_config(training["relax"], residuals=False)  # no phase residual unless tol
        self.free_blocks = [b for b in self.net.block_names() if b != self.input]
        self.persistent = ({b: np.zeros((len(self.x_train), self.net.block(b).size)) for b in self.free_blocks}
                           if training["persistent_states"] else None)
        self._compiled: dict[int, object] = {}
        self.epoch = 0
        from .train_traces import TrainTracer
        self.tracer = TrainTracer(self)  # phase traces and weight statistics (traces.npz)

    # -- pieces -------------------------------------------------------------------------------
    def compiled(self, n_particles: int):
        return compiled_for(self._compiled, self.net, self.params, n_particles, self.dtype)

    def relax(self, seed: int):
        return replace(self.relax_cfg, seed=int(seed))

    def order(self, epoch: int) -> np.ndarray:
        """The training examples' order in ``epoch`` (1-based), from (seed, epoch) alone."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x_train))

    def batch_seed(self, epoch: int, batch: int) -> int:
        return int(np.random.SeedSequence([self.seed, epoch, batch]).generate_state(1)[0])

    def targets(self, y) -> np.ndarray:
        from ..data import one_hot
        return one_hot(y, self.n_classes)

    def batch_inputs(self, idx, offsets) -> np.ndarray:
        """The inputs of training examples ``idx``, each translated by its row of ``offsets``
        (None: as they are)."""
        if offsets is None:
            return self.x_train[idx]
        return translate(self.x_train[idx], offsets, self.image_shape, self.blank)

    def problem(self, idx, seed: int, estimator_init: bool = True, offsets=None):
        from ..learning.estimators import Problem
        x, y = self.batch_inputs(idx, offsets), self.train_targets[idx]
        init = None
        if self.persistent is not None and estimator_init:
            init = {b: s[idx] for b, s in self.persistent.items()}
        return Problem(compiled=self.compiled(len(idx)), clamped={self.input: x}, out=self.output,
                       target=y, cost=self.cost, relax=self.relax(seed), init_state=init)

    # -- one epoch ----------------------------------------------------------------------------
    def train_epoch(self, epoch: int, bar: Progress | None = None) -> dict:
        self.optimizer.scale = lr_factor(self.training["lr_schedule"], epoch, self.training["epochs"])
        order = self.order(epoch)
        offsets = None
        if self.shift:
            offsets = random_offsets(self.seed, epoch, len(order), self.shift)  # row j: order[j]'s
        bs = self.training["batch_size"]
        losses, correct, n_seen = [], 0, 0
        for k, start in enumerate(range(0, len(order), bs)):
            idx = order[start:start + bs]
            problem = self.problem(idx, self.batch_seed(epoch, k),
                                   offsets=None if offsets is None else offsets[start:start + bs])
            self.tracer.batch(self, epoch, k, problem)
            grad, info = self.estimator.gradient(problem)
            out = np.asarray(info["free_output"]).real
            losses.append(float(np.sum(en.cost_value(self.cost, out, problem.target))))
            correct += int(np.sum(np.argmax(out, axis=1) == self.y_train[idx]))
            n_seen += len(idx)
            if self.persistent is not None:
                for b in self.free_blocks:
                    self.persistent[b][idx] = np.asarray(info["free_state"][b]).real
            self.optimizer.step(self.params, grad)
            if bar is not None:
                bar.update(epoch - 1 + n_seen / len(order))
        return {"train_loss": sum(losses) / n_seen, "train_accuracy": correct / n_seen}

    # -- evaluation ---------------------------------------------------------------------------
    def predict(self, x) -> np.ndarray:
        """Readout for inputs ``x``: the free phase's output block (feed-forward pass for bp_ff)."""
        if self.rule == "bp_ff":
            from ..learning.reference import feedforward_forward
            return feedforward_forward(self.net, self.params, x, self.layers)[self.output]
        outs = []
        readout = replace(self.relax_cfg, tol=None)  # the test readout relaxes the whole free_duration
        for start in range(0, len(x), EVAL_CHUNK):
            xb = x[start:start + EVAL_CHUNK]
            states, _ = free_equilibrium(self.compiled(len(xb)), {self.input: xb}, readout, [self.output],
                                         seed=np.random.SeedSequence([self.seed, 0]))
            outs.append(states[self.output].real)
        return np.concatenate(outs)

    def evaluate(self, x, y) -> EvalResult:
        out = self.predict(x)
        loss = float(np.mean(en.cost_value(self.cost, out, self.targets(y))))
        return EvalResult(float(np.mean(np.argmax(out, axis=1) == y)), loss)

    def grad_cosine(self) -> float:
        """Cosine between the rule's gradient and the exact one (``bp``) on the first batch."""
        from ..learning.gradients import cosine
        idx = np.arange(min(self.training["batch_size"], len(self.x_train)))
        seed = self.batch_seed(0, 0)
        g_rule, _ = self.estimator.gradient(self.problem(idx, seed, estimator_init=False))
        if self.rule == "bp":
            return 1.0
        g_bp, _ = self._get_estimator("bp").gradient(self.problem(idx, seed, estimator_init=False))
        return float(cosine(g_rule.real(), g_bp.real()))

    # -- the state a checkpoint holds (the loop writes it in the layout of checkpoint.py) ---------
    def arrays(self) -> dict:
        """Parameters, optimiser state, persistent states (``persistent/<block>``), what the tracer
        recorded (``trace/…``) and the epoch reached."""
        out = params_arrays(self.params)
        out.update(self.optimizer.state_dict())
        out["epoch"] = np.array(self.epoch, dtype=np.int64)
        out.update(with_prefix("persistent/", self.persistent or {}))
        out.update(self.tracer.checkpoint_arrays())
        return out

    def meta(self) -> dict:
        rng = _estimator_rng(self.estimator)
        return {"epoch": self.epoch, "estimator_rng": None if rng is None else rng_state(rng)}

    def restore(self, arrays: dict, meta: dict, path) -> None:
        read_params_into(arrays, self.params, path)
        self.optimizer.load_state_dict({k: v for k, v in arrays.items() if k.startswith("optim/")})
        self.epoch = int(meta["epoch"])
        if self.persistent is not None:
            for b, s in under("persistent/", arrays).items():
                self.persistent[b][...] = s
        rng = _estimator_rng(self.estimator)
        if rng is not None and meta["estimator_rng"] is not None:
            set_rng_state(rng, meta["estimator_rng"])
        self.tracer.load(arrays, self)


def _estimator_rng(estimator) -> np.random.Generator | None:
    """The random generator an estimator keeps between calls (``rng`` or ``_rng``), if any."""
    for name in ("rng", "_rng"):
        rng = getattr(estimator, name, None)
        if isinstance(rng, np.random.Generator):
            return rng
    return None


def history_columns(trainer) -> list[str]:
    cols = list(HISTORY_COLUMNS)
    if not trainer.training["grad_cosine"]:
        cols.remove("grad_cosine_to_bp")
    return cols


def summarize(history: list[dict], rule: str) -> dict:
    trained = [r for r in history if r["epoch"] > 0]
    last = history[-1]
    metrics = {
        "rule": rule,
        "epochs": int(last["epoch"]),
        "test_accuracy": float(last["test_accuracy"]),
        "best_test_accuracy": float(max(r["test_accuracy"] for r in history)),
        "initial_test_accuracy": float(history[0]["test_accuracy"]),
        "train_loss": float(last["train_loss"]),
        "train_accuracy": float(last["train_accuracy"]) if last.get("train_accuracy") is not None else None,
        "wall_seconds": float(sum(r["seconds"] for r in trained)),
        "seconds_per_epoch": float(np.mean([r["seconds"] for r in trained])) if trained else 0.0,
    }
    cos = [r.get("grad_cosine_to_bp") for r in history if r.get("grad_cosine_to_bp") is not None]
    if cos:
        metrics["grad_cosine_to_bp"] = float(cos[-1])
    return metrics


def check_finite(trainer, epoch: int, loss: float) -> None:
    """Raise SimulationDiverged once the loss or a parameter is NaN / infinite: every later epoch
    would only propagate the NaNs (a bounded activation can hide them from the engine's own check)."""
    bad = [name for _, name, arr in trainer.params.items() if not np.all(np.isfinite(arr))]
    if bad or not np.isfinite(loss):
        what = f"parameters of {', '.join(bad[:3])}" if bad else f"the train loss ({loss})"
        raise SimulationDiverged(f"training diverged in epoch {epoch}: {what} became non-finite; "
                                 "lower training.lr or the nudge strength beta")


class TrainJob(Job):
    """A training run for :func:`~.loop.run_loop`: step i trains epoch i + 1; row 0 is the
    untrained network."""

    kind = "train"
    may_change = ("training.epochs",)  # a resumed run may train longer

    def __init__(self, trainer: Trainer, path: Path):
        self.tr, self.path = trainer, path
        self.columns = history_columns(trainer)
        self.arrays, self.meta = trainer.arrays, trainer.meta
        self._train: dict = {}

    def restore(self, arrays: dict, meta: dict) -> None:
        self.tr.restore(arrays, meta, self.path)

    def _scores(self, epoch: int) -> dict:
        """The test accuracy (and the gradient cosine) after ``epoch``; the tracer's weight row."""
        tr = self.tr
        row = {"epoch": epoch, "test_accuracy": tr.evaluate(tr.x_test, tr.y_test).accuracy}
        if tr.training["grad_cosine"]:
            row["grad_cosine_to_bp"] = tr.grad_cosine()
        tr.epoch = epoch
        tr.tracer.epoch_end(tr, epoch)
        return row

    def initial(self) -> dict:
        """Row 0: the free-phase loss and accuracy on the first (at most EVAL_CHUNK) training examples."""
        tr = self.tr
        n0 = min(len(tr.x_train), EVAL_CHUNK)
        ev0 = tr.evaluate(tr.x_train[:n0], tr.y_train[:n0])
        return {"train_loss": ev0.loss, "train_accuracy": ev0.accuracy, **self._scores(0)}

    def step(self, i: int) -> float:
        epoch = i + 1
        self._train = self.tr.train_epoch(epoch, self.bar)
        check_finite(self.tr, epoch, self._train["train_loss"])
        return self._train["train_loss"]

    def record(self, done: int) -> dict:
        return {"train_accuracy": self._train["train_accuracy"], **self._scores(done)}

    def note(self, row: dict, loss_name: str = "loss") -> str:
        return f"acc {100 * row['test_accuracy']:.1f}%"

    def final(self, history: list[dict]) -> dict:
        metrics = summarize(history, self.tr.rule)
        metrics["n_train"], metrics["n_test"] = len(self.tr.x_train), len(self.tr.x_test)
        return metrics


def check_resume(scenario, run_dir, resume: bool) -> None:
    """``--resume`` may continue ``run_dir/checkpoint.npz``: readable, a train run's, the same
    scenario but for ``training.epochs``, which may not be below the epochs the checkpoint holds
    (the run would train nothing and report the checkpoint's epoch as its end)."""
    found = read_resume(scenario, run_dir, TrainJob.kind, TrainJob.may_change) if resume else None
    if found is not None:
        done, wanted = int(found[1]["done"]), scenario["training"]["epochs"]
        if done > wanted:
            ckpt = Path(run_dir) / "checkpoint.npz"
            raise ScenarioError(scenario.path, "training.epochs",
                                f"expected at least {done} to resume {ckpt} (it holds epoch {done}), "
                                f"got {wanted}; raise it, or run without --resume")


def run_train(scenario, progress: bool, run_dir: Path, resume: bool):
    """The ``train`` runner: returns (metrics, traces, extra) for :func:`run_scenario`."""
    trainer = Trainer(scenario)
    job = TrainJob(trainer, Path(run_dir) / "checkpoint.npz")
    result = run_loop(job, scenario, run_dir, resume, scenario["training"]["epochs"], 1, progress,
                      label=f"{scenario['name']} [{trainer.rule}, seed {scenario['seed']}]", unit="epoch")
    return result.metrics, trainer.tracer.traces(trainer.net.block_names()), {"trainer": trainer}
