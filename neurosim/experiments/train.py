"""``kind = "train"``: supervised training of a block network on a data set (docs/training.md).

One epoch: shuffle the training split with a generator seeded by (training seed, epoch) — so the
order never depends on what ran before, and a resumed run sees the same batches — cut it into
minibatches of ``batch_size`` examples, which become the P particles of the network; the input
block is clamped to the (scaled) images, the rule's estimator returns dL/dθ, the shared optimiser
descends it. After every epoch: test accuracy (argmax of the free-phase readout; the
feed-forward pass for ``bp_ff``), a row of ``history.csv`` and ``checkpoint.npz`` (weights,
optimiser state, persistent states, estimator RNG state, history), both written atomically.

Row ``epoch = 0`` is the untrained network: its ``train_loss`` is the free-phase loss on the first
(at most 1000) training examples; later rows average the free-phase loss over the epoch's batches.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..build import compiled_for
from ..engine.simulator import SimulationDiverged, acquire_simulator, release_simulator
from ..model import energy as en
from ..model.network import Params
from ..learning.optim import make_optimizer, resolve_lrs
from .progress import Progress
from .rundir import RunDirError, read_npz, write_csv, write_npz
from .setup import make_network

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


def layer_order(net, input_block: str, output_block: str) -> list[str] | None:
    """The blocks as a chain input → … → output, or None if the graph is not such a chain."""
    import networkx as nx
    und = net.graph.to_undirected()
    if not nx.is_connected(und) or any(d > 2 for _, d in und.degree()) or und.number_of_edges() != len(und) - 1:
        return None
    try:
        path = nx.shortest_path(und, input_block, output_block)
    except nx.NetworkXNoPath:
        return None
    return path if len(path) == len(und) else None


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


def fingerprint(scenario, free=(("training", "epochs"),)) -> str:
    """Hash of everything that must match for a resume: the scenario minus ``plots``,
    ``description`` and the ``free`` keys (``training.epochs``: a resume may train longer)."""
    data = json.loads(json.dumps(scenario.data, default=str))
    for section, key in free:
        (data.get(section) or {}).pop(key, None)
    data.pop("plots", None)
    data.pop("description", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def resume_arrays(scenario, path: Path, free=(("training", "epochs"),)) -> dict:
    """The arrays of checkpoint ``path`` if ``scenario`` may resume from it: a damaged file raises
    RunDirError, one written by another scenario ScenarioError (before anything is written).
    A checkpoint without a fingerprint (older generative runs) is accepted as it is."""
    from ..scenario.schema import ScenarioError
    arrays = read_npz(path)
    if "fingerprint" in arrays and str(arrays["fingerprint"]) != fingerprint(scenario, free):
        changed = ", ".join(f"{a}.{b}" for a, b in free)
        raise ScenarioError(scenario.path, "", f"cannot resume from {path}: it was written by a "
                            f"different scenario (only {changed} may change)")
    return arrays


def missing_key(path: Path, key: str) -> RunDirError:
    return RunDirError(f"{path}: not a checkpoint of this run (no array {key!r})")


@dataclass
class EvalResult:
    accuracy: float
    loss: float


class Trainer:
    """Everything a training run holds: data, network, parameters, estimator, optimiser, history."""

    def __init__(self, scenario):
        from ..learning.estimators import RelaxConfig, get_estimator
        self.scenario = scenario
        t = self.t = scenario["training"]
        self.rule = t["rule"]
        self.net = make_network(scenario["network"])
        self.params = self.net.init_params(scenario.rng("params"))
        self.dtype = np.dtype(scenario["network"]["dtype"])
        self.input, self.output, self.cost = t["input_block"], t["output_block"], t["cost"]
        ds = load_data(scenario["data"])
        act = self.net.block(self.input).activation
        self.x_train, self.x_test = scale_inputs(ds.x_train, ds.x_test, act)
        self.y_train, self.y_test, self.n_classes = ds.y_train, ds.y_test, ds.n_classes
        self.dataset = ds
        self.layers = layer_order(self.net, self.input, self.output)
        projections = [(p.name, p.pre, p.post) for p in self.net.projections]
        self.lrs = resolve_lrs(self.params, projections, t["lr"])
        self.optimizer = make_optimizer(t["optimizer"], self.params, self.lrs, momentum=t["momentum"],
                                        beta1=t["adam_beta1"], beta2=t["adam_beta2"], eps=t["adam_eps"])
        self.seed = int(scenario.seeds["training"])
        options = rule_options(t, self.seed)
        self.estimator = get_estimator(self.rule, **options)
        self._get_estimator = get_estimator
        r = t["relax"]
        self._relax_config = RelaxConfig
        self.relax_kw = dict(scheduler=r["scheduler"], dt=r["dt"], integrator=r["integrator"],
                             free_duration=r["free_duration"], nudged_duration=r["nudged_duration"],
                             tol=r["tol"] or None, residuals=False)  # no phase residual unless tol
        self.free_blocks = [b for b in self.net.block_names() if b != self.input]
        self.persistent = ({b: np.zeros((len(self.x_train), self.net.block(b).size)) for b in self.free_blocks}
                           if t["persistent_states"] else None)
        self._compiled: dict[int, object] = {}
        self.history: list[dict] = []
        self.epoch = 0
        from .train_traces import TrainTracer
        self.tracer = TrainTracer(self)  # phase traces and weight statistics (traces.npz)

    # -- pieces -------------------------------------------------------------------------------
    def compiled(self, n_particles: int):
        return compiled_for(self._compiled, self.net, self.params, n_particles, self.dtype)

    def relax(self, seed: int):
        return self._relax_config(**self.relax_kw, seed=int(seed))

    def order(self, epoch: int) -> np.ndarray:
        """The training examples' order in ``epoch`` (1-based), from (seed, epoch) alone."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.x_train))

    def batch_seed(self, epoch: int, batch: int) -> int:
        return int(np.random.SeedSequence([self.seed, epoch, batch]).generate_state(1)[0])

    def targets(self, y) -> np.ndarray:
        from ..data import one_hot
        return one_hot(y, self.n_classes)

    def problem(self, idx, seed: int, estimator_init: bool = True):
        from ..learning.estimators import Problem
        x, y = self.x_train[idx], self.targets(self.y_train[idx])
        init = None
        if self.persistent is not None and estimator_init:
            init = {b: s[idx] for b, s in self.persistent.items()}
        return Problem(compiled=self.compiled(len(idx)), clamped={self.input: x}, out=self.output,
                       target=y, cost=self.cost, relax=self.relax(seed), init_state=init)

    # -- one epoch ----------------------------------------------------------------------------
    def train_epoch(self, epoch: int, bar: Progress | None = None) -> dict:
        order = self.order(epoch)
        bs = self.t["batch_size"]
        losses, correct, n_seen = [], 0, 0
        for k, start in enumerate(range(0, len(order), bs)):
            idx = order[start:start + bs]
            problem = self.problem(idx, self.batch_seed(epoch, k))
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
        r = self.t["relax"]
        for start in range(0, len(x), EVAL_CHUNK):
            xb = x[start:start + EVAL_CHUNK]
            sim = acquire_simulator(self.compiled(len(xb)), r["scheduler"], r["dt"], r["integrator"],
                                    np.random.SeedSequence([self.seed, 0]))
            sim.clamp(self.input, xb)
            sim.relax(r["free_duration"], residual=False)
            outs.append(sim.state(self.output).real.copy())
            release_simulator(sim)
        return np.concatenate(outs)

    def evaluate(self, x, y) -> EvalResult:
        out = self.predict(x)
        loss = float(np.mean(en.cost_value(self.cost, out, self.targets(y))))
        return EvalResult(float(np.mean(np.argmax(out, axis=1) == y)), loss)

    def grad_cosine(self) -> float:
        """Cosine between the rule's gradient and the exact one (``bp``) on the first batch."""
        from ..learning.gradients import cosine
        idx = np.arange(min(self.t["batch_size"], len(self.x_train)))
        seed = self.batch_seed(0, 0)
        g_rule, _ = self.estimator.gradient(self.problem(idx, seed, estimator_init=False))
        if self.rule == "bp":
            return 1.0
        g_bp, _ = self._get_estimator("bp").gradient(self.problem(idx, seed, estimator_init=False))
        return float(cosine(_real(g_rule), _real(g_bp)))

    # -- checkpoints --------------------------------------------------------------------------
    def checkpoint_arrays(self) -> dict:
        out = {}
        for kind, name, arr in self.params.items():
            out[f"{ {'weights': 'weights', 'biases': 'bias', 'memories': 'memory'}[kind]}/{name}"] = arr
        out.update(self.optimizer.state_dict())
        out["epoch"] = np.array(self.epoch, dtype=np.int64)
        out["fingerprint"] = np.array(fingerprint(self.scenario))
        for col in HISTORY_COLUMNS:
            out[f"history/{col}"] = np.array([np.nan if row.get(col) is None else row[col]
                                              for row in self.history], dtype=float)
        if self.persistent is not None:
            for b, s in self.persistent.items():
                out[f"persistent/{b}"] = s
        rng = _estimator_rng(self.estimator)
        if rng is not None:
            out["estimator_rng"] = np.array(json.dumps(rng.bit_generator.state))
        out.update(self.tracer.checkpoint_arrays())
        return out

    def restore(self, path: Path) -> None:
        arrays = resume_arrays(self.scenario, path)
        if "fingerprint" not in arrays:
            raise missing_key(path, "fingerprint")
        try:
            self._restore(arrays)
        except KeyError as err:
            raise missing_key(path, err.args[0]) from None

    def _restore(self, arrays: dict) -> None:
        prefix = {"weights": "weights", "biases": "bias", "memories": "memory"}
        for kind, name, arr in self.params.items():
            arr[...] = arrays[f"{prefix[kind]}/{name}"]
        self.optimizer.load_state_dict({k: v for k, v in arrays.items() if k.startswith("optim/")})
        self.epoch = int(arrays["epoch"])
        n = len(arrays["history/epoch"])
        self.history = []
        for i in range(n):
            row = {}
            for col in HISTORY_COLUMNS:
                v = float(arrays[f"history/{col}"][i])
                row[col] = None if np.isnan(v) else (int(v) if col == "epoch" else v)
            self.history.append(row)
        if self.persistent is not None:
            for b in self.persistent:
                self.persistent[b][...] = arrays[f"persistent/{b}"]
        if "estimator_rng" in arrays and _estimator_rng(self.estimator) is not None:
            _estimator_rng(self.estimator).bit_generator.state = json.loads(str(arrays["estimator_rng"]))
        self.tracer.load(arrays, self)


