"""The LineProfiler API: instances, enabling, running code, decorating, results, and living
alongside other tracers and sys.monitoring tools."""
import asyncio
import gc
import inspect
import io
import os
import sys
import threading
import warnings

import pytest

from conftest import PY312, backend, hits_of, lines, repr_id
from linewise import LineProfiler, LineStats
from programs import api_prog as A

F_ONCE = {"f_add": 1, "f_ret": 1}


def f_hits(n):
    return lines(A, {k: v * n for k, v in F_ONCE.items()})


@pytest.fixture
def restore_hooks():
    """Puts back sys/threading trace and profile functions a test changed."""
    saved = sys.gettrace(), sys.getprofile(), getattr(threading, "gettrace", lambda: None)()
    yield
    sys.settrace(saved[0])
    sys.setprofile(saved[1])
    threading.settrace(saved[2])


# -- several profilers -------------------------------------------------------------------


def test_instances_see_only_their_own_functions():
    lp1, lp2 = LineProfiler(A.f), LineProfiler(A.g)
    with lp1, lp2:
        A.f(1)
        A.g(1)
        A.h()
    s1, s2 = lp1.get_stats(), lp2.get_stats()
    assert hits_of(s1, A.f) == f_hits(1)
    assert hits_of(s1, A.g) == {}
    assert hits_of(s2, A.g) == lines(A, {"g_ret": 1})
    assert hits_of(s2, A.f) == {}
    for s in (s1, s2):
        assert hits_of(s, A.h) == {}
    assert len(s1.timings) == 1 and len(s2.timings) == 1


def test_same_function_in_two_profilers_counts_while_each_enabled():
    lp1, lp2 = LineProfiler(A.f), LineProfiler(A.f)
    lp1.enable()
    A.f(0)              # lp1 only
    lp2.enable()
    A.f(0)              # both
    A.f(0)
    lp1.disable()
    for _ in range(3):  # lp2 only
        A.f(0)
    lp2.disable()
    A.f(0)              # neither
    assert hits_of(lp1.get_stats(), A.f) == f_hits(3)
    assert hits_of(lp2.get_stats(), A.f) == f_hits(5)


def test_same_function_in_two_profilers_with_blocks():
    lp1, lp2 = LineProfiler(A.f), LineProfiler(A.f)
    with lp1:
        A.f(0)
        with lp2:
            A.f(0)
        A.f(0)
    with lp2:
        A.f(0)
    assert hits_of(lp1.get_stats(), A.f) == f_hits(3)
    assert hits_of(lp2.get_stats(), A.f) == f_hits(2)


def test_add_function_return_value_and_functions():
    lp = LineProfiler()
    assert lp.add_function(A.f) == 1
    assert lp.add_function(A.f) == 0  # already there
    assert lp.functions == [A.f]


# -- enabling and disabling ----------------------------------------------------------------


def test_enable_disable():
    lp = LineProfiler(A.f)
    A.f(0)
    lp.enable()
    A.f(0)
    lp.disable()
    A.f(0)
    lp.enable()
    lp.enable()  # idempotent
    A.f(0)
    lp.disable()
    lp.disable()
    assert hits_of(lp.get_stats(), A.f) == f_hits(2)


def test_enable_by_count_nesting():
    lp = LineProfiler(A.f)
    lp.enable_by_count()
    lp.enable_by_count()
    assert lp.enable_count == 2
    A.f(0)
    lp.disable_by_count()
    assert lp.enable_count == 1
    A.f(0)  # still enabled
    lp.disable_by_count()
    assert lp.enable_count == 0
    A.f(0)  # off
    lp.disable_by_count()  # extra: no-op, never negative
    assert lp.enable_count == 0
    A.f(0)
    assert hits_of(lp.get_stats(), A.f) == f_hits(2)


def test_with_statement_nesting_and_exceptions():
    lp = LineProfiler(A.f, A.failing)
    with lp as same:
        assert same is lp
        with lp:
            A.f(0)
        A.f(0)  # outer with still on
    A.f(0)
    with pytest.raises(KeyError):
        with lp:
            A.failing()
    A.f(0)  # the exception turned profiling off on its way out
    assert lp.enable_count == 0
    st = lp.get_stats()
    assert hits_of(st, A.f) == f_hits(2)
    assert hits_of(st, A.failing) == lines(A, {"fail_raise": 1})


