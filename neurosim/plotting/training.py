"""Figures of what a training run's phases and weights did, from ``traces.npz`` alone.

- ``phases.png``        per traced batch (epoch e, batch k): the energy F(t) = E + λC (mean over
  the batch) of the free phase and of every nudged phase forking from the free fixed point, and
  the stationarity residual max|Π(x + g) − x| on a log axis (with ``tol`` where one is set);
- ``weight_norms.png``  per projection vs epoch: the norm ‖W‖_F and the epoch's update size
  ‖W_e − W_{e−1}‖_F (log axis).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .style import TIME_LABEL, coincident, integer_ticks, plt, save_figure, series_styles

MAX_COLUMNS = 4     # traced batches drawn (the first two and the last two beyond that)


def _columns(n: int) -> list[int]:
    if n <= MAX_COLUMNS:
        return list(range(n))
    return [0, 1, n - 2, n - 1]


def _positive(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return np.where(v > 0, v, np.nan)


def plot_phases(tr: dict, out: Path) -> Path | None:
    """Energy and log residual over time of the free and nudged phases of the traced batches."""
    if "phases/epoch" not in tr or len(tr["phases/epoch"]) == 0:
        return None
    labels = [str(s) for s in tr["phases/labels"]]
    styles = series_styles(labels)
    styles["free"] = {**styles["free"], "color": "k"}
    tf, tn = tr["phases/free_time"], tr["phases/nudged_time"]
    cols = _columns(len(tr["phases/epoch"]))
    fig, axes = plt.subplots(2, len(cols), figsize=(3.6 * len(cols) + 1.0, 6.0), layout="constrained",
                             squeeze=False, sharex=True)
    tol = float(tr.get("phases/tol", 0.0))
    for j, i in enumerate(cols):
        ax_e, ax_r = axes[0, j], axes[1, j]
        curves = [("free", tf, tr["phases/free_energy"][i], tr["phases/free_residual"][i])]
        curves += [(labels[q + 1], tn, tr["phases/nudged_energy"][i, q], tr["phases/nudged_residual"][i, q])
                   for q in range(tr["phases/nudged_energy"].shape[1])]
        # conjugate hEP points have equal Re F and residual: a line under another is drawn
        # dashed on top and named "(= other)", so no phase is invisible
        same = coincident({c[0]: [c[2], c[3]] for c in curves})
        for label, t, e, r in curves:
            st = dict(styles[label], marker=None)
            name = label if label == "free" else f"nudged {label}"
            if label in same:
                st["ls"] = (0, (3, 3))
                name += f" (= {same[label][0]})"
            ax_e.plot(t, e, lw=1.3, label=name, **st)
            ax_r.plot(t, _positive(r), lw=1.3, **st)
        for ax in (ax_e, ax_r):
            ax.axvline(tf[-1], color="0.6", lw=0.8, ls=":")
            ax.grid(alpha=0.3, which="both")
        if np.isfinite(_positive(np.concatenate([c[3] for c in curves]))).any():
            ax_r.set_yscale("log")
        if tol > 0:
            ax_r.axhline(tol, color="0.4", lw=0.8, ls="--", label=f"tol = {tol:.3g}")
            ax_r.legend(fontsize=7, loc="best")
        ax_e.set_title(f"epoch {int(tr['phases/epoch'][i])}, batch {int(tr['phases/batch'][i])}", fontsize=10)
        ax_r.set_xlabel(TIME_LABEL)
        if j == 0:
            ax_e.set_ylabel("F = E + λC (mean over batch)")
            ax_r.set_ylabel("residual max|Π(x+g) − x|")
            ax_e.legend(fontsize=7, loc="best")
    fig.suptitle("Training phases: free phase, then each nudged phase from the free fixed point "
                 "(dotted: end of the free phase)", fontsize=10)
    return save_figure(fig, out)


def plot_weight_norms(tr: dict, out: Path) -> Path | None:
    """‖W‖_F and the update size ‖W_e − W_{e−1}‖_F per projection vs epoch."""
    if "weights/epoch" not in tr or len(tr["weights/epoch"]) == 0 or tr["weights/norm"].size == 0:
        return None
    epochs = np.asarray(tr["weights/epoch"])
    names = [str(s) for s in tr["weights/projections"]]
    styles = series_styles(names)
    fig, (ax_n, ax_u) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    trained = epochs > 0
    for q, name in enumerate(names):
        ax_n.plot(epochs, tr["weights/norm"][:, q], ms=4, lw=1.3, label=name, **styles[name])
        ax_u.plot(epochs[trained], _positive(tr["weights/update"][trained, q]), ms=4, lw=1.3, label=name,
                  **styles[name])
    ax_n.set_title("weight norm ‖W‖_F (epoch 0: initial)", fontsize=10)
    ax_u.set_title("update size ‖W_e − W_(e−1)‖_F per epoch", fontsize=10)
    if np.isfinite(_positive(tr["weights/update"][trained])).any():
        ax_u.set_yscale("log")
    else:
        ax_u.text(0.5, 0.5, "no update (every rate 0?)", transform=ax_u.transAxes, ha="center")
    for ax in (ax_n, ax_u):
        ax.set_xlabel("epoch")
        integer_ticks(ax)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("Weights per projection vs epoch", fontsize=11)
    return save_figure(fig, out)
