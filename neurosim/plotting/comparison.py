"""Figures of a rule comparison (``neurosim compare``).

- ``compare_curves.png``   per metric: mean ± std over seeds vs epoch / step (or wall-clock
  seconds), one line per rule;
- ``compare_summary.png``  the headline metric per rule (test error % on a log axis, or W₂ on an
  axis zoomed to the data) with every seed's value, and wall-clock seconds per rule.

Both take the same rule order (:func:`~.io.rule_order`: the order the rules ran in) and so give each
rule one colour and marker in every figure. Accuracies are shown as error 100 · (1 − accuracy) %.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .io.tables import Table
from .style import (WALL_LABEL, error_percent, integer_ticks, is_accuracy, log_scale_fits, plain_log_ticks,
                    plt, pretty, save_figure, series_styles)

X_COLUMNS = ("epoch", "step")
#: headline metric of a comparison, in order of preference (W₂ for generative comparisons)
HEADLINES = ("test_accuracy", "w2")


def compare_x(table: Table) -> str | None:
    return next((c for c in X_COLUMNS if c in table.numeric), None)


def compare_metrics(table: Table) -> list[str]:
    """Numeric metric columns of compare_history.csv that hold any data."""
    skip = {"rule", "seed", "epoch", "step", "time", "wall_seconds", "seconds"}
    return [c for c in table.columns
            if c not in skip and c in table.numeric and np.isfinite(table.numeric[c]).any()]


def rule_styles(rules: list[str]) -> dict[str, dict]:
    """One colour × marker × dash per rule, by position in the comparison's rule order."""
    return series_styles(rules)


