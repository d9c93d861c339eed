"""Shared figure conventions: Agg backend, dpi, atomic PNG writes, colours, axis labels."""
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


def task_colour(i: int) -> str:
    """Distinct colour for the i-th task (tab10 without grey)."""
    palette = [c for j, c in enumerate(plt.get_cmap("tab10").colors) if j != 7]
    return matplotlib.colors.to_hex(palette[i % len(palette)])


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


def pretty(name: str) -> str:
    """Axis label for a metric column name."""
    known = {
        "train_loss": "train loss", "test_loss": "test loss",
        "test_accuracy": "test accuracy", "train_accuracy": "train accuracy",
        "grad_cosine_to_bp": "cos(ΔW, ∇_BP)", "w2": "W₂ distance",
        "wall_seconds": "wall time (s)", "seconds_per_epoch": "s / epoch",
    }
    return known.get(name, name.replace("_", " "))
