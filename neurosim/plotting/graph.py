"""Figures of the network itself: its graph (``network.json``) and its weights (``checkpoint.npz``)."""
from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.lines import Line2D

from .io.network import NetworkInfo
from .style import ROLE_COLOURS, plt, save_figure, task_colour

ROLE_MARKERS = {"free": "o", "clamped": "s", "nudged": "D"}


def _layout(g: nx.DiGraph, network: NetworkInfo) -> dict:
    """Layered left→right when the graph is a DAG, otherwise layered by distance from the
    clamped blocks; spring layout as a last resort."""
    try:
        layers = list(nx.topological_generations(g))
    except nx.NetworkXUnfeasible:
        sources = [b.name for b in network.blocks if b.role == "clamped"] or [network.blocks[0].name]
        dist = nx.multi_source_dijkstra_path_length(g.to_undirected(), sources)
        far = max(dist.values(), default=0) + 1
        by: dict[int, list[str]] = {}
        for n in g.nodes:
            by.setdefault(dist.get(n, far), []).append(n)
        layers = [by[k] for k in sorted(by)]
    if len(layers) == 1 and len(g) > 3:
        return nx.spring_layout(g, seed=0)
    pos = {}
    for x, layer in enumerate(layers):
        layer = sorted(layer)
        for y, n in enumerate(layer):
            pos[n] = (float(x), (len(layer) - 1) / 2.0 - y)
    return pos


LABEL_ANGLES = (-90, 90, 0, 180, -45, -135, 45, 135)   # candidate label directions, preferred first


