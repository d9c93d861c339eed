"""Plots of a run directory, drawn from its files alone (never from live simulator objects).

    plot_run(run_dir)     -> list[Path]   every figure the files allow, into run_dir/plots/
    write_report(run_dir) -> Path         run_dir/report.html
    main_plot(run_dir)    -> int          both, printing the paths (``neurosim plot RUN_DIR``)

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
from .learning import (plot_compare_curves, plot_compare_summary, plot_gradcheck,  # noqa: E402
                       plot_gradcheck_projections, plot_history, seed_counts)
from .report import write_report  # noqa: E402
from .samples import plot_samples  # noqa: E402

__all__ = ["plot_run", "write_report", "main_plot"]


def _require_run_dir(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    if not io.known_files(run_dir):
        raise FileNotFoundError(
            f"{run_dir} holds none of the run-directory files "
            f"({', '.join(io.KNOWN_FILES)}); is it a neurosim run directory?")


def plot_run(run_dir: Path | str, strict: bool = False) -> list[Path]:
    """Draw every figure the files of ``run_dir`` allow into ``run_dir/plots/``.

    Absent files are skipped. A figure that fails to draw is reported with a warning and skipped,
    unless ``strict`` (then the exception propagates).
    """
    run_dir = Path(run_dir)
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
    ckpt = attempt("weights", lambda: io.read_checkpoint(run_dir))
    if ckpt is not None:
        jobs.append(("weights", lambda: plot_weights(*ckpt, plots / "weights.png")))
    history = attempt("history", lambda: io.read_history(run_dir))
    if history is not None:
        jobs.append(("history", lambda: plot_history(history, plots / "history.png")))
    compare = attempt("compare_summary", lambda: io.read_compare(run_dir))
    chist = attempt("compare_curves", lambda: io.read_compare_history(run_dir))
    if chist is not None:
        jobs.append(("compare_curves",
                     lambda: plot_compare_curves(chist, plots / "compare_curves.png", seed_counts(compare))))
    if compare is not None:
        jobs.append(("compare_summary",
                     lambda: plot_compare_summary(compare, plots / "compare_summary.png")))
    gc = attempt("gradcheck", lambda: io.read_gradcheck(run_dir))
    if gc is not None:
        jobs += [("gradcheck", lambda: plot_gradcheck(gc, plots / "gradcheck.png")),
                 ("gradcheck_projections",
                  lambda: plot_gradcheck_projections(gc, plots / "gradcheck_projections.png"))]
    samples = attempt("samples", lambda: io.read_samples(run_dir))
    if samples is not None:
        jobs.append(("samples", lambda: plot_samples(samples, plots / "samples.png")))

    written = [attempt(name, job) for name, job in jobs]
    return [p for p in written if p is not None]


def main_plot(run_dir: Path | str) -> int:
    """CLI body of ``neurosim plot RUN_DIR``: draw every figure, write the report, print paths."""
    run_dir = Path(run_dir)
    _require_run_dir(run_dir)
    figures = plot_run(run_dir)
    for p in figures:
        print(p)
    print(write_report(run_dir, figures))
    return 0