def test_enable_from_inside_profiled_function():
    lp = LineProfiler(A.enables_midway)
    try:
        A.enables_midway(lp)
    finally:
        lp.disable()
    # Lines after the enable() call, in the frame that called it, are counted.
    assert hits_of(lp.get_stats(), A.enables_midway) == lines(A, {"em_after": 1, "em_ret": 1})


def test_disable_from_inside_profiled_function():
    lp = LineProfiler(A.disables_midway)
    lp.enable()
    A.disables_midway(lp)
    lp.disable()
    # The disable() line started while profiling was on, so it counts (line_profiler 5.1,
    # which charges a line when the next one starts, loses it); nothing after it does.
    assert hits_of(lp.get_stats(), A.disables_midway) == lines(
        A, {"dm_before": 1, "dm_disable": 1})


def test_function_added_while_enabled():
    lp = LineProfiler(A.f)
    with lp:
        A.g(0)  # not yet added
        lp.add_function(A.g)
        A.g(0)
        A.g(0)
    st = lp.get_stats()
    assert hits_of(st, A.g) == lines(A, {"g_ret": 2})


def test_profiler_collected_while_enabled():
    lp = LineProfiler(A.f)
    lp.enable()
    A.f(0)
    del lp
    gc.collect()
    # Later code runs normally, and a new profiler works.
    assert A.f(1) == 2
    assert list(A.gen(2)) == [0, 1]
    lp2 = LineProfiler(A.f)
    with lp2:
        A.f(0)
    assert hits_of(lp2.get_stats(), A.f) == f_hits(1)


def test_profiler_in_reference_cycle_collected_while_enabled():
    lp = LineProfiler(A.f)
    lp.me = lp  # only the cycle collector can free it
    lp.enable()
    A.f(0)
    del lp
    gc.collect()
    assert A.f(1) == 2
    lp2 = LineProfiler(A.f)
    with lp2:
        A.f(0)
    assert hits_of(lp2.get_stats(), A.f) == f_hits(1)


def test_decorated_function_called_in_with_block_keeps_it_enabled():
    lp = LineProfiler(A.f)
    wrapped_g = lp(A.g)
    with lp:
        wrapped_g(1)
        A.f(0)  # the decorated call must not have switched profiling off
    st = lp.get_stats()
    assert hits_of(st, A.f) == f_hits(1)
    assert hits_of(st, A.g) == lines(A, {"g_ret": 1})


def test_armed_but_disabled_profiler_does_not_count():
    """A decorated function's profiler stays ready between calls (monitoring backend); it
    must not count what runs while another profiler is on."""
    lp1 = LineProfiler()
    wrapped = lp1(A.f)
    wrapped(0)
    lp2 = LineProfiler(A.f)
    with lp2:
        A.f(0)
        A.f(0)
    wrapped(0)
    assert hits_of(lp1.get_stats(), A.f) == f_hits(2)
    assert hits_of(lp2.get_stats(), A.f) == f_hits(2)


def test_function_added_between_with_blocks():
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    lp.add_function(A.g)
    A.g(0)  # off
    with lp:
        A.g(0)
    assert hits_of(lp.get_stats(), A.g) == lines(A, {"g_ret": 1})


def test_many_profilers_on_one_function():
    profilers = [LineProfiler(A.f) for _ in range(100)]
    for i, lp in enumerate(profilers):
        lp.enable()
        A.f(i)
    for lp in profilers:
        lp.disable()
    for i, lp in enumerate(profilers):
        # Profiler i was on for calls i..99.
        assert hits_of(lp.get_stats(), A.f) == f_hits(100 - i)
    del profilers[::2]
    gc.collect()
    with profilers[0]:  # was number 1
        A.f(0)
    assert hits_of(profilers[0].get_stats(), A.f) == f_hits(100)
    assert hits_of(profilers[1].get_stats(), A.f) == f_hits(97)


def test_reset_stats_while_enabled():
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
        lp.reset_stats()
        A.f(0)
    assert hits_of(lp.get_stats(), A.f) == f_hits(1)


