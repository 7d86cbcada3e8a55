"""The counters so far, read while the program runs (what `linewise run --live` shows).

The engine copies every counter into a buffer kept here, in one pass under the GIL that
runs no Python code (Engine.snapshot_into, _engine/snapshot.c): the program's threads wait
only for that copy, and see nothing allocated. Everything else (decoding, sorting, names)
happens afterwards in the reading thread, which the program's threads share the GIL with
as with any thread.
"""
from __future__ import annotations

import time
from typing import NamedTuple

from . import _engine


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


class Snapshot(NamedTuple):
    taken: float      # time.perf_counter() just after the copy
    lines: list       # LiveLine of every line that ran
    functions: list   # LiveFunction of every function that ran
    events: int       # line events so far (hits of every line)
    profiled: int     # functions registered (ran or not)


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
        lines, functions, events = [], [], 0
        scale = self._seconds_per_tick
        with memoryview(self._buffer) as raw, raw[:size].cast("q") as words:
            pos = 0
            for index in range(ncodes):
                first, n = words[pos], words[pos + 1]
                pos += 2
                if n == 0:
                    continue
                hits = words[pos:pos + 2 * n:2].tolist()
                ticks = words[pos + 1:pos + 2 * n:2].tolist()
                pos += 2 * n
                total_hits = sum(hits)
                if total_hits == 0 and not any(ticks):
                    continue
                key = self._keys[index]
                best, best_ticks, total_ticks = first, -1, 0
                for offset, (h, t) in enumerate(zip(hits, ticks)):
                    if h or t:
                        lines.append(LiveLine(key, first + offset, h, t * scale))
                        total_ticks += t
                        if t > best_ticks:
                            best, best_ticks = first + offset, t
                events += total_hits
                functions.append(LiveFunction(key, total_hits, total_ticks * scale, best))
        return Snapshot(taken, lines, functions, events, ncodes)
