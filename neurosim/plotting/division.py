"""The division-of-labour heatmap (``division_of_labour.npz``): blocks × tasks, two panels.

Left: the damage of silencing block b for task k — the score lost when b is held at 0, as a
fraction of what is lost when every hidden block is silenced at once (1 = as much). Right: the share of
task k's exact gradient norm (squared) that lands on b's projections and bias (each column sums
to 1). Cells that are no measurement are grey and labelled: ``readout`` (the task's own target),
``silent`` (another task's port, held at 0 in this task's evaluation anyway).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .style import save_figure

LABELS = {"target": "readout", "silent": "silent"}


def plot_division(doc: dict, out: Path, title: str | None = None) -> Path:
    blocks, tasks, role = [str(b) for b in doc["blocks"]], [str(t) for t in doc["tasks"]], doc["role"]
    # (array, title, colour map, range, cells not measured, dark colours at the high end)
    panels = [("damage", "silencing b: score lost / lost with all hidden silenced", "magma_r", (0.0, 1.0),
               ("target", "silent"), True),
              ("grad_share", "share of task k's exact ‖∇C_k‖² on b", "viridis", (0.0, None), ("silent",), False)]
    fig, axes = plt.subplots(1, 2, figsize=(2.6 + 2.4 * len(tasks), 1.4 + 0.42 * len(blocks)),
                             layout="constrained")
    for ax, (key, head, cmap_name, (lo, hi), masked, dark_high) in zip(axes, panels):
        values = np.asarray(doc[key], dtype=float).copy()
        shown = np.where(np.isin(role, list(masked)), np.nan, values)
        finite = shown[np.isfinite(shown)]
        vmax = hi if hi is not None else (float(finite.max()) if finite.size else 1.0)
        cmap = plt.get_cmap(cmap_name).with_extremes(bad="#dddddd")
        im = ax.imshow(np.ma.masked_invalid(np.clip(shown, lo, vmax) if finite.size else shown), cmap=cmap,
                       vmin=lo, vmax=vmax, aspect="auto")
        for i in range(len(blocks)):
            for j in range(len(tasks)):
                r = str(role[i, j])
                if r in masked:
                    text, colour = LABELS[r], "#666666"
                elif not np.isfinite(values[i, j]):
                    text, colour = "–", "#666666"
                else:
                    v = values[i, j]
                    text = f"{v:.2f}" + ("*" if r == "condition" else "†" if r == "target" else "")
                    frac = (min(max(v, lo), vmax) - lo) / (vmax - lo) if vmax > lo else 0.0
                    colour = "white" if (frac > 0.55) == dark_high else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color=colour)
        ax.set_xticks(range(len(tasks)), tasks, fontsize=8)
        ax.set_yticks(range(len(blocks)), blocks, fontsize=8)
        ax.set_xlabel("task k")
        ax.set_title(head, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[0].set_ylabel("block b")
    fig.suptitle(title or "Who does what (* = the task's own condition port, † = its readout)", fontsize=10)
    return save_figure(fig, out)
