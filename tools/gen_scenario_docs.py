#!/usr/bin/env python
"""Regenerate the key table of docs/scenarios.md from the schema objects (SECTIONS).

    python tools/gen_scenario_docs.py          # rewrite docs/scenarios.md
    python tools/gen_scenario_docs.py --check  # exit 1 if the file is out of date or a key has no meaning

A key's meaning is its ``Field(doc=...)``; keys declared without one get theirs from ``MEANINGS``
below. Sibling tables with the same keys (``training.rule_options.<rule>``) are one row each key.
"""
from __future__ import annotations

import sys
from pathlib import Path

from neurosim.scenario.schema import REQUIRED, Field, Table, TableArray
from neurosim.scenario.sections import SECTIONS

DOC = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"
BEGIN, END = "<!-- keys: begin -->", "<!-- keys: end -->"


#: meanings of the keys whose Field has no ``doc`` (dotted key as in the table)
MEANINGS = {
    "name": "the scenario's name: labels progress lines, figures and report.html",
    "description": "one line shown by `neurosim list` and in report.html",
    "kind": "what a run does with the network: relax it, train it, check gradients, learn tasks "
            "concurrently or train a generative model; decides which sections are read (see the map above);",
    "seed": "master seed; every random stream (params, scheduler, state, data, tasks, training) is spawned from it",
    "network.blocks[].activation": "ρ, the unit nonlinearity (docs/engine.md);",
    "network.projections[].post": "post block",
    "network.projections[].gain": "scale of the initial weights (0 starts the coupling at zero)",
    "network.projections[].init": "initial weight distribution:",
    "network.memories[].block": "block the memory is attached to",
    "network.memories[].patterns": "number of stored patterns (columns of K)",
    "network.memories[].beta": "inverse temperature β of the log-sum-exp energy",
    "network.memories[].gain": "scale of the initial patterns",
    "network.dtype": "floating-point type of states and weights:",
    "network.init_state": "initial state of every free unit:",
    "simulation.scheduler": "which blocks update when (docs/engine.md, schedulers):",
    "simulation.integrator": "exp: exact exponential step toward the block's target; euler: x += dt·(target − x);",
    "clamps[].block": "block held fixed during the run",
    "clamps[].pattern": "values: the numbers in `values`; random: U(0, 1) per particle; bars: a bars pattern;",
    "nudges[].block": "block pulled toward `target` by the cost",
    "nudges[].target": "target of the cost: n numbers (all particles) or P rows of n numbers",
    "nudges[].cost": "cost C(x, target):",
    "nudges[].schedule": "shape of λ(t):",
    "probes.energy": "record the energy at every sample",
    "probes.events": "record every block update (time, block) for the event raster",
    "training.cost": "cost on the readout state x_out (not ρ(x_out)): mse ½‖x − y‖², ce cross-entropy of softmax(x);",
    "training.epochs": "passes over the training set",
    "training.optimizer": "update of the weights from the gradient estimate:",
    "training.momentum": "sgd: momentum coefficient",
    "training.adam_beta1": "adam: decay of the first moment",
    "training.adam_beta2": "adam: decay of the second moment",
    "training.adam_eps": "adam: ε in the denominator",
    "training.relax.scheduler": "scheduler of the free and nudged phases (a train run's scheduler is here, not in [simulation]):",
    "training.relax.integrator": "integrator of the phases:",
    "gradcheck.cost": "cost on the readout state:",
    "gradcheck.estimators": "estimators compared with the exact gradient, from",
    "gradcheck.bptt_steps": "reference = bptt: relaxation steps backpropagated through",
    "gradcheck.bptt_step": "reference = bptt: step size γ of each relaxation step",
    "gradcheck.input_range": "[low, high] of the uniform random input data",
    "gradcheck.scheduler": "scheduler of every estimator's phases:",
    "gradcheck.dt": "tick length of the phases, in τ",
    "gradcheck.integrator": "integrator of the phases:",
    "gradcheck.steps_per_point": "hep_continuous, baseline_hebb: integration steps per point of a period",
    "gradcheck.warmup_periods": "hep_continuous, baseline_hebb: periods run before demodulation starts",
    "tasks[].name": "task name (figures, metrics `tasks.<name>.…`)",
    "tasks[].target_data": "data field of each target block (image, top, bottom, label, code)",
    "tasks[].metric": "score read off the free equilibrium:",
    "tasks[].cost": "cost of the nudge toward the target:",
    "reverse[].name": "name of a task that is evaluated but never trained",
    "reverse[].condition": "blocks clamped to data",
    "reverse[].condition_data": "data field of each condition block",
    "reverse[].target": "blocks read out (never nudged)",
    "reverse[].target_data": "data field each target is scored against",
    "reverse[].metric": "score read off the free equilibrium:",
    "multitask.dataset": "data set the tasks draw from (digits)",
    "multitask.split_seed": "seed of the train / held-out split",
    "multitask.code_dim": "size of the random code field `code`",
    "multitask.code_noise": "std of the noise added to the code at every presentation",
    "multitask.eval_every": "simulated time between evaluations, in τ",
    "multitask.probe_interval": "sampling interval of the activity probes, in τ",
    "multitask.record_blocks": "blocks whose activity is recorded (default: all)",
    "multitask.probe_batch": "examples per task in the gradient probe's batch",
    "multitask.eval_relax.scheduler": "scheduler of the evaluation relaxations:",
    "multitask.eval_relax.integrator": "integrator of the evaluation relaxations:",
    "plasticity.rule": "online plasticity rule (docs/hypothesis.md):",
    "plasticity.rhythm": "one nudging rhythm for all tasks, or one per task:",
    "plasticity.lr": "learning rate η of the online updates",
    "plasticity.baseline_tau": "time constant of the running baseline subtracted from the Hebbian products, in τ",
    "plasticity.sample_interval": "interval between plasticity samples, in τ",
    "plasticity.bias_lr_scale": "biases learn at lr × this",
    "generative.data": "data set to model:",
    "generative.objective": "training objective: icfm / otcfm flow matching (independent / OT couplings), dsm denoising score matching;",
    "generative.embedding": "encoding of the time / noise level fed to the input block:",
    "generative.eval_every": "optimiser steps between evaluations",
    "generative.n_eval_quick": "samples per evaluation when eval_during",
    "generative.floor_repeats": "repeats of the W2 floor (fresh data vs fresh data) that are averaged",
    "generative.sampler": "sampler of the final metrics and of `neurosim generate`:",
    "generative.sampler_steps": "sampler steps (langevin: steps per noise level)",
    "generative.langevin.sigma_max": "largest noise level σ_1",
    "generative.langevin.sigma_min": "smallest noise level σ_L",
    "generative.langevin.levels": "number of noise levels L (geometric from sigma_max to sigma_min)",
}


