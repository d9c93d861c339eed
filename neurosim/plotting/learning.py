"""Figures of learning: ``history.csv`` curves, rule comparisons and gradient checks.

- ``history.png``          every numeric column of history.csv vs epoch (or time), grouped;
- ``compare_curves.png``   per metric: mean ± std over seeds vs epoch, one line per rule;
- ``compare_summary.png``  final metric ± std and wall time per rule (compare.json);
- ``gradcheck.png``        cosine, 1 − cosine and relative error vs |β| per (estimator, N);
- ``gradcheck_projections.png``  the same relative error per projection.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .io import Table
from .style import TIME_LABEL, plt, pretty, save_figure

GROUP_KEYWORDS = (("loss", "loss"), ("acc", "accuracy"), ("cos", "gradient cosine"),
                  ("w2", "W₂ distance"), ("seconds", "time (s)"), ("lr", "learning rate"))


def _group_of(column: str) -> tuple[str, str]:
    """(group key, legend label). ``task/<name>/<metric>`` columns group by metric."""
    parts = column.split("/")
    metric = parts[-1]
    if len(parts) >= 3 and parts[0] == "task":
        label = "task " + "/".join(parts[1:-1])
    else:
        label = pretty(column)
    low = metric.lower()
    for kw, group in GROUP_KEYWORDS:
        if kw in low:
            return group, label
    return metric, label


def plot_history(table: Table, out: Path) -> Path | None:
    """Every numeric column against ``epoch`` (or ``time`` when it is the first column)."""
    xname = table.columns[0] if table.columns and table.columns[0] == "time" else "epoch"
    if xname not in table.numeric:
        xname = next(iter(table.numeric), None)
    if xname is None:
        return None
    x = table.numeric[xname]
    groups: dict[str, list[tuple[str, str]]] = {}
    for col in table.columns:
        if col == xname or col not in table.numeric or not np.isfinite(table.numeric[col]).any():
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
        for col, label in cols:
            y = table.numeric[col]
            ok = np.isfinite(y) & np.isfinite(x)
            ax.plot(x[ok], y[ok], marker="o" if ok.sum() <= 30 else None, ms=3, lw=1.3,
                    label=label)
        ylabel = pretty(cols[0][0].split("/")[-1]) if len(cols) == 1 else group
        ax.set_ylabel(ylabel)
        ax.set_xlabel(TIME_LABEL if xname == "time" else pretty(xname))
        ax.set_title(pretty(cols[0][0]) if len(cols) == 1 else group, fontsize=10)
        if len(cols) > 1:
            ax.legend(fontsize=8)
        if "loss" in group and all((table.numeric[c][np.isfinite(table.numeric[c])] > 0).all()
                                   for c, _ in cols):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(groups):]:
        ax.set_visible(False)
    fig.suptitle("Training history", fontsize=11)
    return save_figure(fig, out)


# --------------------------------------------------------------------------- comparisons
def compare_metrics(table: Table) -> list[str]:
    """Numeric metric columns of compare_history.csv that hold any data."""
    skip = {"rule", "seed", "epoch", "time"}
    return [c for c in table.columns
            if c not in skip and c in table.numeric and np.isfinite(table.numeric[c]).any()]


def seed_counts(compare: dict | None) -> dict[str, tuple[int, int]]:
    """rule → (seeds that finished, seeds run) from compare.json (empty for older files)."""
    rules = (compare or {}).get("rules") or {}
    return {r: (int(s["n_seeds"]), int(s["n_runs"])) for r, s in rules.items()
            if isinstance(s, dict) and s.get("n_runs") is not None and s.get("n_seeds") is not None}


def plot_compare_curves(table: Table, out: Path, counts: dict[str, tuple[int, int]] | None = None) -> Path | None:
    """Mean ± std over the finished seeds vs epoch, one line per rule, one panel per metric;
    ``counts`` (rule → (k, N)) labels each line "n=k of N"."""
    if "rule" not in table.text or "epoch" not in table.numeric:
        return None
    metrics = compare_metrics(table)
    if not metrics:
        return None
    rules = list(dict.fromkeys(table.text["rule"]))
    rule_arr = np.array(table.text["rule"])
    incomplete = any(k < n for k, n in (counts or {}).values())
    epoch = table.numeric["epoch"]
    ncol = min(3, len(metrics))
    nrow = math.ceil(len(metrics) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.8 * ncol, 1.2 + 3.0 * nrow),
                             layout="constrained", squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics):
        y_all = table.numeric[metric]
        for i, rule in enumerate(rules):
            sel = (rule_arr == rule) & np.isfinite(y_all) & np.isfinite(epoch)
            if not sel.any():
                continue
            eps = np.unique(epoch[sel])
            vals = [y_all[sel & (epoch == e)] for e in eps]
            mean = np.array([v.mean() for v in vals])
            std = np.array([v.std() for v in vals])
            n_seeds = max(len(v) for v in vals)
            c = f"C{i % 10}"
            n_label = (f"n={counts[rule][0]} of {counts[rule][1]}" if counts and rule in counts
                       else f"n={n_seeds}")
            ax.plot(eps, mean, color=c, lw=1.5, marker="o" if len(eps) <= 25 else None, ms=3,
                    label=f"{rule} ({n_label})")
            if n_seeds > 1:
                ax.fill_between(eps, mean - std, mean + std, color=c, alpha=0.2, lw=0)
        ax.set_xlabel("epoch")
        ax.set_ylabel(pretty(metric))
        ax.set_title(f"{pretty(metric)}: mean ± std over seeds", fontsize=10)
        ax.grid(alpha=0.3)
        if "loss" in metric and (y_all[np.isfinite(y_all)] > 0).all():
            ax.set_yscale("log")
        if len(ax.get_lines()) > 1 or incomplete:
            ax.legend(fontsize=8)
    for ax in axes.ravel()[len(metrics):]:
        ax.set_visible(False)
    none = [r for r, (k, _) in (counts or {}).items() if k == 0]
    fig.suptitle("Learning rules compared (same network, data and seeds)"
                 + (f"; no finished run: {', '.join(none)}" if none else ""), fontsize=11)
    return save_figure(fig, out)


def _headline_metric(rules: dict[str, dict]) -> str | None:
    """The metric that has a ``<name>_std`` companion (test_accuracy, w2, …)."""
    for stats in rules.values():
        for k in stats:
            if f"{k}_std" in stats:
                return k
    for k in ("test_accuracy", "w2", "train_loss"):
        if any(k in s for s in rules.values()):
            return k
    return None


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def plot_compare_summary(compare: dict, out: Path) -> Path | None:
    """Bar charts per rule: headline metric ± std over the seeds that finished, and wall seconds;
    each rule's tick says n = k/N seeds finished, a rule with none is marked "no finished run"."""
    rules = compare.get("rules") or {}
    if not rules:
        return None
    names = list(rules)
    counts = seed_counts(compare)
    ticks = [f"{r}\nn={counts[r][0]}/{counts[r][1]}" if r in counts else r for r in names]
    metric = _headline_metric(rules)
    panels = []
    if metric:
        panels.append((metric, [_num(rules[r].get(metric)) for r in names],
                       [_num(rules[r].get(f"{metric}_std", 0)) for r in names]))
    for key in ("wall_seconds", "seconds_per_epoch"):
        vals = [_num(rules[r].get(key)) for r in names]
        if np.isfinite(vals).any():
            panels.append((key, vals, None))
            break
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(1.8 + (1.0 + 0.7 * len(names)) * len(panels), 3.8),
                             layout="constrained", squeeze=False)
    x = np.arange(len(names))
    for ax, (key, vals, err) in zip(axes[0], panels):
        vals = np.asarray(vals, float)
        yerr = None if err is None else np.nan_to_num(np.asarray(err, float))
        bars = ax.bar(x, np.nan_to_num(vals), yerr=yerr, capsize=4,
                      color=[f"C{i % 10}" for i in range(len(names))], alpha=0.85)
        tops = np.nan_to_num(vals) + (0 if yerr is None else yerr)
        for b, v, top, name in zip(bars, vals, tops, names):
            finished = counts.get(name, (1, 1))[0] > 0
            if np.isfinite(v) or not finished:
                ax.annotate(f"{v:.3g}" if finished else "no finished\nrun", (b.get_x() + b.get_width() / 2, top),
                            ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                            textcoords="offset points", color="k" if finished else "C3")
        ax.set_xticks(x, ticks, rotation=30 if len(names) > 3 else 0, ha="right" if len(names) > 3 else "center",
                      fontsize=8)
        ax.set_ylabel(pretty(key))
        ax.set_xlabel("rule")
        ax.set_title(f"final {pretty(key)} ± std over seeds" if err is not None
                     else f"{pretty(key)} per rule", fontsize=10)
        ax.margins(y=0.15)
        ax.grid(axis="y", alpha=0.3)
    failed = sum(n - k for k, n in counts.values())
    fig.suptitle("Per-rule summary" + (f" — {failed} run(s) did not finish; means over the seeds that did"
                                       if failed else ""), fontsize=11)
    return save_figure(fig, out)


