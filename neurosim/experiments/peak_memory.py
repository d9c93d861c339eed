"""Peak resident memory (RSS) of a stretch of a run: reset the process's high-water mark at the
stretch's start, read it at its end.

Linux keeps one high-water mark per process (VmHWM, which ``getrusage``'s ``ru_maxrss`` reports);
writing ``5`` to ``/proc/self/clear_refs`` (Linux ≥ 4.0) sets it back to the current RSS. Where
that is not possible the peak read is the process's so far (an upper bound on the stretch's).
A reset is seen from outside too: ``/usr/bin/time -v`` then reports the peak since the last one.
"""
from __future__ import annotations

import resource
import sys
from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_rss() -> bool:
    """Set the high-water mark back to the current RSS; False where the system does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """The process's peak RSS since the last reset, MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024
