"""What a generative run trains on: the data sets, their shapes, and the condition rows.

Toys are drawn fresh (infinite data); digits come from the stratified 1347/450 split with pixels
scaled to [−1, 1]. ``labels`` are classes (digits) or mixture components (gaussian_mixture, the
condition of score composition). The digits geometry (64 pixels, 10 classes) is the data set's own
(:func:`neurosim.data.datasets.describe`); the inpainting condition is its top half, the first
``dim // 2`` pixels of the 8 × 8 image in row order.
"""
from __future__ import annotations

import numpy as np

from ..data import toy2d
from ..data.datasets import describe

#: the 2-D toy generators f(n, rng, **options) a generative scenario may name
TOY_GENERATORS = {"moons": toy2d.moons, "eight_gaussians": toy2d.eight_gaussians,
                  "gaussian_mixture": toy2d.gaussian_mixture}
TOY_DATA = tuple(TOY_GENERATORS)
DATA_NAMES = TOY_DATA + ("digits",)
#: condition kinds: none, the one-hot class, or the class and the top half (inpainting)
CONDITIONS = ("none", "class", "class+top")


def data_shape(name: str, options: dict) -> tuple[int, int]:
    """(dimension, classes) of generative data ``name`` without loading or drawing it
    (classes: 0 for the unlabelled toys, K components for gaussian_mixture)."""
    if name == "digits":
        return describe("digits", {})
    if name == "gaussian_mixture":
        means = np.asarray(options["means"], float)
        return means.shape[1], means.shape[0]
    if name in TOY_GENERATORS:
        return 2, 0
    raise ValueError(f"unknown generative data {name!r}; expected one of {DATA_NAMES}")


def top_half(dim: int) -> int:
    """Pixels of the inpainting condition: the top half of an image in row order."""
    return dim // 2


def cond_width(condition: str, dim: int, n_classes: int) -> int:
    """Units of the condition field c: 0, the classes, or the classes and the top half."""
    return {"none": 0, "class": n_classes, "class+top": n_classes + top_half(dim)}[condition]


class GenData:
    """Training and reference samples (see the module docstring)."""

    def __init__(self, name: str, options: dict, split_seed: int = 0):
        self.name, self.options = name, dict(options)
        self.n_classes = 0
        if name == "digits":
            from ..data import load_dataset
            ds = load_dataset("digits", seed=split_seed)
            self.x_train, self.y_train = 2.0 * ds.x_train - 1.0, ds.y_train
            self.x_test, self.y_test = 2.0 * ds.x_test - 1.0, ds.y_test
            self.dim, self.n_classes = data_shape("digits", {})
        elif name == "gaussian_mixture":
            self.means = np.asarray(options["means"], float)
            self.stds = np.asarray(options["stds"], float)
            self.weights = np.asarray(options.get("weights", np.ones(len(self.means)) / len(self.means)), float)
            self.n_classes, self.dim = len(self.means), self.means.shape[1]
        elif name in ("moons", "eight_gaussians"):
            self.dim = 2
        else:
            raise ValueError(f"unknown generative data {name!r}; expected one of {DATA_NAMES}")
        self.half = top_half(self.dim)

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
        stds = self.component_stds()
        return self.means[k] + stds[k] * rng.standard_normal((n, self.dim)), k

    def component_stds(self) -> np.ndarray:
        """(K, d) per-coordinate standard deviations of the mixture components."""
        return self.stds if self.stds.ndim == 2 else self.stds[:, None] * np.ones_like(self.means)

    def exact(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.sample(n, rng, train=False)[0]

    def product(self, classes, n: int, rng: np.random.Generator) -> np.ndarray:
        """Exact samples of the normalised product Π_c N(μ_c, diag s_c²) (score composition)."""
        stds = self.component_stds()
        prec = sum(1.0 / stds[c] ** 2 for c in classes)
        mean = sum(self.means[c] / stds[c] ** 2 for c in classes) / prec
        return mean + rng.standard_normal((n, self.dim)) / np.sqrt(prec)


def cond_dim(g: dict, data: GenData) -> int:
    return cond_width(g["condition"], data.dim, data.n_classes)


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
    top = x0[:, :data.half].copy()
    if drop:
        top *= (rng.random(p) >= g["p_drop_top"])[:, None]
    return np.concatenate([onehot, top], axis=1)
