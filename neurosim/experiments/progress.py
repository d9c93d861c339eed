"""Progress of long work on stderr: a live bar on a terminal, plain lines elsewhere.

On a terminal the bar is tqdm's (n/total with a unit, rate, elapsed and remaining time; its rate
is an exponential moving average, so the first update's numba compilation fades out of the
estimate). When stderr is not a terminal (a log file, CI, a pipe) it writes one plain line per
10 % of the work, as ``label: 40% (4/10 epoch) 12.1 s, eta 18.0 s``, with the remaining time
measured from the first update on, so compilation does not count. Both end with a frame of the
final count, which is 100 % for work that finished. Nothing is shown for work shorter than
``delay`` seconds.
"""
from __future__ import annotations

import sys
import time


def _count(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.4g}"


class Progress:
    """``update(done, extra)`` as work proceeds, ``close()`` at the end (also after an error)."""

    def __init__(self, total: float, label: str = "", enabled: bool = True, delay: float = 2.0,
                 unit: str = "", stream=None):
        self.total, self.label, self.unit = float(total), label, unit
        self.enabled, self.delay = enabled, delay
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.done, self.extra = 0.0, ""
        self.first: tuple[float, float] | None = None  # (time, done) of the first update
        self.lines_written = 0
        self.bar = None
        self.closed = False
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        if self.tty:
            from tqdm import tqdm
            self.bar = tqdm(total=int(self.total) if self.total.is_integer() else self.total, desc=label, unit=f" {unit}" if unit else "it", file=self.stream,
                            delay=delay, smoothing=0.3, dynamic_ncols=True, leave=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{unit} "
                                       "[{elapsed}<{remaining}, {rate_fmt}]{postfix}")

    def update(self, done: float, extra: str = "") -> None:
        if not self.enabled or self.closed:
            return
        now = time.perf_counter() - self.start
        if self.first is None:
            self.first = (now, float(done))
        self.done, self.extra = min(float(done), self.total), extra
        if self.bar is not None:
            self.bar.n = self.done
            if extra:
                self.bar.set_postfix_str(extra, refresh=False)
            self.bar.update(0)  # redraws at most every mininterval
            return
        if now < self.delay:
            return
        decile = int(10 * self.fraction() + 1e-9)
        if decile > self.lines_written:
            self.lines_written = decile
            self._line(now)

    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0

    def _line(self, now: float) -> None:
        frac = self.fraction()
        eta = ""
        if self.first is not None and frac < 1.0:
            t0, d0 = self.first
            progress = (self.done - d0) / self.total if self.total > 0 else 0.0
            if progress > 0 and now > t0:
                eta = f", eta {(now - t0) / progress * (1.0 - frac):.1f} s"
        unit = f" {self.unit}" if self.unit else ""
        extra = f"  {self.extra}" if self.extra else ""
        self.stream.write(f"{self.label}: {100 * frac:3.0f}% ({_count(self.done)}/{_count(self.total)}{unit}) "
                          f"{now:.1f} s{eta}{extra}\n")
        self.stream.flush()

    def finish(self, extra: str = "") -> None:
        """The work is done: record the full count (and ``extra``) and draw the final frame."""
        if self.enabled and not self.closed:
            self.done, self.extra = self.total, extra or self.extra
            if self.bar is not None:
                self.bar.n = self.done
        self.close()

    def close(self) -> None:
        """Draw the final frame (the count reached) and end the line."""
        if not self.enabled or self.closed:
            return
        self.closed = True
        if self.bar is not None:
            self.bar.n = self.done
            if self.extra:
                self.bar.set_postfix_str(self.extra, refresh=False)
            if time.perf_counter() - self.start >= self.delay:
                self.bar.refresh()  # the last update may have fallen between two redraws
            self.bar.close()
            return
        now = time.perf_counter() - self.start
        final_written = self.lines_written == 10 and self.fraction() >= 1.0
        if (now >= self.delay or self.lines_written) and not final_written:
            self._line(now)


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
