"""Figures of generated samples, from ``samples.npz``.

d == 2  → scatter of samples over the reference;  d == 64 → 8×8 grey images (rows by label);
otherwise → histograms of the first coordinates, samples vs reference. A multitask run with
``sample.bp`` also gets the lump's grid beside its bp-trained twin's (``samples_bp.npz``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .style import plt, save_figure, subsample

MAX_POINTS = 5_000
GRID = 10                 # images per row / rows in an image grid
MAX_HIST_DIMS = 4


def plot_samples(data: dict[str, np.ndarray], out: Path) -> Path | None:
    s = data["samples"]
    if s.size == 0:
        return None
    d = s.shape[1]
    if d == 2:
        return _scatter(data, out)
    if d == 64:
        return _images(data, out)
    return _histograms(data, out)


def plot_samples_vs_bp(lump: dict[str, np.ndarray], bp: dict[str, np.ndarray], out: Path) -> Path | None:
    """The lump's 8×8 samples beside the bp-trained network's, rows by label (same labels)."""
    if lump["samples"].shape[1] != 64 or bp["samples"].shape[1] != 64:
        return None
    return _images({"samples": lump["samples"], "reference": bp["samples"], "labels": lump.get("labels")}, out,
                   names=("the lump (online, concurrent)", "backprop (bp): the same network, this task alone"),
                   title="Samples by the same reverse process", paired=True)


def _scatter(data, out):
    s, ref, labels = data["samples"], data.get("reference"), data.get("labels")
    fig, ax = plt.subplots(figsize=(6, 5.6), layout="constrained")
    if ref is not None and len(ref):
        r = ref[subsample(len(ref), MAX_POINTS)]
        ax.scatter(r[:, 0], r[:, 1], s=5, color="0.6", alpha=0.5, label=f"reference (n={len(ref)})",
                   rasterized=True)
    idx = subsample(len(s), MAX_POINTS)
    if labels is not None and len(labels) == len(s):
        for i, lab in enumerate(np.unique(labels)[:10]):
            sel = idx[labels[idx] == lab]
            ax.scatter(s[sel, 0], s[sel, 1], s=6, color=f"C{i}", alpha=0.7,
                       label=f"samples, label {lab}", rasterized=True)
    else:
        ax.scatter(s[idx, 0], s[idx, 1], s=6, color="C3", alpha=0.7,
                   label=f"samples (n={len(s)})", rasterized=True)
    ax.set_xlabel("x₁ (data units)")
    ax.set_ylabel("x₂ (data units)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=8, markerscale=2.5)
    ax.grid(alpha=0.3)
    ax.set_title("Generated samples vs reference")
    return save_figure(fig, out)


def _grid(images: np.ndarray, rows: list[np.ndarray]) -> np.ndarray:
    """Tile rows of 8×8 images into one array with 1-pixel NaN gutters."""
    tile = np.full((len(rows) * 9 - 1, GRID * 9 - 1), np.nan)
    for r, row in enumerate(rows):
        for c, k in enumerate(row[:GRID]):
            tile[r * 9:r * 9 + 8, c * 9:c * 9 + 8] = images[k].reshape(8, 8)
    return tile


def _image_rows(n: int, labels: np.ndarray | None) -> tuple[list[np.ndarray], list[str]]:
    if labels is not None and len(labels) == n:
        uniq = np.unique(labels)[:GRID]
        return [np.flatnonzero(labels == u)[:GRID] for u in uniq], [str(u) for u in uniq]
    rows = [np.arange(i, min(i + GRID, n)) for i in range(0, min(n, GRID * GRID), GRID)]
    return rows, [str(i * GRID) for i in range(len(rows))]


def plot_inpainting(data: dict[str, np.ndarray], out: Path) -> Path | None:
    """``inpainting.npz``: inpainted test digits (top half given, bottom half generated) beside
    the originals, rows by label when ``labels`` exist."""
    filled, original = np.asarray(data["inpainted"]), np.asarray(data["original"])
    if filled.size == 0 or filled.reshape(len(filled), -1).shape[1] != 64:
        return None
    filled, original = filled.reshape(len(filled), 64), original.reshape(len(original), 64)
    labels = data.get("labels")
    if labels is not None and len(labels) == len(filled):
        order = np.argsort(labels, kind="stable")
        filled, original, labels = filled[order], original[order], labels[order]
    else:
        labels = None
    return _images({"samples": filled, "reference": original, "labels": labels}, out,
                   names=("inpainted (top half given)", "original"),
                   title="Inpainting: the bottom half generated from the top half", paired=True)


def _images(data, out, names=("samples", "reference"), title="Generated 8×8 images", paired=False):
    s, ref, labels = data["samples"], data.get("reference"), data.get("labels")
    panels = [(names[0], s, labels)]
    if ref is not None and len(ref):
        # the reference rows follow the labels too when the arrays pair up (inpainting, lump vs bp)
        panels.append((names[1], ref, labels if paired else None))
    finite = np.concatenate([p[1][np.isfinite(p[1])].ravel() for p in panels])
    vmin, vmax = (np.percentile(finite, 1), np.percentile(finite, 99)) if finite.size else (0, 1)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels) + 0.8, 5.2),
                             layout="constrained", squeeze=False)
    cmap = plt.get_cmap("gray_r").with_extremes(bad="white")
    for ax, (name, imgs, labs) in zip(axes[0], panels):
        rows, names = _image_rows(len(imgs), labs)
        tile = _grid(imgs, rows)
        im = ax.imshow(tile, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([r * 9 + 3.5 for r in range(len(rows))], names, fontsize=8)
        ax.set_ylabel("label" if labs is not None and len(labs) == len(imgs) else "sample index")
        ax.set_xlabel(f"{name}: 8×8 images (n={len(imgs)})")
        ax.set_title(name[0].upper() + name[1:], fontsize=10)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.7, label="pixel value (data units)")
    fig.suptitle(title + (" (rows by label)" if labels is not None else ""), fontsize=11)
    return save_figure(fig, out)


def _histograms(data, out):
    s, ref = data["samples"], data.get("reference")
    k = min(MAX_HIST_DIMS, s.shape[1])
    fig, axes = plt.subplots(1, k, figsize=(3.4 * k + 0.6, 3.4), layout="constrained", squeeze=False)
    for j, ax in enumerate(axes[0]):
        x = s[:, j][np.isfinite(s[:, j])]
        parts = [x] + ([ref[:, j][np.isfinite(ref[:, j])]] if ref is not None and ref.shape[1] > j else [])
        lo, hi = min(p.min() for p in parts if p.size), max(p.max() for p in parts if p.size)
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 40)
        if len(parts) > 1:
            ax.hist(parts[1], bins=bins, density=True, color="0.6", alpha=0.6, label="reference")
        ax.hist(x, bins=bins, density=True, histtype="step", color="C3", lw=1.5, label="samples")
        ax.set_xlabel(f"x[{j}] (data units)")
        ax.set_ylabel("density")
        ax.set_title(f"coordinate {j}", fontsize=10)
        if len(parts) > 1:
            ax.legend(fontsize=8)
    fig.suptitle(f"Generated samples: first {k} of {s.shape[1]} coordinates", fontsize=11)
    return save_figure(fig, out)