def test_generator_finalised_while_enabled():
    from programs import gens

    lp = LineProfiler(gens.echo)
    with lp:
        g = gens.echo()
        next(g)
        del g  # closed by its finaliser: GeneratorExit at the yield
        gc.collect()
    assert hits_of(lp.get_stats(), gens.echo) == lines(gens, {
        "ec_init": 1, "ec_try": 1, "ec_while": 1, "ec_try2": 1, "ec_yield": 1,
        "ec_except": 1, "ec_clear": 1})


def test_other_profiler_disabled_first_keeps_instrumentation():
    lp1, lp2 = LineProfiler(A.f), LineProfiler(A.f)
    lp1.enable()
    lp2.enable()
    A.f(0)
    lp2.disable()  # lp1 still wants f
    A.f(0)
    A.f(0)
    lp1.disable()
    assert hits_of(lp1.get_stats(), A.f) == f_hits(3)
    assert hits_of(lp2.get_stats(), A.f) == f_hits(1)


def test_engine_stack_empty_after_profiled_code_returns():
    from linewise import _engine
    from programs import gens

    lp = LineProfiler(A.f, A.failing, gens.countdown, gens.echo, A.coro)
    with lp:
        A.f(0)
        with pytest.raises(KeyError):
            A.failing()
        g = gens.countdown(3)
        next(g)
        e = gens.echo()
        next(e)
        e.throw(KeyError)
        asyncio.run(A.coro(1))
        depth = _engine.diagnostics()["thread_stack_depth"]
        del g, e
    assert depth == 0


@pytest.mark.skipif(not PY312, reason="sys.monitoring is 3.12+")
def test_restart_events_by_another_tool():
    """sys.monitoring.restart_events() brings back every event a tool had DISABLEd, for
    all tools: linewise must still count only what it profiles, and count it right."""
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
        A.g(0)
        sys.monitoring.restart_events()
        A.f(0)
        A.g(0)
        A.h()
    st = lp.get_stats()
    assert hits_of(st, A.f) == f_hits(2)
    assert list(st.timings) == [(A.f.__code__.co_filename, A.f.__code__.co_firstlineno, "f")]


@pytest.mark.skipif(not PY312, reason="sys.monitoring is 3.12+")
def test_monitoring_tool_released():
    """An explicitly disabled or collected profiler holds no sys.monitoring tool id."""
    def ours():
        return [i for i in range(6) if sys.monitoring.get_tool(i)
                and "linewise" in sys.monitoring.get_tool(i)]

    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    lp.disable()
    assert ours() == []
    lp2 = LineProfiler(A.f)
    lp2(A.g)(0)  # a decorated call: may stay armed while lp2 lives
    del lp2
    gc.collect()
    assert ours() == []


def test_new_threads_not_traced_after_disable(restore_hooks):
    def hooks_in_new_thread():
        seen = []
        t = threading.Thread(target=lambda: seen.append((sys.gettrace(), sys.getprofile())))
        t.start()
        t.join()
        return seen[0]

    before = hooks_in_new_thread()  # None, None unless something (coverage) traces
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    assert hooks_in_new_thread() == before


# -- run, runctx, runcall ------------------------------------------------------------------


def test_run_uses_main_namespace():
    import __main__

    lp = LineProfiler(A.f)
    __main__.__dict__["_linewise_test_f"] = A.f
    try:
        assert lp.run("_linewise_test_f(1); _linewise_test_f(2)") is lp
    finally:
        del __main__.__dict__["_linewise_test_f"]
    assert hits_of(lp.get_stats(), A.f) == f_hits(2)
    assert lp.enable_count == 0


def test_runctx():
    lp = LineProfiler(A.f)
    local = {}
    assert lp.runctx("r = f(41)", {"f": A.f}, local) is lp
    assert local["r"] == 42
    assert hits_of(lp.get_stats(), A.f) == f_hits(1)
    with pytest.raises(KeyError):
        lp.runctx("failing()", {"failing": A.failing}, {})
    assert lp.enable_count == 0


def test_runcall():
    lp = LineProfiler(A.f)
    assert lp.runcall(A.f, 4) == 5
    assert lp.runcall(A.f, x=5) == 6
    with pytest.raises(KeyError):
        lp.runcall(A.failing)
    assert lp.enable_count == 0
    A.f(0)  # after runcall: off
    assert hits_of(lp.get_stats(), A.f) == f_hits(2)


