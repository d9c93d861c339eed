"""Readers of run-directory files (see docs/design.md and docs/plotting.md), one module per kind of
file:

    contract   the file names of a run directory, and which are present
    documents  scenario.toml and the JSON documents (metrics, sweep, gradcheck, samples), ``flatten``
    network    network.json → ``NetworkInfo``
    traces     traces.npz → ``Traces`` (and a training run's phase / weight traces)
    tables     CSV tables → ``Table`` (history.csv)
    compare    a comparison directory's tables and rule order
    arrays     checkpoint.npz, samples.npz, inpainting.npz, division_of_labour.npz

Every reader takes the run directory and returns plain Python / numpy data, or ``None`` when
the file is absent. Nothing here draws; nothing here imports simulator objects. The names below
are re-exported so that ``plotting.io.read_traces`` etc. keep working.
"""
from __future__ import annotations

from .arrays import read_checkpoint, read_division, read_inpainting, read_samples
from .compare import read_compare, read_compare_history, rule_order
from .contract import (CHECKPOINT, COMPARE_CSV, COMPARE_HISTORY, COMPARE_JSON, DIVISION, DIVISION_JSON,
                       GRADCHECK, GRADIENTS, HISTORY, INPAINTING, KNOWN_FILES, METRICS, NETWORK, SAMPLES, SAMPLES_BP,
                       SAMPLES_JSON, SCENARIO, SWEEP_CSV, SWEEP_JSON, TRACES, known_files)
from .documents import (flatten, read_gradcheck, read_json, read_metrics, read_samples_info,
                        read_scenario_text, read_sweep, scenario_header)
from .network import BlockInfo, NetworkInfo, read_network
from .tables import Table, read_csv_table, read_history
from .traces import Traces, on_intervals, read_train_traces, read_traces

__all__ = ["read_checkpoint", "read_division", "read_inpainting", "read_samples", "read_compare",
           "read_compare_history", "rule_order", "CHECKPOINT", "COMPARE_CSV", "COMPARE_HISTORY",
           "COMPARE_JSON", "DIVISION", "DIVISION_JSON", "GRADCHECK", "GRADIENTS", "HISTORY", "INPAINTING",
           "KNOWN_FILES", "METRICS", "NETWORK", "SAMPLES", "SAMPLES_BP", "SAMPLES_JSON", "SCENARIO", "SWEEP_CSV",
           "SWEEP_JSON", "TRACES", "known_files", "flatten", "read_gradcheck", "read_json", "read_metrics",
           "read_samples_info", "read_scenario_text", "read_sweep", "scenario_header", "BlockInfo",
           "NetworkInfo", "read_network", "Table", "read_csv_table", "read_history", "Traces",
           "on_intervals", "read_train_traces", "read_traces"]
