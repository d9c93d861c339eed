"""Checkpoint files: one layout for every runner that can be interrupted and resumed.

A checkpoint is one ``.npz`` archive (written atomically, :func:`rundir.write_npz`) holding

* named numpy arrays, keys with ``/`` namespaces (``weights/<a->b>``, ``bias/<block>`` and
  ``memory/<block>`` for the parameters — the names the plots read — and anything a runner
  needs under its own prefix, e.g. ``run/sim/x``);
* one entry ``meta``: a JSON document with the layout version, the runner's ``kind``, the
  scenario the run was started with, and the runner's small state (counters, time, history rows,
  random-generator states, which controls are done …).

JSON keeps floats exact (Python writes the shortest repr that reads back to the same double),
and ``numpy.random.Generator.bit_generator.state`` is a dict of integers, so the meta entry
restores everything bit-identically. :func:`read_checkpoint` turns any damaged, truncated or
foreign file into a one-line :class:`CheckpointError`; :func:`check_same_scenario` refuses a
resume whose scenario differs from the checkpoint's in anything but the keys a runner allows.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..model.network import Params
from ..scenario.schema import ScenarioError
from .rundir import write_npz

LAYOUT = 1
META = "meta"
PARAM_PREFIX = {"weights": "weights", "biases": "bias", "memories": "memory"}


class CheckpointError(ScenarioError):
    """A checkpoint cannot be used: damaged, written by another runner or another scenario."""

    def __init__(self, path, message: str):
        super().__init__(path, "", message)


# -- the file ----------------------------------------------------------------------------------
def write_checkpoint(path, arrays: dict, meta: dict, kind: str, scenario_data: dict) -> Path:
    """Write ``arrays`` and ``meta`` (JSON-serialisable) atomically to ``path``."""
    if META in arrays:
        raise ValueError(f"array name {META!r} is reserved for the checkpoint's meta entry")
    doc = {"layout": LAYOUT, "kind": kind, "scenario": _plain(scenario_data), "state": meta}
    out = dict(arrays)
    out[META] = np.array(json.dumps(doc, sort_keys=True, allow_nan=True))
    return write_npz(path, out)


def read_checkpoint(path, kind: str) -> tuple[dict[str, np.ndarray], dict, dict]:
    """``(arrays, state, scenario_data)`` of the checkpoint at ``path``, written by ``kind``.

    Raises :class:`CheckpointError` (one line, naming the file) if the file is not a complete
    checkpoint of this layout and kind."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        doc = json.loads(str(arrays.pop(META)))
    except KeyError:
        raise CheckpointError(path, f"not a resumable checkpoint (no {META!r} entry); "
                              "delete it to start the run over") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(path, f"damaged or truncated checkpoint ({detail}); "
                              "delete it to start the run over") from None
    if not isinstance(doc, dict) or doc.get("layout") != LAYOUT:
        raise CheckpointError(path, f"checkpoint layout {doc.get('layout') if isinstance(doc, dict) else '?'}"
                              f" is not the layout {LAYOUT} this version reads")
    if doc.get("kind") != kind:
        raise CheckpointError(path, f"checkpoint written by a kind = {doc.get('kind')!r} run, "
                              f"not {kind!r}")
    return arrays, doc["state"], doc["scenario"]


# -- the scenario a run may be resumed with ----------------------------------------------------
def _plain(data):
    """The scenario data as JSON would give it back (tuples → lists, numbers unchanged)."""
    return json.loads(json.dumps(data, default=str))


def scenario_differences(old, new, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two plain scenario dicts (lists by index)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            key = f"{prefix}.{k}" if prefix else str(k)
            if k not in old or k not in new:
                out.append(key)
            else:
                out += scenario_differences(old[k], new[k], key)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in scenario_differences(a, b, f"{prefix}[{i}]")]
    return [] if old == new else [prefix]


def check_same_scenario(path, saved: dict, current: dict, may_change=("name", "description", "plots")) -> None:
    """Refuse a resume whose scenario differs from the checkpoint's beyond ``may_change``
    (top-level or dotted keys)."""
    diff = [d for d in scenario_differences(saved, _plain(current))
            if not any(d == k or d.startswith(k + ".") or d.startswith(k + "[") for k in may_change)]
    if diff:
        shown = ", ".join(diff[:4]) + (f" and {len(diff) - 4} more" if len(diff) > 4 else "")
        raise CheckpointError(path, f"cannot resume: the scenario differs from the one this checkpoint "
                              f"was written by in {shown} (a resume may change only {', '.join(may_change)}); "
                              "run a different scenario without --resume (or into another --out)")


# -- packing helpers ---------------------------------------------------------------------------
def params_arrays(params: Params, prefix: str = "") -> dict:
    """``{prefix}weights/<proj>``, ``{prefix}bias/<block>``, ``{prefix}memory/<block>``."""
    return {f"{prefix}{PARAM_PREFIX[kind]}/{name}": np.array(arr) for kind, name, arr in params.items()}


def params_from(arrays: dict, like: Params, prefix: str = "", path="checkpoint") -> Params:
    """A copy of ``like`` with every array read from ``arrays`` (see :func:`params_arrays`)."""
    return read_params_into(arrays, like.copy(), path, prefix)


def read_params_into(arrays: dict, params: Params, path, prefix: str = "") -> Params:
    """Read every array of ``params`` from ``arrays`` in place (a model, optimiser or simulator may
    hold them); a missing one raises :class:`CheckpointError` naming ``path`` and the key."""
    for kind, name, arr in params.items():
        key = f"{prefix}{PARAM_PREFIX[kind]}/{name}"
        if key not in arrays:
            raise CheckpointError(path, f"not a checkpoint of this run (no array {key!r})")
        arr[...] = arrays[key]
    return params


def with_prefix(prefix: str, arrays: dict) -> dict:
    return {f"{prefix}{k}": v for k, v in arrays.items()}


def under(prefix: str, arrays: dict) -> dict:
    """The entries of ``arrays`` under ``prefix``, with the prefix removed."""
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def set_rng_state(rng: np.random.Generator, state: dict) -> np.random.Generator:
    rng.bit_generator.state = state
    return rng
