"""neurosim: an asynchronous energy-based neural simulator with local learning rules."""
__version__ = "0.1.0"

from .engine.cpu_target import prefer_wide_vectors as _prefer_wide_vectors
from .engine.kernel_cache import refresh_kernel_cache as _refresh_kernel_cache

# before any kernel is compiled or loaded: the vector width numba targets (cpu_target.py), and
# numba's cache keys a kernel on its own file only (kernel_cache.py)
_prefer_wide_vectors()
_refresh_kernel_cache()
