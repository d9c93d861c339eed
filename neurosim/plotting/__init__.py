"""Plots of a run directory, drawn from its files alone (never from live simulator objects).

    plot_run(run_dir, x="epoch") -> list[Path]   every figure the files allow, into run_dir/plots/
    write_report(run_dir)        -> Path         run_dir/report.html
    main_plot(run_dir, x="epoch") -> int         both, printing the paths (``neurosim plot RUN_DIR``)

``x = "wall"`` draws the learning curves against cumulative wall-clock seconds where the history
records them. Every runner calls :func:`plot_run` and :func:`write_report` on its run directory at
the end, so a run's figures are exactly the ones ``neurosim plot`` redraws.

See docs/plotting.md for what each figure shows and which file it reads.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before any pyplot import in the submodules

import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

from . import io  # noqa: E402
from .activity import plot_activity, plot_energy, plot_raster, plot_tasks  # noqa: E402
from .graph import plot_network, plot_weights  # noqa: E402
from .division import plot_division  # noqa: E402
from .trajectory import plot_trajectory, read_trajectory  # noqa: E402
from .comparison import plot_compare_curves, plot_compare_summary  # noqa: E402
from .gradients import plot_gradcheck, plot_gradcheck_projections  # noqa: E402
from .learning import X_CHOICES, plot_history  # noqa: E402
from .report import write_report  # noqa: E402
from .samples import plot_inpainting, plot_samples, plot_samples_vs_bp  # noqa: E402
from .sweep import plot_sweep  # noqa: E402
from .training import plot_phases, plot_weight_norms  # noqa: E402

__all__ = ["plot_run", "write_report", "main_plot", "plot_and_report"]


def _require_run_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    if not io.known_files(run_dir):
        raise FileNotFoundError(
            f"{run_dir} holds none of the run-directory files "
            f"({', '.join(io.KNOWN_FILES)}); is it a neurosim run directory?")


def plot_run(run_dir: Path | str, strict: bool = False, x: str = "epoch") -> list[Path]:
    """Draw every figure the files of ``run_dir`` allow into ``run_dir/plots/``.

    Absent files are skipped. A figure that fails to draw is reported with a warning and skipped,
    unless ``strict`` (then the exception propagates). ``x``: ``"epoch"`` (or step / time) or
    ``"wall"`` for the x axis of history.png and compare_curves.png.
    """
    run_dir = Path(run_dir)
    if x not in X_CHOICES:
        raise ValueError(f"x must be one of {X_CHOICES}, got {x!r}")
    _require_run_dir(run_dir)
    plots = run_dir / "plots"

    def attempt(name: str, fn: Callable[[], object]) -> object:
        try:
            return fn()
        except Exception as exc:  # one bad file must not cost every other figure
            if strict:
                raise
            warnings.warn(f"plot {name!r} of {run_dir} failed: {exc!r}", RuntimeWarning,
                          stacklevel=3)
            return None

    network = attempt("network", lambda: io.read_network(run_dir))
    jobs: list[tuple[str, Callable[[], Path | None]]] = []
    if network is not None:
        jobs.append(("network", lambda: plot_network(network, plots / "network.png")))
    traces = attempt("traces", lambda: io.read_traces(run_dir))
    if traces is not None:
        jobs += [("activity", lambda: plot_activity(traces, plots / "activity.png", network)),
                 ("raster", lambda: plot_raster(traces, plots / "raster.png")),
                 ("energy", lambda: plot_energy(traces, plots / "energy.png", network)),
                 ("tasks", lambda: plot_tasks(traces, plots / "tasks.png", network))]
    train = attempt("phases", lambda: io.read_train_traces(run_dir))
    if train is not None:
        jobs += [("phases", lambda: plot_phases(train, plots / "phases.png")),
                 ("weight_norms", lambda: plot_weight_norms(train, plots / "weight_norms.png"))]
    ckpt = attempt("weights", lambda: io.read_checkpoint(run_dir))
    if ckpt is not None:
        jobs.append(("weights", lambda: plot_weights(*ckpt, plots / "weights.png")))
    history = attempt("history", lambda: io.read_history(run_dir))
    if history is not None:
        jobs.append(("history", lambda: plot_history(history, plots / "history.png", x=x)))
    rules = attempt("compare", lambda: io.rule_order(run_dir)) or []
    chist = attempt("compare_curves", lambda: io.read_compare_history(run_dir))
    if chist is not None:
        jobs.append(("compare_curves",
                     lambda: plot_compare_curves(chist, plots / "compare_curves.png", rules, x=x)))
    compare = attempt("compare_summary", lambda: io.read_compare(run_dir))
    if compare is not None:
        jobs.append(("compare_summary",
                     lambda: plot_compare_summary(compare, plots / "compare_summary.png", rules)))
    gc = attempt("gradcheck", lambda: io.read_gradcheck(run_dir))
    if gc is not None:
        jobs += [("gradcheck", lambda: plot_gradcheck(gc, plots / "gradcheck.png")),
                 ("gradcheck_projections",
                  lambda: plot_gradcheck_projections(gc, plots / "gradcheck_projections.png"))]
    samples = attempt("samples", lambda: io.read_samples(run_dir))
    if samples is not None:
        jobs.append(("samples", lambda: plot_samples(samples, plots / "samples.png")))
    samples_bp = attempt("samples_vs_bp", lambda: io.read_samples(Path(run_dir) / io.SAMPLES_BP))
    if samples is not None and samples_bp is not None:
        jobs.append(("samples_vs_bp", lambda: plot_samples_vs_bp(samples, samples_bp, plots / "samples_vs_bp.png")))
    inpainting = attempt("inpainting", lambda: io.read_inpainting(run_dir))
    if inpainting is not None:
        jobs.append(("inpainting", lambda: plot_inpainting(inpainting, plots / "inpainting.png")))

    trajectory = attempt("lump_trajectory", lambda: read_trajectory(run_dir))
    if trajectory is not None:
        jobs.append(("lump_trajectory", lambda: plot_trajectory(trajectory, plots / "lump_trajectory.png")))
    division = attempt("division_of_labour", lambda: io.read_division(run_dir))
    if division is not None:
        jobs.append(("division_of_labour", lambda: plot_division(division, plots / "division_of_labour.png")))

    sweep = attempt("sweep", lambda: io.read_sweep(run_dir))
    if sweep is not None:
        jobs.append(("sweep", lambda: plot_sweep(sweep, plots)))

    written = [attempt(name, job) for name, job in jobs]
    return [p for w in written for p in (w if isinstance(w, list) else [w]) if p is not None]


def main_plot(run_dir: Path | str, x: str = "epoch") -> int:
    """CLI body of ``neurosim plot RUN_DIR``: draw every figure, write the report, print paths."""
    run_dir = Path(run_dir)
    _require_run_dir(run_dir)
    figures = plot_run(run_dir, x=x)
    for p in figures:
        print(p)
    print(f"report: {write_report(run_dir, figures)}")
    return 0


def plot_and_report(run_dir: Path | str) -> Path:
    """What every runner does at the end: :func:`plot_run`, then :func:`write_report`; returns
    the report's path."""
    figures = plot_run(run_dir)
    return write_report(run_dir, figures)
