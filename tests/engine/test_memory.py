"""Memory per line (LineProfiler(memory=True)): exact byte figures for known allocations,
callees, generators, threads, numpy, and the allocators left as they were."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import tracemalloc

import pytest

from conftest import find_key, line_of
from programs import memory as prog

from linewise import LineProfiler, _engine

SLACK = 512  # bytes of object headers and interpreter noise a line may add


def mem_of(stats, func) -> dict:
    """{lineno: (alloc, net, peak)} of `func`."""
    key = find_key(stats.timings, func)
    return {ln: (a, n, p) for ln, a, n, p in stats.memory[key]}


def run(func, *args):
    prof = LineProfiler(func, memory=True)
    result = prof.runcall(func, *args)
    return prof.get_stats(), result


def at(figures, marker):
    return figures[line_of(prog, marker)]


def near(value, expected, slack=SLACK):
    return expected <= value <= expected + slack


def test_bytearray_alloc_and_matching_free():
    stats, _ = run(prog.make_and_drop, prog.N)
    m = mem_of(stats, prog.make_and_drop)
    alloc, net, peak = at(m, "alloc")
    assert near(alloc, prog.N) and near(net, prog.N) and near(peak, prog.N), at(m, "alloc")
    assert at(m, "quiet")[0] < SLACK
    f_alloc, f_net, f_peak = at(m, "free")
    assert -prog.N - SLACK <= f_net <= -prog.N, at(m, "free")
    assert f_alloc < SLACK and f_peak < SLACK


def test_loop_keeping_and_loop_churning():
    n, times = 1024, 10_000
    stats, kept = run(prog.keep_loop, n, times)
    m = mem_of(stats, prog.keep_loop)
    alloc, net, _ = at(m, "loop_alloc")
    assert n * times <= alloc <= (n + 200) * times and n * times <= net <= alloc
    del kept

    stats, _ = run(prog.churn, n, times)
    m = mem_of(stats, prog.churn)
    a_alloc, a_net, _ = at(m, "churn_alloc")
    f_alloc, f_net, _ = at(m, "churn_free")
    assert n * times <= a_alloc <= (n + 200) * times
    assert abs(a_net + f_net) <= SLACK, (a_net, f_net)
    # The whole call: everything allocated, nothing kept.
    c_alloc, c_net, c_peak = stats.call_memory(find_key(stats.timings, prog.churn))
    assert n * times <= c_alloc <= (n + 200) * times
    assert abs(c_net) <= SLACK and n <= c_peak <= n + SLACK


def test_peak_of_a_line_that_builds_and_drops_ten_megabytes():
    stats, _ = run(prog.build_and_drop_list)
    alloc, net, peak = at(mem_of(stats, prog.build_and_drop_list), "peak_line")
    size = prog.BIG * 8
    assert near(peak, size, 4096) and near(alloc, size, 4096), (alloc, net, peak)
    assert abs(net) <= SLACK


def test_callee_allocation_is_charged_to_the_calling_line():
    n = 2_000_000
    prof = LineProfiler(prog.caller, prog.helper_alloc, memory=True)
    prof.runcall(prog.caller, n)
    stats = prof.get_stats()
    m = mem_of(stats, prog.caller)
    assert near(at(m, "caller_call")[0], n) and near(at(m, "caller_call")[1], n)
    assert -n - SLACK <= at(m, "caller_free")[1] <= -n
    assert near(at(mem_of(stats, prog.helper_alloc), "helper")[0], n)


def test_callee_peak_counts_toward_the_caller_line():
    n = 3_000_000
    prof = LineProfiler(prog.transient_in_callee, prog.helper_alloc, memory=True)
    prof.runcall(prog.transient_in_callee, n)
    alloc, net, peak = at(mem_of(prof.get_stats(), prog.transient_in_callee), "transient_call")
    assert near(peak, n) and near(alloc, n) and abs(net) <= SLACK


def test_generator_is_not_charged_while_suspended():
    n = 1_000_000
    prof = LineProfiler(prog.consume, prog.gen_alloc, memory=True)
    prof.runcall(prog.consume, n)
    stats = prof.get_stats()
    g = mem_of(stats, prog.gen_alloc)
    c = mem_of(stats, prog.consume)
    assert at(g, "gen_yield")[0] < SLACK, at(g, "gen_yield")  # not the consumer's 3n
    assert near(at(g, "gen_before")[0], n) and near(at(g, "gen_after")[0], 2 * n)
    assert near(at(c, "consume_outside")[0], 3 * n)
    assert near(at(c, "consume_second")[0], 2 * n)  # the generator ran inside it


def test_coroutine_is_not_charged_while_suspended():
    import asyncio

    n = 1_000_000

    async def worker():
        await asyncio.sleep(0)  # L:coro_await
        return len(bytearray(n))  # L:coro_after

    async def other():
        return len(bytearray(4 * n))

    async def main():
        return await asyncio.gather(worker(), other())

    prof = LineProfiler(worker, memory=True)
    with prof:
        asyncio.run(main())
    stats = prof.get_stats()
    key = find_key(stats.timings, worker)
    figures = {ln: (a, net, p) for ln, a, net, p in stats.memory[key]}
    lines = sorted(figures)
    awaited, after = figures[lines[0]], figures[lines[-1]]
    assert awaited[0] < 4 * n // 10, figures  # other()'s 4n ran while it was suspended
    assert near(after[0], n, 4096), figures


def test_threads_each_charged_their_own():
    n = 1_000_000
    stop = threading.Event()

    def noise():  # unprofiled allocation on other threads while the line runs
        while not stop.is_set():
            junk = [bytearray(4096) for _ in range(50)]
            del junk

    others = [threading.Thread(target=noise) for _ in range(3)]
    prof = LineProfiler(prog.make_and_drop, prog.threaded, memory=True)
    with prof:
        for t in others:
            t.start()
        try:
            for _ in range(20):
                prog.make_and_drop(prog.N)
        finally:
            stop.set()
            for t in others:
                t.join()
        workers = [threading.Thread(target=prog.threaded, args=(n, k)) for k in (1, 2, 3, 4)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    stats = prof.get_stats()
    alloc, net, _ = at(mem_of(stats, prog.make_and_drop), "alloc")
    assert near(alloc, 20 * prog.N, 20 * SLACK) and near(net, 20 * prog.N, 20 * SLACK)
    t_alloc, _, t_peak = at(mem_of(stats, prog.threaded), "thread_alloc")
    assert near(t_alloc, 10 * n, 4 * SLACK) and near(t_peak, 4 * n, SLACK), (t_alloc, t_peak)


def test_hook_under_four_threads_allocating_at_once():
    """The counters and the table stay exact while four threads allocate and free at the
    same time, some blocks freed by another thread than the one that allocated them."""
    n_threads, rounds, size = 4, 2000, 700
    results = {}
    handoff = []
    barrier = threading.Barrier(n_threads)

    def work(i):
        barrier.wait()
        before = _engine.memory_diagnostics()
        mine = []
        for r in range(rounds):
            mine.append(bytearray(size))
            if r % 10 == 0:
                handoff.append(mine.pop())  # freed by whoever pops it
            if len(mine) > 50:
                del mine[:25]
            while len(handoff) > 20:
                try:
                    handoff.pop()
                except IndexError:
                    break
        del mine[:]
        after = _engine.memory_diagnostics()
        results[i] = (after["thread_alloc"] - before["thread_alloc"],
                      after["thread_live"] - before["thread_live"])

    prof = LineProfiler(memory=True)
    with prof:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        handoff.clear()
    assert len(results) == n_threads
    for alloc, live in results.values():
        assert alloc >= rounds * size
    assert _engine.memory_diagnostics()["untracked"] == 0


def allocators():
    return _engine.memory_diagnostics()["allocators"]


def test_enable_disable_cycles_leave_the_allocators_as_they_were():
    before = allocators()
    prof = LineProfiler(prog.make_and_drop, memory=True)
    for _ in range(3):
        with prof:
            assert allocators() != before
            prog.make_and_drop(1000)
        assert allocators() == before
    assert not _engine.memory_diagnostics()["active"]


def test_cycles_with_tracemalloc_on_keep_it_working():
    before = allocators()
    tracemalloc.start()
    try:
        traced = allocators()
        assert traced != before
        prof = LineProfiler(prog.make_and_drop, memory=True)
        for _ in range(2):
            with prof:
                prog.make_and_drop(prog.N)
            assert allocators() == traced
        snap0 = tracemalloc.get_traced_memory()[0]
        keep = bytearray(prog.N)
        assert tracemalloc.get_traced_memory()[0] - snap0 >= prog.N
        del keep
        alloc, _, _ = at(mem_of(prof.get_stats(), prog.make_and_drop), "alloc")
        assert near(alloc, 2 * prog.N, 2 * SLACK)
    finally:
        tracemalloc.stop()
    assert allocators() == before


def test_tracemalloc_started_while_profiling():
    before = allocators()
    prof = LineProfiler(prog.make_and_drop, memory=True)
    prof.enable()
    tracemalloc.start()
    try:
        prog.make_and_drop(prog.N)
        prof.disable()  # tracemalloc wrapped ours: ours stays in its chain, counting nothing
        keep = bytearray(prog.N)
        assert tracemalloc.get_traced_memory()[0] >= prog.N
        del keep
    finally:
        tracemalloc.stop()
    with prof:  # ours is on top again: this cycle puts the original back
        prog.make_and_drop(prog.N)
    assert allocators() == before
    alloc, _, _ = at(mem_of(prof.get_stats(), prog.make_and_drop), "alloc")
    assert near(alloc, 2 * prog.N, 2 * SLACK)


def test_blocks_from_before_profiling_free_as_zero():
    old = bytearray(prog.N)
    prof = LineProfiler(memory=True)

    def drop():
        nonlocal old
        del old  # L:drop_old

    prof.add_function(drop)
    prof.runcall(drop)
    key = find_key(prof.get_stats().timings, drop)
    (_, alloc, net, peak), = prof.get_stats().memory[key]
    assert net > -SLACK and alloc < SLACK


def test_time_only_profiler_has_no_memory_and_counts_nothing():
    prof = LineProfiler(prog.make_and_drop)
    prof.runcall(prog.make_and_drop, 1000)
    stats = prof.get_stats()
    assert stats.memory == {} and stats.call_memory(next(iter(stats.timings))) is None
    assert not _engine.memory_diagnostics()["active"]


def test_results_file_keeps_the_memory(tmp_path):
    from linewise import load_stats

    stats, _ = run(prog.make_and_drop, prog.N)
    from linewise.store import dump_stats

    path = tmp_path / "m.lw"
    dump_stats(stats, str(path))
    back = load_stats(str(path))
    assert back.memory == stats.memory
    key = find_key(stats.timings, prog.make_and_drop)
    assert back.call_memory(key) == stats.call_memory(key)
    doubled = back + back
    a, n, p = stats.call_memory(key)
    assert doubled.call_memory(key) == (2 * a, 2 * n, p)


NUMPY_PROGRAM = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from linewise import LineProfiler
    from programs import memory as prog
    prof = LineProfiler(prog.np_alloc, memory=True)
    {before}
    with prof:
        prog.np_alloc(10**6)
        import numpy as np
        name = np._core.multiarray.get_handler_name() if hasattr(np, "_core") else \\
            np.core.multiarray.get_handler_name()
    after = np._core.multiarray.get_handler_name() if hasattr(np, "_core") else \\
        np.core.multiarray.get_handler_name()
    stats = prof.get_stats()
    (key, rows), = stats.memory.items()
    print(name, after)
    for row in rows:
        print(*row)
""")


