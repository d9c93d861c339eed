"""A plain numpy EP, as the public PyTorch EP code runs it, to time and check neurosim against.

    python tools/numpy_ep_reference.py --data digits --sizes 64,256,10 --epochs 10
    python tools/numpy_ep_reference.py --data mnist5k --sizes 784,512,10 --epochs 3

The model of "Scaling Equilibrium Propagation to Deep ConvNets by Drastically Reducing its
Gradient Estimator Bias" (its P_MLP) and of Scellier & Bengio's "Equilibrium Propagation":
states s_l (s_0 = the input), primitive Φ = Σ_l s_{l+1}·(s_l W_l + b_l) − β ½‖s_L − y‖², and the
synchronous iteration s_l ← ρ(∂Φ/∂s_l) for every layer at once, i.e.

    s_l ← ρ(s_{l−1} W_{l−1} + b_{l−1} + s_{l+1} W_lᵀ)          (l < L)
    s_L ← ρ(s_{L−1} W_{L−1} + b_{L−1} + β (y − s_L))

with ρ(x) = 1/(1 + e^{−4(x − 0.5)}), from s = 0 for T1 free steps, then T2 steps at +β and T2 at
−β, both from the free state. Update (symmetric EP): ΔW_l = lr_l (s_lᵀ s_{l+1}|₊β − s_lᵀ s_{l+1}|₋β)
/ (2β·B), Δb_l likewise with the batch mean of s_{l+1}; plain SGD. The input's drive s_0 W_0 + b_0
does not change within a batch: ``--cache`` (default) computes it once per batch (for its three
phases), ``--no-cache`` at every step (as the PyTorch code does). Prints one JSON line per epoch and a summary.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rho(x):
    return 1.0 / (1.0 + np.exp(-4.0 * (x - 0.5)))


class NumpyEP:
    """The layered EP network above; weights W[l] (n_l, n_{l+1}), biases b[l] (n_{l+1},)."""

    def __init__(self, sizes, seed=0, dtype=np.float64, weights=None, biases=None):
        rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        # torch.nn.Linear's default initialisation: U(±1/√fan_in) for weights and biases
        lim = [1.0 / np.sqrt(n) for n in sizes[:-1]]
        self.W = weights or [rng.uniform(-a, a, (m, n)) for a, m, n in zip(lim, sizes[:-1], sizes[1:])]
        self.b = biases or [rng.uniform(-a, a, n) for a, n in zip(lim, sizes[1:])]
        self.W = [np.asarray(w, dtype=self.dtype) for w in self.W]
        self.b = [np.asarray(b, dtype=self.dtype) for b in self.b]

    def relax(self, x, s, steps, beta=0.0, y=None, cache=True, drive0=None):
        """``steps`` synchronous iterations from the states ``s`` (list, layers 1..L); ``drive0``
        the input's drive if already known (with ``cache``)."""
        L = len(s)
        if cache and drive0 is None:
            drive0 = x @ self.W[0] + self.b[0]
        for _ in range(steps):
            new = []
            for l in range(L):
                below = s[l - 1] if l > 0 else x
                h = (drive0 if (l == 0 and cache) else below @ self.W[l] + self.b[l])
                if l + 1 < L:
                    h = h + s[l + 1] @ self.W[l + 1].T
                else:
                    if beta != 0.0:
                        h = h + beta * (y - s[l])
                new.append(rho(h))
            s = new
        return s

    def free(self, x, steps, cache=True, drive0=None):
        s = [np.zeros((len(x), w.shape[1]), dtype=self.dtype) for w in self.W]
        return self.relax(x, s, steps, cache=cache, drive0=drive0)

    def train_batch(self, x, y, lrs, beta, t1, t2, cache=True):
        drive0 = x @ self.W[0] + self.b[0] if cache else None  # once for the batch's 3 phases
        free = self.free(x, t1, cache, drive0)
        plus = self.relax(x, free, t2, beta, y, cache, drive0)
        minus = self.relax(x, free, t2, -beta, y, cache, drive0)
        scale = 1.0 / (2.0 * beta * len(x))
        for l in range(len(self.W)):
            below_p = plus[l - 1] if l > 0 else x
            below_m = minus[l - 1] if l > 0 else x
            if l == 0:  # x is the same in both phases: one product
                dw = x.T @ (plus[0] - minus[0])
            else:
                dw = below_p.T @ plus[l] - below_m.T @ minus[l]
            self.W[l] += (lrs[l] * scale) * dw
            self.b[l] += (lrs[l] * scale * len(x)) * (plus[l] - minus[l]).mean(axis=0)
        return free[-1]

    def accuracy(self, x, labels, t1, cache=True):
        return float(np.mean(np.argmax(self.free(x, t1, cache)[-1], axis=1) == labels))


def load(name, dtype):
    """The data set with neurosim's split and min–max scaling into [0, 1] (train split)."""
    from neurosim.data import load_dataset
    ds = load_dataset(name, seed=0)
    mn, mx = float(ds.x_train.min()), float(ds.x_train.max())
    sc = [((x - mn) / (mx - mn)).astype(dtype) for x in (ds.x_train, ds.x_test)]
    return sc[0], ds.y_train, sc[1], ds.y_test, ds.n_classes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="digits")
    ap.add_argument("--sizes", default="64,256,10")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--lrs", default="0.1,0.05")
    ap.add_argument("--beta", type=float, default=0.5)
    ap.add_argument("--t1", type=int, default=30)
    ap.add_argument("--t2", type=int, default=10)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args(argv)
    from neurosim.engine.threads import configure_blas_threads
    configure_blas_threads()  # the same BLAS thread limit as the engine (1 unless set)
    dtype = np.dtype(args.dtype)
    x_tr, y_tr, x_te, y_te, n_cls = load(args.data, dtype)
    sizes = [int(v) for v in args.sizes.split(",")]
    lrs = [float(v) for v in args.lrs.split(",")]
    net = NumpyEP(sizes, args.seed, dtype)
    onehot = np.eye(n_cls, dtype=dtype)
    secs, accs = [], []
    for epoch in range(1, args.epochs + 1):
        order = np.random.default_rng([args.seed, epoch]).permutation(len(x_tr))
        start = time.perf_counter()
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            net.train_batch(x_tr[idx], onehot[y_tr[idx]], lrs, args.beta, args.t1, args.t2, args.cache)
        secs.append(time.perf_counter() - start)
        accs.append(net.accuracy(x_te, y_te, args.t1, args.cache))
        print(json.dumps({"epoch": epoch, "seconds": secs[-1], "test_accuracy": accs[-1]}), flush=True)
    print(json.dumps({"data": args.data, "sizes": sizes, "dtype": args.dtype, "cache": args.cache,
                      "median_seconds_per_epoch": float(np.median(secs)),
                      "final_test_accuracy": accs[-1], "best_test_accuracy": max(accs)}))


if __name__ == "__main__":
    main()
