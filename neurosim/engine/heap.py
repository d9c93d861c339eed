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
