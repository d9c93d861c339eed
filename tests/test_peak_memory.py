"""The peak RSS of a stretch: an allocation shows in the peak, and a reset forgets it."""
import numpy as np
import pytest

from neurosim.experiments.peak_memory import peak_rss_mib, reset_peak_rss


def test_a_stretch_peak_sees_its_allocation_and_a_reset_forgets_it():
    if not reset_peak_rss():
        pytest.skip("this system does not let a process reset its RSS high-water mark")
    before = peak_rss_mib()
    a = np.ones(200 << 17)  # 200 MiB, touched
    a[::512] += 1.0
    grown = peak_rss_mib()
    del a
    assert grown - before > 150
    assert reset_peak_rss() and peak_rss_mib() < grown - 150
