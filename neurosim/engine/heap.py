"""The event heap of the ``poisson`` loops: a binary min-heap on (time, sequence number).

Three parallel arrays (time ``ht``, sequence ``hs``, block id ``hid``); an entry precedes another
when its time is smaller, or the times are equal and its sequence number is (ties are broken by
the order the events were scheduled in, so a run is deterministic).
"""
from __future__ import annotations

from numba import njit


@njit(cache=True)
def _heap_sift_down(ht, hs, hid, size, i):
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        c = left
        right = left + 1
        if right < size and (ht[right] < ht[left] or (ht[right] == ht[left] and hs[right] < hs[left])):
            c = right
        if ht[c] < ht[i] or (ht[c] == ht[i] and hs[c] < hs[i]):
            ht[c], ht[i] = ht[i], ht[c]
            hs[c], hs[i] = hs[i], hs[c]
            hid[c], hid[i] = hid[i], hid[c]
            i = c
        else:
            return


@njit(cache=True)
def heapify(ht, hs, hid):
    size = ht.shape[0]
    for i in range(size // 2 - 1, -1, -1):
        _heap_sift_down(ht, hs, hid, size, i)


@njit(cache=True, inline="always")
def reschedule(ht, hs, hid, b, t, draws, draw_pos, rate, seq):
    """The top entry (block b, just updated at t) moves to b's next update time,
    t + (its next pre-drawn unit exponential) / r_b, with sequence number ``seq``; returns the
    next sequence number. Both event loops (plain and plastic) advance their clocks with this."""
    ht[0] = t + draws[b, draw_pos[b]] / rate[b]
    draw_pos[b] += 1
    hs[0] = seq
    _heap_sift_down(ht, hs, hid, ht.shape[0], 0)
    return seq + 1