def _estimator_rng(estimator) -> np.random.Generator | None:
    """The random generator an estimator keeps between calls (``rng`` or ``_rng``), if any."""
    for name in ("rng", "_rng"):
        rng = getattr(estimator, name, None)
        if isinstance(rng, np.random.Generator):
            return rng
    return None


def _real(g: Params) -> Params:
    return Params({k: np.asarray(v).real for k, v in g.weights.items()},
                  {k: np.asarray(v).real for k, v in g.biases.items()},
                  {k: np.asarray(v).real for k, v in g.memories.items()})


def history_columns(trainer) -> list[str]:
    cols = list(HISTORY_COLUMNS)
    if not trainer.t["grad_cosine"]:
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


def run_train(scenario, progress: bool, run_dir: Path, resume: bool):
    """The ``train`` runner: returns (metrics, traces, extra) for :func:`run_scenario`."""
    trainer = Trainer(scenario)
    ckpt = Path(run_dir) / "checkpoint.npz"
    if resume and ckpt.exists():
        trainer.restore(ckpt)
        if progress:
            print(f"resuming {scenario['name']} after epoch {trainer.epoch}", file=sys.stderr)
    elif resume and progress:
        print(f"no checkpoint in {run_dir}; starting from epoch 0", file=sys.stderr)
    epochs = scenario["training"]["epochs"]
    cols = history_columns(trainer)

    def record(epoch: int, train: dict, seconds: float):
        ev = trainer.evaluate(trainer.x_test, trainer.y_test)
        row = {"epoch": epoch, **train, "test_accuracy": ev.accuracy, "seconds": seconds}
        if trainer.t["grad_cosine"]:
            row["grad_cosine_to_bp"] = trainer.grad_cosine()
        trainer.history.append(row)
        trainer.epoch = epoch
        trainer.tracer.epoch_end(trainer, epoch)
        # checkpoint first: history.csv never lists an epoch the checkpoint (--resume) does not hold
        write_npz(ckpt, trainer.checkpoint_arrays())
        write_csv(Path(run_dir) / "history.csv", trainer.history, cols)
        return row

    if trainer.epoch == 0 and not trainer.history:
        n0 = min(len(trainer.x_train), EVAL_CHUNK)
        ev0 = trainer.evaluate(trainer.x_train[:n0], trainer.y_train[:n0])
        record(0, {"train_loss": ev0.loss, "train_accuracy": ev0.accuracy}, 0.0)
    bar = Progress(epochs, label=f"{scenario['name']} [{trainer.rule}, seed {scenario['seed']}]", enabled=progress,
                   unit="epoch")
    for epoch in range(trainer.epoch + 1, epochs + 1):
        start = time.perf_counter()
        train = trainer.train_epoch(epoch, bar)
        check_finite(trainer, epoch, train["train_loss"])
        seconds = time.perf_counter() - start
        row = record(epoch, train, seconds)
        bar.update(epoch, f"acc {100 * row['test_accuracy']:.1f}%")
    bar.close()
    metrics = summarize(trainer.history, trainer.rule)
    metrics["n_train"], metrics["n_test"] = len(trainer.x_train), len(trainer.x_test)
    return metrics, trainer.tracer.traces(trainer.net.block_names()), {"trainer": trainer}
