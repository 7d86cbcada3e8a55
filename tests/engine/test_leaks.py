"""Nothing grows with use: thousands of enable/disable cycles, profiled calls, profilers made
and dropped, get_stats calls. After a warm-up, the number of gc-tracked objects, the memory
traced by tracemalloc (the engine allocates through PyMem_*) and the process's RSS (from
/proc/self/statm) stay flat within a tolerance.
"""
import asyncio
import gc
import os
import sys
import threading
import tracemalloc

import pytest

from conftest import hits_of
from linewise import LineProfiler
from programs import api_prog as A
from programs import gens, threaded

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024 if hasattr(os, "sysconf") else 4

OBJECTS_TOL = 200           # gc-tracked objects
TRACED_TOL = 64 * 1024      # bytes traced by tracemalloc
RSS_TOL_KB = 2 * 1024       # resident set

# Under `make test-asan` the allocator is ASan's: freed memory sits in its quarantine and
# PYTHONMALLOC=malloc changes what tracemalloc sees, so only object counts mean anything.
SANITIZED = os.environ.get("LINEWISE_SANITIZED") == "1"


def rss_kb():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except OSError:
        return None


def footprint():
    gc.collect()
    gc.collect()
    return len(gc.get_objects()), tracemalloc.get_traced_memory()[0], rss_kb()


