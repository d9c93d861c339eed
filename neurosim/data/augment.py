"""Data augmentation of image data sets: random integer translations with blank fill.

An example ``x`` (flattened ``rows × cols`` image) translated by ``(dy, dx)`` is
``x'[r, c] = x[r − dy, c − dx]`` where ``0 ≤ r − dy < rows`` and ``0 ≤ c − dx < cols``, else
``fill`` (the blank background): content moves ``dy`` rows down and ``dx`` columns right, what
leaves the frame is lost. Used by ``training.augment`` (docs/training.md).
"""
from __future__ import annotations

import numpy as np

#: spawn key of the offsets' generator: (training seed, epoch) with this key is a stream of its
#: own, apart from the epoch's shuffle ``default_rng([seed, epoch])`` and the batch seeds
OFFSET_STREAM = 1


def random_offsets(seed: int, epoch: int, n: int, shift: int) -> np.ndarray:
    """(n, 2) integer offsets (dy, dx), uniform on [-shift, shift]², from (seed, epoch) alone —
    so an epoch's translations never depend on what ran before, and a resumed run draws the same."""
    ss = np.random.SeedSequence([int(seed), int(epoch)], spawn_key=(OFFSET_STREAM,))
    return np.random.default_rng(ss).integers(-shift, shift + 1, size=(n, 2))


def translate(x: np.ndarray, offsets: np.ndarray, shape: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """Each row of ``x`` (n, rows·cols) translated by its row of ``offsets`` (n, 2) = (dy, dx),
    blank-filled with ``fill`` (module docstring). One gather over a padded copy of the batch:
    ``x'[i, r, c] = pad(x)[i, r − dy_i + s, c − dx_i + s]`` with ``s = max |offset|``."""
    rows, cols = shape
    n = len(x)
    offsets = np.asarray(offsets, dtype=np.int64).reshape(n, 2)
    s = int(np.abs(offsets).max()) if n else 0
    if s == 0:
        return x.copy()
    img = x.reshape(n, rows, cols)
    padded = np.full((n, rows + 2 * s, cols + 2 * s), fill, dtype=x.dtype)
    padded[:, s:s + rows, s:s + cols] = img
    r = np.arange(rows)[None, :] - offsets[:, :1] + s   # (n, rows)
    c = np.arange(cols)[None, :] - offsets[:, 1:] + s   # (n, cols)
    out = padded[np.arange(n)[:, None, None], r[:, :, None], c[:, None, :]]
    return out.reshape(n, rows * cols)
