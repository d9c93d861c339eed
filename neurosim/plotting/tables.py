"""The small table at the top of report.html, one kind per verb, from the run directory's files.

* gradcheck: estimator × |β| pivots of the cosine to the exact gradient (as many digits as it takes
  to show 1 − cos to two significant digits: 0.99999979, never "1") and of the relative error;
* compare: the per-rule table ``neurosim compare`` prints, with a link to every sub-run;
* generate: what was sampled and its scores (``samples.json``);
* anything else (relax, train, generative, multitask): the top-level numbers of metrics.json, and
  one row per entry of each table-shaped section (``tasks`` → task → metrics); a multitask run
  with ``sample.bp``: the lump's samples against its bp twin's, overall and per class.

Accuracies are percentages everywhere: 100 · accuracy with two decimals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import io
from .comparison import n_runs, rule_stats
from .gradients import line_styles, num


@dataclass
class Cell:
    text: str
    href: str | None = None
    numeric: bool = False
    title: str | None = None       # hover text (e.g. the error of a failed setting)
    links: list[tuple[str, str]] = field(default_factory=list)   # (text, href) after ``text``


@dataclass
class TableSpec:
    caption: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def format_cosine(c: Any) -> str:
    """A value near 1 with enough decimals for two significant digits of 1 − c (at least 4)."""
    c = num(c)
    if not math.isfinite(c):
        return "—"
    gap = abs(1.0 - c)
    if gap <= 4.5e-16:   # within two float64 ulps of 1: no digit to show
        return "1 (float64)"
    decimals = min(17, max(4, int(math.floor(-math.log10(gap))) + 2))
    return f"{c:.{decimals}f}"


def format_value(v: Any, key: str = "") -> str:
    """Text of a metric: accuracies as %, values within 1 % of ±1 via :func:`format_cosine`,
    other floats to 6 significant digits, short lists inline."""
    if isinstance(v, bool):
        return str(v).lower()
    if v is None:
        return "—"
    if isinstance(v, int):
        return str(v) if abs(v) < 10**9 else f"{v:.6g}"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if "accuracy" in key.split(".")[-1].split("/")[-1] and -1e-9 <= v <= 1 + 1e-9:
            return f"{100 * v:.2f} %"
        if 0.99 < abs(v) < 1.01 and v not in (1.0, -1.0):
            return ("−" if v < 0 else "") + format_cosine(abs(v))
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        items = [format_value(x, key) for x in v[:8]]
        return "[" + ", ".join(items) + (", …" if len(v) > 8 else "") + "]"
    return str(v)


def _cell(v: Any, key: str = "") -> Cell:
    return Cell(format_value(v, key), numeric=_is_number(v))


# --------------------------------------------------------------------------- gradcheck
def gradcheck_tables(gc: dict) -> list[TableSpec]:
    lines, _, legend = line_styles(gc)
    if not lines:
        return []
    betas = sorted({d["abs_beta"] for es in lines.values() for d in es if math.isfinite(d["abs_beta"])})
    has_free = any(not math.isfinite(es[0]["abs_beta"]) for es in lines.values())
    cols = [f"{b:g}" for b in betas] + (["no β"] if has_free else [])
    exact = gc.get("exact", "exact")
    best = gc.get("max_beta_at") if isinstance(gc.get("max_beta_at"), dict) else {}
    cos_t = TableSpec(f"Cosine to the {exact} gradient, per estimator (rows) and |β| (columns)",
                      ["estimator"] + cols + (["max |β|, cos ≥ 0.9999"] if best else []))
    rel_t = TableSpec(f"Relative error ‖ĝ − g‖ / ‖g‖ against the {exact} gradient",
                      ["estimator"] + cols)
    for label, entries in lines.items():
        by = {}
        for d in entries:
            key = f"{d['abs_beta']:g}" if math.isfinite(d["abs_beta"]) else "no β"
            by[key] = d
        crow, rrow = [Cell(legend[label])], [Cell(legend[label])]
        for c in cols:
            d = by.get(c)
            if d is None:
                crow.append(Cell(""))
                rrow.append(Cell(""))
            elif d.get("cosine_total") is None:
                err = str(d.get("error") or "no value")
                crow.append(Cell("failed", title=err))
                rrow.append(Cell("failed", title=err))
            else:
                crow.append(Cell(format_cosine(d["cosine_total"]), numeric=True))
                r = num(d.get("rel_error_total"))
                rrow.append(Cell(f"{r:.2e}" if math.isfinite(r) else "—", numeric=True))
        if best:
            e0 = entries[0]
            key = str(e0.get("estimator")) + (f"_N{e0['n_points']}" if e0.get("n_points") else "")
            v = best.get(key, "")
            crow.append(Cell("none" if v is None else format_value(v), numeric=_is_number(v)))
        cos_t.rows.append(crow)
        rel_t.rows.append(rrow)
    info = gc.get("exact_info") if isinstance(gc.get("exact_info"), dict) else {}
    bits = [f"{k} {format_value(info[k], k)}" for k in ("loss", "residual", "min_eig", "n_on_bound")
            if k in info]
    cos_t.note = (f"Exact gradient: {exact}" + (f" ({', '.join(bits)})" if bits else "")
                  + f"; batch {gc.get('batch', '?')}, cost {gc.get('cost', '?')}. "
                  "Cosines are shown to two significant digits of 1 − cos.")
    return [cos_t, rel_t]


# --------------------------------------------------------------------------- compare
TRAIN_COLUMNS = [("test acc %", "test_accuracy", "pct"), ("± std", "test_accuracy_std", "pct"),
                 ("best %", "best_test_accuracy", "pct"), ("loss", "train_loss", "g4"),
                 ("s/epoch", "seconds_per_epoch", "f3"), ("cos(bp)", "grad_cosine_to_bp", "f4")]
GEN_COLUMNS = [("W2", "w2", "f4"), ("± std", "w2_std", "f4"), ("floor", "w2_floor", "f4"),
               ("MMD", "mmd", "e2"), ("cond acc %", "conditional_accuracy", "pct1"),
               ("train s", "wall_seconds", "f1")]


def _fmt(v: Any, how: str) -> str:
    v = num(v)
    if not math.isfinite(v):
        return ""
    return {"pct": f"{100 * v:.2f}", "pct1": f"{100 * v:.1f}", "g4": f"{v:.4g}", "f3": f"{v:.3f}",
            "f4": f"{v:.4f}", "e2": f"{v:.2e}", "f1": f"{v:.1f}"}[how]


def sub_runs(run_dir: Path, rule: str) -> list[Path]:
    """The run directories of one rule of a comparison (``RULE/seed<S>/``), by seed."""
    base = run_dir / rule
    if not base.is_dir():
        return []
    runs = [p for p in base.iterdir() if p.is_dir() and p.name.startswith("seed")]
    return sorted(runs, key=lambda p: (len(p.name), p.name))


def _run_link(run_dir: Path, sub: Path) -> str:
    for name in ("report.html", "metrics.json"):
        if (sub / name).is_file():
            return (sub / name).relative_to(run_dir).as_posix()
    return sub.relative_to(run_dir).as_posix() + "/"


def compare_table(run_dir: Path, doc: dict) -> TableSpec | None:
    stats = rule_stats(doc)
    if not stats:
        return None
    ran = io.rule_order(run_dir)
    order = [r for r in ran if r in stats] + [r for r in stats if r not in ran]
    gen = not any("test_accuracy" in s for s in stats.values())
    columns = GEN_COLUMNS if gen else TRAIN_COLUMNS
    spec = TableSpec("Per rule (mean over seeds), as printed by neurosim compare",
                     ["rule"] + [c[0] for c in columns] + ["n", "runs"])
    for rule in order:
        s = stats[rule]
        row = [Cell(rule)] + [Cell(_fmt(s.get(k), how), numeric=True) for _, k, how in columns]
        n = n_runs(s)
        row.append(Cell("" if n is None else str(n), numeric=True))
        subs = sub_runs(run_dir, rule)
        row.append(Cell("" if subs else "—", links=[(p.name, _run_link(run_dir, p)) for p in subs]))
        spec.rows.append(row)
    total = doc.get("total_wall_seconds")
    spec.note = ("Accuracies in %. " if not gen else "") + (
        f"Total {num(total):.1f} s. " if _is_number(total) else "") + "Each run links to its own report."
    return spec


# --------------------------------------------------------------------------- everything else
def metrics_tables(metrics: dict, caption: str = "Results (metrics.json)") -> list[TableSpec]:
    top = TableSpec(caption, ["key", "value"])
    nested: list[TableSpec] = []
    for k, v in metrics.items():
        if isinstance(v, dict):
            if v and all(isinstance(x, dict) for x in v.values()):
                keys: list[str] = []
                for x in v.values():
                    keys += [c for c, y in x.items() if c not in keys and not isinstance(y, (dict, list))]
                t = TableSpec(f"{k} (metrics.json)", [k] + keys[:10])
                for name, x in v.items():
                    t.rows.append([Cell(str(name))] + [_cell(x.get(c), c) for c in keys[:10]])
                nested.append(t)
            continue
        if isinstance(v, list) and len(v) > 8:
            continue
        top.rows.append([Cell(str(k)), _cell(v, str(k))])
    return ([top] if top.rows else []) + nested


#: the sample scores of the lump-vs-bp table: (metrics.json key overall, per class, header)
SAMPLE_SCORES = (("judge_accuracy", None, "judge accuracy"), ("diversity_ratio", "diversity_ratio", "diversity"),
                 ("mmd2", "mmd2", "MMD²"), ("w2", "w2", "W2"))


def sampling_table(metrics: dict) -> TableSpec | None:
    """``sampling`` (the lump) against ``sampling_bp`` (the bp-trained same network): the first
    guidance weight's judge accuracy, diversity ratio, MMD² and W2, overall then per class; None
    without both (a bp twin that failed: one row with its status)."""
    lump, bp = metrics.get("sampling"), metrics.get("sampling_bp")
    if not isinstance(lump, dict) or not isinstance(bp, dict):
        return None
    header = ["class"] + [f"{h} {who}" for _, _, h in SAMPLE_SCORES for who in ("lump", "bp")]
    t = TableSpec("Samples: the lump against bp, the same network (metrics.json sampling, sampling_bp)", header)
    if bp.get("status", "ok") != "ok":
        t.rows.append([Cell("all"), Cell(f"bp {bp['status']}", title=bp["status"])])
        return t
    t.rows.append([Cell("all")] + [_cell(s.get(k), k) for k, _, _ in SAMPLE_SCORES for s in (lump, bp)])
    w = bp["headline_guidance"]  # the first guidance weight (metrics.json sorts the guidance keys)
    per = [s["guidance"][w]["per_class"] for s in (lump, bp)]
    for c in per[0]:
        t.rows.append([Cell(c)] + [Cell("—") if k is None else _cell(p[c].get(k), k)
                                   for _, k, _ in SAMPLE_SCORES for p in per])
    t.note = (f"Guidance w = {w}, {lump.get('per_class')} samples per class, the same starting noise; diversity: "
              "mean pairwise distance over the real test digits'; MMD² and W2 to the real test digits of the class.")
    return t


def summary_tables(run_dir: Path, verb: str) -> list[TableSpec]:
    """The tables that lead a report of ``verb`` (see module docstring)."""
    if verb == "gradcheck":
        gc = io.read_gradcheck(run_dir)
        return gradcheck_tables(gc) if isinstance(gc, dict) else []
    if verb == "compare":
        doc = io.read_compare(run_dir)
        t = compare_table(run_dir, doc) if isinstance(doc, dict) else None
        return [t] if t else []
    if verb == "generate":
        info = io.read_samples_info(run_dir) or {}
        return metrics_tables({k: v for k, v in info.items() if k not in ("shape",)},
                              "Samples (samples.json)")
    metrics = io.read_metrics(run_dir)
    if not isinstance(metrics, dict):
        return []
    samples = sampling_table(metrics)
    return metrics_tables(metrics) + ([samples] if samples else [])


def report_kind(run_dir: Path) -> tuple[str, str]:
    """(verb, kind) of a run directory: ``compare`` / ``gradcheck`` / ``generate`` by their files,
    else ``run`` with the scenario's kind."""
    run_dir = Path(run_dir)
    kind = io.scenario_header(run_dir).get("kind", "")
    if (run_dir / io.COMPARE_JSON).is_file() or (run_dir / io.COMPARE_CSV).is_file():
        return "compare", kind
    if (run_dir / io.GRADCHECK).is_file():
        return "gradcheck", kind or "gradcheck"
    if (run_dir / io.SAMPLES_JSON).is_file() and not (run_dir / io.SCENARIO).is_file():
        return "generate", "generative"
    return "run", kind


