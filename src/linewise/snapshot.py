"""The counters so far, read while the program runs (what `linewise run --live` shows).

The engine copies every counter into a buffer kept here, in one pass under the GIL that
runs no Python code (Engine.snapshot_into, _engine/snapshot.c): the program's threads wait
only for that copy, and see nothing allocated. Everything else (decoding, sorting, names)
happens afterwards in the reading thread, which the program's threads share the GIL with
as with any thread.
"""
from __future__ import annotations

import heapq
import itertools
import time
from typing import NamedTuple

from . import _engine

_HEADER = 6  # words before each code's lines, see _engine/snapshot.c


class LiveLine(NamedTuple):
    key: tuple  # (filename, first_lineno, qualname), as in LineStats.timings
    lineno: int
    hits: int
    seconds: float


class LiveFunction(NamedTuple):
    key: tuple
    hits: int         # line events, all lines summed
    seconds: float    # the lines' time summed
    hottest: int      # the line with the most time
    hottest_seconds: float


# A function's row as decoded, a plain tuple (made in C by zip: 10^4 a second):
_KEY, _HITS, _TICKS, _HOTTEST, _MOST, _FIRST, _START, _N = range(8)
_WORDS = _engine.SNAPSHOT_LINE_WORDS  # 64-bit words a line takes in a snapshot


class Snapshot:
    """The counters at one moment. Rows are made for what is asked for only (the live
    view shows a screenful out of maybe 10^4 functions and 10^5 lines)."""

    def __init__(self, taken, rows, events, profiled, words, seconds_per_tick):
        self.taken = taken          # time.perf_counter() just after the copy
        self.events = events        # line events so far (hits of every line)
        self.profiled = profiled    # functions registered (ran or not)
        self.ran = len(rows)        # functions that ran
        self._rows = rows           # per function that ran, see _KEY ...
        self._words = words
        self._scale = seconds_per_tick

    def functions(self, top=None) -> list:
        """LiveFunction of the functions that ran, most time first; top: the `top` first."""
        rows = self._rows
        rows = (sorted(rows, key=_by_ticks, reverse=True) if top is None
                else heapq.nlargest(top, rows, key=_by_ticks))
        scale = self._scale
        return [LiveFunction(r[_KEY], r[_HITS], r[_TICKS] * scale, r[_HOTTEST],
                             r[_MOST] * scale) for r in rows]

    def lines(self, top=None) -> list:
        """LiveLine of the lines that ran, most time first; top: only the `top` first.
        Only the `top` functions with the hottest lines can hold the `top` hottest lines
        (any other function's lines are at most the top-th of those lines)."""
        rows = self._rows
        if top is not None:
            rows = heapq.nlargest(top, rows, key=lambda r: r[_MOST])
        found, words, scale = [], self._words, self._scale
        for row in rows:
            start, end = row[_START], row[_START] + _WORDS * row[_N]
            key, first = row[_KEY], row[_FIRST]
            hits, ticks = words[start:end:_WORDS], words[start + 1:end:_WORDS]
            for offset, (h, t) in enumerate(zip(hits, ticks)):
                if h or t:
                    found.append(LiveLine(key, first + offset, h, t * scale))
        found.sort(key=lambda ln: (ln.seconds, ln.hits), reverse=True)
        return found if top is None else found[:top]


def _by_ticks(row):
    return (row[_TICKS], row[_HITS])


class Counters:
    """Takes snapshots of a LineProfiler's counters; one reader thread at a time."""

    def __init__(self, profiler):
        self._profiler = profiler
        self._engine = profiler._engine
        self._buffer = bytearray(1 << 16)  # kept: the next copy reuses it
        self._keys: list = []              # code index -> key, codes are append-only
        self._seconds_per_tick = _engine.ns_per_tick() * 1e-9

    def take(self) -> Snapshot:
        while True:
            ncodes, size = self._engine.snapshot_into(self._buffer)
            if size <= len(self._buffer):
                break
            self._buffer = bytearray(size + size // 4)  # room for codes still to come
        taken = time.perf_counter()
        if len(self._keys) < ncodes:
            codes = self._engine.codes
            self._keys.extend(self._profiler.key_for(code)
                              for code in codes[len(self._keys):ncodes])
        with memoryview(self._buffer) as raw, raw[:size].cast("q") as view:
            words = view.tolist()
        # The headers (snapshot.c): first, n, hits, ticks, hottest line, its ticks; then
        # each code's lines, _WORDS words each (hits, ticks, ...), in order.
        table = words[:_HEADER * ncodes]
        counts = table[1::_HEADER]
        starts = itertools.accumulate(map(_WORDS.__mul__, counts), initial=_HEADER * ncodes)
        hottest = table[4::_HEADER]  # 0 for a function that never ran
        rows = list(itertools.compress(zip(self._keys, table[2::_HEADER], table[3::_HEADER],
                                           hottest, table[5::_HEADER], table[0::_HEADER],
                                           starts, counts), hottest))
        events = sum(table[2::_HEADER])
        return Snapshot(taken, rows, events, ncodes, words, self._seconds_per_tick)
