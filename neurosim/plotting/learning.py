"""``history.png``: every numeric column of ``history.csv`` vs epoch (or step / time), grouped by kind.

Accuracies are drawn as the error 100 · (1 − accuracy) in percent on a log axis (0.978 and 0.987
are 2.2 % and 1.3 %: a factor 1.7 apart, where on a linear accuracy axis they look equal). With
``x = "wall"`` the x axis is cumulative wall-clock seconds (the running sum of the ``seconds``
column) when the history has one.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .io.tables import Table
from .style import (TIME_LABEL, WALL_LABEL, error_percent, integer_ticks, is_accuracy, log_scale_fits,
                    plain_log_ticks, plt, pretty, save_figure, series_styles, wall_clock)

GROUP_KEYWORDS = (("loss", "loss"), ("acc", "error (%)"), ("cos", "gradient cosine"),
                  ("w2", "W₂ distance"), ("seconds", "time (s)"), ("lr", "learning rate"))
X_CHOICES = ("epoch", "wall")


def _group_of(column: str) -> tuple[str, str]:
    """(group key, legend label). ``task/<name>/<metric>`` columns group by metric."""
    parts = column.split("/")
    metric = parts[-1]
    if len(parts) >= 3 and parts[0] == "task":
        label = "task " + "/".join(parts[1:-1])
    else:
        label = pretty(column)
    if is_accuracy(column):
        label = label.replace("accuracy", "error")
    low = metric.lower()
    for kw, group in GROUP_KEYWORDS:
        if kw in low:
            return group, label
    return metric, label


def history_x(table: Table, x: str = "epoch") -> tuple[str, np.ndarray, str] | None:
    """(column name, values, axis label) of the history's x axis: ``epoch`` / ``step`` / ``time``
    (the first numeric column), or cumulative wall seconds when ``x == "wall"`` and a ``seconds``
    column exists (else the default, with ``(no wall time)`` in the label)."""
    if x not in X_CHOICES:
        raise ValueError(f"x must be one of {X_CHOICES}, got {x!r}")
    xname = table.columns[0] if table.columns and table.columns[0] == "time" else "epoch"
    if xname not in table.numeric:
        xname = next(iter(table.numeric), None)
    if xname is None:
        return None
    label = TIME_LABEL if xname == "time" else pretty(xname)
    if x == "wall":
        wall = wall_clock(table.numeric.get("seconds"), table.numeric.get("wall_seconds"))
        if wall is not None:
            return xname, wall, WALL_LABEL
        label += " (no wall time in history.csv)"
    return xname, table.numeric[xname], label


def plot_history(table: Table, out: Path, x: str = "epoch") -> Path | None:
    """Every numeric column against the history's x axis (:func:`history_x`), one panel per kind."""
    spec = history_x(table, x)
    if spec is None:
        return None
    xname, xs, xlabel = spec
    skip = {xname, "seconds", "wall_seconds"} if xlabel == WALL_LABEL else {xname}
    groups: dict[str, list[tuple[str, str]]] = {}
    for col in table.columns:
        if col in skip or col not in table.numeric or not np.isfinite(table.numeric[col]).any():
            continue
        key, label = _group_of(col)
        groups.setdefault(key, []).append((col, label))
    if not groups:
        return None
    ncol = 1 if len(groups) == 1 else 2
    nrow = math.ceil(len(groups) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 1.0 + 2.7 * nrow),
                             layout="constrained", squeeze=False)
    for ax, (group, cols) in zip(axes.ravel(), groups.items()):
        styles = series_styles(label for _, label in cols)
        ys = [error_percent(table.numeric[c]) if is_accuracy(c) else table.numeric[c] for c, _ in cols]
        for (col, label), y in zip(cols, ys):
            ok = np.isfinite(y) & np.isfinite(xs)
            style = dict(styles[label])
            if ok.sum() > 30:
                style["marker"] = None
            ax.plot(xs[ok], y[ok], ms=3, lw=1.3, label=label, **style)
        single = pretty(cols[0][0].split("/")[-1]) if len(cols) == 1 else group
        if is_accuracy(cols[0][0]) and len(cols) == 1:
            single = cols[0][1] + " (%)"
        ax.set_ylabel(single)
        ax.set_xlabel(xlabel)
        ax.set_title(single if len(cols) == 1 else group, fontsize=10)
        if len(cols) > 1:
            ax.legend(fontsize=8)
        if ("loss" in group or "error" in group) and log_scale_fits(*ys):
            ax.set_yscale("log")
            plain_log_ticks(ax)
        if xname in ("epoch", "step") and xlabel != WALL_LABEL:
            integer_ticks(ax)
        ax.grid(alpha=0.3, which="both")
    for ax in axes.ravel()[len(groups):]:
        ax.set_visible(False)
    fig.suptitle("Training history" + (" vs wall-clock time" if xlabel == WALL_LABEL else ""),
                 fontsize=11)
    return save_figure(fig, out)
