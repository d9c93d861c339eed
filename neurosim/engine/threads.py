"""BLAS threading for the engine.

The block kernel calls BLAS (``np.dot`` inside numba, which links scipy's BLAS) on many small and
mid-sized matrices. Multi-threaded OpenBLAS on such shapes is slower than one thread, and on a
shared machine with a busy second core it can be 20–40× slower (measured here: a 200-particle
relaxation took 4.5 s with two BLAS threads beside another process, 0.12 s with one). So the
engine limits every loaded BLAS library to ``NEUROSIM_BLAS_THREADS`` threads (default 1) the first
time a simulator is made. One thread also makes BLAS results independent of the machine's load.
"""
from __future__ import annotations

import os

_configured = False


def configure_blas_threads() -> int:
    """Limit BLAS threads once per process; returns the limit in force."""
    global _configured
    limit = int(os.environ.get("NEUROSIM_BLAS_THREADS", "1"))
    if _configured:
        return limit
    _configured = True
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (load the BLAS numba will call)
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=limit, user_api="blas")
    except ImportError:  # threadpoolctl comes with scikit-learn; without it BLAS keeps its default
        pass
    return limit