def assert_flat(step, rounds, warmup=None):
    """Runs step() `warmup` times, then `rounds` times; the footprint must not grow."""
    tracemalloc.start()
    try:
        for _ in range(warmup if warmup is not None else max(rounds // 5, 1)):
            step()
        objects0, traced0, rss0 = footprint()
        for _ in range(rounds):
            step()
        objects1, traced1, rss1 = footprint()
    finally:
        tracemalloc.stop()
    grew = f"objects {objects0}->{objects1}, traced {traced0}->{traced1} B, rss {rss0}->{rss1} kB"
    assert objects1 - objects0 <= OBJECTS_TOL, grew
    if SANITIZED:
        return
    assert traced1 - traced0 <= TRACED_TOL, grew
    if rss0 is not None:
        assert rss1 - rss0 <= RSS_TOL_KB, grew


def refcounts(*objs):
    gc.collect()
    return [sys.getrefcount(o) for o in objs]


def test_no_references_leaked():
    """Exact: profiling a function any number of times takes no lasting reference to its
    code, the function, its arguments or results."""
    arg = object()
    watched = (A.f.__code__, A.f, A.identity.__code__, gens.countdown.__code__, arg)

    def run_once():
        lp = LineProfiler(A.f, A.identity, gens.countdown)
        with lp:
            A.f(1)
            A.identity(arg)
            list(gens.countdown(2))
        lp.get_stats()
        lp.enable()
        A.f(1)
        del lp  # dropped while enabled

    run_once()
    before = refcounts(*watched)
    for _ in range(200):
        run_once()
    assert refcounts(*watched) == before

    lp = LineProfiler(A.f, A.identity)
    lp.enable()
    lp.disable()
    before = refcounts(*watched)
    for _ in range(200):
        lp.enable()
        A.f(1)
        A.identity(arg)
        lp.disable()
        lp.get_stats()
    assert refcounts(*watched) == before


def test_enable_disable_cycles():
    lp = LineProfiler(A.f, A.g)

    def step():
        lp.enable()
        A.f(1)
        A.g(1)
        lp.disable()

    assert_flat(step, 20000)
    assert hits_of(lp.get_stats(), A.g)  # it did count


def test_with_blocks_and_enable_by_count():
    lp = LineProfiler(A.f)

    def step():
        with lp:
            with lp:
                A.f(1)
        lp.enable_by_count()
        lp.disable_by_count()

    assert_flat(step, 20000)


def test_profiled_calls():
    lp = LineProfiler(A.f, gens.countdown)
    lp.enable()
    try:
        def step():
            for i in range(10):
                A.f(i)
            list(gens.countdown(3))

        assert_flat(step, 5000)
    finally:
        lp.disable()


def test_decorated_calls():
    lp = LineProfiler()
    wf, wgen, wcoro = lp(A.f), lp(A.gen), lp(A.coro)
    loop = asyncio.new_event_loop()
    try:
        def step():
            wf(1)
            list(wgen(2))
            loop.run_until_complete(wcoro(1))

        assert_flat(step, 5000)
    finally:
        loop.close()


def test_get_stats_calls():
    lp = LineProfiler(A.f, A.g, A.h, gens.countdown)
    with lp:
        A.f(0)
        A.g(0)
        list(gens.countdown(3))

    def step():
        st = lp.get_stats()
        assert len(st.timings) == 4
        _ = lp.code_map

    assert_flat(step, 20000)


def test_profilers_made_and_dropped():
    def step():
        lp = LineProfiler(A.f, A.g)
        with lp:
            A.f(0)
        lp.get_stats()
        lp.enable()  # dropped while enabled, too
        A.g(0)

    assert_flat(step, 5000)


def test_dynamic_code_profiled_and_dropped():
    """Code objects that come and go (exec'd functions) take their engine data with them."""
    def step():
        ns = {}
        exec("def made(n):\n    return n + 1\n", ns)
        lp = LineProfiler(ns["made"])
        with lp:
            ns["made"](1)
        assert lp.get_stats().timings

    assert_flat(step, 3000)


def test_abandoned_generators_while_enabled():
    from linewise import _engine

    lp = LineProfiler(gens.countdown, gens.echo)
    lp.enable()
    keep = []
    try:
        def step():
            g = gens.countdown(5)
            next(g)          # suspended, then dropped
            e = gens.echo()
            next(e)
            keep.append(e)   # suspended, kept a while
            if len(keep) > 50:
                keep.clear()

        assert_flat(step, 5000)
        keep.clear()
        gc.collect()
        suspended = _engine.diagnostics()["suspended_frames"]
        cap = _engine.diagnostics()["suspended_cap"]
    finally:
        lp.disable()
    # Records of dead generators go when the allocator hands their address to a new frame,
    # which pymalloc does at once. ASan's allocator never reuses an address soon (its
    # quarantine), so there the table's own bound is what keeps memory flat.
    limit = cap if SANITIZED else 5
    assert suspended <= limit, f"{suspended} suspended frames remembered for dead generators"


def test_threads_come_and_go():
    lp = LineProfiler(threaded.work)

    def step():
        with lp:
            t = threading.Thread(target=threaded.work, args=(3,))
            t.start()
            t.join()

    assert_flat(step, 500, warmup=100)


def test_dump_and_load_cycles(tmp_path):
    import linewise

    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    path = str(tmp_path / "cycle.lw")
    try:
        lp.dump_stats(path)
    except NotImplementedError:
        pytest.skip("results files not implemented yet")

    def step():
        lp.dump_stats(path)
        assert linewise.load_stats(path).timings

    # 600 rounds: each write is fsynced (about 15 ms here); a leaked object a round
    # still shows (OBJECTS_TOL), and so do 110 traced bytes a round.
    assert_flat(step, 600)


def test_tracer_not_kept_while_another_thread_idles():
    """A tracer the user had before enable is not kept alive after disable while another
    thread has had no event since (the legacy backend keeps that thread's saved tracer
    until its next event, and kept this thread's with it: seen under pytest-xdist, whose
    I/O thread sits in a C call)."""
    lp = LineProfiler(A.f)
    stop = threading.Event()
    idler = threading.Thread(target=stop.wait)
    idler.start()

    def tracer(frame, event, arg):
        return None

    try:
        before = refcounts(tracer)
        for _ in range(3):
            sys.settrace(tracer)
            try:
                with lp:
                    A.f(2)
            finally:
                sys.settrace(None)
        assert refcounts(tracer) == before
    finally:
        stop.set()
        idler.join()


def test_tracers_chained_and_swapped():
    """With a tracer of the user's set before enable and another set and cleared inside
    (the legacy backend chains both behind its hook), nothing is kept."""
    lp = LineProfiler(A.f)

    def tracer(frame, event, arg):
        return None

    def inner(frame, event, arg):
        return inner

    def step():
        sys.settrace(tracer)
        try:
            with lp:
                A.f(2)
                sys.settrace(inner)
                A.f(2)
                sys.settrace(None)
                A.f(2)
                t = threading.Thread(target=A.f, args=(1,))
                t.start()
                t.join()
        finally:
            sys.settrace(None)

    before = refcounts(tracer, inner)
    assert_flat(step, 2000, warmup=200)
    assert refcounts(tracer, inner) == before
