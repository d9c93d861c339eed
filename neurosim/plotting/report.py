"""``report.html``: one self-contained page per run directory, drawn from its files.

Layout: a title naming the verb and the scenario ("neurosim gradcheck · gradcheck_layered"), the
run's files as links, the small table that fits the verb (:mod:`.tables`), every figure with its
caption, then — folded away — every metric at full precision and the resolved scenario.
"""
from __future__ import annotations

import html
import os
import struct
from pathlib import Path

from .io import flatten, known_files, read_metrics, read_samples_info, read_scenario_text, read_sweep, scenario_header
from .tables import TableSpec, format_value, report_kind, summary_tables

# Figure stem → caption, in page order. Unknown PNGs in plots/ are appended with a generic caption.
CAPTIONS: dict[str, str] = {
    "gradcheck": "Gradient check (gradcheck.json): cosine, 1 − cosine and relative error of "
                 "each estimator against the exact gradient, vs nudge strength |β|. A line drawn on "
                 "top of another one is hollow and named \"(= other)\" in the legend.",
    "gradcheck_projections": "Gradient check per projection: relative error vs |β|.",
    "compare_summary": "Per-rule summary (compare.json): final test error (%, log axis) or W₂ "
                       "(axis zoomed to the data) — mean ± std, each seed a hollow dot — and wall-clock "
                       "time per rule.",
    "compare_curves": "Learning rules compared (compare_history.csv): mean ± std over seeds vs "
                      "epoch, one line per rule (same colours as the summary).",
    "samples": "Generated samples (samples.npz) against the reference data.",
    "samples_vs_bp": "The lump's samples (samples.npz) beside those of the same network trained on the task "
                     "alone by the exact gradient (samples_bp.npz): the same reverse process, starting noise and "
                     "labels; the table above compares their scores.",
    "lump_trajectory": "The lump's own reverse process (lump_trajectory.npz): for one sample per class, the "
                       "noisy-image port x_i and the estimate port's denoised D_i at the sampler's steps "
                       "(σ_i above), and the final sample.",
    "inpainting": "Inpainting (inpainting.npz): the bottom half of each test digit generated from "
                  "its top half, beside the original.",
    "history": "Training history (history.csv): every numeric column vs epoch, grouped by kind; "
               "accuracies as error % on a log axis.",
    "phases": "Training phases (traces.npz phases/…) of the first batches of the traced epochs: "
              "the energy F = E + λC (mean over the batch) of the free phase and of each nudged "
              "phase, which starts from the free fixed point, and the stationarity residual "
              "max|Π(x + g) − x| on a log axis (dashed: training.relax.tol when set).",
    "weight_norms": "Weights per projection vs epoch (traces.npz weights/…): the norm ‖W‖_F and "
                    "the size ‖W_e − W_(e−1)‖_F of each epoch's update (log axis).",
    "network": "Network graph (network.json): node area ∝ number of units, marker = role "
               "(free / clamped / nudged), colour = owning task; edges are the symmetric couplings.",
    "energy": "Energy vs simulated time (mean over particles with min–max band), its distance "
              "|E(t) − E(T)| to the final energy on a log axis, and the task multipliers λ_k(t).",
    "activity": "Activity of particle 0 per recorded block vs simulated time (traces.npz). "
                "The strip above each panel shows the block's asynchronous update events (one "
                "tick per update, or the update rate when there are too many to tell apart); coloured "
                "spans and dashed / dotted lines mark clamp on / off of the task owning the block.",
    "raster": "Raster of block-update events (traces.npz event_time, event_block), with the "
              "event count and mean rate per block on the right.",
    "tasks": "Task timeline: clamp on/off bars per task with λ_k(t) overlaid.",
    "division_of_labour": "Who does what (division_of_labour.npz): for every block b and task k, the "
                          "held-out score lost when b is held at 0 at evaluation, as a fraction of the loss when "
                          "every hidden block is silenced at once, and the share of the task's "
                          "exact gradient norm² landing on b's projections and bias (columns sum to 1). "
                          "readout: the task's own target; silent: another task's port, at 0 anyway.",
    "weights": "Histograms of the weights of every projection and the biases of every block "
               "(checkpoint.npz).",
    "sweep_heatmap": "Sweep (sweep.json): the first two swept keys as a grid, colour = mean over seeds "
                     "(averaged over any further keys), each square annotated mean ± std; grey: no seed finished.",
}
SWEEP_KEY_CAPTION = ("Sweep (sweep.json): headline metrics vs {key}, mean over seeds with a ±1 std band, one "
                     "line per combination of the other swept keys (beyond six: their mean).")