# -- decorator -----------------------------------------------------------------------------


def test_decorator_on_function():
    lp = LineProfiler()
    wrapped = lp(A.f)
    assert wrapped is not A.f and wrapped.__name__ == "f" and wrapped.__wrapped__ is A.f
    assert wrapped(1) == 2
    A.f(0)  # the undecorated function, called while the profiler is off: not counted
    assert wrapped(2) == 3
    assert hits_of(lp.get_stats(), A.f) == f_hits(2)
    assert lp.enable_count == 0


def test_decorator_on_class_returns_the_class():
    lp = LineProfiler()
    cls = lp(A.Decorated)
    assert cls is A.Decorated
    with lp:
        cls().method()
        cls.Inner().inner()
    st = lp.get_stats()
    assert hits_of(st, A.Decorated.method) == lines(A, {"dc_method": 1})
    assert hits_of(st, A.Decorated.Inner.inner) == lines(A, {"dc_inner": 1})


def test_decorator_on_generator_function():
    lp = LineProfiler()
    wrapped = lp(A.gen)
    assert inspect.isgeneratorfunction(wrapped)
    assert list(wrapped(3)) == [0, 1, 2]
    g = wrapped(3)
    assert next(g) == 0
    assert g.send(5) == -5      # send is forwarded
    assert next(g) == 1
    with pytest.raises(ValueError):
        g.throw(ValueError)     # throw is forwarded (and not caught by gen)
    g2 = wrapped(3)
    next(g2)
    g2.close()
    A.f(0)
    assert lp.enable_count == 0
    st = lp.get_stats()
    assert hits_of(st, A.gen) == lines(A, {
        # list(wrapped(3)): for 4, yield 3, if 3; the send run: for 2, yield 2, if 1,
        # echo 1; the closed one: for 1, yield 1.
        "gen_for": 4 + 2 + 1, "gen_yield": 3 + 2 + 1, "gen_if": 3 + 1, "gen_echo": 1,
    })


def test_decorator_on_coroutine_function():
    lp = LineProfiler()
    wrapped = lp(A.coro)
    assert inspect.iscoroutinefunction(wrapped)
    assert asyncio.run(wrapped(1)) == 2

    async def two():
        return await asyncio.gather(wrapped(1), wrapped(2))

    assert asyncio.run(two()) == [2, 3]
    assert lp.enable_count == 0
    assert hits_of(lp.get_stats(), A.coro) == lines(A, {"coro_sleep": 3, "coro_ret": 3})


def test_decorator_on_async_generator_function():
    lp = LineProfiler()
    wrapped = lp(A.agen)
    assert inspect.isasyncgenfunction(wrapped)

    async def consume():
        return [i async for i in wrapped(3)]

    assert asyncio.run(consume()) == [0, 1, 2]
    assert lp.enable_count == 0
    assert hits_of(lp.get_stats(), A.agen) == lines(
        A, {"agen_for": 4, "agen_sleep": 3, "agen_yield": 3})


# -- results -----------------------------------------------------------------------------


def test_get_stats_shape():
    lp = LineProfiler(A.f, A.g)
    with lp:
        A.f(1)
    st = lp.get_stats()
    assert isinstance(st, LineStats)
    assert st.unit == 1e-9
    timings, unit = st  # unpacks like line_profiler's LineStats
    assert timings is st.timings and unit == st.unit
    key = (A.f.__code__.co_filename, A.f.__code__.co_firstlineno, "f")
    assert key in st.timings
    entries = st.timings[key]
    assert [ln for ln, _, _ in entries] == sorted(lines(A, F_ONCE))
    for ln, hits, t in entries:
        assert isinstance(ln, int) and isinstance(hits, int) and isinstance(t, int)
        assert hits == 1 and t >= 0
    # A function that never ran is listed with no lines.
    gkey = (A.g.__code__.co_filename, A.g.__code__.co_firstlineno, "g")
    assert st.timings.get(gkey, []) == []


