"""The npz arrays of a run that are not traces: learned parameters (``checkpoint.npz``), generated
samples, inpainted digits and the multitask division-of-labour map."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .contract import CHECKPOINT, DIVISION, INPAINTING, SAMPLES


def read_checkpoint(run_dir: Path | str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """``(weights, biases)`` keyed by projection / block name; other keys ignored."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        return None
    weights, biases = {}, {}
    with np.load(path, allow_pickle=False) as z:
        for key in z.keys():
            prefix, _, name = key.partition("/")
            if prefix == "weights" and name:
                weights[name] = np.asarray(z[key])
            elif prefix == "bias" and name:
                biases[name] = np.asarray(z[key])
    return weights, biases


def read_samples(run_dir: Path | str) -> dict[str, np.ndarray] | None:
    """``samples.npz`` of a run directory (or the npz file ``run_dir`` itself)."""
    path = Path(run_dir)
    path = path if path.suffix == ".npz" else path / SAMPLES
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in ("samples", "reference", "labels") if k in z.keys()}
    if "samples" not in out:
        return None
    s = out["samples"]
    out["samples"] = s.reshape(len(s), -1) if s.ndim != 2 else s
    if "reference" in out and out["reference"].ndim != 2:
        out["reference"] = out["reference"].reshape(len(out["reference"]), -1)
    return out


def read_inpainting(run_dir: Path | str) -> dict[str, np.ndarray] | None:
    """``inpainting.npz``: ``original`` and ``inpainted`` (n, 64) test digits, optional ``labels``."""
    path = Path(run_dir) / INPAINTING
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in ("original", "inpainted", "labels") if k in z.keys()}
    if "original" not in out or "inpainted" not in out:
        raise ValueError(f"{path}: expected arrays 'original' and 'inpainted'")
    return out


def read_division(run_dir: Path | str) -> dict[str, np.ndarray] | None:
    """``division_of_labour.npz``: block × task arrays ``damage``, ``grad_share``, ``role`` with
    ``blocks``, ``tasks`` (and the rest of the map, see experiments/division_of_labour.py)."""
    path = Path(run_dir) / DIVISION
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        out = {k: np.asarray(z[k]) for k in z.keys()}
    for k in ("blocks", "tasks", "damage", "grad_share", "role"):
        if k not in out:
            raise ValueError(f"{path}: expected an array {k!r}")
    return out
