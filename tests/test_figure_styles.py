"""Every series of a figure can be told apart: no two Line2D of one axes share colour, marker and
dash, and a series drawn on top of another is named as such in the legend.

The figures are redrawn by ``plot_run`` with ``Figure.savefig`` wrapped, so every Line2D of every
axes of every figure is inspected just before it is written.
"""
from __future__ import annotations

import json

import matplotlib.colors as mcolors
import pytest
from matplotlib.figure import Figure
from rundirs import compare_run, gradcheck_run

from neurosim.plotting import plot_run
from neurosim.plotting.style import series_style


def _walk(monkeypatch, run_dir):
    """{figure file name: [(axes title, [(colour, marker, dash, label) …]) …], legend texts}."""
    seen, legends = {}, {}
    original = Figure.savefig

    def spy(self, fname, *args, **kwargs):
        name = str(fname).split("/")[-1].replace(".tmp", "")
        axes = []
        for ax in self.axes:
            lines = [(mcolors.to_hex(ln.get_color()), str(ln.get_marker()), str(ln.get_linestyle()),
                      ln.get_label()) for ln in ax.get_lines()]
            axes.append((ax.get_title(), lines))
        seen[name] = axes
        legends[name] = [t.get_text() for leg in self.legends + [a.get_legend() for a in self.axes
                                                                  if a.get_legend()]
                         for t in leg.get_texts()]
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    plot_run(run_dir, strict=True)
    return seen, legends


def _assert_distinct(seen):
    for fig, axes in seen.items():
        for title, lines in axes:
            keys = [ln[:3] for ln in lines]
            dup = {k for k in keys if keys.count(k) > 1}
            assert not dup, f"{fig} / {title!r}: series share colour, marker and dash: " \
                            f"{[ln for ln in lines if ln[:3] in dup]}"


def test_gradcheck_figures_distinct_and_coincidence_marked(monkeypatch):
    seen, legends = _walk(monkeypatch, gradcheck_run())
    assert {"gradcheck.png", "gradcheck_projections.png"} <= set(seen)
    _assert_distinct(seen)
    # ep and hep N=1 are the same estimator: the later line says so
    assert any("hep N=1 (= ep)" in t for t in legends["gradcheck.png"]), legends["gradcheck.png"]
    assert sum(len(lines) for _, lines in seen["gradcheck.png"]) >= 3 * 3


def test_compare_figures_distinct_and_same_colour_per_rule(monkeypatch):
    seen, _ = _walk(monkeypatch, compare_run())
    assert {"compare_curves.png", "compare_summary.png"} <= set(seen)
    _assert_distinct(seen)
    colour = {}
    for fig in ("compare_curves.png", "compare_summary.png"):
        for _, lines in seen[fig]:
            for c, m, _, label in lines:
                rule = label.split(" (")[0] if not label.startswith("_") else None
                if rule:
                    assert colour.setdefault(rule, (c, m)) == (c, m), (fig, rule)
    # the summary's points are in the curves' colours, in the order the rules ran
    summary_points = [ln[:2] for _, lines in seen["compare_summary.png"] for ln in lines]
    assert summary_points[:2] == [colour["ep_symmetric"], colour["bp_ff"]]


def test_many_series_gradcheck_figure(monkeypatch, tmp_path):
    """14 lines (more than the 10 colours): still one style each, and exact duplicates marked."""
    est = {}
    fams = [("bp", None, None), ("bp_ff", None, None), ("chl", None, None), ("pc", None, 0.7),
            ("ep", None, 1), ("ep_symmetric", None, 2), ("ep_random_sign", None, 1.5),
            ("baseline_hebb", 10, 0.5), ("hep_continuous", 10, 3)]
    fams += [("hep", n, n) for n in (1, 2, 4, 8)] + [("first_step", None, 1)]
    for fam, n, order in fams:
        betas = [None] if order is None else ([1e-3] if fam == "first_step" else [1e-3, 1e-2, 1e-1])
        for b in betas:
            err = 1e-3 * (1 + len(fam)) if b is None else b ** order
            est[f"{fam}_{n}_{b}"] = {"estimator": fam, "beta": b, "n_points": n, "cosine_total": 1 - err ** 2,
                                     "rel_error_total": err, "per_projection": {"a->b": {"rel_error": err}}}
    (tmp_path / "gradcheck.json").write_text(json.dumps({"exact": "implicit", "estimators": est}))
    seen, legends = _walk(monkeypatch, tmp_path)
    _assert_distinct(seen)
    assert len(seen["gradcheck.png"][0][1]) == 14 + 1          # 14 lines and the cos = 1 guide
    text = legends["gradcheck.png"]
    assert "hep N=1 (= ep)" in text and "hep N=2 (= ep_symmetric)" in text
    assert "bp (no β)" in text


@pytest.mark.parametrize("n", [10, 11, 30, 89])
def test_series_style_unique(n):
    keys = [tuple(series_style(i).values()) for i in range(n)]
    assert len(set(keys)) == n
    assert all(series_style(i)["color"] != series_style(i + 1)["color"]
               and series_style(i)["marker"] != series_style(i + 1)["marker"] for i in range(n))
