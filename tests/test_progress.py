"""Progress written to a file: plain lines (no carriage returns), one per 10 %, the last at 100 %."""
import io

from neurosim.experiments.progress import Progress


def test_plain_lines_end_at_100_percent():
    out = io.StringIO()
    bar = Progress(10, "train", delay=0.0, unit="epoch", stream=out)
    for epoch in range(1, 11):
        bar.update(epoch, f"acc {epoch}%")
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 10
    assert lines[-1].startswith("train: 100% (10/10 epoch)")
    assert "eta" in lines[3] and "acc 4%" in lines[3]


def test_interrupted_work_shows_where_it_stopped():
    out = io.StringIO()
    bar = Progress(200.0, "relax", delay=0.0, unit="τ", stream=out)
    for t in (10.0, 25.0, 37.5):
        bar.update(t)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("relax:  19% (37.5/200 τ)")
    assert len(lines) == 2  # 10 % once, then the final frame


def test_short_work_prints_nothing():
    out = io.StringIO()
    bar = Progress(5, "quick", delay=60.0, stream=out)
    bar.update(5)
    bar.close()
    assert out.getvalue() == ""
