"""neurosim.plotting draws every figure from synthetic run directories alone."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from neurosim.plotting import main_plot, plot_run, write_report
from neurosim.plotting import io as pio
from neurosim.plotting.tables import format_cosine, format_value

BLOCKS = ["x", "h", "y"]
SIZES = [16, 8, 4]


# --------------------------------------------------------------------------- builders
def make_run_dir(root: Path) -> Path:
    rng = np.random.default_rng(0)
    d = root / "run"
    d.mkdir()
    (d / "scenario.toml").write_text('[run]\nname = "toy <run> & co"\nseed = 7\n')
    (d / "metrics.json").write_text(json.dumps({
        "test_accuracy": 0.912345678, "train_loss": 0.0123456, "rule": "hep",
        "wall_seconds": 12.3456, "tasks": {"readout": {"accuracy": 0.87654321, "n": 3}},
    }))
    (d / "network.json").write_text(json.dumps({
        "blocks": [{"name": "x", "size": 16, "activation": "identity", "role": "clamped", "task": "readout"},
                   {"name": "h", "size": 8, "activation": "sigmoid", "role": "free", "task": None},
                   {"name": "y", "size": 4, "activation": "sigmoid", "role": "nudged", "task": "readout"}],
        "projections": [{"name": "x->h", "pre": "x", "post": "h"},
                        {"name": "h->y", "pre": "h", "post": "y"}]}))
    S, P = 300, 5
    t = np.linspace(0, 30, S)
    n_ev = 600
    ev_t = np.sort(rng.uniform(0, 30, n_ev))
    ev_b = rng.integers(0, 3, n_ev)
    clamp = ((t % 10) < 6).astype(float)
    lam = 0.5 * np.exp(2j * np.pi * t / 5.0) * clamp
    arrays = {"time": t, "energy": rng.normal(size=(S, P)).cumsum(0) * 0.1 - t[:, None] * 0.05,
              "block_names": np.array(BLOCKS), "event_time": ev_t, "event_block": ev_b,
              "lambda/readout": lam, "clamp/readout": clamp}
    for b, n in zip(BLOCKS, SIZES):
        arrays[f"activity/{b}"] = np.tanh(rng.normal(size=(S, P, n)).cumsum(0) * 0.1)
    np.savez(d / "traces.npz", **arrays)
    np.savez(d / "checkpoint.npz", **{"weights/x->h": rng.normal(0, 0.3, (16, 8)),
                                      "weights/h->y": rng.normal(0, 0.3, (8, 4)),
                                      "bias/h": rng.normal(size=8), "bias/y": rng.normal(size=4),
                                      "optimizer/m": np.zeros(3)})
    with open(d / "history.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "test_accuracy", "grad_cosine_to_bp",
                    "task/readout/accuracy", "task/denoise/accuracy", "note"])
        for e in range(1, 11):
            w.writerow([e, 1.0 / e, 1 - 0.5 / e, 0.9 + 0.01 * e, 0.5 + 0.04 * e,
                        "" if e < 3 else 0.3 + 0.05 * e, "ok"])
    return d


def make_compare_dir(root: Path, metric: str = "test_accuracy") -> Path:
    rng = np.random.default_rng(1)
    d = root / f"compare_{metric}"
    d.mkdir()
    rules = ["ep", "bp"]
    with open(d / "compare_history.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rule", "seed", "epoch", "train_loss", metric, "grad_cosine_to_bp"])
        for r in rules:
            for seed in (0, 1):
                for e in range(1, 8):
                    cos = "" if r == "bp" else 0.8 + rng.normal(0, 0.02)
                    w.writerow([r, seed, e, 1 / e + rng.uniform(0, 0.1),
                                1 - 0.4 / e + rng.normal(0, 0.02), cos])
    summary = {r: {metric: 0.9 + 0.01 * i, f"{metric}_std": 0.01, f"best_{metric}": 0.95,
                   "train_loss": 0.1, "wall_seconds": 10.0 * (i + 1), "seconds_per_epoch": 1.4,
                   "grad_cosine_to_bp": None if r == "bp" else 0.8}
               for i, r in enumerate(rules)}
    (d / "compare.json").write_text(json.dumps({"rules": summary}))
    with open(d / "compare.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rule", metric, "wall_seconds"])
        for r, s in summary.items():
            w.writerow([r, s[metric], s["wall_seconds"]])
    (d / "metrics.json").write_text(json.dumps({"n_rules": 2, "best_rule": "bp"}))
    return d


def make_gradcheck_dir(root: Path) -> Path:
    d = root / "gradcheck"
    d.mkdir()
    est = {}
    for fam, n in (("ep", None), ("ep_symmetric", None), ("hep", 2), ("hep", 4)):
        for beta in (1e-3, 1e-2, 1e-1, 1.0):
            order = {"ep": 1, "ep_symmetric": 2, "hep": n or 1}[fam]
            err = beta ** order
            key = f"{fam}{'' if n is None else f'_N{n}'}_b{beta:g}"
            est[key] = {"estimator": fam, "beta": beta, "n_points": n, "cosine_total": 1 - err ** 2 / 2,
                        "rel_error_total": err,
                        "per_projection": {"x->h": {"cosine": 1 - err ** 2, "rel_error": err},
                                           "h->y": {"cosine": 1 - err ** 2 / 3, "rel_error": err / 2}}}
    (d / "gradcheck.json").write_text(json.dumps({"exact": "implicit_diff", "estimators": est}))
    return d


def make_samples_dir(root: Path, d: int, labels: bool = True) -> Path:
    rng = np.random.default_rng(d)
    out = root / f"samples_{d}"
    out.mkdir()
    arrays = {"samples": rng.normal(size=(200, d)), "reference": rng.normal(size=(300, d)) * 1.2}
    if labels:
        arrays["labels"] = rng.integers(0, 4, 200)
    np.savez(out / "samples.npz", **arrays)
    return out


# --------------------------------------------------------------------------- checks
def assert_real_png(path: Path, min_kb: float = 8, coloured: bool = True) -> None:
    assert path.is_file(), f"{path} missing"
    assert path.stat().st_size > min_kb * 1024, f"{path} suspiciously small ({path.stat().st_size} B)"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
    grey = img[..., :3].mean(axis=2)
    assert grey.std() > 0.05, f"{path} looks blank"
    # Something other than black text on white: coloured pixels exist.
    spread = img[..., :3].max(axis=2) - img[..., :3].min(axis=2)
    assert not coloured or (spread > 0.2).mean() > 0.002, f"{path} has no coloured content"


def assert_no_tmp(run_dir: Path) -> None:
    assert not list(run_dir.rglob("*.tmp.*")), "temporary files left behind"


# --------------------------------------------------------------------------- tests
def test_run_dir_all_figures_and_report(tmp_path):
    d = make_run_dir(tmp_path)
    paths = plot_run(d, strict=True)
    names = {p.name for p in paths}
    assert names == {"network.png", "activity.png", "raster.png", "energy.png", "tasks.png",
                     "weights.png", "history.png"}
    for p in paths:
        assert p.parent == d / "plots"
        assert_real_png(p)
    report = write_report(d)
    assert report == d / "report.html"
    text = report.read_text()
    for p in paths:
        assert f'src="plots/{p.name}"' in text
    # accuracies in %, nested keys flattened (folded table), strings shown, escaped scenario
    for needle in ("91.23 %", "0.0123456", "12.3456", "tasks.readout.accuracy", "87.65 %", "hep",
                   "toy &lt;run&gt; &amp; co", "<pre>", '<a href="metrics.json">'):
        assert needle in text, needle
    assert "0.912345678" not in text and "0.9123" not in text
    assert "<run>" not in text
    assert text.index("<img") < text.index("<details")   # figures before the folded full table
    assert_no_tmp(d)


def test_activity_panels_match_blocks(tmp_path):
    """The activity figure grows with the blocks it shows: dropping blocks shrinks it."""
    d = make_run_dir(tmp_path)
    plot_run(d, strict=True)
    full = mpimg.imread(d / "plots" / "activity.png").shape[0]
    with np.load(d / "traces.npz") as z:
        arrays = {k: z[k] for k in z.keys() if k not in ("activity/x", "activity/h")}
    np.savez(d / "traces.npz", **arrays)
    plot_run(d, strict=True)
    one = mpimg.imread(d / "plots" / "activity.png").shape[0]
    assert one < 0.6 * full


def test_traces_reader_and_clamp_intervals(tmp_path):
    d = make_run_dir(tmp_path)
    tr = pio.read_traces(d)
    assert list(tr.activity) == BLOCKS
    assert tr.activity["x"].shape == (300, 5, 16)
    assert np.iscomplexobj(tr.lam["readout"])
    assert sum(len(tr.events_of(b)) for b in BLOCKS) == 600
    spans = pio.on_intervals(tr.time, tr.clamp["readout"])
    assert len(spans) == 4          # t = 30 itself starts a fourth on-period
    assert spans[0][0] == 0.0 and 5.9 < spans[0][1] < 6.2
    assert pio.on_intervals(np.arange(4.0), np.zeros(4)) == []


def test_raster_subsamples_large_logs(tmp_path):
    from neurosim.plotting.activity import MAX_EVENTS, plot_raster
    n = MAX_EVENTS * 2 + 7
    tr = pio.Traces(time=np.linspace(0, 1, 10), block_names=["a", "b"],
                    event_time=np.linspace(0, 1, n), event_block=np.arange(n) % 2)
    out = plot_raster(tr, tmp_path / "r.png")
    assert_real_png(out, min_kb=4)


def test_history_with_time_column(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / "history.csv").write_text("time,energy,w2\n" + "".join(f"{t},{-t*0.1},{1/(t+1)}\n" for t in range(20)))
    assert [p.name for p in plot_run(d, strict=True)] == ["history.png"]
    assert_real_png(d / "plots" / "history.png")


@pytest.mark.parametrize("metric", ["test_accuracy", "w2"])
def test_compare_dir(tmp_path, metric):
    d = make_compare_dir(tmp_path, metric)
    paths = plot_run(d, strict=True)
    assert {p.name for p in paths} == {"compare_curves.png", "compare_summary.png"}
    for p in paths:
        assert_real_png(p)
    text = write_report(d).read_text()
    assert "compare_curves.png" in text and "best_rule" in text
    assert "neurosim compare" in text
    assert text.index("compare_summary.png") < text.index("compare_curves.png")


def test_compare_reader_falls_back_to_csv(tmp_path):
    d = make_compare_dir(tmp_path)
    (d / "compare.json").unlink()
    rules = pio.read_compare(d)["rules"]
    assert set(rules) == {"ep", "bp"} and rules["bp"]["wall_seconds"] == 20.0


def test_gradcheck_dir(tmp_path):
    from neurosim.plotting.gradients import gradcheck_series
    d = make_gradcheck_dir(tmp_path)
    lines = gradcheck_series(pio.read_gradcheck(d))
    assert set(lines) == {"ep", "ep_symmetric", "hep N=2", "hep N=4"}
    assert [e["abs_beta"] for e in lines["hep N=4"]] == [1e-3, 1e-2, 1e-1, 1.0]
    paths = plot_run(d, strict=True)
    assert {p.name for p in paths} == {"gradcheck.png", "gradcheck_projections.png"}
    for p in paths:
        assert_real_png(p)


@pytest.mark.parametrize("dim", [2, 64, 5])
def test_samples(tmp_path, dim):
    d = make_samples_dir(tmp_path, dim, labels=dim != 5)
    paths = plot_run(d, strict=True)
    assert [p.name for p in paths] == ["samples.png"]
    assert_real_png(paths[0], coloured=dim != 64)   # 8×8 digits are drawn in grey


def test_main_plot_prints_paths(tmp_path, capsys):
    d = make_gradcheck_dir(tmp_path)
    (d / "plots").mkdir()
    (d / "plots" / "stale_from_old_run.png").write_bytes(b"")
    assert main_plot(d) == 0
    out = capsys.readouterr().out
    assert "gradcheck.png" in out and f"report: {d / 'report.html'}" in out
    text = (d / "report.html").read_text()
    assert "plots/gradcheck_projections.png" in text and "stale_from_old_run" not in text
    # the estimator × |β| pivot, with the digits that tell 1 − 1e-6 from 1
    assert "Cosine to the implicit_diff gradient" in text and "0.9999995" in text


def test_empty_dir_raises_clear_error(tmp_path):
    d = tmp_path / "nothing_here"
    d.mkdir()
    (d / "unrelated.txt").write_text("hi")
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        plot_run(d)
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        main_plot(d)
    with pytest.raises(FileNotFoundError, match="missing_dir"):
        main_plot(tmp_path / "missing_dir")


def test_partial_dir_skips_absent_and_bad_files(tmp_path):
    d = make_run_dir(tmp_path)
    for name in ("traces.npz", "checkpoint.npz", "history.csv"):
        (d / name).unlink()
    (d / "samples.npz").write_bytes(b"not an npz")
    with pytest.warns(RuntimeWarning, match="samples"):
        paths = plot_run(d)      # a broken samples.npz must not cost the network figure
    assert [p.name for p in paths] == ["network.png"]
    with pytest.raises(Exception):
        plot_run(d, strict=True)


def test_format_value():
    assert format_value(0.1234567) == "0.123457"
    assert format_value(1234567.7) == "1.23457e+06"
    assert format_value(0.99999979) == "0.99999979"          # never rounded to 1
    assert format_value(0.978, "test_accuracy") == "97.80 %"
    assert format_cosine(0.9999999993329617) == "0.99999999933"
    assert format_cosine(1.0) == format_cosine(1.0000000000000002) == "1 (float64)"
    assert format_value(3) == "3"
    assert format_value(True) == "true"
    assert format_value(None) == "—"
    assert format_value("a<b") == "a<b"
    assert re.fullmatch(r"\[1, 2\.5\]", format_value([1, 2.5]))


def test_dense_events_and_nonuniform_time(tmp_path):
    """Many events per block (rate strip), non-uniform sample times, 1-D energy, real λ,
    a cyclic network with two tasks: every traces figure still draws."""
    rng = np.random.default_rng(3)
    d = tmp_path / "dense"
    d.mkdir()
    names = ["a", "b", "c"]
    (d / "network.json").write_text(json.dumps({
        "blocks": [{"name": "a", "size": 30, "role": "clamped", "task": "t1"},
                   {"name": "b", "size": 20, "role": "free"},
                   {"name": "c", "size": 3, "role": "nudged", "task": "t2"}],
        "projections": [{"name": "a->b", "pre": "a", "post": "b"}, {"name": "b->c", "pre": "b", "post": "c"},
                        {"name": "c->b", "pre": "c", "post": "b"}]}))
    t = np.sort(rng.uniform(0, 50, 400))
    n_ev = 20_000
    np.savez(d / "traces.npz", time=t, energy=-np.log1p(t), block_names=np.array(names),
             event_time=np.sort(rng.uniform(0, 50, n_ev)), event_block=rng.integers(0, 3, n_ev),
             **{"lambda/t2": np.sin(t), "clamp/t1": (t < 20).astype(np.int8),
                "clamp/t2": (t > 30).astype(np.int8)},
             **{f"activity/{b}": rng.random((400, 2, n)) for b, n in zip(names, (30, 20, 3))})
    paths = plot_run(d, strict=True)
    assert {p.name for p in paths} == {"network.png", "activity.png", "raster.png", "energy.png",
                                       "tasks.png"}
    for p in paths:
        assert_real_png(p)


def test_inpainting_drawn_from_its_file(tmp_path):
    rng = np.random.default_rng(5)
    d = tmp_path / "inpaint"
    d.mkdir()
    x = rng.uniform(-1, 1, (40, 64))
    np.savez(d / "inpainting.npz", original=x, inpainted=np.concatenate([x[:, :32], -x[:, 32:]], 1),
             labels=rng.integers(0, 10, 40))
    paths = plot_run(d, strict=True)
    assert [p.name for p in paths] == ["inpainting.png"]
    assert_real_png(paths[0], coloured=False)


def test_energy_has_log_distance_panel_and_network_is_undirected(tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch
    d = make_run_dir(tmp_path)
    drawn = {}
    original = Figure.savefig

    def spy(self, fname, *a, **k):
        drawn[Path(str(fname)).name.replace(".tmp", "")] = self
        return original(self, fname, *a, **k)
    monkeypatch.setattr(Figure, "savefig", spy)
    plot_run(d, strict=True)
    energy = drawn["energy.png"].axes
    assert len(energy) == 3 and energy[1].get_yscale() == "log" and "E(T)" in energy[1].get_title()
    net = drawn["network.png"].axes[0]
    assert not [p for p in net.patches if isinstance(p, FancyArrowPatch)], "arrows on symmetric couplings"


def test_compare_rule_order_and_headline(tmp_path):
    """compare.json's keys are sorted on disk; the figures and table follow compare.csv (run order)."""
    from neurosim.plotting.comparison import headline_metric
    d = make_compare_dir(tmp_path)
    assert pio.rule_order(d) == ["ep", "bp"]
    assert headline_metric({"r": {"mmd": 1.0, "mmd_std": 0.1, "w2": 2.0, "w2_std": 0.2}}) == "w2"
    doc = json.loads((d / "compare.json").read_text())
    doc["rules"]["broken"] = "not a dict"       # rows of other kinds are skipped, not fatal
    doc["rules"]["bp"]["n"] = 1
    (d / "compare.json").write_text(json.dumps(doc, sort_keys=True))
    plot_run(d, strict=True)
    text = write_report(d).read_text()
    assert text.index("<td>ep</td>") < text.index("<td>bp</td>")


