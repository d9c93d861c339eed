"""The sweep's progress display: plain lines off a terminal, frames and a final 100 % frame on one."""
from __future__ import annotations

import io

from neurosim.experiments.progress import SweepProgress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    bar = SweepProgress(4, done=1, stream=out)
    bar.finished(False, "lr=0.1/seed0", running=2)
    bar.finished(True, "lr=0.5/seed0", running=1)
    bar.finished(False, "lr=0.5/seed1", running=0)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert lines[0].startswith("sweep 2/4 runs  50.0%  running 2  failed 0") and "(lr=0.1/seed0)" in lines[0]
    assert "failed 1" in lines[1] and "FAILED" in lines[1]
    assert "4/4 runs 100.0%" in lines[2] and "eta    0.0s" in lines[2]


def test_terminal_frames_end_on_a_100_percent_frame():
    out = FakeTerminal()
    bar = SweepProgress(2, stream=out)
    bar.update(running=2)
    bar.finished(False, running=1)
    bar.finished(False, running=0)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") >= 2 and text.endswith("\n") and "\n" not in text[:-1]
    assert text.rsplit("\r", 1)[1].startswith("sweep 2/2 runs 100.0%  running 0  failed 0")


def test_disabled_writes_nothing():
    out = FakeTerminal()
    bar = SweepProgress(2, enabled=False, stream=out)
    bar.finished(False)
    bar.close()
    assert out.getvalue() == ""