def plot_compare_curves(table: Table, out: Path, rules: list[str] | None = None,
                        x: str = "epoch") -> Path | None:
    """Mean ± std over seeds vs epoch / step, one line per rule, one panel per metric.

    ``x = "wall"`` uses the table's ``wall_seconds`` column (cumulative per seed, see
    :func:`~.io.read_compare_history`) when it has one; the mean over seeds at each epoch is drawn.
    """
    xcol = compare_x(table)
    if "rule" not in table.text or xcol is None:
        return None
    metrics = compare_metrics(table)
    if not metrics:
        return None
    present = list(dict.fromkeys(table.text["rule"]))
    rules = [r for r in (rules or []) if r in present] + [r for r in present if r not in (rules or [])]
    styles = rule_styles(rules)
    rule_arr = np.array(table.text["rule"])
    step = table.numeric[xcol]
    wall = table.numeric.get("wall_seconds") if x == "wall" else None
    use_wall = wall is not None and np.isfinite(wall).any()
    xlabel = WALL_LABEL if use_wall else pretty(xcol) + (" (no wall time recorded)" if x == "wall" else "")
    ncol = min(3, len(metrics))
    nrow = math.ceil(len(metrics) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.8 * ncol + 1.6, 1.2 + 3.0 * nrow),
                             layout="constrained", squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics):
        acc = is_accuracy(metric)
        y_all = error_percent(table.numeric[metric]) if acc else table.numeric[metric]
        drawn = []
        for rule in rules:
            sel = (rule_arr == rule) & np.isfinite(y_all) & np.isfinite(step)
            if not sel.any():
                continue
            eps = np.unique(step[sel])
            vals = [y_all[sel & (step == e)] for e in eps]
            mean = np.array([v.mean() for v in vals])
            std = np.array([v.std() for v in vals])
            xs = np.array([_finite_mean(wall[sel & (step == e)]) for e in eps]) if use_wall else eps
            n_seeds = max(len(v) for v in vals)
            st = dict(styles[rule])
            if len(eps) > 25:
                st["marker"] = None
            ax.plot(xs, mean, lw=1.5, ms=4, label=f"{rule} (n={n_seeds})", **st)
            if n_seeds > 1:
                ax.fill_between(xs, mean - std, mean + std, color=st["color"], alpha=0.15, lw=0)
            drawn.append(mean)
        name = pretty(metric).replace("accuracy", "error") + (" (%)" if acc else "")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(name)
        ax.set_title(f"{name}: mean ± std over seeds", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        if ("loss" in metric or acc) and log_scale_fits(*drawn):
            ax.set_yscale("log")
            plain_log_ticks(ax)
        if not use_wall:
            integer_ticks(ax)
    for ax in axes.ravel()[len(metrics):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, title="rule", title_fontsize=8)
    fig.suptitle("Learning rules compared (same network, data and seeds)", fontsize=11)
    return save_figure(fig, out)


def _finite_mean(v: np.ndarray) -> float:
    """Mean of the finite values (NaN, without a warning, when there are none)."""
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def rule_stats(compare: dict) -> dict[str, dict]:
    """``compare["rules"]`` with non-dict entries dropped (defensive against other row kinds)."""
    rules = compare.get("rules") if isinstance(compare, dict) else None
    return {str(k): v for k, v in (rules or {}).items() if isinstance(v, dict)}


def headline_metric(rules: dict[str, dict]) -> str | None:
    """test_accuracy, else w2, else the first metric with a ``<name>_std`` companion."""
    for k in HEADLINES:
        if any(num(s.get(k)) == num(s.get(k)) for s in rules.values()):
            return k
    for stats in rules.values():
        for k in stats:
            if f"{k}_std" in stats:
                return k
    return None


def n_runs(stats: dict) -> int | None:
    """Seeds that entered a rule's statistics (``n``, else ``n_seeds``)."""
    for k in ("n", "n_seeds"):
        v = stats.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return int(v)
    return None


def _per_seed(stats: dict, metric: str) -> np.ndarray:
    vals = stats.get(f"{metric}_per_seed")
    return np.array([num(v) for v in vals], float) if isinstance(vals, list) else np.zeros(0)


def plot_compare_summary(compare: dict, out: Path, rules: list[str] | None = None) -> Path | None:
    """Headline metric per rule (mean ± std, every seed as a small dot) and wall seconds per rule."""
    stats = rule_stats(compare)
    if not stats:
        return None
    names = [r for r in (rules or []) if r in stats] + [r for r in stats if r not in (rules or [])]
    styles = rule_styles(names)
    metric = headline_metric(stats)
    x = np.arange(len(names))
    ticks = [r if n_runs(stats[r]) is None else f"{r}\nn={n_runs(stats[r])}" for r in names]
    time_key = next((k for k in ("wall_seconds", "seconds_per_epoch")
                     if any(np.isfinite(num(stats[r].get(k))) for r in names)), None)
    panels = int(metric is not None) + int(time_key is not None)
    if not panels:
        return None
    fig, axes = plt.subplots(1, panels, figsize=(1.8 + (1.4 + 0.8 * len(names)) * panels, 4.0),
                             layout="constrained", squeeze=False)
    axes = list(axes[0])
    if metric is not None:
        _headline_panel(axes[0], stats, names, styles, metric, x)
    if time_key is not None:
        ax = axes[-1]
        vals = np.array([num(stats[r].get(time_key)) for r in names])
        bars = ax.bar(x, np.nan_to_num(vals), color=[styles[r]["color"] for r in names], alpha=0.85)
        for b, v in zip(bars, vals):
            if np.isfinite(v):
                ax.annotate(f"{v:.3g} s", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom",
                            fontsize=7, xytext=(0, 2), textcoords="offset points")
        ax.set_ylabel(pretty(time_key))
        ax.set_title(f"{pretty(time_key)} per rule (mean over seeds)", fontsize=10)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes:
        ax.set_xticks(x, ticks, fontsize=8)
        ax.set_xlim(-0.6, len(names) - 0.4)
    fig.suptitle("Per-rule summary", fontsize=11)
    return save_figure(fig, out)


def _headline_panel(ax, stats, names, styles, metric, x) -> None:
    """Mean ± std (and each seed) of ``metric`` per rule, on an axis fitted to the data."""
    acc = is_accuracy(metric)
    conv = error_percent if acc else (lambda v: np.asarray(v, float))
    mean = conv([num(stats[r].get(metric)) for r in names])
    std = np.array([num(stats[r].get(f"{metric}_std")) for r in names]) * (100.0 if acc else 1.0)
    seeds = [conv(_per_seed(stats[r], metric)) for r in names]
    every = np.concatenate([mean] + seeds)
    log = acc and log_scale_fits(every)
    for i, r in enumerate(names):
        st = styles[r]
        if len(seeds[i]):   # scatter, not lines: a seed's value is not a series of its own
            ax.scatter(np.full(len(seeds[i]), x[i] + 0.18), seeds[i], marker=st["marker"], s=14,
                       facecolors="none", edgecolors=st["color"], alpha=0.6, lw=0.9)
        if not np.isfinite(mean[i]):
            ax.annotate("no result", (x[i], 0.5), xycoords=("data", "axes fraction"), ha="center",
                        fontsize=8, color="0.4")
            continue
        s = std[i] if np.isfinite(std[i]) else 0.0
        lo = min(s, 0.9 * mean[i]) if log else s      # keep the lower whisker on a log axis
        ax.vlines(x[i], mean[i] - lo, mean[i] + s, color=st["color"], lw=1.4)
        ax.plot([x[i]], [mean[i]], ls="", marker=st["marker"], color=st["color"], ms=7)
        text = f"{mean[i]:.3g} %" if acc else f"{mean[i]:.4g}"
        ax.annotate(text, (x[i], mean[i]), xytext=(-8, 0), textcoords="offset points", ha="right",
                    va="center", fontsize=7)
    if metric == "w2":
        floor = np.array([num(stats[r].get("w2_floor")) for r in names])
        if np.isfinite(floor).any():
            ax.plot(x, floor, ls="", marker="_", ms=22, mew=2, color="0.35",
                    label="W₂ floor (data vs data)")
            every = np.concatenate([every, floor])
            ax.legend(fontsize=7, loc="best")
    finite = every[np.isfinite(every)]
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax)
    elif finite.size:   # zoom to the data: a shared zero baseline hides 0.978 vs 0.987
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.15 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-12)
        ax.set_ylim(lo - pad, hi + pad)
    label = pretty(metric).replace("accuracy", "error") + (" (%)" if acc else "")
    ax.set_ylabel(label + (", log axis" if log else ""))
    ax.set_title(f"final {label}: mean ± std over seeds (dots: each seed)", fontsize=10)
    ax.grid(axis="y", alpha=0.3, which="both")
