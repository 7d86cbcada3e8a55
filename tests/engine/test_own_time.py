"""Own time, counted-once totals and overhead compensation (issue 15), against what the
test itself measures with perf_counter and timeit, in ratios only: the machine is shared
and busy, so no absolute time is asserted.

A function's counted-once total (FunctionStats.once) is charged in its outermost frame
only, so recursion cannot multiply it: it fits in the wall time of the call. Own times
leave out profiled callees, so their sum over every function fits in it too. The clock
tolerance (3 %) covers the TSC's calibration against perf_counter's clock.
"""
import time
import timeit
import warnings

import line_profiler
import pytest

import linewise
from conftest import hits_of, profile
from programs import recursive as rec

CLOCK = 1.03


def _timed(targets, run, **kwargs):
    """(LineStats, the wall seconds of run() as the test measured them)."""
    lp = linewise.LineProfiler(**kwargs)
    for t in targets:
        lp.add_function(t)
    with lp:
        start = time.perf_counter()
        run()
        wall = time.perf_counter() - start
    return lp.get_stats(), wall


def _function(stats, func):
    [f] = [f for f in stats.functions() if f.name == func.__qualname__]
    return f


CASES = {
    "recursive_fib": ([rec.fib], lambda: rec.fib(16)),
    "mutual_recursion": ([rec.is_even, rec.is_odd], lambda: [rec.is_even(300) for _ in range(20)]),
    "wrapper_and_wrapped": ([rec.wrap(rec.work).__wrapped__, rec.wrapped_work, rec.work],
                            lambda: [rec.wrapped_work(2000) for _ in range(20)]),
    "generator_pipeline": ([rec.pipeline, rec.numbers, rec.squares, rec.evens],
                           lambda: rec.pipeline(5000)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_counted_once_totals_and_own_times_fit_in_the_wall_time(name):
    targets, run = CASES[name]
    run()  # warm: specialisation, first-time instrumentation
    stats, wall = _timed(targets, run)
    functions = stats.functions()
    assert functions and all(f.own is not None and f.outer is not None for f in functions)
    for f in functions:
        assert f.once_time <= wall * CLOCK, (f.name, f.once_time, wall)
    own = sum(f.own_total for f in functions) * stats.unit
    assert own <= wall * CLOCK, (own, wall)
    # The counted-once total of the outermost function is most of the call (it runs
    # throughout), and own times leave nothing out.
    outermost = max(f.once_time for f in functions)
    assert outermost >= 0.5 * wall, (outermost, wall)
    assert own >= 0.5 * outermost, (own, outermost)
    assert stats.profiled is not None and stats.profiled >= wall / CLOCK


def test_recursion_multiplies_the_line_profiler_total_but_not_the_counted_once_one():
    rec.fib(14)
    stats, wall = _timed([rec.fib], lambda: rec.fib(14))
    f = _function(stats, rec.fib)
    assert f.total_time > 2 * wall  # line_profiler's meaning, kept in the table
    assert f.once_time <= wall * CLOCK


@pytest.mark.parametrize("name", sorted(CASES))
def test_line_profiler_figures_unchanged(name):
    targets, run = CASES[name]
    originals = [(f, f.__code__) for f in targets]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = profile(targets, run, profiler_cls=line_profiler.LineProfiler)
    finally:
        for f, code in originals:
            f.__code__ = code
    got = profile(targets, run)
    for func in targets:
        assert hits_of(got, func) == hits_of(expected, func), func.__qualname__
    # Each row keeps line_profiler's shape; own time never exceeds the line's time.
    for key, rows in got.timings.items():
        own = got.columns[linewise.results.OWN][key]
        for lineno, hits, t in rows:
            assert 0 <= own[lineno] <= t


def test_own_and_outer_survive_a_results_file_and_a_sum(tmp_path):
    stats, _ = _timed([rec.fib], lambda: rec.fib(12))
    path = tmp_path / "fib.lw"
    stats.dump_stats(path) if hasattr(stats, "dump_stats") else linewise.store.dump_stats(stats, path)
    back = linewise.load_stats(path)
    assert back.columns == stats.columns and back.profiled == stats.profiled
    twice = back + back
    assert _function(twice, rec.fib).once == 2 * _function(back, rec.fib).once
    assert twice.profiled == 2 * back.profiled


# -- overhead compensation ------------------------------------------------------------


def _best_per_hit(func, n, line_offsets, repeats=15, **kwargs):
    """The fastest, over `repeats` runs, of the summed time per hit of the loop's lines."""
    best = None
    first = func.__code__.co_firstlineno
    for _ in range(repeats):
        stats, _wall = _timed([func], lambda: func(n), **kwargs)
        rows = {ln - first: (h, t) for ln, h, t in stats.timings[next(iter(stats.timings))]}
        per_iter = sum(rows[o][1] for o in line_offsets) * stats.unit / n
        best = per_iter if best is None else min(best, per_iter)
    return best, stats


@pytest.mark.xfail(strict=False, reason="not yet within +-30 % when the machine is busy: "
                   "the profiled and the bare runs are spared by the load unequally, and "
                   "3.10/3.11's trace hook costs per instruction as well as per event")
@pytest.mark.parametrize("func", [rec.loop_add, rec.loop_mix], ids=lambda f: f.__name__)
def test_compensated_time_per_hit_matches_timeit(func):
    n = 5000  # short runs, many: the fastest of each side is one the load spared
    func(n)
    # The loop's two lines (the for and its body) per iteration, profiled and compensated,
    # against one iteration of the unprofiled loop: timeit of the same function.
    compensated, stats = _best_per_hit(func, n, (2, 3), compensate=True)
    bare = min(timeit.repeat(lambda: func(n), number=1, repeat=15)) / n
    raw, _ = _best_per_hit(func, n, (2, 3))
    assert float(stats.meta["event_cost_ns"]) > 0
    assert 0.7 <= compensated / bare <= 1.3, (compensated, bare, raw)
    assert raw > compensated


def test_compensation_off_is_todays_figures():
    lp = linewise.LineProfiler(rec.loop_add)
    assert lp.compensated == 0.0 and lp._engine.event_cost_ns == 0.0
    with lp:
        rec.loop_add(100)
    stats = lp.get_stats()
    assert "event_cost_ns" not in stats.meta
    on = linewise.LineProfiler(rec.loop_add, compensate=True)
    with on:
        rec.loop_add(100)
    assert hits_of(on.get_stats(), rec.loop_add) == hits_of(stats, rec.loop_add)


def test_compensation_keeps_the_ranking_of_lines():
    import random
    data = list(range(40000))
    random.Random(15).shuffle(data)
    rec.walkthrough(data)  # its lines' costs are far apart: sorting, summing, indexing

    def ranking(**kwargs):
        stats, _ = _timed([rec.walkthrough], lambda: rec.walkthrough(data), **kwargs)
        first = rec.walkthrough.__code__.co_firstlineno
        rows = [r for r in next(iter(stats.timings.values())) if 1 <= r[0] - first <= 3]
        return [ln for ln, _h, _t in sorted(rows, key=lambda r: -r[2])]

    assert ranking(compensate=True) == ranking()


def test_the_report_header_shows_the_calibrated_cost(capsys):
    lp = linewise.LineProfiler(rec.loop_add, compensate=True)
    with lp:
        rec.loop_add(10)
    from linewise.reports.text import print_report
    import io
    out = io.StringIO()
    print_report(lp.get_stats(), out)
    assert f"Compensated: {lp.compensated:.2f} ns per event" in out.getvalue()
