"""Figures of a gradient check (``gradcheck.json``).

- ``gradcheck.png``              cosine, 1 − cosine and relative error ‖ĝ − g‖/‖g‖ vs |β|,
  one line per (estimator, N);
- ``gradcheck_projections.png``  the relative error per projection.

Every line has its own colour × marker × dash (:func:`~.style.series_styles`). A line that lies on
an earlier one (e.g. ``ep`` on ``hep N=1``: the same estimate) is drawn with a larger hollow marker
and named "(= hep N=1)" in the legend. Estimators without a β (bp, bp_ff, chl) are horizontal
lines across the swept |β| range.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .style import coincident, plt, save_figure, series_styles

TINY = 1e-16   # float64 round-off: smaller values (or 1 − cos ≤ 0) are drawn on this floor


def num(v: Any) -> float:
    """``float(v)``, NaN for None / text."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def abs_beta(b: Any) -> float:
    """|β| of a number, a ``[re, im]`` pair, a ``{re, im}`` dict or a complex string."""
    if isinstance(b, (list, tuple)) and len(b) == 2:
        return abs(complex(num(b[0]), num(b[1])))
    if isinstance(b, dict):
        return abs(complex(num(b.get("re", b.get("real", 0))), num(b.get("im", b.get("imag", 0)))))
    if isinstance(b, str):
        try:
            return abs(complex(b.replace(" ", "").replace("i", "j")))
        except ValueError:
            return math.nan
    return abs(num(b))


def line_label(e: dict, setting: str = "") -> str:
    est = str(e.get("estimator") or setting)
    n = e.get("n_points")
    return est if n in (None, "", 0) else f"{est} N={n}"


def gradcheck_series(gc: dict) -> dict[str, list[dict]]:
    """Settings grouped into lines ``"<estimator> N=<n>"`` (sorted by estimator, then N), each
    line's entries sorted by |β|."""
    lines: dict[str, list[dict]] = {}
    keys: dict[str, tuple] = {}
    for setting, e in (gc.get("estimators") or {}).items():
        if not isinstance(e, dict):
            continue
        label = line_label(e, setting)
        keys[label] = (str(e.get("estimator") or setting), num(e.get("n_points")))
        lines.setdefault(label, []).append(dict(e, abs_beta=abs_beta(e.get("beta")), setting=setting))
    for label in lines:
        lines[label].sort(key=lambda d: (math.isnan(d["abs_beta"]), d["abs_beta"]))
    order = sorted(lines, key=lambda k: (keys[k][0], -1 if math.isnan(keys[k][1]) else keys[k][1]))
    return {k: lines[k] for k in order}


def _beta_range(lines: dict[str, list[dict]]) -> tuple[float, float]:
    b = [d["abs_beta"] for es in lines.values() for d in es if np.isfinite(d["abs_beta"]) and d["abs_beta"] > 0]
    return (min(b), max(b)) if b else (1e-3, 1.0)


def _floor(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), np.clip(v, TINY, None), np.nan)


def _drawn(entries: list[dict], projs: list[str]) -> list[np.ndarray]:
    """What a line draws: |β|, 1 − cos, rel. error, per-projection rel. errors (floored)."""
    cos = np.array([num(d.get("cosine_total")) for d in entries])
    out = [np.array([d["abs_beta"] for d in entries]), _floor(1 - cos),
           _floor(np.array([num(d.get("rel_error_total")) for d in entries]))]
    for p in projs:
        out.append(_floor(np.array([num(((d.get("per_projection") or {}).get(p) or {}).get("rel_error"))
                                    for d in entries])))
    return out


def projections(lines: dict[str, list[dict]]) -> list[str]:
    projs: list[str] = []
    for entries in lines.values():
        for d in entries:
            for p in (d.get("per_projection") or {}):
                if p not in projs:
                    projs.append(p)
    return projs


def line_styles(gc: dict) -> tuple[dict[str, list[dict]], dict[str, dict], dict[str, str]]:
    """(lines, plot keyword arguments per line, legend label per line) shared by both figures."""
    lines = gradcheck_series(gc)
    styles = series_styles(lines)
    same = coincident({k: _drawn(v, projections(lines)) for k, v in lines.items()})
    kwargs, legend = {}, {}
    for label in lines:
        kw = dict(styles[label], ms=4, lw=1.3)
        text = label if lines[label][0]["abs_beta"] > 0 else f"{label} (no β)"
        if label in same:
            earlier, exact = same[label]
            # drawn on top of `earlier`: a larger hollow marker keeps both visible
            kw.update(ms=9, mfc="none", mew=1.3)
            text += f" ({'=' if exact else '≈'} {earlier})"
        kwargs[label], legend[label] = kw, text
    return lines, kwargs, legend


def _plot_line(ax, entries: list[dict], y: np.ndarray, kw: dict, label: str, brange) -> None:
    b = np.array([d["abs_beta"] for d in entries])
    if not (np.isfinite(b) & (b > 0)).any():          # no β: one value across the swept range
        ax.plot(list(brange), [y[0], y[0]], label=label, **kw)
    else:
        ax.plot(b, y, label=label, **kw)


def plot_gradcheck(gc: dict, out: Path) -> Path | None:
    """Cosine and relative error of every estimator against the exact gradient, vs |β|."""
    lines, kwargs, legend = line_styles(gc)
    if not lines:
        return None
    brange = _beta_range(lines)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    for label, entries in lines.items():
        cos = np.array([num(d.get("cosine_total")) for d in entries])
        rel = np.array([num(d.get("rel_error_total")) for d in entries])
        for ax, y in zip(axes, (cos, _floor(1 - cos), _floor(rel))):
            _plot_line(ax, entries, y, kwargs[label], legend[label], brange)
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
        ax.axhline(TINY, color="0.4", lw=0.7, ls=":")
        ax.annotate("float64 round-off floor", (0.02, TINY), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", fontsize=7, color="0.4")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, title="estimator",
               title_fontsize=8)
    fig.suptitle("Gradient check: local estimators vs the exact gradient", fontsize=11)
    return save_figure(fig, out)


def plot_gradcheck_projections(gc: dict, out: Path) -> Path | None:
    """Relative error vs |β| per projection (one panel each)."""
    lines, kwargs, legend = line_styles(gc)
    projs = projections(lines)
    if not projs:
        return None
    brange = _beta_range(lines)
    ncol = min(3, len(projs))
    nrow = math.ceil(len(projs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol + 2.2, 1.0 + 3.0 * nrow),
                             layout="constrained", squeeze=False)
    for ax, proj in zip(axes.ravel(), projs):
        for label, entries in lines.items():
            sub = [d for d in entries if proj in (d.get("per_projection") or {})]
            if sub:
                r = np.array([num(d["per_projection"][proj].get("rel_error")) for d in sub])
                _plot_line(ax, sub, _floor(r), kwargs[label], legend[label], brange)
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