# --------------------------------------------------------------------------- gradcheck
def _abs_beta(b: Any) -> float:
    if isinstance(b, (list, tuple)) and len(b) == 2:
        return abs(complex(_num(b[0]), _num(b[1])))
    if isinstance(b, dict):
        return abs(complex(_num(b.get("re", b.get("real", 0))), _num(b.get("im", b.get("imag", 0)))))
    if isinstance(b, str):
        try:
            return abs(complex(b.replace(" ", "").replace("i", "j")))
        except ValueError:
            return math.nan
    return abs(_num(b))


def gradcheck_series(gc: dict) -> dict[str, list[dict]]:
    """Settings grouped into lines: ``"<estimator> N=<n>"`` → entries sorted by |β|."""
    lines: dict[str, list[dict]] = {}
    for setting, e in (gc.get("estimators") or {}).items():
        if not isinstance(e, dict):
            continue
        est = str(e.get("estimator") or setting)
        n = e.get("n_points")
        label = est if n in (None, "", 0, 1) else f"{est} N={n}"
        lines.setdefault(label, []).append(dict(e, abs_beta=_abs_beta(e.get("beta")), setting=setting))
    for label in lines:
        lines[label].sort(key=lambda d: d["abs_beta"])
    return lines


def plot_gradcheck(gc: dict, out: Path) -> Path | None:
    """Cosine and relative error of every estimator against the exact gradient, vs |β|."""
    lines = gradcheck_series(gc)
    if not lines:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained")
    tiny = 1e-16   # float64 round-off: smaller values (or 1 − cos ≤ 0) are drawn on this floor
    for i, (label, entries) in enumerate(lines.items()):
        b = np.array([d["abs_beta"] for d in entries])
        cos = np.array([_num(d.get("cosine_total")) for d in entries])
        rel = np.array([_num(d.get("rel_error_total")) for d in entries])
        style = dict(color=f"C{i % 10}", marker="os^Dv<>ph*"[i % 10], ms=4, lw=1.3, label=label)
        axes[0].plot(b, cos, **style)
        axes[1].plot(b, np.clip(1 - cos, tiny, None), **style)
        axes[2].plot(b, np.clip(rel, tiny, None), **style)
    exact = gc.get("exact", "exact")
    titles = (f"cosine to {exact} gradient", f"1 − cosine to {exact}", f"relative error vs {exact}")
    ylabels = ("cosine similarity", "1 − cosine", "‖ĝ − g‖ / ‖g‖")
    for ax, title, yl in zip(axes, titles, ylabels):
        ax.set_xscale("log")
        ax.set_xlabel("|β| (nudge strength)")
        ax.set_ylabel(yl)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].axhline(1.0, color="0.4", lw=0.7, ls=":")
    for ax in axes[1:]:
        ax.axhline(tiny, color="0.4", lw=0.7, ls=":")
        ax.annotate("float64 round-off floor", (0.02, tiny), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", fontsize=7, color="0.4")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, title="estimator",
               title_fontsize=8)
    fig.suptitle("Gradient check: local estimators vs the exact gradient", fontsize=11)
    return save_figure(fig, out)