def test_stats_addition():
    lp1, lp2 = LineProfiler(A.f), LineProfiler(A.f, A.g)
    with lp1:
        A.f(0)
    with lp2:
        A.f(0)
        A.f(0)
        A.g(0)
    a, b = lp1.get_stats(), lp2.get_stats()
    total = a + b
    assert hits_of(total, A.f) == f_hits(3)
    assert hits_of(total, A.g) == lines(A, {"g_ret": 1})
    key = next(iter(a.timings))
    times = {ln: t for ln, _, t in total.timings[key]}
    for ln, _, t in a.timings[key]:
        assert times[ln] == t + {l2: t2 for l2, _, t2 in b.timings[key]}[ln]
    c = a
    c += b  # line_profiler's LineStats has +=
    assert c.timings == total.timings
    assert hits_of(a, A.f) == f_hits(1)  # the operands are unchanged


def test_print_stats():
    lp = LineProfiler(A.f)
    with lp:
        A.f(1)
    out = io.StringIO()
    lp.print_stats(stream=out)
    text = out.getvalue()
    assert "Timer unit:" in text
    assert "Line #" in text and "Hits" in text and "Line Contents" in text
    assert "Function: f at line" in text
    assert "y = x + 1" in text


def test_dump_and_load_stats(tmp_path):
    import linewise

    lp = LineProfiler(A.f, A.g)
    with lp:
        A.f(1)
        A.g(1)
    path = tmp_path / "out.lw"
    try:
        lp.dump_stats(str(path))
        loaded = linewise.load_stats(str(path))
    except NotImplementedError:
        pytest.skip("results files (dump_stats/load_stats) not implemented yet")
    assert loaded == lp.get_stats()
    assert loaded.timings == lp.get_stats().timings and loaded.unit == 1e-9


def test_reset_stats():
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    lp.reset_stats()
    assert hits_of(lp.get_stats(), A.f) == {}
    with lp:
        A.f(0)
    assert hits_of(lp.get_stats(), A.f) == f_hits(1)


# -- what cannot be profiled -------------------------------------------------------------


@pytest.mark.parametrize("builtin", [len, print, dict.get, "abc".upper], ids=repr_id)
def test_builtin_warns_and_is_skipped(builtin):
    lp = LineProfiler()
    with pytest.warns(UserWarning):
        assert lp.add_function(builtin) == 0
    with lp:
        A.f(0)
    assert lp.get_stats().timings == {}


@pytest.mark.parametrize("thing", [42, "text", None, [1, 2]], ids=repr_id)
def test_non_callable_rejected(thing):
    lp = LineProfiler()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = lp.add_function(thing)
        except TypeError:
            return
    assert caught, "neither TypeError nor a warning"
    assert result == 0
    with lp:
        A.f(0)
    assert lp.get_stats().timings == {}


def test_add_class_and_module_type_checks():
    lp = LineProfiler()
    with pytest.raises(TypeError):
        lp.add_class(A.f)
    with pytest.raises(TypeError):
        lp.add_module(A.f)


# -- other tracers and tools ---------------------------------------------------------------


def test_user_trace_and_profile_functions_restored(restore_hooks):
    def tracer(frame, event, arg):
        return None

    def profiler(frame, event, arg):
        pass

    def thread_tracer(frame, event, arg):
        return None

    sys.settrace(tracer)
    sys.setprofile(profiler)
    threading.settrace(thread_tracer)
    lp = LineProfiler(A.f)
    lp.enable()
    if backend() == "monitoring":
        # sys.monitoring leaves the legacy hooks alone.
        assert sys.gettrace() is tracer and sys.getprofile() is profiler
    A.f(0)
    t = threading.Thread(target=A.f, args=(0,))
    t.start()
    t.join()
    lp.disable()
    assert sys.gettrace() is tracer
    assert sys.getprofile() is profiler
    if hasattr(threading, "gettrace"):
        assert threading.gettrace() is thread_tracer
    sys.settrace(None)
    assert hits_of(lp.get_stats(), A.f) == f_hits(2)


def test_user_trace_restored_after_with_and_decorator(restore_hooks):
    def tracer(frame, event, arg):
        return None

    sys.settrace(tracer)
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    after_with = sys.gettrace()
    wrapped = lp(A.g)
    wrapped(0)
    after_call = sys.gettrace()
    sys.settrace(None)
    assert after_with is tracer
    assert after_call is tracer


def test_no_hooks_left_after_disable(restore_hooks):
    sys.settrace(None)
    sys.setprofile(None)
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    assert sys.gettrace() is None
    assert sys.getprofile() is None