def _label_angle(node, pos: dict, neighbours, to_display) -> float:
    """The first candidate direction (degrees, display space) at least 60° from every edge at
    ``node``, else the one farthest from them."""
    x0, y0 = to_display(pos[node])
    edges = []
    for m in neighbours:
        x1, y1 = to_display(pos[m])
        if (x1, y1) != (x0, y0):
            edges.append(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    if not edges:
        return LABEL_ANGLES[0]

    def clearance(a):
        return min(abs((a - e + 180) % 360 - 180) for e in edges)
    for a in LABEL_ANGLES:
        if clearance(a) >= 60:
            return a
    return max(LABEL_ANGLES, key=clearance)


def plot_network(network: NetworkInfo, out: Path) -> Path | None:
    """Block graph: node area ∝ units, colour by task, marker by role; undirected edges (the energy
    couplings are symmetric: W_ab couples a and b both ways); labels placed clear of the edges."""
    if not network.blocks:
        return None
    g = nx.DiGraph()
    for b in network.blocks:
        g.add_node(b.name)
    for p in network.projections:
        g.add_edge(p["pre"], p["post"], name=p["name"])
    pos = _layout(g, network)        # direction only orders the layers
    und = nx.Graph()
    und.add_nodes_from(g.nodes)
    for p in network.projections:
        if p["pre"] == p["post"]:
            continue
        e = tuple(sorted((p["pre"], p["post"])))
        und.add_edge(*e, names=und.edges[e]["names"] + [p["name"]] if und.has_edge(*e) else [p["name"]])
    tasks = network.tasks()
    tcol = {t: task_colour(i) for i, t in enumerate(tasks)}
    max_size = max(b.size for b in network.blocks)

    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    w = 2.6 + 1.9 * (max(xs) - min(xs) + 1)
    h = 1.6 + 1.5 * (max(ys) - min(ys) + 1)
    fig, ax = plt.subplots(figsize=(min(max(w, 6), 16), min(max(h, 3.2), 12)), layout="constrained")
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    node_size = {b.name: 350 + 2600 * b.size / max_size for b in network.blocks}
    widths = [1.2 * len(und.edges[e]["names"]) for e in und.edges]
    nx.draw_networkx_edges(und, pos, ax=ax, width=widths, edge_color="0.45", arrows=False)
    for role, marker in ROLE_MARKERS.items():
        members = [b for b in network.blocks if (b.role if b.role in ROLE_MARKERS else "free") == role]
        if not members:
            continue
        colours = [tcol[b.task] if (b.task and b.role != "free") else ROLE_COLOURS["free"]
                   for b in members]
        nx.draw_networkx_nodes(g, pos, nodelist=[b.name for b in members], ax=ax,
                               node_shape=marker, node_color=colours,
                               node_size=[node_size[b.name] for b in members],
                               edgecolors="k", linewidths=1.0)
    to_display = ax.transData.transform
    for b in network.blocks:
        angle = _label_angle(b.name, pos, und.neighbors(b.name), lambda p: tuple(to_display(p)))
        r = math.sqrt(node_size[b.name]) / 2 + 5          # marker radius in points, plus a gap
        c, s_ = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        ha = "left" if c > 0.3 else "right" if c < -0.3 else "center"
        va = "bottom" if s_ > 0.3 else "top" if s_ < -0.3 else "center"
        text = f"{b.name}\n{b.size}" + (f" · {b.activation}" if b.activation else "")
        ax.annotate(text, pos[b.name], xytext=(r * c, r * s_), textcoords="offset points", ha=ha, va=va,
                    fontsize=8, zorder=5, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    # Edge labels where the projection names say more than "pre->post" (or two projections share
    # the pair), offset perpendicular to the edge so they never sit on it.
    for e in und.edges:
        names = und.edges[e]["names"]
        plain = len(names) == 1 and names[0] in (f"{e[0]}->{e[1]}", f"{e[1]}->{e[0]}")
        if plain:
            continue
        (x0, y0), (x1, y1) = to_display(pos[e[0]]), to_display(pos[e[1]])
        nx_, ny_ = -(y1 - y0), x1 - x0
        norm = math.hypot(nx_, ny_) or 1.0
        mid = ((pos[e[0]][0] + pos[e[1]][0]) / 2, (pos[e[0]][1] + pos[e[1]][1]) / 2)
        ax.annotate(", ".join(names), mid, xytext=(9 * nx_ / norm, 9 * ny_ / norm), textcoords="offset points",
                    ha="center", va="center", fontsize=7, color="0.25", zorder=5,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
    handles = [Line2D([], [], ls="", marker=m, mfc="white", mec="k", ms=9, label=r)
               for r, m in ROLE_MARKERS.items() if any(b.role == r for b in network.blocks)]
    handles += [Line2D([], [], ls="", marker="o", mfc=c, mec="k", ms=9, label=f"task: {t}")
                for t, c in tcol.items()]
    handles.append(Line2D([], [], ls="", marker="o", mfc=ROLE_COLOURS["free"], mec="k", ms=9,
                          label="no task"))
    handles.append(Line2D([], [], color="0.45", lw=1.2, label="coupling (symmetric)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              title="role / task", title_fontsize=8, frameon=False)
    ax.set_axis_off()
    total = sum(b.size for b in network.blocks)
    ax.set_title(f"Network: {len(network.blocks)} blocks, {total} units, "
                 f"{len(network.projections)} projections (node area ∝ units)", fontsize=10)
    return save_figure(fig, out)


def plot_weights(weights: dict[str, np.ndarray], biases: dict[str, np.ndarray], out: Path) -> Path | None:
    """Histogram of every projection's weights (and every block's biases)."""
    items = [(f"W {k}", v) for k, v in weights.items()] + [(f"b {k}", v) for k, v in biases.items()]
    items = [(k, np.asarray(v)) for k, v in items if np.asarray(v).size]
    if not items:
        return None
    ncol = min(3, len(items))
    nrow = math.ceil(len(items) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.6 * nrow + 0.6),
                             layout="constrained", squeeze=False)
    for ax, (name, v) in zip(axes.ravel(), items):
        x = np.real(v).ravel().astype(float)
        x = x[np.isfinite(x)]
        colour = "C0" if name.startswith("W") else "C2"
        ax.hist(x, bins=min(60, max(10, int(np.sqrt(x.size)))), color=colour, alpha=0.85)
        ax.axvline(0, color="0.3", lw=0.6)
        shape = "×".join(str(s) for s in v.shape)
        ax.set_title(f"{name} ({shape})\nmean {x.mean():.3g} · std {x.std():.3g}", fontsize=8)
        ax.set_xlabel("weight value (a.u.)" if name.startswith("W") else "bias value (a.u.)",
                      fontsize=8)
        ax.set_ylabel("count", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(items):]:
        ax.set_visible(False)
    fig.suptitle("Weights per projection and biases per block (checkpoint)", fontsize=11)
    return save_figure(fig, out)