def test_history_wall_clock_axis(tmp_path):
    from neurosim.plotting.learning import history_x
    d = tmp_path / "h"
    d.mkdir()
    (d / "history.csv").write_text("epoch,train_loss,test_accuracy,seconds\n0,1.0,0.5,0\n1,0.5,0.9,2.5\n"
                                   "2,0.3,0.95,2.5\n")
    table = pio.read_history(d)
    name, x, label = history_x(table, "wall")
    assert list(x) == [0, 2.5, 5.0] and "wall" in label
    assert history_x(table, "epoch")[2] == "epoch"
    assert [p.name for p in plot_run(d, strict=True, x="wall")] == ["history.png"]
    with pytest.raises(ValueError, match="x must be one of"):
        plot_run(d, x="hours")


def test_compare_wall_seconds_joined_from_sub_runs(tmp_path):
    d = make_compare_dir(tmp_path)
    sub = d / "ep" / "seed0"
    sub.mkdir(parents=True)
    (sub / "history.csv").write_text("epoch,seconds\n" + "".join(f"{e},{0.5}\n" for e in range(1, 8)))
    t = pio.read_compare_history(d)
    rows = [i for i, (r, s) in enumerate(zip(t.text["rule"], t.text["seed"])) if r == "ep" and s == "0"]
    assert list(t.numeric["wall_seconds"][rows]) == [0.5 * e for e in range(1, 8)]
    assert np.isnan(t.numeric["wall_seconds"][[i for i, r in enumerate(t.text["rule"]) if r == "bp"]]).all()
    assert {p.name for p in plot_run(d, strict=True, x="wall")} == {"compare_curves.png", "compare_summary.png"}


