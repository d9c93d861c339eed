"""``neurosim compare``: one training scenario under several learning rules and seeds.

Every rule sees the same network, data, optimiser and seeds: only ``training.rule`` changes, and
seed i of every rule is the scenario's seed + i (same initial weights, same batch order). Each
rule × seed is an ordinary training run directory ``OUT/<rule>/seed<s>/``; the summary files are

* ``compare.json`` — ``{"rules": {rule: {test_accuracy (mean over seeds), test_accuracy_std,
  best_test_accuracy, train_loss, wall_seconds, seconds_per_epoch, grad_cosine_to_bp, ...}},
  "seeds": [...], "scenario": path}``
* ``compare.csv`` — one row per rule with the same keys
* ``compare_history.csv`` — ``rule, seed, epoch, train_loss, test_accuracy, grad_cosine_to_bp``

Every rule's scenario is validated before anything is written.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..scenario.load import Scenario, load_scenario
from ..scenario.schema import ScenarioError
from ..scenario.sections import RULES
from .run import run_scenario
from .rundir import write_csv, write_json, write_text

SUMMARY_KEYS = ["test_accuracy", "test_accuracy_std", "best_test_accuracy", "train_loss",
                "wall_seconds", "seconds_per_epoch", "grad_cosine_to_bp"]
HISTORY_KEYS = ["rule", "seed", "epoch", "train_loss", "test_accuracy", "grad_cosine_to_bp"]

#: the metric-key hook: kind → (summary keys, history keys after rule/seed, ``--epochs`` target key).
#: Kinds other than "train" are aggregated generically (mean, ``<key>_std`` and ``<key>_per_seed``
#: of every numeric summary key present in the sub-runs' metrics).
KIND_METRICS = {
    "train": (SUMMARY_KEYS, HISTORY_KEYS[2:], "training__epochs"),
    "generative": (["w2", "w2_floor", "w2_over_floor", "mmd", "conditional_accuracy", "inpaint_mse",
                    "train_loss", "wall_seconds", "sample_seconds"],
                   ["step", "train_loss", "w2", "mmd", "conditional_accuracy"], "generative__steps"),
}


def parse_rules(text, path="<command line>") -> list[str]:
    rules = [r.strip() for r in (text.split(",") if isinstance(text, str) else text) if r.strip()]
    if not rules:
        raise ScenarioError(path, "--rules", "expected at least one rule")
    for r in rules:
        if r not in RULES:
            raise ScenarioError(path, "--rules", f"unknown rule {r!r}; expected some of {list(RULES)}")
    if len(set(rules)) != len(rules):
        raise ScenarioError(path, "--rules", "expected each rule once")
    return rules


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def aggregate(per_seed: list[dict]) -> dict:
    """Mean over seeds of every summary figure (and the std of the test accuracy)."""
    acc = [m["test_accuracy"] for m in per_seed]
    out = {
        "test_accuracy": float(np.mean(acc)),
        "test_accuracy_std": float(np.std(acc)),
        "test_accuracy_per_seed": [float(a) for a in acc],
        "best_test_accuracy": _mean(m["best_test_accuracy"] for m in per_seed),
        "train_loss": _mean(m["train_loss"] for m in per_seed),
        "wall_seconds": _mean(m["wall_seconds"] for m in per_seed),
        "seconds_per_epoch": _mean(m["seconds_per_epoch"] for m in per_seed),
        "grad_cosine_to_bp": _mean(m.get("grad_cosine_to_bp") for m in per_seed),
        "epochs": int(per_seed[0]["epochs"]),
        "n_seeds": len(per_seed),
    }
    return out


def aggregate_generic(per_seed: list[dict], keys) -> dict:
    """Mean (and std, per-seed values) over seeds of every numeric key in ``keys``."""
    out = {"n_seeds": len(per_seed)}
    for k in keys:
        vals = [m.get(k) for m in per_seed if isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool)]
        if not vals:
            continue
        out[k] = float(np.mean(vals))
        out[f"{k}_std"] = float(np.std(vals))
        out[f"{k}_per_seed"] = [float(v) for v in vals]
    return out


def compare(scenario, rules, seeds: int = 3, out="runs/compare", progress: bool = False,
            plots: bool | None = None, run_plots: bool = False, epochs: int | None = None) -> dict:
    """Train ``scenario`` under every rule in ``rules`` for ``seeds`` seeds; returns compare.json's dict.

    ``plots``: draw the comparison figures (default: the scenario's ``plots``); ``run_plots``:
    also each sub-run's figures. ``epochs`` overrides ``training.epochs``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    kind = scenario["kind"]
    if kind not in KIND_METRICS:
        raise ScenarioError(scenario.path, "kind", f"expected kind = one of {sorted(KIND_METRICS)} for compare")
    summary_keys, history_keys, epochs_key = KIND_METRICS[kind]
    rules = parse_rules(rules, scenario.path)
    if not isinstance(seeds, int) or seeds < 1:
        raise ScenarioError(scenario.path, "--seeds", f"expected a positive integer, got {seeds!r}")
    base = scenario["seed"]
    variants = {}
    for rule in rules:  # validate every variant before writing anything
        changes = {"training__rule": rule}
        if epochs is not None:
            changes[epochs_key] = int(epochs)
        variants[rule] = [scenario.with_changes(seed=base + i, **changes) for i in range(seeds)]
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "compare.json").exists() \
            and not (out / "scenario.toml").exists():
        raise FileExistsError(f"{out} exists and is not a neurosim compare directory; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "scenario.toml", scenario.to_toml())
    summary, history = {}, []
    start = time.perf_counter()
    for rule in rules:
        per_seed = []
        for i, variant in enumerate(variants[rule]):
            result = run_scenario(variant, out / rule / f"seed{base + i}", progress=progress, plots=run_plots)
            per_seed.append(result.metrics)
            for row in result.history:
                history.append({"rule": rule, "seed": base + i, **{k: row.get(k) for k in history_keys}})
        summary[rule] = aggregate(per_seed) if kind == "train" else aggregate_generic(per_seed, summary_keys)
    doc = {"rules": summary, "seeds": [base + i for i in range(seeds)], "scenario": scenario.path,
           "total_wall_seconds": time.perf_counter() - start}
    write_json(out / "compare.json", doc)
    csv_keys = summary_keys if kind == "train" else [k for k in summary_keys
                                                      if any(k in s for s in summary.values())]
    write_csv(out / "compare.csv", [{"rule": r, **{k: s.get(k) for k in csv_keys}} for r, s in summary.items()],
              ["rule"] + csv_keys)
    write_csv(out / "compare_history.csv", history, ["rule", "seed"] + history_keys)
    write_json(out / "metrics.json", {f"{r}/{k}": v for r, s in summary.items() for k, v in s.items()
                                      if k in summary_keys})
    if plots if plots is not None else scenario["plots"]:
        try:
            from ..plotting import plot_run, write_report
        except ImportError:
            pass
        else:
            plot_run(out)
            write_report(out)
    return doc
