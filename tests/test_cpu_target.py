"""engine/cpu_target.py: numba targets the host with 512-bit vectors where it has AVX-512, and a
user's own numba CPU setting or NEUROSIM_VECTOR_WIDTH=256 is left alone."""
import os
import subprocess
import sys

import llvmlite.binding as ll
import pytest

AVX512 = "+avx512f" in ll.get_host_cpu_features().flatten().split(",")


def _target(env):
    code = "import neurosim, os; print(os.environ.get('NUMBA_CPU_FEATURES', '-'))"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CPU", "NEUROSIM_VECTOR"))}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not AVX512, reason="the host has no AVX-512: nothing to set")
def test_avx512_hosts_get_wide_vectors():
    assert _target({}).endswith(",-prefer-256-bit")


def test_a_users_setting_is_kept():
    assert _target({"NUMBA_CPU_FEATURES": "+sse2"}) == "+sse2"
    assert _target({"NEUROSIM_VECTOR_WIDTH": "256"}) == "-"