def _sampling(shift: float, headline: float) -> dict:
    """metrics.json ``sampling``-shaped scores: two guidance weights, two classes; the headline
    figures are the weight ``headline``'s."""
    per = {w: {"per_class": {c: {"diversity_ratio": shift + w + int(c), "mmd2": 10 * shift + w, "w2": shift - w}
                             for c in ("0", "1")}} for w in (0.0, 1.0)}
    g = per[headline]["per_class"]["0"]
    return {"judge_accuracy": 0.5 + shift / 10, "diversity_ratio": g["diversity_ratio"], "mmd2": g["mmd2"],
            "w2": g["w2"], "per_class": 20, "guidance": {f"{w:g}": v for w, v in sorted(per.items())}}


def test_the_lump_vs_bp_table_reads_the_headline_weight_per_class_and_a_failure(tmp_path):
    """The report's lump-vs-bp table: the headline weight's per-class figures (not the first key of
    the sorted guidance table), lump then bp per score; a failed bp twin is one row with its status;
    the two sample grids are drawn side by side."""
    from neurosim.plotting.tables import sampling_table
    lump, bp = _sampling(1.0, 1.0), dict(_sampling(2.0, 1.0), status="ok", headline_guidance="1")
    t = sampling_table({"sampling": lump, "sampling_bp": bp})
    rows = [[c.text for c in r] for r in t.rows]
    assert rows[0] == ["all", "60.00 %", "70.00 %", "2", "3", "11", "21", "0", "1"]
    assert rows[2] == ["1", "—", "—", "3", "4", "11", "21", "0", "1"] and "w = 1" in t.note
    failed = sampling_table({"sampling": lump, "sampling_bp": {"status": "failed: diverged"}})
    assert [c.text for c in failed.rows[0]] == ["all", "bp failed: diverged"] and len(failed.rows) == 1
    assert sampling_table({"sampling": lump}) is None
    d = make_samples_dir(tmp_path, 64, labels=True)
    with np.load(d / "samples.npz") as z:
        np.savez(d / "samples_bp.npz", samples=1 - z["samples"], labels=z["labels"])
    names = sorted(p.name for p in plot_run(d, strict=True))
    assert names == ["samples.png", "samples_vs_bp.png"]
    assert_real_png(d / "plots" / "samples_vs_bp.png", coloured=False)