ORDER = list(CAPTIONS)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1200px;margin:1.5em auto;
padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
p.meta{color:#555;margin:.2em 0}p.files{font-size:.9em}p.files a{margin-right:.6em}
table{border-collapse:collapse;font-size:.88em;margin:.4em 0}
td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.fail{color:#b00}caption{text-align:left;font-weight:600;padding:.3em 0}
div.scroll{overflow-x:auto}p.note{font-size:.85em;color:#555;margin:.2em 0 1em}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555;margin-top:.3em}
details{margin:1em 0}summary{cursor:pointer;font-weight:600}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em}
"""


def ordered_figures(plots_dir: Path) -> list[Path]:
    pngs = [p for p in plots_dir.glob("*.png") if not p.name.endswith(".tmp.png")] \
        if plots_dir.is_dir() else []
    rank = {stem: i for i, stem in enumerate(ORDER)}
    return sorted(pngs, key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk; None if the file is not a PNG."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def render_table(t: TableSpec) -> str:
    out = [f"<div class=\"scroll\"><table>\n<caption>{_esc(t.caption)}</caption>",
           "<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in t.header) + "</tr>"]
    for row in t.rows:
        cells = []
        for c in row:
            cls = " class=\"fail\"" if c.text == "failed" else " class=\"num\"" if c.numeric else ""
            title = f' title="{_esc(c.title)}"' if c.title else ""
            body = f'<a href="{_esc(c.href)}">{_esc(c.text)}</a>' if c.href else _esc(c.text)
            body += " ".join(f'<a href="{_esc(h)}">{_esc(x)}</a>' for x, h in c.links)
            cells.append(f"<td{cls}{title}>{body}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table></div>")
    if t.note:
        out.append(f'<p class="note">{_esc(t.note)}</p>')
    return "\n".join(out)


def _title(run_dir: Path, verb: str, kind: str) -> tuple[str, str]:
    """(title, one-line description) naming the verb and the scenario."""
    head = scenario_header(run_dir)
    name = head.get("name")
    if verb == "generate":
        info = read_samples_info(run_dir) or {}
        name = name or info.get("scenario")
    title = f"neurosim {verb} · {name or run_dir.name}"
    meta = [f"kind {kind}" if kind and verb in ("run", "compare") else "",
            f"run directory {run_dir.name}", head.get("description", "")]
    return title, " · ".join(m for m in meta if m)


def _file_links(run_dir: Path, verb: str) -> str:
    links = [f'<a href="{_esc(n)}">{_esc(n)}</a>' for n in known_files(run_dir)]
    if verb == "generate" and (run_dir.parent / "report.html").is_file():
        links.append('<a href="../report.html">the trained run\'s report</a>')
    return "<p class=\"files\">Files: " + (" ".join(links) or "none") + "</p>"


def _all_metrics(metrics: dict) -> str:
    flat = flatten(metrics)
    rows = "\n".join(f"<tr><td>{_esc(k)}</td><td class=\"num\">{_esc(format_value(v, k))}</td></tr>"
                     for k, v in flat.items())
    return (f"<details><summary>All metrics (metrics.json, {len(flat)} keys)</summary>\n"
            f"<table>\n<tr><th>key</th><th>value</th></tr>\n{rows}\n</table></details>")


def write_report(run_dir: Path | str, figures: list[Path] | None = None) -> Path:
    """Write ``run_dir/report.html`` (atomically) from the run directory's files.

    ``figures`` defaults to every PNG already in ``run_dir/plots``.
    """
    run_dir = Path(run_dir)
    figures = ordered_figures(run_dir / "plots") if figures is None else \
        sorted((Path(f) for f in figures), key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER
                                                          else len(ORDER), p.stem))
    verb, kind = report_kind(run_dir)
    title, meta = _title(run_dir, verb, kind)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             '<link rel="icon" href="data:,">',     # no favicon request: nothing on the page can 404
             f"<title>{_esc(title)}</title>", f"<style>{CSS}</style></head><body>",
             f"<h1>{_esc(title)}</h1>", f'<p class="meta">{_esc(meta)}</p>', _file_links(run_dir, verb)]
    parts += [render_table(t) for t in summary_tables(run_dir, verb)]
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
            size = png_size(run_dir / rel)
            dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
            parts.append(f'<figure id="{_esc(fig.stem)}"><a href="{_esc(rel)}">'
                         f'<img src="{_esc(rel)}" alt="{_esc(fig.stem)}"{dims}></a>'
                         f"<figcaption><b>{_esc(fig.name)}</b> — {_esc(cap)}</figcaption></figure>")
    metrics = read_metrics(run_dir)
    if isinstance(metrics, dict) and metrics:
        parts.append(_all_metrics(metrics))
    scenario = read_scenario_text(run_dir)
    if scenario is not None:
        parts.append("<details><summary>Resolved scenario (scenario.toml)</summary>")
        parts.append(f"<pre>{html.escape(scenario)}</pre></details>")
    parts.append("</body></html>\n")
    out = run_dir / "report.html"
    tmp = run_dir / "report.tmp.html"
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out)
    return out
