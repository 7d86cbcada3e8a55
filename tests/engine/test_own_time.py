"""Own time, counted-once totals and overhead compensation (issue 15), against what the
test itself measures with perf_counter and timeit, in ratios only: the machine is shared
and busy, so no absolute time is asserted.

A function's counted-once total (FunctionStats.once) is charged in its outermost frame
only, so recursion cannot multiply it: it fits in the wall time of the call. Own times
leave out profiled callees, so their sum over every function fits in it too. The clock
tolerance (3 %) covers the TSC's calibration against perf_counter's clock.
"""
import gc
import sys
import time
import timeit
import warnings

import line_profiler
import pytest

import linewise
from linewise.store import dump_stats
from conftest import hits_of, profile
from programs import recursive as rec

CLOCK = 1.03


def _timed(targets, run, **kwargs):
    """(LineStats, the wall seconds of run() as the test measured them)."""
    lp = linewise.LineProfiler(**kwargs)
    for t in targets:
        lp.add_function(t)
    gc.collect()
    gc.disable()  # a collection of the test process's heap is no profiled line's time
    try:
        with lp:
            start = time.perf_counter()
            run()
            wall = time.perf_counter() - start
    finally:
        gc.enable()
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
    best_share = 0.0
    for _ in range(3):  # the wall time may hold a preemption outside the profiled frames
        stats, wall = _timed(targets, run)
        best_share = max(best_share, max(f.once_time for f in stats.functions()) / wall)
    functions = stats.functions()
    assert functions and all(f.own is not None and f.outer is not None for f in functions)
    for f in functions:
        assert f.once_time <= wall * CLOCK, (f.name, f.once_time, wall)
    own = sum(f.own_total for f in functions) * stats.unit
    assert own <= wall * CLOCK, (own, wall)
    # The counted-once total of the outermost function is most of the call (it runs
    # throughout), and own times leave nothing out.
    outermost = max(f.once_time for f in functions)
    assert best_share >= 0.5, best_share
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
    dump_stats(stats, path)
    back = linewise.load_stats(path)
    assert back.columns == stats.columns and back.profiled == stats.profiled
    twice = back + back
    assert _function(twice, rec.fib).once == 2 * _function(back, rec.fib).once
    assert twice.profiled == 2 * back.profiled


# -- overhead compensation ------------------------------------------------------------


def _per_iteration(lp, func, n):
    """One profiled run of func(n): the summed time of its loop's two lines (the for and
    its body) per iteration, in seconds."""
    lp.reset_stats()
    with lp:
        func(n)
    stats = lp.get_stats()
    first = func.__code__.co_firstlineno
    rows = {ln - first: t for ln, _h, t in next(iter(stats.timings.values()))}
    return (rows[2] + rows[3]) * stats.unit / n


@pytest.mark.xfail(strict=False, reason="passes most runs, but about one run in eight "
                   "with every core busy lands outside +-30 % (the bare and the profiled "
                   "runs are slowed unequally by the load): not yet reliable enough to gate")
@pytest.mark.parametrize("func", [rec.loop_add, rec.loop_mix], ids=lambda f: f.__name__)
def test_compensated_time_per_hit_matches_timeit(func):
    if sys.version_info < (3, 12):
        pytest.skip("not yet on 3.10/3.11: their trace hook's cost is no constant per event "
                    "(it also costs per bytecode instruction while set, and finding a line's "
                    "number walks the line table), so one calibrated figure is 30-60 % off")
    n = 2000  # short runs, many, interleaved: the fastest of each kind is one load spared
    func(n)
    compensated = linewise.LineProfiler(func, compensate=True)
    raw = linewise.LineProfiler(func)
    runs = {"bare": [], "compensated": [], "raw": []}
    for _ in range(31):
        runs["bare"].append(timeit.timeit(lambda: func(n), number=1) / n)
        runs["compensated"].append(_per_iteration(compensated, func, n))
        runs["raw"].append(_per_iteration(raw, func, n))
    best = {k: min(v) for k, v in runs.items()}
    assert compensated.compensated > 0
    assert 0.7 <= best["compensated"] / best["bare"] <= 1.3, best
    assert best["raw"] > best["compensated"]


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

    first = rec.walkthrough.__code__.co_firstlineno

    def ranking(**kwargs):
        lp = linewise.LineProfiler(rec.walkthrough, **kwargs)
        best = {}
        for _ in range(5):  # each line's fastest run: a preemption moves one run's line
            lp.reset_stats()
            with lp:
                rec.walkthrough(data)
            for ln, _h, t in next(iter(lp.get_stats().timings.values())):
                if 1 <= ln - first <= 3:
                    best[ln] = min(best.get(ln, t), t)
        return sorted(best, key=lambda ln: -best[ln])

    assert ranking(compensate=True) == ranking()


def test_the_report_header_shows_the_calibrated_cost(capsys):
    lp = linewise.LineProfiler(rec.loop_add, compensate=True)
    with lp:
        rec.loop_add(10)
    from linewise.reports.text import print_report
    import io
    out = io.StringIO()
    print_report(lp.get_stats(), out)
    assert (f"Compensated: {lp.compensated:.1f}, past line 256 {lp.compensated_far:.1f} ns per "
            "event subtracted (calibrated)") in out.getvalue()
