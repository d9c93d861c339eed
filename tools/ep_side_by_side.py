"""neurosim's EP and the plain numpy EP (tools/numpy_ep_reference.py), epoch by epoch in one process.

    python tools/ep_side_by_side.py scenarios/digits_ep_peers.toml --epochs 10
    python tools/ep_side_by_side.py scenarios/mnist5k_ep_peers.toml --epochs 3

The scenario must be a layered ``ep_symmetric`` run under ``integrator = "discrete"`` (the
numpy code's iteration); the numpy network starts from neurosim's initial weights and biases and
sees the same batches (the trainer's epoch order), so the two should learn the same to rounding.
Epochs alternate (neurosim first in odd epochs, numpy first in even ones, so a drift of the
machine's speed hits both); each epoch's training is timed (wall and process CPU time), test
accuracy is measured after it, untimed. Prints one JSON line per epoch and a summary with the
medians and the median of the per-epoch ratios neurosim / numpy. About 1 s per digits epoch
pair on one core; ``--epochs 2`` is the quick variant.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from epoch_timing import scenario_with, timed  # noqa: E402
from numpy_ep_reference import NumpyEP  # noqa: E402

from neurosim.experiments.train import Trainer  # noqa: E402


def numpy_twin(tr: Trainer, dtype) -> tuple[NumpyEP, dict]:
    """A NumpyEP with the trainer's layers, initial parameters and hyper-parameters."""
    t, r = tr.training, tr.training["relax"]
    if tr.rule != "ep_symmetric" or r["integrator"] != "discrete" or tr.layers is None:
        raise SystemExit("needs a layered ep_symmetric scenario with integrator = \"discrete\"")
    layers = tr.layers
    names = {(p.pre, p.post): p.name for p in tr.net.projections}
    ws = [tr.params.weights[names[(a, b)]] for a, b in zip(layers[:-1], layers[1:])]
    bs = [tr.params.biases[b] for b in layers[1:]]
    net = NumpyEP([w.shape[0] for w in ws] + [ws[-1].shape[1]], dtype=dtype,
                  weights=[w.copy() for w in ws], biases=[b.copy() for b in bs])
    hp = {"lrs": [tr.optimizer.lrs[("weights", names[(a, b)])] for a, b in zip(layers[:-1], layers[1:])],
          "beta": float(t["rule_options"]["beta"]), "t1": int(round(r["free_duration"] / r["dt"])),
          "t2": int(round(r["nudged_duration"] / r["dt"])), "batch": int(t["batch_size"])}
    return net, hp


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE scenario override")
    ap.add_argument("--numpy-cache", action=argparse.BooleanOptionalAction, default=True,
                    help="numpy computes the input's drive once per batch (default) or every step")
    args = ap.parse_args(argv)
    sc = scenario_with(args.scenario, args.set)
    tr = Trainer(sc)
    dtype = tr.dtype
    npnet, hp = numpy_twin(tr, dtype)
    x_tr, x_te = tr.x_train.astype(dtype), tr.x_test.astype(dtype)
    onehot = np.eye(tr.n_classes, dtype=dtype)
    warm = Trainer(sc)  # warm-up on a throwaway trainer: numba compilation / cache load
    warm.estimator.gradient(warm.problem(np.arange(hp["batch"]), 0))
    warm.evaluate(warm.x_test[:5], warm.y_test[:5])
    npnet_warm, _ = numpy_twin(warm, dtype)
    npnet_warm.train_batch(x_tr[:hp["batch"]], onehot[tr.y_train[:hp["batch"]]], hp["lrs"], hp["beta"],
                           hp["t1"], hp["t2"], args.numpy_cache)

    def numpy_epoch(epoch):
        order = tr.order(epoch)
        for i in range(0, len(order), hp["batch"]):
            idx = order[i:i + hp["batch"]]
            npnet.train_batch(x_tr[idx], onehot[tr.y_train[idx]], hp["lrs"], hp["beta"], hp["t1"],
                              hp["t2"], args.numpy_cache)

    rows = []
    for epoch in range(1, args.epochs + 1):
        runs = [("neurosim", lambda: tr.train_epoch(epoch)), ("numpy", lambda: numpy_epoch(epoch))]
        times = {}
        for name, fn in (runs if epoch % 2 else runs[::-1]):
            times[name] = timed(fn)
        row = {"epoch": epoch,
               "neurosim_s": times["neurosim"][0], "numpy_s": times["numpy"][0],
               "neurosim_cpu_s": times["neurosim"][1], "numpy_cpu_s": times["numpy"][1],
               "ratio_wall": times["neurosim"][0] / times["numpy"][0],
               "ratio_cpu": times["neurosim"][1] / times["numpy"][1],
               "neurosim_test_acc": tr.evaluate(tr.x_test, tr.y_test).accuracy,
               "numpy_test_acc": npnet.accuracy(x_te, tr.y_test, hp["t1"], args.numpy_cache)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    med = {k: float(np.median([r[k] for r in rows])) for k in rows[0] if k != "epoch" and "acc" not in k}
    print(json.dumps({"scenario": sc["name"], "dtype": str(dtype), "numpy_cache": args.numpy_cache,
                      "epochs": args.epochs, **{f"median_{k}": v for k, v in med.items()},
                      "neurosim_final_acc": rows[-1]["neurosim_test_acc"],
                      "neurosim_best_acc": max(r["neurosim_test_acc"] for r in rows),
                      "numpy_final_acc": rows[-1]["numpy_test_acc"],
                      "numpy_best_acc": max(r["numpy_test_acc"] for r in rows)}))


if __name__ == "__main__":
    main()
