"""What a scenario will allocate, estimated from the file alone, checked against the machine.

The estimate is a sum of the large arrays every kind allocates, each charged to the key that sets
its size:

* states: P · N · itemsize · 6 (state, ρ(state), drive, ρ′, nudge target, scratch), where P is the
  number of particles the kind runs at once and N = Σ_b n_b;
* parameters: 4 · 8 · Σ n_pre n_post (weights, gradient, two optimiser moments);
* probe buffers: samples · recorded units · recorded particles · itemsize (plus energy, events);
* the dense implicit-differentiation system of ``bp`` (P · N² · 8) and BPTT's stored trajectory
  (steps · P · N · 8).

It is a lower bound of what a run takes, so a scenario it refuses cannot run here; a refusal names
the key of the largest term, the estimate and the machine's memory.
"""
from __future__ import annotations

import os

from .schema import ScenarioError

_SIX = 6  # state-sized buffers the engine keeps per particle


def machine_bytes() -> int:
    """Physical memory of this machine (``NEUROSIM_MEMORY_BYTES`` overrides it, for tests)."""
    if os.environ.get("NEUROSIM_MEMORY_BYTES"):
        return int(os.environ["NEUROSIM_MEMORY_BYTES"])
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no check
        return 1 << 62


def _fmt(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"


def _particles(data) -> tuple[int, str]:
    """(P, key): how many particles the kind relaxes at once, and the key that sets it."""
    kind = data["kind"]
    if kind == "train":
        return data["training"]["batch_size"], "training.batch_size"
    if kind == "gradcheck":
        return data["gradcheck"]["batch"], "gradcheck.batch"
    if kind == "generative":
        g = data["generative"]
        p = max(data["training"]["batch_size"], g["n_eval"])
        return p, ("generative.n_eval" if g["n_eval"] >= data["training"]["batch_size"] else "training.batch_size")
    if kind == "multitask":
        mt = data["multitask"]
        return max(data["network"]["particles"], mt["n_eval"]), "multitask.n_eval"
    return data["network"]["particles"], "network.particles"


def _term(what: str, scale: float, *factors: tuple[str, float]) -> tuple[str, str, float]:
    """(key, what, bytes) of ``scale · Π factor``, charged to the key of the largest factor."""
    total = float(scale)
    for _, v in factors:
        total *= float(v)
    key = max(factors, key=lambda f: f[1])[0]
    return key, what, total


def estimate(data) -> list[tuple[str, str, float]]:
    """``[(key, what, bytes)]``: the large allocations of a validated scenario dict."""
    net = data["network"]
    item = 4 if net["dtype"] == "float32" else 8
    sizes = {b["name"]: b["size"] for b in net["blocks"]}
    biggest = max(range(len(net["blocks"])), key=lambda i: net["blocks"][i]["size"])
    units = (f"network.blocks[{biggest}].size", sum(sizes.values()))
    p = _particles(data)[::-1]
    out = [_term("states", item * _SIX, p, units)]
    for i, pr in enumerate(net["projections"]):
        out.append(_term("weights", 32, (f"network.projections[{i}].pre", sizes[pr["pre"]]),
                         (f"network.projections[{i}].post", sizes[pr["post"]])))
    for i, m in enumerate(net["memories"]):
        out.append(_term("memory patterns", 32, (f"network.memories[{i}].patterns", m["patterns"]),
                         (f"network.memories[{i}].block", sizes[m["block"]])))
    kind = data["kind"]
    if kind == "relax":
        sim, probes = data["simulation"], data["probes"]
        window = sim["duration"] if probes.get("until") is None else min(sim["duration"], probes["until"])
        samples = ("probes.interval", window / probes["interval"] + 1)
        recorded = ("probes.blocks", sum(sizes[b] for b in probes.get("blocks") or sizes) + probes["energy"])
        if probes.get("blocks") is None:
            recorded = (units[0], recorded[1])
        out.append(_term("probe buffers", item, samples, recorded, (p[0], min(p[1], probes.get("particles") or p[1]))))
        if probes["events"]:
            per_tau = (sum(b["rate"] / b["tau"] for b in net["blocks"]) if sim["scheduler"] == "poisson"
                       else len(sizes) / sim["dt"])
            out.append(_term("update events", 16 * per_tau, ("simulation.duration", sim["duration"])))
    bp = ((kind == "train" and data["training"]["rule"] == "bp")
          or (kind == "gradcheck" and ("bp" in data["gradcheck"]["estimators"]
                                       or data["gradcheck"]["reference"] == "implicit"))
          or (kind == "multitask" and "bp" in data["multitask"]["controls"]))
    if bp:  # the controls of a multitask run train on batches of network.particles
        batch = {"train": lambda: ("training.batch_size", data["training"]["batch_size"]),
                 "gradcheck": lambda: ("gradcheck.batch", data["gradcheck"]["batch"]),
                 "multitask": lambda: ("network.particles", net["particles"])}[kind]()
        out.append(_term("implicit-gradient Hessian", 8, batch, units, units))
    if kind == "gradcheck" and data["gradcheck"]["reference"] == "bptt":
        gc = data["gradcheck"]
        out.append(_term("BPTT trajectory", 8, ("gradcheck.bptt_steps", gc["bptt_steps"]),
                         ("gradcheck.batch", gc["batch"]), units))
    if kind == "multitask":
        mt = data["multitask"]
        recorded = sum(sizes[b] for b in mt.get("record_blocks") or sizes)
        samples = min(mt["probe_until"], mt["duration"]) / mt["probe_interval"] + 1
        out.append(_term("activity traces", item, ("multitask.probe_until", samples),
                         (units[0] if not mt.get("record_blocks") else "multitask.record_blocks", recorded),
                         ("multitask.probe_particles", mt["probe_particles"])))
    return out


def check_memory(data, path) -> None:
    """Refuse a scenario whose estimated allocations exceed the machine's memory."""
    parts = estimate(data)
    total = sum(b for _, _, b in parts)
    limit = machine_bytes()
    if total <= limit:
        return
    key, _, _ = max(parts, key=lambda e: e[2])
    by_what: dict[str, float] = {}
    for _, what, b in parts:
        by_what[what] = by_what.get(what, 0.0) + b
    detail = ", ".join(f"{w} {_fmt(b)}" for w, b in sorted(by_what.items(), key=lambda e: -e[1])[:3])
    raise ScenarioError(path, key, f"expected a run that fits in memory: it needs at least {_fmt(total)} "
                        f"({detail}) and this machine has {_fmt(limit)}")
