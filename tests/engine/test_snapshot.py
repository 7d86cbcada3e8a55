"""Engine.snapshot_into and linewise.snapshot.Counters: the live view's reading of the
counters while the program runs (a copy into a kept buffer, under the GIL)."""
from __future__ import annotations

import threading

import pytest

from conftest import line_of
from linewise import LineProfiler, _engine
from linewise.snapshot import Counters


def loop(n):
    total = 0  # L:snap_first
    for i in range(n):  # L:snap_for
        total += i  # L:snap_body
    return total  # L:snap_return


def never():
    return 1


def pair(stop):
    a = b = 0
    while not stop.is_set():  # L:pair_while
        a += 1  # L:pair_a
        b += 1  # L:pair_b
    return a, b


def _decode(buffer, ncodes, size):
    """[(first_line, n_lines, [sums], [hits, ticks, ...])] per code (each line's first two
    of its SNAPSHOT_LINE_WORDS words)."""
    words = memoryview(buffer)[:size].cast("q").tolist()
    out, pos, width = [], 6 * ncodes, _engine.SNAPSHOT_LINE_WORDS
    for i in range(ncodes):
        header = words[6 * i:6 * i + 6]
        n = header[1]
        lines = words[pos:pos + width * n]
        out.append((header[0], n, header[2:],
                    [w for j in range(n) for w in lines[width * j:width * j + 2]]))
        pos += width * n
    assert pos == len(words)
    return out


def test_snapshot_into_copies_what_get_stats_reports():
    lp = LineProfiler(loop, never)
    with lp:
        loop(100)
    engine = lp._engine
    ncodes, size = engine.snapshot_into(bytearray(0))
    assert ncodes == 2
    buffer = bytearray(size)
    assert engine.snapshot_into(buffer) == (2, size)
    (first, n, sums, pairs), (_, n_never, never_sums, never_pairs) = _decode(buffer, ncodes, size)
    assert n > 0 and n_never > 0 and not any(never_pairs) and never_sums == [0, 0, 0, 0]
    got = {first + j: (pairs[2 * j], pairs[2 * j + 1]) for j in range(n)
           if pairs[2 * j] or pairs[2 * j + 1]}
    assert {ln: h for ln, (h, _) in got.items()} == {
        line_of(loop, "snap_first"): 1, line_of(loop, "snap_for"): 101,
        line_of(loop, "snap_body"): 100, line_of(loop, "snap_return"): 1}
    # The header's sums, and the line with the most ticks.
    assert sums[:2] == [sum(h for h, _ in got.values()), sum(t for _, t in got.values())]
    assert sums[3] == max(t for _, t in got.values()) and got[sums[2]][1] == sums[3]
    # The same ticks get_stats turns into nanoseconds.
    ns = _engine.ns_per_tick()
    stats = dict((ln, (h, t)) for ln, h, t in engine.get_stats()[0][1])
    assert stats == {ln: (h, int(t * ns + 0.5)) for ln, (h, t) in got.items()}


def test_a_buffer_too_small_is_left_untouched():
    lp = LineProfiler(loop)
    with lp:
        loop(10)
    buffer = bytearray(b"\xab" * 24)
    ncodes, size = lp._engine.snapshot_into(buffer)
    assert (ncodes, size > 24) == (1, True)
    assert buffer == bytearray(b"\xab" * 24)
    with pytest.raises(BufferError):
        lp._engine.snapshot_into(bytes(size))  # not writable


def test_counters_take_lines_and_functions():
    lp = LineProfiler(loop, never)
    with lp:
        loop(50)
    snap = Counters(lp).take()
    assert snap.profiled == 2 and snap.events == 1 + 51 + 50 + 1
    assert {(ln.key[2], ln.lineno): ln.hits for ln in snap.lines()} == {
        ("loop", line_of(loop, "snap_first")): 1, ("loop", line_of(loop, "snap_for")): 51,
        ("loop", line_of(loop, "snap_body")): 50, ("loop", line_of(loop, "snap_return")): 1}
    (func,) = snap.functions()
    assert snap.ran == 1
    assert func.key in lp.get_stats().timings and func.key[2] == "loop"
    assert func.hits == snap.events
    assert func.seconds == pytest.approx(sum(ln.seconds for ln in snap.lines()))
    assert snap.lines(2) == snap.lines()[:2]


def test_snapshots_while_a_thread_counts_are_consistent():
    """Every snapshot sees a's and b's counts from one moment: b is a or a - 1 (the copy
    runs no Python code, so the counting thread cannot run during it)."""
    lp = LineProfiler(pair)
    stop = threading.Event()
    a_line, b_line = line_of(pair, "pair_a"), line_of(pair, "pair_b")
    counters = Counters(lp)
    with lp:
        worker = threading.Thread(target=pair, args=(stop,))
        worker.start()
        try:
            seen, last = 0, {}
            while seen < 200 or not last.get(b_line):
                snap = counters.take()
                last = {ln.lineno: ln.hits for ln in snap.lines()}
                a, b = last.get(a_line, 0), last.get(b_line, 0)
                assert b in (a, a - 1), (a, b)
                seen += 1
        finally:
            stop.set()
            worker.join()