def plot_gradcheck_projections(gc: dict, out: Path) -> Path | None:
    """Relative error vs |β| per projection (one panel each)."""
    lines = gradcheck_series(gc)
    projs: list[str] = []
    for entries in lines.values():
        for d in entries:
            for p in (d.get("per_projection") or {}):
                if p not in projs:
                    projs.append(p)
    if not projs:
        return None
    ncol = min(3, len(projs))
    nrow = math.ceil(len(projs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol + 1.8, 1.0 + 3.0 * nrow),
                             layout="constrained", squeeze=False)
    for ax, proj in zip(axes.ravel(), projs):
        for i, (label, entries) in enumerate(lines.items()):
            pts = [(d["abs_beta"], _num(d["per_projection"][proj].get("rel_error")))
                   for d in entries if proj in (d.get("per_projection") or {})]
            if pts:
                b, r = np.array(pts).T
                ax.plot(b, np.clip(r, 1e-16, None), color=f"C{i % 10}", marker="os^Dv<>ph*"[i % 10],
                        ms=4, lw=1.2, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("|β| (nudge strength)")
        ax.set_ylabel("relative error")
        ax.set_title(f"projection {proj}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
    for ax in axes.ravel()[len(projs):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, title="estimator",
               title_fontsize=8)
    fig.suptitle("Gradient check per projection", fontsize=11)
    return save_figure(fig, out)