@pytest.mark.skipif(not PY312, reason="sys.monitoring is 3.12+")
def test_cprofile_usable_after_disable():
    """Once profiling is off (with-block left, decorated call returned), cProfile, which
    needs sys.monitoring's PROFILER_ID on 3.12+, can start, as it can after line_profiler."""
    import cProfile

    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
    wrapped = lp(A.g)
    wrapped(0)
    prof = cProfile.Profile()
    prof.enable()
    try:
        A.f(0)
    finally:
        prof.disable()


def test_cprofile_running_around_linewise():
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    try:
        lp = LineProfiler(A.f)
        with lp:
            for i in range(3):
                A.f(i)
        A.f(0)
    finally:
        prof.disable()
    assert hits_of(lp.get_stats(), A.f) == f_hits(3)
    calls = {func[2]: cc for func, (cc, *_rest) in pstats.Stats(prof).stats.items()
             if func[0] == A.f.__code__.co_filename}
    assert calls.get("f") == 4


@pytest.mark.skipif(not PY312, reason="sys.monitoring is 3.12+")
@pytest.mark.parametrize("disable_events", [False, True], ids=["keep", "tool-returns-DISABLE"])
def test_other_monitoring_tool_keeps_working(disable_events):
    mon = sys.monitoring
    tool = mon.COVERAGE_ID
    if mon.get_tool(tool) is not None:
        pytest.skip(f"COVERAGE_ID is in use by {mon.get_tool(tool)}")
    watched = {A.f.__code__, A.g.__code__}
    seen = []

    def on_line(code, line):
        if code in watched:
            seen.append((code.co_name, line))
            if disable_events:
                return mon.DISABLE
        return None

    mon.use_tool_id(tool, "linewise-test-coverage")
    try:
        mon.register_callback(tool, mon.events.LINE, on_line)
        mon.set_events(tool, mon.events.LINE)
        lp = LineProfiler(A.f)
        with lp:
            for i in range(3):
                A.f(i)
                A.g(i)
        during = list(seen)
        A.f(0)
        A.g(0)
        after = seen[len(during):]
    finally:
        mon.set_events(tool, 0)
        mon.register_callback(tool, mon.events.LINE, None)
        mon.free_tool_id(tool)
    f_lines = [("f", ln) for ln in sorted(lines(A, F_ONCE))]
    g_lines = [("g", line_of_g())]
    if disable_events:
        # The other tool asked not to see each line again: it saw each once, and
        # linewise still counted every execution.
        assert sorted(during) == sorted(f_lines + g_lines)
        assert after == []
    else:
        assert sorted(during) == sorted((f_lines + g_lines) * 3)
        assert after == f_lines + g_lines
    assert hits_of(lp.get_stats(), A.f) == f_hits(3)


def line_of_g():
    from conftest import line_of

    return line_of(A, "g_ret")


@pytest.mark.skipif(not PY312, reason="sys.monitoring is 3.12+")
def test_monitoring_tool_started_while_profiling():
    """A tool that starts while linewise is on, and stops before it, disturbs neither."""
    mon = sys.monitoring
    tool = mon.COVERAGE_ID
    if mon.get_tool(tool) is not None:
        pytest.skip(f"COVERAGE_ID is in use by {mon.get_tool(tool)}")
    seen = []
    lp = LineProfiler(A.f)
    with lp:
        A.f(0)
        mon.use_tool_id(tool, "linewise-test-coverage")
        try:
            mon.register_callback(tool, mon.events.LINE,
                                  lambda code, line: seen.append(line)
                                  if code is A.f.__code__ else None)
            mon.set_local_events(tool, A.f.__code__, mon.events.LINE)
            A.f(0)
        finally:
            mon.set_local_events(tool, A.f.__code__, 0)
            mon.register_callback(tool, mon.events.LINE, None)
            mon.free_tool_id(tool)
        A.f(0)
    assert sorted(seen) == sorted(lines(A, F_ONCE))
    assert hits_of(lp.get_stats(), A.f) == f_hits(3)


def test_backend_reported():
    from linewise import _engine

    wanted = os.environ.get("LINEWISE_BACKEND")
    expected = "legacy" if not PY312 or wanted == "legacy" else "monitoring"
    assert _engine.backend == expected
