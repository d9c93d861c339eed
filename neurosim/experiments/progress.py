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


class SweepProgress:
    """Progress of a sweep on stderr: runs done / total, running, failed, elapsed, ETA.

    On a terminal one frame is redrawn in place (at most 4 per second) and a final 100 % frame is
    left on screen; otherwise (a log file, CI) one plain line is written per finished run. The ETA
    is elapsed / (runs finished in this session) × (runs left), so it includes the parallelism of
    the workers and ignores the runs a resumed sweep skipped.
    """

    def __init__(self, total: int, done: int = 0, label: str = "sweep", enabled: bool = True, stream=None):
        self.total, self.done, self.failed, self.running = total, done, 0, 0
        self.finished_here, self.label, self.enabled = 0, label, enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last_draw = -1.0

    def _line(self) -> str:
        now = time.perf_counter() - self.start
        left = self.total - self.done
        eta = now / self.finished_here * left if self.finished_here else float("nan")
        frac = self.done / self.total if self.total else 1.0
        return (f"{self.label} {self.done}/{self.total} runs {100 * frac:5.1f}%  running {self.running}  "
                f"failed {self.failed}  {now:7.1f}s  eta {eta:6.1f}s")

    def update(self, running: int | None = None):
        """Redraw the frame (terminal only) with the current number of running runs."""
        if running is not None:
            self.running = running
        if self.enabled and self.tty:
            now = time.perf_counter() - self.start
            if now - self.last_draw >= 0.25:
                self.last_draw = now
                self.stream.write("\r" + self._line())
                self.stream.flush()

    def finished(self, failed: bool, what: str = "", running: int | None = None):
        """One run has ended (``failed``: recorded as failed)."""
        self.done += 1
        self.finished_here += 1
        self.failed += int(failed)
        if running is not None:
            self.running = running
        if not self.enabled:
            return
        if self.tty:
            self.last_draw = -1.0
            self.update()
        else:
            self.stream.write(self._line() + (f"  ({what}{' FAILED' if failed else ''})" if what else "") + "\n")
            self.stream.flush()

    def close(self):
        if self.enabled and self.tty:
            self.running = 0
            self.stream.write("\r" + self._line() + "\n")
            self.stream.flush()
