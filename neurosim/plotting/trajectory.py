"""The lump's reverse process, step by step (``lump_trajectory.npz``): a digit emerging.

One row per class (its first sample), one column per sampler step: the noisy-image port x_i on
top rows and the network's denoised estimate D_i below, σ_i in the column title; pixels clipped
to [0, 1]. Written by a multitask run with ``[multitask.sample]``
(``experiments/lump_generation_eval.py``) or ``tools/lump_generation.py``; read here from the run
directory alone.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .style import save_figure

FILE = "lump_trajectory.npz"


def read_trajectory(run_dir) -> dict | None:
    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in z.keys()}
    for k in ("trajectory", "estimates", "sigmas", "labels"):
        if k not in out:
            raise ValueError(f"{path}: expected an array {k!r}")
    return out


def plot_trajectory(doc: dict, out: Path, max_columns: int = 10) -> Path:
    traj, est, sigmas, labels = doc["trajectory"], doc["estimates"], doc["sigmas"], doc["labels"]
    n_steps = est.shape[0]
    cols = np.unique(np.linspace(0, n_steps - 1, min(max_columns, n_steps)).round().astype(int))
    classes = np.unique(labels)
    first = [int(np.flatnonzero(labels == c)[0]) for c in classes]
    side = int(round(np.sqrt(traj.shape[-1])))
    fig, axes = plt.subplots(2 * len(classes), len(cols) + 1, figsize=(0.9 * (len(cols) + 1), 0.9 * 2 * len(classes)),
                             squeeze=False)
    for r, (c, i) in enumerate(zip(classes, first)):
        for j, s in enumerate(cols):
            for row, img, name in ((2 * r, traj[s, i], "x"), (2 * r + 1, est[s, i], "D")):
                ax = axes[row, j]
                ax.imshow(np.clip(img, 0, 1).reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
                ax.set_xticks([]), ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"σ={sigmas[s]:.2g}", fontsize=6)
                if j == 0:
                    ax.set_ylabel(f"{c} {name}", fontsize=6)
        for row, img in ((2 * r, traj[-1, i]), (2 * r + 1, traj[-1, i])):
            ax = axes[row, -1]
            ax.imshow(np.clip(img, 0, 1).reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
        if r == 0:
            axes[0, -1].set_title("sample", fontsize=6)
    fig.suptitle("reverse process in the lump: x_i (noisy port) and D_i (estimate port)", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    return save_figure(fig, out)