@pytest.mark.parametrize("before", ["import numpy", "pass"], ids=["imported-before",
                                                                 "imported-while-profiling"])
def test_numpy_arrays(before):
    pytest.importorskip("numpy")
    import os

    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", NUMPY_PROGRAM.format(tests=tests, before=before)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    head, *rows = out.stdout.split("\n")
    assert head.split() == ["linewise", "default_allocator"]
    figures = {int(r.split()[0]): tuple(map(int, r.split()[1:])) for r in rows if r}
    size = 8 * 10**6
    zeros = figures[line_of(prog, "np_zeros")]
    add = figures[line_of(prog, "np_add")]
    dropped = figures[line_of(prog, "np_del")]
    slack = 4096  # numpy's first ufunc call sets up a little of its own
    assert near(zeros[0], size, slack) and near(zeros[1], size, slack), zeros
    assert near(add[0], size, slack) and near(add[1], size, slack), add
    assert -size - slack <= dropped[1] <= -size, dropped


@pytest.mark.xfail(sys.version_info[:2] == (3, 12) and _engine.backend == "legacy",
                   reason="3.12's legacy trace hook makes the frame's objects at its first "
                          "line events, which the line is charged (84 bytes here); a known "
                          "issue in README", strict=False)
def test_lines_that_allocate_nothing_show_nothing_past_line_256():
    """sys.monitoring passes line numbers above 256 as new int objects: the profiler's
    doing, not the line's (each such line showed 32 bytes allocated)."""
    namespace = {}
    exec(compile("\n" * 300 + "def f(a):\n    b = a\n    c = b\n    return c\n",
                 "<padded>", "exec"), namespace)
    f = namespace["f"]
    prof = LineProfiler(f, memory=True)
    for _ in range(3):
        prof.runcall(f, 1)
    stats = prof.get_stats()
    (rows,) = stats.memory.values()
    assert [r[1:] for r in rows] == [(0, 0, 0)] * 3, rows
