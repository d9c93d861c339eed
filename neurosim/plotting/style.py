"""Shared figure conventions: Agg backend, dpi, atomic PNG writes, colours, series styles, axis labels.

Series styles: series i gets colour ``PALETTE[i % 10]``, marker ``MARKERS[i % 9]`` and dash
``DASHES[(i // 10) % 4]``. As 9 and 10 are coprime, (i mod 10, i mod 9) differ for every pair
i < j < 90 (Chinese remainder theorem), so no two of the first 90 series of a figure share both
colour and marker, and neighbours in a legend differ in both.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: plotting never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 110
TIME_LABEL = "t (τ)"  # simulated time in units of the neuron time constant
ROLE_COLOURS = {"free": "#b0b0b0", "clamped": "#1f77b4", "nudged": "#d62728"}
PALETTE = [matplotlib.colors.to_hex(c) for c in plt.get_cmap("tab10").colors]
MARKERS = "os^Dv<>ph"          # 9 markers: coprime with the 10 colours
DASHES = ("-", "--", "-.", ":")


def task_colour(i: int) -> str:
    """Distinct colour for the i-th task (tab10 without grey)."""
    palette = [c for j, c in enumerate(plt.get_cmap("tab10").colors) if j != 7]
    return matplotlib.colors.to_hex(palette[i % len(palette)])


def series_style(i: int) -> dict:
    """Line style of the i-th series of a figure: ``color``, ``marker``, ``ls`` (see module doc)."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)],
            "ls": DASHES[(i // len(PALETTE)) % len(DASHES)]}


def series_styles(names) -> dict[str, dict]:
    """``{name: series_style(i)}`` in the order given (one style per series, every figure)."""
    return {name: series_style(i) for i, name in enumerate(dict.fromkeys(names))}


def coincident(series: dict[str, list[np.ndarray]], rtol: float = 1e-3) -> dict[str, tuple[str, bool]]:
    """Series drawn on top of an earlier one: ``{later: (earlier, exact)}``.

    ``series`` maps a name to the arrays it draws (same order and length for comparable series).
    Two series coincide when every array agrees within ``rtol`` relative to its magnitude
    (NaN matches NaN) — on a figure they are one line; ``exact`` when within 1e-9.
    """
    out: dict[str, tuple[str, bool]] = {}
    names = list(series)
    for j, later in enumerate(names):
        for earlier in names[:j]:
            if earlier in out:
                continue
            a, b = series[earlier], series[later]
            if len(a) != len(b) or any(np.shape(x) != np.shape(y) for x, y in zip(a, b)):
                continue
            if not any(np.size(x) for x in a):
                continue
            gaps = []
            for x, y in zip(a, b):
                x, y = np.asarray(x, float), np.asarray(y, float)
                if not np.array_equal(np.isnan(x), np.isnan(y)):
                    break
                ok = ~np.isnan(x)
                scale = np.maximum(np.abs(x[ok]), np.abs(y[ok]))
                gaps.append(np.max(np.abs(x[ok] - y[ok]) / np.where(scale > 0, scale, 1.0), initial=0.0))
            else:
                gap = max(gaps, default=0.0)
                if gap <= rtol:
                    out[later] = (earlier, gap <= 1e-9)
                    break
    return out


def save_figure(fig, path: Path | str) -> Path:
    """Write ``fig`` to ``path`` atomically (``name.tmp.png`` then ``os.replace``) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    try:
        fig.savefig(tmp, dpi=DPI, format=path.suffix.lstrip(".") or "png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path


def subsample(n: int, limit: int) -> np.ndarray:
    """Deterministic evenly spaced indices, at most ``limit`` of ``range(n)``."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).astype(np.int64))


def is_accuracy(name: str) -> bool:
    """A metric column holding an accuracy in [0, 1] (``test_accuracy``, ``task/a/accuracy`` …)."""
    return "accuracy" in name.split("/")[-1].lower()


def error_percent(accuracy) -> np.ndarray:
    """Error in percent, 100 · (1 − accuracy): the one unit accuracies are shown in."""
    return 100.0 * (1.0 - np.asarray(accuracy, dtype=float))


def log_scale_fits(*arrays) -> bool:
    """Whether every finite value of ``arrays`` is > 0 (and there is at least one)."""
    vals = np.concatenate([np.ravel(np.asarray(a, float)) for a in arrays]) if arrays else np.zeros(0)
    vals = vals[np.isfinite(vals)]
    return bool(vals.size) and bool((vals > 0).all())


def wall_clock(seconds: np.ndarray | None, cumulative: np.ndarray | None = None) -> np.ndarray | None:
    """Cumulative wall-clock seconds per row: ``cumulative`` as is, else the running sum of the
    per-row ``seconds`` (empty cells count 0); None when neither exists."""
    if cumulative is not None and np.isfinite(cumulative).any():
        return np.asarray(cumulative, float)
    if seconds is None or not np.isfinite(seconds).any():
        return None
    return np.cumsum(np.nan_to_num(np.asarray(seconds, float)))


WALL_LABEL = "wall-clock time (s, cumulative)"


def plain_log_ticks(ax, axis: str = "y") -> None:
    """Plain numbers (2, 3, 5, 10 …) on a log axis spanning less than two decades, where the default
    would label only one tick as 10¹."""
    from matplotlib import ticker
    ax_ = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = (ax.get_ylim() if axis == "y" else ax.get_xlim())
    if lo > 0 and hi / lo < 100:
        fmt = ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax_.set_major_formatter(fmt)
        ax_.set_minor_formatter(fmt)


def integer_ticks(ax) -> None:
    """Whole-number x ticks (epochs, steps)."""
    from matplotlib import ticker
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))


def pretty(name: str) -> str:
    """Axis label for a metric column name."""
    known = {
        "train_loss": "train loss", "test_loss": "test loss",
        "test_accuracy": "test accuracy", "train_accuracy": "train accuracy",
        "test_error": "test error (%)", "train_error": "train error (%)",
        "grad_cosine_to_bp": "cos(ΔW, ∇_BP)", "w2": "W₂ distance",
        "wall_seconds": "wall time (s)", "seconds_per_epoch": "s / epoch",
    }
    return known.get(name, name.replace("_", " "))
