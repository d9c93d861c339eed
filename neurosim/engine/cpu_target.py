"""512-bit vectors for the kernels on AVX-512 machines.

LLVM tunes recent Intel cores to prefer 256-bit vectors even where AVX-512 exists (older server
parts lowered their clock for 512-bit instructions). The engine's elementwise loops — a block's
logistic, the state steps, the fused discrete drive — then use half the lanes they could. With
the preference off, an EP epoch of ``scenarios/digits_ep_peers.toml`` took 0.102–0.104 s of CPU
against 0.120–0.123 s (two rounds alternated, a Rocket Lake Xeon), with the same bits: the
loops are elementwise, and no kernel re-associates a sum (docs/engine.md §6).

So before numba compiles anything, where the host has AVX-512 and neither ``NUMBA_CPU_NAME``
nor ``NUMBA_CPU_FEATURES`` is set, the package sets them to the host's CPU and features with
``-prefer-256-bit``. Worker processes inherit them, so a sweep's workers compile what the
parent compiles. ``NEUROSIM_VECTOR_WIDTH=256`` keeps LLVM's choice.
"""
from __future__ import annotations

import os
import sys


def prefer_wide_vectors() -> bool:
    """Set numba's CPU target as the module docstring says; True when it did."""
    if os.environ.get("NEUROSIM_VECTOR_WIDTH", "") == "256":
        return False
    if "NUMBA_CPU_NAME" in os.environ or "NUMBA_CPU_FEATURES" in os.environ:
        return False
    try:
        import llvmlite.binding as ll
        features = ll.get_host_cpu_features().flatten()
        name = ll.get_host_cpu_name()
    except Exception:  # no llvmlite, or a host it cannot describe: leave numba's default
        return False
    if "+avx512f" not in features.split(","):
        return False
    os.environ["NUMBA_CPU_NAME"] = name
    os.environ["NUMBA_CPU_FEATURES"] = features + ",-prefer-256-bit"
    if "numba" in sys.modules:  # numba re-reads its configuration before each compilation
        from numba.core import config
        config.reload_config()
    return True
