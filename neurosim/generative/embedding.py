"""The noise-level / flow-time embedding e(u) of u ∈ [0, 1] (docs/generative-network.md).

``fourier`` = [u, sin(πku), cos(πku)]_{k=1..K} (2K + 1 features); ``onehot`` = K bins; ``none``.
"""
from __future__ import annotations

import numpy as np

EMBEDDINGS = ("fourier", "onehot", "none")


def embed_dim(kind: str, n: int) -> int:
    """Features of the embedding ``kind`` with ``n`` frequencies or bins: 2n + 1, n or 0."""
    if kind == "fourier":
        return 2 * n + 1
    if kind == "onehot":
        return n
    if kind == "none":
        return 0
    raise ValueError(f"unknown embedding {kind!r}; expected 'fourier', 'onehot' or 'none'")


def embed(u, kind: str, n: int, p: int | None = None) -> np.ndarray:
    """e(u) for u ∈ [0, 1] (scalar or (P,)): shape (P, embed_dim(kind, n))."""
    u = np.atleast_1d(np.asarray(u, dtype=np.float64)).ravel()
    if p is not None and u.size == 1:
        u = np.full(p, float(u[0]))
    if kind == "fourier":
        k = np.arange(1, n + 1)
        ang = np.pi * u[:, None] * k[None, :]
        return np.concatenate([u[:, None], np.sin(ang), np.cos(ang)], axis=1)
    if kind == "onehot":
        idx = np.clip((u * n).astype(int), 0, n - 1)
        out = np.zeros((u.size, n))
        out[np.arange(u.size), idx] = 1.0
        return out
    return np.zeros((u.size, 0))