def _signature(spec):
    """What makes sibling tables alike: their keys, types and defaults."""
    if isinstance(spec, Table):
        return tuple((k, _signature(v)) for k, v in spec.fields.items())
    if isinstance(spec, Field):
        return (spec.types, repr(spec.default))
    return (type(spec).__name__, _signature(spec.item))


def rows(spec, key="", missing=None):
    if isinstance(spec, Table):
        groups: dict = {}
        for name, sub in spec.fields.items():
            if isinstance(sub, Table):
                groups.setdefault(_signature(sub), []).append(name)
        shared = {names[0]: names for names in groups.values() if len(names) >= 3}
        skipped = {n for names in shared.values() for n in names[1:]}
        for name, sub in spec.fields.items():
            if name in skipped:
                continue
            if name in shared:
                names = shared[name]
                slot = "<rule>" if key.endswith("rule_options") else "<name>"
                yield from (_per_name(line, names, slot) for line in rows(sub, f"{key}.{slot}", missing))
                continue
            yield from rows(sub, f"{key}.{name}" if key else name, missing)
    elif isinstance(spec, TableArray):
        yield from rows(spec.item, f"{key}[]", missing)
    elif isinstance(spec, Field):
        types = "/".join(t.__name__ for t in spec.types)
        default = "required" if spec.default is REQUIRED else repr(spec.default)
        doc = spec.doc or MEANINGS.get(key, "")
        if not doc and missing is not None:
            missing.append(key)
        doc = doc + (f" one of {list(spec.choices)}" if spec.choices else "")
        doc = doc.replace("|", "\\|")  # |β| would end the table cell
        yield f"| `{key}` | {types} | {default} | {doc.strip()} |"


def _per_name(line: str, names, slot: str) -> str:
    """A row of a table repeated under several names, once, saying so in its meaning."""
    head, meaning = line.rsplit(" | ", 1)
    return f"{head} | {meaning[:-2].strip()}; for that one only, `{slot}` one of {names} |"


def table(missing=None) -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, spec in SECTIONS.items():
        lines.extend(rows(spec, name, missing))
    return "\n".join(lines)


def render(text: str) -> str:
    block = f"{BEGIN}\n{table()}\n{END}"
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        return head + block + rest.split(END, 1)[1]
    start = text.index("| key | type |")
    end = start
    lines = text[start:].split("\n")
    n = next(i for i, line in enumerate(lines) if not line.startswith("|"))
    end = start + len("\n".join(lines[:n]))
    return text[:start] + block + text[end:]


def main() -> int:
    text = DOC.read_text()
    missing: list = []
    table(missing)
    if missing:
        print("keys without a meaning (add doc= in neurosim/scenario/sections.py or an entry in "
              f"MEANINGS in {Path(__file__).name}): {', '.join(missing)}", file=sys.stderr)
    new = render(text)
    if "--check" in sys.argv:
        return 0 if new == text and not missing else 1
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
