"""``report.html``: one self-contained page with the metrics, every figure and the scenario."""
from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import Any

from .io import flatten, known_files, read_metrics, read_scenario_text, read_sweep

# Figure stem → (order, caption). Unknown PNGs in plots/ are appended with a generic caption.
CAPTIONS: dict[str, str] = {
    "network": "Network graph (network.json): node area ∝ number of units, marker = role "
               "(free / clamped / nudged), colour = owning task.",
    "activity": "Activity of particle 0 per recorded block vs simulated time (traces.npz). "
                "The strip above each panel shows the block's asynchronous update events (one "
                "tick per update, or the update rate when there are too many to tell apart); coloured "
                "spans and dashed / dotted lines mark clamp on / off of the task owning the block.",
    "raster": "Raster of block-update events (traces.npz event_time, event_block), with the "
              "event count and mean rate per block on the right.",
    "energy": "Energy vs simulated time (mean over particles with min–max band) and the task "
              "multipliers λ_k(t) (real part solid, imaginary part dashed).",
    "tasks": "Task timeline: clamp on/off bars per task with λ_k(t) overlaid.",
    "weights": "Histograms of the weights of every projection and the biases of every block "
               "(checkpoint.npz).",
    "history": "Training history (history.csv): every numeric column vs epoch, grouped by kind.",
    "compare_curves": "Learning rules compared (compare_history.csv): mean ± std over seeds vs "
                      "epoch, one line per rule.",
    "compare_summary": "Per-rule summary (compare.json): final metric ± std over seeds and "
                       "wall-clock time.",
    "gradcheck": "Gradient check (gradcheck.json): cosine, 1 − cosine and relative error of "
                 "each estimator against the exact gradient, vs nudge strength |β|.",
    "gradcheck_projections": "Gradient check per projection: relative error vs |β|.",
    "samples": "Generated samples (samples.npz) against the reference data.",
    "sweep_heatmap": "Sweep (sweep.json): the first two swept keys as a grid, colour = mean over seeds "
                     "(averaged over any further keys), each square annotated mean ± std; grey: no seed finished.",
}
SWEEP_KEY_CAPTION = ("Sweep (sweep.json): headline metrics vs {key}, mean over seeds with a ±1 std band, one "
                     "line per combination of the other swept keys (beyond six: their mean).")
ORDER = list(CAPTIONS)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.2em .8em;border-bottom:1px solid #eee;
text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555;margin-top:.3em}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em}
"""


def format_value(v: Any) -> str:
    """Numbers to 4 significant digits; everything else as text."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v) if abs(v) < 10**6 else f"{v:.4g}"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        items = [format_value(x) for x in v[:8]]
        return "[" + ", ".join(items) + (", …" if len(v) > 8 else "") + "]"
    return str(v)


def ordered_figures(plots_dir: Path) -> list[Path]:
    pngs = [p for p in plots_dir.glob("*.png") if not p.name.endswith(".tmp.png")] \
        if plots_dir.is_dir() else []
    rank = {stem: i for i, stem in enumerate(ORDER)}
    return sorted(pngs, key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def _metrics_table(metrics: dict) -> str:
    flat = flatten(metrics)
    rows = [(k, v) for k, v in flat.items() if not k.endswith("_seconds")]
    timings = [(k, v) for k, v in flat.items() if k.endswith("_seconds")]
    out = []
    for title, items in (("Metrics", rows), ("Timings", timings)):
        if not items:
            continue
        out.append(f"<h2>{title}</h2>\n<table>\n<tr><th>key</th><th>value</th></tr>")
        for k, v in items:
            cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
            out.append(f"<tr><td>{html.escape(k)}</td><td{cls}>{html.escape(format_value(v))}</td></tr>")
        out.append("</table>")
    return "\n".join(out)


def write_report(run_dir: Path | str, figures: list[Path] | None = None) -> Path:
    """Write ``run_dir/report.html`` (atomically) from metrics.json, plots/*.png and scenario.toml.

    ``figures`` defaults to every PNG already in ``run_dir/plots``.
    """
    run_dir = Path(run_dir)
    figures = ordered_figures(run_dir / "plots") if figures is None else [Path(f) for f in figures]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>neurosim run — {html.escape(run_dir.name)}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>neurosim run: {html.escape(run_dir.name)}</h1>",
             "<p>Files: " + html.escape(", ".join(known_files(run_dir)) or "none") + "</p>"]
    metrics = read_metrics(run_dir)
    if metrics:
        parts.append(_metrics_table(metrics))
    sweep = read_sweep(run_dir)
    if sweep is not None:
        from .sweep import sweep_table_html
        parts.append(sweep_table_html(sweep))
    if figures:
        parts.append("<h2>Figures</h2>")
        for fig in figures:
            rel = f"plots/{fig.name}"
            cap = CAPTIONS.get(fig.stem) or (SWEEP_KEY_CAPTION.format(key=fig.stem[len("sweep_"):])
                                             if fig.stem.startswith("sweep_") else fig.stem.replace("_", " "))
            parts.append(f'<figure id="{html.escape(fig.stem, quote=True)}">'
                         f'<img src="{html.escape(rel, quote=True)}" alt="{html.escape(fig.stem, quote=True)}">'
                         f"<figcaption><b>{html.escape(fig.name)}</b> — {html.escape(cap)}</figcaption></figure>")
    scenario = read_scenario_text(run_dir)
    if scenario is not None:
        parts.append("<h2>Resolved scenario (scenario.toml)</h2>")
        parts.append(f"<pre>{html.escape(scenario)}</pre>")
    parts.append("</body></html>\n")
    out = run_dir / "report.html"
    tmp = run_dir / "report.tmp.html"
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out)
    return out
