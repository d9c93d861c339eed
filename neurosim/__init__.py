"""neurosim: an asynchronous energy-based neural simulator with local learning rules."""
__version__ = "0.1.0"

from .engine.kernel_cache import refresh_kernel_cache as _refresh_kernel_cache

# before any kernel is loaded: numba's cache keys a kernel on its own file only (kernel_cache.py)
_refresh_kernel_cache()
