"""Figures and the report table of a sweep directory, drawn from ``sweep.json`` alone.

* ``plots/sweep_<key>.png`` — for every swept key with more than one value: each headline metric
  (at most four panels) against the key's values, mean over seeds with a ±1 std band, one line per
  combination of the other keys' values (with more than six combinations: one line, the mean over
  the other keys, band = the std of the cell means across them).
* ``plots/sweep_heatmap.png`` — with two or more swept keys: the first two keys' grid, colour =
  mean of the first (and second) headline metric, averaged over any further keys; each square
  is annotated ``mean ± std``; a square with no finished seed is grey.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np

from .style import plt, pretty, save_figure

MAX_LINES = 6
MAX_PANELS = 4


def label(v) -> str:
    """A grid value as text: 0.001, true, ep_symmetric, [0.5, 0.1]."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return f"{v:g}" if isinstance(v, float) else str(v)
    return json.dumps(v, separators=(", ", ": "))


def swept_keys(doc: dict) -> list:
    return [k for k in doc.get("keys", []) if len(doc["values"][k]) > 1]


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _axis(values: list):
    """(x positions, tick labels or None, log scale?) for a key's values."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric:
        x = np.asarray(values, float)
        log = bool(np.all(x > 0) and x.max() / x.min() >= 9.99)
        return x, None, log
    return np.arange(len(values), dtype=float), [label(v) for v in values], False


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def _series(doc: dict, key: str, metric: str) -> list:
    """[(label of the other keys' values, means, stds)], one per combination, values in grid order."""
    others = [k for k in doc["keys"] if k != key]
    groups: dict = {}
    for c in doc["cells"]:
        tag = json.dumps([c["params"][k] for k in others], sort_keys=True)
        groups.setdefault(tag, {})[json.dumps(c["params"][key], sort_keys=True)] = c
    values = doc["values"][key]
    if len(groups) <= MAX_LINES:
        out = []
        for tag, cells in groups.items():
            row = [cells.get(json.dumps(v, sort_keys=True)) for v in values]
            name = ", ".join(f"{k.split('.')[-1]}={label(v)}" for k, v in zip(others, json.loads(tag)))
            out.append((name, [_num(c["mean"].get(metric)) if c else np.nan for c in row],
                        [_num(c["std"].get(metric)) if c else np.nan for c in row]))
        return out
    means, stds = [], []
    for v in values:
        m = [_num(c["mean"].get(metric)) for c in doc["cells"] if _same(c["params"][key], v)]
        m = [x for x in m if np.isfinite(x)]
        means.append(float(np.mean(m)) if m else np.nan)
        stds.append(float(np.std(m)) if m else np.nan)
    return [(f"mean over {len(groups)} combinations of {', '.join(o.split('.')[-1] for o in others)}",
             means, stds)]


def plot_sweep_key(doc: dict, key: str, out: Path) -> Path | None:
    """Headline metrics vs one swept key, mean ± std over seeds."""
    metrics = doc.get("headline", [])[:MAX_PANELS]
    if not metrics or key not in swept_keys(doc):
        return None
    x, ticks, log = _axis(doc["values"][key])
    fig, axes = plt.subplots(1, len(metrics), figsize=(0.6 + 3.6 * len(metrics), 3.6), layout="constrained",
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, (name, mean, std) in enumerate(_series(doc, key, metric)):
            mean, std = np.asarray(mean, float), np.nan_to_num(np.asarray(std, float))
            ax.plot(x, mean, marker="o", ms=4, color=f"C{i % 10}", label=name or None)
            ax.fill_between(x, mean - std, mean + std, color=f"C{i % 10}", alpha=0.18, linewidth=0)
        if log:
            ax.set_xscale("log")
        if ticks is not None:
            ax.set_xticks(x, ticks, rotation=30 if len(ticks) > 3 else 0, fontsize=8)
        else:
            ax.set_xticks(x, [label(v) for v in doc["values"][key]], fontsize=8)
            ax.minorticks_off()
        ax.set_xlabel(key)
        ax.set_ylabel(pretty(metric))
        ax.grid(alpha=0.3)
    handles, names = axes[0][0].get_legend_handles_labels()
    if len(handles) > 1 or (handles and names[0]):
        axes[0][-1].legend(fontsize=7, loc="best")
    n = len(doc.get("seeds", []))
    fig.suptitle(f"{doc.get('name', 'sweep')}: metrics vs {key} (mean ± std over {n} seed{'s' * (n != 1)})",
                 fontsize=10)
    return save_figure(fig, out)


def _grid_of(doc: dict, a: str, b: str, metric: str):
    """(means, stds) on the a × b grid, averaged over the other keys' values."""
    va, vb = doc["values"][a], doc["values"][b]
    mean, std = np.full((len(va), len(vb)), np.nan), np.full((len(va), len(vb)), np.nan)
    for i, x in enumerate(va):
        for j, y in enumerate(vb):
            cells = [c for c in doc["cells"] if _same(c["params"][a], x) and _same(c["params"][b], y)
                     and c["mean"].get(metric) is not None]
            if cells:
                mean[i, j] = np.mean([c["mean"][metric] for c in cells])
                std[i, j] = np.mean([c["std"][metric] for c in cells])
    return mean, std


def plot_sweep_heatmap(doc: dict, out: Path) -> Path | None:
    """The first two swept keys as a grid, coloured by the first one or two headline metrics."""
    keys, metrics = swept_keys(doc), doc.get("headline", [])[:2]
    if len(keys) < 2 or not metrics:
        return None
    a, b = keys[:2]
    va, vb = doc["values"][a], doc["values"][b]
    fig, axes = plt.subplots(1, len(metrics), figsize=(1.2 + (1.6 + 0.9 * len(vb)) * len(metrics),
                                                        1.6 + 0.6 * len(va)), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        mean, std = _grid_of(doc, a, b, metric)
        cmap = plt.get_cmap("viridis").with_extremes(bad="#cccccc")
        im = ax.imshow(np.ma.masked_invalid(mean), cmap=cmap, aspect="auto", origin="lower")
        finite = mean[np.isfinite(mean)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for i in range(len(va)):
            for j in range(len(vb)):
                text = "failed" if not np.isfinite(mean[i, j]) else f"{mean[i, j]:.3g}\n±{std[i, j]:.2g}"
                dark = np.isfinite(mean[i, j]) and mean[i, j] < mid
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black")
        ax.set_xticks(range(len(vb)), [label(v) for v in vb], fontsize=8)
        ax.set_yticks(range(len(va)), [label(v) for v in va], fontsize=8)
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        ax.set_title(pretty(metric), fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.85)
    rest = [k for k in doc["keys"] if k not in (a, b) and len(doc["values"][k]) > 1]
    fig.suptitle(f"{doc.get('name', 'sweep')}: mean over seeds" + (f", averaged over {', '.join(rest)}"
                                                                    if rest else ""), fontsize=10)
    return save_figure(fig, out)


def figure_name(key: str) -> str:
    return "sweep_" + re.sub(r"[^A-Za-z0-9._-]", "-", key)


def plot_sweep(doc: dict, plots: Path) -> list:
    """Every sweep figure into ``plots``; removes sweep figures of keys no longer swept."""
    plots = Path(plots)
    wanted = {figure_name(k): k for k in swept_keys(doc)}
    for old in plots.glob("sweep_*.png") if plots.is_dir() else []:
        if old.stem not in wanted and old.stem != "sweep_heatmap":
            old.unlink()
    out = [plot_sweep_key(doc, key, plots / f"{stem}.png") for stem, key in wanted.items()]
    heat = plot_sweep_heatmap(doc, plots / "sweep_heatmap.png")
    if heat is None and (plots / "sweep_heatmap.png").exists():
        (plots / "sweep_heatmap.png").unlink()
    return [p for p in out + [heat] if p is not None]


def sweep_table_html(doc: dict) -> str:
    """The per-cell table of report.html: keys, finished / failed, headline mean ± std."""
    metrics = doc.get("headline", [])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in doc["keys"])
    head += "<th>finished</th><th>failed</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in metrics)
    rows = []
    for c in doc["cells"]:
        cols = "".join(f"<td>{html.escape(label(c['params'][k]))}</td>" for k in doc["keys"])
        cols += f'<td class="num">{c["n_finished"]}/{c["n_seeds"]}</td><td class="num">{c["n_failed"]}</td>'
        for m in metrics:
            v, s = c["mean"].get(m), c["std"].get(m)
            cols += f'<td class="num">{"—" if v is None else f"{v:.4g} ± {s:.2g}"}</td>'
        title = "; ".join(f"seed {f['seed']}: {f['error']}: {f['message']}" for f in c["failures"])
        rows.append(f'<tr title="{html.escape(title, quote=True)}">{cols}</tr>')
    n = len(doc.get("seeds", []))
    return (f"<h2>Sweep: {len(doc['cells'])} cells × {n} seeds (mean ± std over finished seeds; "
            f"sweep.csv has every metric)</h2>\n<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>")
