"""Figures of what the network did over simulated time, from ``traces.npz`` (+ ``network.json``).

- ``activity.png``  heatmap per recorded block (particle 0) with a rug of its update events and
  the clamp-on intervals of the tasks that own it;
- ``raster.png``    one dot per asynchronous block-update event;
- ``energy.png``    energy (mean over particles, min–max band), its distance to the final
  energy |E(t) − E(T)| on a log axis (linear axes look flat after a few τ), and λ_k(t);
- ``tasks.png``     task timeline: clamp on/off bars per task with λ_k(t) overlaid (and the
  conditions' fade gain g(t) where the task fades).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .io.network import NetworkInfo
from .io.traces import Traces, on_intervals
from .style import TIME_LABEL, plt, save_figure, subsample, task_colour

MAX_EVENTS = 200_000        # raster subsampling threshold
DENSE_RUG = 1_500           # above this many updates per block the rug becomes a rate strip
MAX_COLUMNS = 4_000         # time samples drawn in a heatmap


def _task_order(traces: Traces, network: NetworkInfo | None) -> list[str]:
    tasks: list[str] = []
    for name in list(traces.clamp) + list(traces.lam) + (network.tasks() if network else []):
        if name not in tasks:
            tasks.append(name)
    return tasks


def _time_edges(t: np.ndarray) -> np.ndarray:
    if len(t) == 1:
        return np.array([t[0] - 0.5, t[0] + 0.5])
    mid = 0.5 * (t[1:] + t[:-1])
    return np.concatenate([[2 * t[0] - mid[0]], mid, [2 * t[-1] - mid[-1]]])


def _is_uniform(t: np.ndarray) -> bool:
    if len(t) < 3:
        return True
    d = np.diff(t)
    return bool(np.allclose(d, d.mean(), rtol=1e-3, atol=1e-12))


def plot_activity(traces: Traces, out: Path, network: NetworkInfo | None = None) -> Path | None:
    """Heatmap of particle-0 activity per block, with update rug and clamp intervals."""
    blocks = list(traces.activity)
    if not blocks:
        return None
    t = traces.time
    tasks = _task_order(traces, network)
    colours = {task: task_colour(i) for i, task in enumerate(tasks)}
    intervals = {task: on_intervals(t, flag) for task, flag in traces.clamp.items()}

    # Panel heights grow mildly with the number of units so big blocks stay legible.
    sizes = [traces.activity[b].shape[2] for b in blocks]
    heights = []
    for n in sizes:
        heights += [0.22, float(np.clip(0.6 + 0.25 * np.log2(max(n, 1)), 0.8, 2.6))]
    fig_h = 1.1 + sum(heights) * 0.95
    fig = plt.figure(figsize=(10, fig_h), layout="constrained")
    gs = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[1, 0.022])
    cols = subsample(len(t), MAX_COLUMNS)
    t_draw = t[cols]
    edges = _time_edges(t_draw)
    first = None
    legend_handles = {}
    for i, block in enumerate(blocks):
        rug = fig.add_subplot(gs[2 * i, 0], sharex=first)
        first = first or rug
        ax = fig.add_subplot(gs[2 * i + 1, 0], sharex=first)
        cax = fig.add_subplot(gs[2 * i + 1, 1])
        a = traces.activity[block][cols, 0, :].T          # (n, S)
        n = a.shape[0]
        finite = a[np.isfinite(a)]
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if vmin == vmax:
            vmin, vmax = vmin - 0.5, vmax + 0.5
        if _is_uniform(t_draw):
            im = ax.imshow(a, aspect="auto", origin="lower", interpolation="nearest",
                           extent=(edges[0], edges[-1], -0.5, n - 0.5), vmin=vmin, vmax=vmax,
                           cmap="viridis")
        else:
            im = ax.pcolormesh(edges, np.arange(n + 1) - 0.5, a, vmin=vmin, vmax=vmax,
                               cmap="viridis", rasterized=True)
        cb = fig.colorbar(im, cax=cax)
        cb.set_label("x (a.u.)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
        ax.set_ylabel(f"{block}\nunit #", fontsize=9)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=8)

        # Rug: the block's asynchronous update times.
        ev = traces.events_of(block)
        if len(ev) <= DENSE_RUG:
            rug.plot(ev, np.full(len(ev), 0.5), "|", color="k", ms=7, mew=0.6, alpha=0.8)
            kind = "updates"
        else:
            # Too many ticks to tell apart: draw the update rate instead (events per τ).
            counts, bins = np.histogram(ev, bins=300, range=(edges[0], edges[-1]))
            rate = counts / np.diff(bins)
            rug.stairs(0.95 * rate / max(rate.max(), 1e-300), bins, fill=True, color="0.3",
                       alpha=0.45)
            kind = f"updates (rate strip, peak {rate.max():.3g}/τ)"
        rug.set_ylim(0, 1)
        rug.set_yticks([])
        rug.tick_params(labelbottom=False, bottom=False, labelsize=8)
        for side in ("top", "right", "left"):
            rug.spines[side].set_visible(False)
        info = f"{block}: {len(ev)} {kind}" if traces.has_events else f"{block}: no event log"
        if network is not None and network.block(block) is not None:
            b = network.block(block)
            info += f" · {b.role}" + (f" ({b.task})" if b.task else "")
        rug.text(1.0, 1.0, info, transform=rug.transAxes, ha="right", va="bottom", fontsize=8)

        # Clamp-on intervals of the tasks that own this block (all blocks if ownership unknown).
        for task, spans in intervals.items():
            owned = network.task_blocks(task) if network is not None else []
            if owned and block not in owned:
                continue
            for (t0, t1) in spans:
                h = rug.axvspan(t0, t1, color=colours[task], alpha=0.35, lw=0, zorder=0)
                ax.axvline(t0, color=colours[task], lw=0.9, ls="--")
                ax.axvline(t1, color=colours[task], lw=0.9, ls=":")
            if spans:
                legend_handles[task] = h
        if i < len(blocks) - 1:
            ax.tick_params(labelbottom=False)
    ax.set_xlabel(TIME_LABEL)
    first.set_xlim(edges[0], edges[-1])
    title = "Activity of particle 0 per block (strip above each panel: that block's update events)"
    fig.suptitle(title, fontsize=11)
    if legend_handles:
        fig.legend(list(legend_handles.values()), [f"clamp on: {k}" for k in legend_handles],
                   loc="outside lower center", ncol=min(4, len(legend_handles)), fontsize=8,
                   frameon=False)
    return save_figure(fig, out)


def plot_raster(traces: Traces, out: Path) -> Path | None:
    """One dot per block-update event: x = time, y = block."""
    if not traces.has_events:
        return None
    names = traces.block_names or [str(i) for i in range(int(traces.event_block.max()) + 1)]
    n_ev = len(traces.event_time)
    idx = subsample(n_ev, MAX_EVENTS)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.42 * len(names)), layout="constrained")
    palette = np.array([f"C{i % 10}" for i in range(len(names))])
    ax.scatter(traces.event_time[idx], traces.event_block[idx], marker="|",
               s=60 if len(idx) < 5000 else 25, lw=0.8 if len(idx) < 5000 else 0.3,
               c=palette[traces.event_block[idx] % len(names)], rasterized=True)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.invert_yaxis()
    lo, hi = float(traces.event_time.min()), float(traces.event_time.max())
    if len(traces.time):
        lo, hi = min(lo, float(traces.time[0])), max(hi, float(traces.time[-1]))
    if hi > lo:
        ax.set_xlim(lo, hi)
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("block")
    span = float(traces.event_time.max() - traces.event_time.min()) if n_ev > 1 else 0.0
    # Per-block event count and mean rate at the right margin.
    counts = np.bincount(traces.event_block, minlength=len(names))
    sec = ax.secondary_yaxis("right")
    sec.set_yticks(range(len(names)),
                   [f"{c} ev" + (f" · {c / span:.3g}/τ" if span > 0 else "") for c in counts],
                   fontsize=8)
    sec.set_ylabel("events · mean rate", fontsize=8)
    shown = "" if len(idx) == n_ev else f" (showing {len(idx):,} of {n_ev:,})"
    ax.set_title(f"Block-update events{shown}")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, out)


def _lambda_lines(ax, t: np.ndarray, lam: dict[str, np.ndarray], colours: dict[str, str]) -> int:
    lines = 0
    for task, v in lam.items():
        if len(v) != len(t):
            continue
        c = colours.get(task, "k")
        ax.plot(t, np.real(v), color=c, lw=1.2, label=f"Re λ[{task}]" if np.iscomplexobj(v) else f"λ[{task}]")
        lines += 1
        if np.iscomplexobj(v):
            ax.plot(t, np.imag(v), color=c, lw=1.2, ls="--", label=f"Im λ[{task}]")
            lines += 1
    return lines


def plot_energy(traces: Traces, out: Path, network: NetworkInfo | None = None) -> Path | None:
    """Energy trace (mean, min–max over particles) and λ_k(t) on a shared time axis."""
    has_lam = any(len(v) == len(traces.time) for v in traces.lam.values())
    if traces.energy is None and not has_lam:
        return None
    t = traces.time
    tasks = _task_order(traces, network)
    colours = {task: task_colour(i) for i, task in enumerate(tasks)}
    rows = 2 * int(traces.energy is not None) + int(has_lam)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.2 + 2.4 * rows), sharex=True,
                             layout="constrained", squeeze=False)
    axes = list(axes[:, 0])
    if traces.energy is not None:
        ax = axes[0]
        e = traces.energy.real if np.iscomplexobj(traces.energy) else traces.energy
        e = e.reshape(len(e), -1)
        mean = np.nanmean(e, 1)
        if e.shape[1] == 1:
            ax.plot(t, mean, color="k", lw=1.2, label="E")
        else:
            ax.fill_between(t, np.nanmin(e, 1), np.nanmax(e, 1), color="0.75", lw=0,
                            label=f"min–max over {e.shape[1]} particles")
            ax.plot(t, mean, color="k", lw=1.2, label="mean over particles")
        for task, flag in traces.clamp.items():
            for i, (t0, t1) in enumerate(on_intervals(t, flag)):
                for a in axes[:2]:
                    a.axvspan(t0, t1, color=colours.get(task, "C0"), alpha=0.12, lw=0,
                              label=f"clamp on: {task}" if i == 0 else None)
        ax.set_ylabel("energy E (a.u.)")
        ax.set_title("Energy" + (" and task multipliers λ_k(t)" if has_lam else ""))
        ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
        _distance_panel(axes[1], t, e, mean)
    if has_lam:
        ax = axes[-1]
        n = _lambda_lines(ax, t, traces.lam, colours)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_ylabel("λ_k(t) (a.u.)")
        if traces.energy is None:
            ax.set_title("Task multipliers λ_k(t)")
        if n:
            ax.legend(fontsize=8, loc="best", ncol=2)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(TIME_LABEL)
    if len(t) > 1:
        axes[-1].set_xlim(t[0], t[-1])
    return save_figure(fig, out)


def _distance_panel(ax, t: np.ndarray, e: np.ndarray, mean: np.ndarray) -> None:
    """|E(t) − E(T)| on a log axis: the approach to the final energy (exact zeros are gaps)."""
    def gap(v):
        d = np.abs(v - v[-1])
        return np.where(d > 0, d, np.nan)[:-1]
    if len(t) < 2:
        return
    per = np.abs(e - e[-1])[:-1]
    per = np.where(per > 0, per, np.nan)
    if e.shape[1] > 1 and np.isfinite(per).any():
        # fmin / fmax skip NaN without the all-NaN warning of nanmin
        ax.fill_between(t[:-1], np.fmin.reduce(per, axis=1), np.fmax.reduce(per, axis=1), color="0.8", lw=0,
                        label="min–max over particles of |E_p(t) − E_p(T)|")
    d = gap(mean)
    ax.plot(t[:-1], d, color="k", lw=1.2, label="|mean E(t) − mean E(T)|")
    if np.isfinite(d).any() or np.isfinite(per).any():
        ax.set_yscale("log")
    ax.set_ylabel("|E(t) − E(T)| (a.u.)")
    ax.set_title(f"Distance to the final energy E(T), T = {t[-1]:.3g} τ (log axis)", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3, which="both")


def plot_tasks(traces: Traces, out: Path, network: NetworkInfo | None = None) -> Path | None:
    """Task timeline: one row per task, clamp on/off bars, λ_k(t) overlaid."""
    if not traces.clamp:
        return None
    t = traces.time
    tasks = _task_order(traces, network)
    tasks = [k for k in tasks if k in traces.clamp or k in traces.lam]
    colours = {task: task_colour(i) for i, task in enumerate(_task_order(traces, network))}
    fig, axes = plt.subplots(len(tasks), 1, figsize=(10, 1.0 + 1.8 * len(tasks)), sharex=True,
                             layout="constrained", squeeze=False)
    for ax, task in zip(axes[:, 0], tasks):
        c = colours[task]
        spans = on_intervals(t, traces.clamp[task]) if task in traces.clamp else []
        ax.broken_barh([(a, b - a) for a, b in spans], (0.1, 0.8), color=c, alpha=0.45,
                       label="clamp on")
        gain = traces.gain.get(task)
        if gain is not None and len(gain) == len(t) and np.any((gain > 0) & (gain < 1)):
            ax.step(t, 0.1 + 0.8 * gain, where="post", color=c, lw=1.2, label="condition gain g(t)")
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        owned = network.task_blocks(task) if network is not None else []
        ax.set_ylabel(task, rotation=0, ha="right", va="center", fontsize=9)
        frac = sum(b - a for a, b in spans) / max(t[-1] - t[0], 1e-300) if len(t) > 1 else 0
        ax.set_title(f"{task}: clamp on {100 * frac:.0f}% of the time"
                     + (f" · blocks {', '.join(owned)}" if owned else ""), fontsize=9, loc="left")
        handles, labels = ax.get_legend_handles_labels()
        if task in traces.lam and len(traces.lam[task]) == len(t):
            tw = ax.twinx()
            _lambda_lines(tw, t, {task: traces.lam[task]}, {task: "k"})
            tw.set_ylabel("λ (a.u.)", fontsize=8)
            tw.tick_params(labelsize=8)
            h2, l2 = tw.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.legend(handles, labels, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                  ncol=3, frameon=False, borderaxespad=0.1)
    axes[-1, 0].set_xlabel(TIME_LABEL)
    if len(t) > 1:
        axes[-1, 0].set_xlim(t[0], t[-1])
    fig.suptitle("Task timeline", fontsize=11)
    return save_figure(fig, out)
