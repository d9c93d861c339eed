"""``neurosim compare``: one training scenario under several learning rules and seeds.

Every rule sees the same network, data, optimiser and seeds: only ``training.rule`` changes, and
seed i of every rule is the scenario's seed + i (same initial weights, same batch order). Each
rule × seed is an ordinary training run directory ``OUT/<rule>/seed<s>/``; the summary files are

* ``compare.json`` — ``{"rules": {rule: {test_accuracy (mean over seeds), test_accuracy_std,
  best_test_accuracy, train_loss, wall_seconds, seconds_per_epoch, grad_cosine_to_bp, ...}},
  "seeds": [...], "scenario": path}``
* ``compare.csv`` — one row per rule with the same keys
* ``compare_history.csv`` — ``rule, seed, epoch, train_loss, test_accuracy, grad_cosine_to_bp``
* ``compare_runs.csv`` — one row per rule × seed: ``rule, seed, status, epoch, message`` and the
  headline figure; ``status`` is "ok", "diverged" (the engine or the loss went non-finite) or
  "failed" (any other error; its traceback is in the sub-run's ``error.txt``)

One failing run never sinks the study: it becomes a row, the other runs go on, and every figure is
a mean over the seeds that finished (``n_seeds`` = k of ``n_runs`` = N per rule; a rule whose
every seed failed has no figures). :func:`failed_runs` lists the rows the command line reports
(exit status 1). Every rule's scenario and ``--out`` are checked before anything is written.
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path

import numpy as np

from ..scenario.load import Scenario, load_scenario
from ..scenario.schema import ScenarioError
from ..scenario.kind_train import RULES
from ..engine.simulator import SimulationDiverged
from .run import run_scenario
from .rundir import clean_run_dir, is_run_dir, read_csv, refuse_existing, write_csv, write_json, write_text

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


#: kind → (history column that counts progress, headline figure of a run)
PROGRESS = {"train": ("epoch", "test_accuracy"), "generative": ("step", "w2")}
RUN_COLUMNS = ["rule", "seed", "status", "epoch", "message"]


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
    if not per_seed:
        return {"n_seeds": 0}
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


#: the exact gradient's dense Hessians (particles × free units², float64) are affordable up to
#: this many entries (200 MB): the digits and MNIST-5k networks are, far larger ones are not
EXACT_GRADIENT_ENTRIES = 25_000_000


def exact_gradient_entries(scenario: Scenario) -> int:
    """P·n²: the entries of the per-particle Hessians over the n free units that the exact (``bp``)
    gradient behind ``grad_cosine_to_bp`` solves with, P = the training batch."""
    t = scenario["training"]
    n_free = sum(b["size"] for b in scenario["network"]["blocks"] if b["name"] != t["input_block"])
    return int(t["batch_size"]) * n_free ** 2


def grad_cosine_default(scenario: Scenario, grad_cosine: bool | None) -> bool:
    """Whether a training comparison records the cosine to the exact gradient: ``grad_cosine`` if
    given; else on when the scenario asks for it or the exact gradient is affordable
    (:data:`EXACT_GRADIENT_ENTRIES`)."""
    if grad_cosine is not None:
        return bool(grad_cosine)
    return bool(scenario["training"]["grad_cosine"]) or exact_gradient_entries(scenario) <= EXACT_GRADIENT_ENTRIES


def compare(scenario, rules, seeds: int = 3, out="runs/compare", progress: bool = False,
            plots: bool | None = None, run_plots: bool = False, epochs: int | None = None,
            grad_cosine: bool | None = None, overwrite: bool = False) -> dict:
    """Train ``scenario`` under every rule in ``rules`` for ``seeds`` seeds; returns compare.json's dict.

    ``plots``: draw the comparison figures (default: the scenario's ``plots``); ``run_plots``:
    also each sub-run's figures. ``epochs`` overrides ``training.epochs``. ``grad_cosine``
    (train scenarios): record every rule's cosine to the exact gradient once per epoch
    (``grad_cosine_to_bp``); default: on where the exact gradient is affordable
    (:func:`grad_cosine_default`). ``overwrite``: replace an existing compare directory ``out``
    (without it, a non-empty ``out`` is refused).
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
        if kind == "train":
            changes["training__grad_cosine"] = grad_cosine_default(scenario, grad_cosine)
        if epochs is not None:
            changes[epochs_key] = int(epochs)
        variants[rule] = [scenario.with_changes(seed=base + i, **changes) for i in range(seeds)]
    from .run import require_packages
    require_packages(scenario)  # a missing optional package stops the study, not each run
    out = refuse_existing(out, overwrite, resumable=False, what="compare")
    clean_compare_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    if kind == "train":  # the file beside compare.json says what every rule ran with
        scenario = scenario.with_changes(training__grad_cosine=grad_cosine_default(scenario, grad_cosine))
    write_text(out / "scenario.toml", scenario.to_toml())
    summary, history, runs = {}, [], []
    start = time.perf_counter()
    for rule in rules:
        per_seed = []
        for i, variant in enumerate(variants[rule]):
            row, result = run_one(variant, out / rule / f"seed{base + i}", rule, base + i, kind, progress, run_plots)
            runs.append(row)
            if result is None:
                continue
            per_seed.append(result.metrics)
            row[PROGRESS[kind][1]] = result.metrics.get(PROGRESS[kind][1])
            for h in result.history:
                history.append({"rule": rule, "seed": base + i, **{k: h.get(k) for k in history_keys}})
        summary[rule] = aggregate(per_seed) if kind == "train" else aggregate_generic(per_seed, summary_keys)
        summary[rule]["n_runs"] = seeds
    doc = {"kind": kind, "rules": summary, "seeds": [base + i for i in range(seeds)], "scenario": scenario.path,
           "runs": runs, "n_failed": sum(r["status"] != "ok" for r in runs),
           "total_wall_seconds": time.perf_counter() - start}
    write_json(out / "compare.json", doc)
    csv_keys = list(summary_keys) if kind == "train" else [k for k in summary_keys
                                                            if any(k in s for s in summary.values())]
    csv_keys += ["n_seeds", "n_runs"]
    write_csv(out / "compare.csv", [{"rule": r, **{k: s.get(k) for k in csv_keys}} for r, s in summary.items()],
              ["rule"] + csv_keys)
    write_csv(out / "compare_history.csv", history, ["rule", "seed"] + history_keys)
    write_csv(out / "compare_runs.csv", runs, RUN_COLUMNS[:4] + [PROGRESS[kind][1], "message"])
    write_json(out / "metrics.json", {**{f"{r}/{k}": v for r, s in summary.items() for k, v in s.items()
                                         if k in summary_keys + ["n_seeds"]}, "n_failed": doc["n_failed"]})
    if plots if plots is not None else scenario["plots"]:
        try:
            from ..plotting import plot_run, write_report
        except ImportError:
            pass
        else:
            plot_run(out)
            write_report(out)
    return doc


def run_one(variant, run_dir: Path, rule: str, seed: int, kind: str, progress: bool, plots: bool):
    """One rule × seed: (row for compare_runs.csv, RunResult or None if it diverged or failed).
    Only an interrupt (Ctrl-C) stops the study; any other error is recorded in the row."""
    row = {"rule": rule, "seed": seed, "status": "ok", "epoch": None, "message": ""}
    try:
        result = run_scenario(variant, run_dir, progress=progress, plots=plots)
    except SimulationDiverged as err:
        row.update(status="diverged", message=_one_line(err))
    except Exception as err:  # noqa: BLE001 - one failing run must not sink the study
        row.update(status="failed", message=f"{type(err).__name__}: {_one_line(err)}")
        if is_run_dir(run_dir):
            write_text(run_dir / "error.txt", traceback.format_exc())
    else:
        rows = result.history
        row["epoch"] = rows[-1].get(PROGRESS[kind][0]) if rows else None
        return row, result
    history = run_dir / "history.csv"
    rows = read_csv(history) if history.is_file() else []
    row["epoch"] = rows[-1].get(PROGRESS[kind][0]) if rows else None  # the last finished epoch (step)
    return row, None


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def failed_runs(doc: dict) -> list[dict]:
    """The rows of compare.json's ``runs`` whose status is not "ok"."""
    return [r for r in doc.get("runs", []) if r["status"] != "ok"]


def clean_compare_dir(out: Path) -> None:
    """What an earlier compare left in ``out``: its summary files and every rule's sub-runs
    (``OUT/<rule>/seed<s>/``, known run files only). Unknown files stay."""
    clean_run_dir(out)
    for rule in RULES:
        folder = out / rule
        if not folder.is_dir():
            continue
        for sub in folder.glob("seed*"):
            if sub.is_dir() and is_run_dir(sub):
                clean_run_dir(sub)
                if not any(sub.iterdir()):
                    sub.rmdir()
        if not any(folder.iterdir()):
            folder.rmdir()
