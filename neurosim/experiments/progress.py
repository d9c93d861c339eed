"""A progress bar on stderr that shows itself only for runs longer than a couple of seconds."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: float, label: str = "", enabled: bool = True, delay: float = 2.0):
        self.total, self.label, self.enabled, self.delay = float(total), label, enabled, delay
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.shown = False

    def update(self, done: float, extra: str = ""):
        if not self.enabled:
            return
        now = time.perf_counter() - self.start
        if now < self.delay or now - self.last_draw < 0.25:
            return
        self._draw(now, done, extra)

    def finish(self, extra: str = ""):
        """Draw the 100 % frame (if the bar showed at all, or the work took longer than the
        delay) and end the line: a bar left at 97 % reads as a run that stopped."""
        if self.enabled:
            now = time.perf_counter() - self.start
            if self.shown or now >= self.delay:
                self._draw(now, self.total, extra)
        self.close()

    def _draw(self, now: float, done: float, extra: str):
        self.last_draw, self.shown = now, True
        frac = min(1.0, done / self.total) if self.total > 0 else 1.0
        bar = "#" * int(30 * frac)
        eta = now / frac - now if frac > 0 else float("nan")
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}%  {now:6.1f}s  eta {eta:5.1f}s {extra}")
        sys.stderr.flush()

    def close(self):
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
