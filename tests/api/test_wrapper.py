"""LineProfiler's decorator on plain functions: the engine's Wrapper type (wrapper.c).

What a functools.wraps wrapper gave (metadata, binding as a method, pickling by reference,
several profilers, exceptions) with counting done in C, and no reference leaked or kept."""
import copy
import functools
import gc
import importlib
import inspect
import pickle
import sys
import threading
import types
import weakref

import pytest

from conftest import hits_of, lines
from linewise import LineProfiler, _engine

# Decorated plain functions count their profiler themselves (sys.monitoring backend).
COUNTING = _engine.backend == "monitoring"
needs_counting = pytest.mark.skipif(not COUNTING, reason="counting copies: sys.monitoring")


@pytest.fixture
def W():
    """programs.wrapped, decorated at import by its module-level LineProfiler. A profiler
    with a live decorated function stays armed (on sys.monitoring it holds its tool id so
    that the function's next call is seen), which later tests, counting armed engines and
    free tool ids, must not see: the module is dropped and collected after each test."""
    sys.modules.pop("programs.wrapped", None)
    module = importlib.import_module("programs.wrapped")
    yield module
    del sys.modules["programs.wrapped"]
    vars(sys.modules["programs"]).pop("wrapped", None)
    vars(module).clear()  # its functions' globals: the cycle that keeps them
    del module
    gc.collect()


def fib_hits(n):
    """{line: hits} of W.fib(n): calls(n) = calls(n-1) + calls(n-2) + 1."""
    calls, base = {0: 1, 1: 1}, {0: 1, 1: 1}
    for i in range(2, n + 1):
        calls[i] = calls[i - 1] + calls[i - 2] + 1
        base[i] = base[i - 1] + base[i - 2]
    return {"fib_if": calls[n], "fib_base": base[n], "fib_rec": calls[n] - base[n]}


def test_plain_function_gets_a_counting_copy_or_the_c_wrapper_with_wraps_metadata():
    def f(x: int) -> int:
        """the doc"""
        return x + 1

    f.extra = {"a": 1}
    lp = LineProfiler()
    w = lp(f)
    # sys.monitoring: a copy of the function over its own code, which counts the profiler
    # at its frames' start and end; the legacy hook: the C wrapper.
    assert type(w) is (types.FunctionType if COUNTING else _engine.Wrapper)
    assert w.__wrapped__ is f and inspect.unwrap(w) is f
    assert (w.__name__, w.__qualname__, w.__doc__, w.__module__) == (
        "f", f.__qualname__, "the doc", __name__)
    assert w.__annotations__ == {"x": int, "return": int}
    assert w.extra is f.extra  # functools.wraps updates __dict__
    assert w.__line_profiler_wrapped__ is True
    assert inspect.signature(w) == inspect.signature(f)
    assert callable(w) and w(1) == 2
    w.later = 5  # attributes can still be set
    assert w.__dict__["later"] == 5
    assert w.__linewise_profiler__ is lp
    if COUNTING:
        assert w.__code__ is not f.__code__ and w.__code__ == f.__code__
        assert w.__globals__ is f.__globals__ and inspect.isfunction(w)
    else:
        assert "f" in repr(w) and "linewise" in repr(w)
        assert w.__linewise_func__ is f


def test_recursion_through_the_wrapper_counts_every_call(W):
    W.LP.reset_stats()
    assert W.fib(12) == 144
    assert W.LP.enable_count == 0
    assert hits_of(W.LP.get_stats(), W.fib.__wrapped__) == lines(W, fib_hits(12))


def test_arguments_and_keywords_pass_through(W):
    W.LP.reset_stats()
    assert W.kw(1) == (1, 2, (), 3, {})
    assert W.kw(1, 5, 6, 7, c=8, d=9) == (1, 5, (6, 7), 8, {"d": 9})
    assert W.kw(*[1, 2], **{"c": 0}) == (1, 2, (), 0, {})
    assert W.kw.custom == "kept"
    assert hits_of(W.LP.get_stats(), W.kw.__wrapped__) == lines(W, {"kw_ret": 3})


def test_binds_as_a_method_like_a_function(W):
    W.LP.reset_stats()
    s = W.Shape(3)
    assert s.area() == 9 and s.area(scale=2) == 18
    bound = s.area
    assert bound.__self__ is s and bound.__func__ is W.Shape.__dict__["area"]
    assert bound(3) == 27
    assert W.Shape.area(s) == 9  # from the class: the wrapper itself, unbound
    assert W.Shape.__dict__["area"].__get__(None, W.Shape) is W.Shape.__dict__["area"]
    assert W.Shape.unit().side == 1 and W.Shape.double(4) == 8 and s.double(1) == 2
    assert W.LP.enable_count == 0
    st = W.LP.get_stats()
    assert hits_of(st, W.Shape.area.__wrapped__) == lines(W, {"area_ret": 4})
    assert hits_of(st, W.Shape.__dict__["unit"].__func__.__wrapped__) == lines(
        W, {"unit_ret": 1})
    assert hits_of(st, W.Shape.double.__wrapped__) == lines(W, {"double_ret": 2})


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickled_by_reference(protocol, W):
    for obj in (W.fib, W.kw, W.Shape.area):
        assert pickle.loads(pickle.dumps(obj, protocol=protocol)) is obj
    assert copy.copy(W.fib) is W.fib and copy.deepcopy(W.fib) is W.fib


def test_pickling_a_wrapper_not_reachable_by_name_fails_as_a_function_does():
    lp = LineProfiler()

    def local(x):
        return x

    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(lp(local))


def test_exceptions_pass_through_and_counting_stops(W):
    W.LP.reset_stats()
    err = KeyError("k")
    with pytest.raises(KeyError) as info:
        W.raises(err)
    assert info.value is err and info.value.__context__ is None
    assert info.traceback[-1].name == "raises"  # raised in the function, traceback kept
    assert W.LP.enable_count == 0 and not W.LP._engine.enabled
    assert hits_of(W.LP.get_stats(), W.raises.__wrapped__) == lines(W, {"raises": 1})


def test_several_profilers_nested_decorators():
    def f(x):
        return x * 2

    lp1, lp2 = LineProfiler(), LineProfiler()
    w = lp2(lp1(f))
    assert w.__wrapped__.__wrapped__ is f
    assert [w(i) for i in range(3)] == [0, 2, 4]
    assert lp1.enable_count == lp2.enable_count == 0
    for lp in (lp1, lp2):
        assert [h for _, h, _ in lp.get_stats().timings[lp.key_for(f.__code__)]] == [3]
    # lp2 profiles f (found through __wrapped__); a wrapper has no lines of its own, and a
    # counting copy's code has f's.
    assert {code.co_name for code in lp2._engine.codes} == {"f"}


def test_decorated_call_inside_with_block_keeps_counting_after():
    def f(x):
        return x

    def g(x):
        return x

    lp = LineProfiler(g)
    w = lp(f)
    with lp:
        w(1)
        assert lp.enable_count == 1 and lp._engine.enabled
        g(1)
    assert lp.enable_count == 0
    assert [h for _, h, _ in lp.get_stats().timings[lp.key_for(g.__code__)]] == [1]


def test_subclass_that_counts_differently_keeps_the_python_wrapper():
    calls = []

    class Counting(LineProfiler):
        def enable_by_count(self):
            calls.append("on")
            super().enable_by_count()

    def f(x):
        return x

    lp = Counting()
    w = lp(f)
    assert type(w) is not _engine.Wrapper and w.__wrapped__ is f
    assert w(3) == 3 and calls == ["on"]


def test_no_reference_leaked_per_call():
    def f(*args, **kwargs):
        if kwargs.get("fail"):
            raise ValueError(args)
        return args

    lp = LineProfiler()
    w = lp(f)
    arg, kwval = object(), object()
    w(arg, k=kwval)  # warm up (instrumentation, caches)
    watched = (f, lp, lp._engine, arg, kwval, w)
    refs = [sys.getrefcount(x) for x in watched]
    for _ in range(1000):
        w(arg, k=kwval)
    for _ in range(200):  # the exception's path
        with pytest.raises(ValueError):
            w(arg, k=kwval, fail=True)
    assert [sys.getrefcount(x) for x in watched] == refs


def test_wrapper_and_profiler_freed_with_their_cycles():
    gc.collect()

    def make():
        lp = LineProfiler()
        namespace = {}
        exec("def f(n):\n    return f(n - 1) if n else 0\n", namespace)
        namespace["f"] = lp(namespace["f"])  # the wrapper in its function's globals: a cycle
        namespace["f"](3)
        return weakref.ref(namespace["f"]), weakref.ref(lp), weakref.ref(namespace["f"].__wrapped__)

    refs = make()
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_wrapper_keeps_its_profiler_alive():
    def f():
        return 1

    w = LineProfiler()(f)  # the profiler is reachable only through the wrapper
    gc.collect()
    assert w() == 1
    lp = w.__linewise_profiler__
    assert isinstance(lp, LineProfiler)
    assert [h for _, h, _ in lp.get_stats().timings[lp.key_for(f.__code__)]] == [1]
    probe = weakref.ref(lp)
    del lp, w
    gc.collect()
    assert probe() is None


def test_wrapper_type_rejects_a_non_engine():
    with pytest.raises(TypeError):
        _engine.Wrapper(len, object())
    with pytest.raises(TypeError):
        _engine.Wrapper()


def test_generator_wrappers_keep_their_profiler_alive():
    def gen(n):
        yield from range(n)

    async def coro():
        return 1

    for func in (gen, coro):
        w = LineProfiler()(func)
        probe = weakref.ref(w.__linewise_profiler__)
        gc.collect()
        assert probe() is not None
        del w
        gc.collect()
        assert probe() is None


# -- counting copies (sys.monitoring) -------------------------------------------------------


def ours():
    return [i for i in range(6) if sys.monitoring.get_tool(i) == "linewise"]


@needs_counting
def test_counting_copy_enables_only_while_its_frames_run():
    seen = []

    def g():
        return 0

    def f(x):
        seen.append((lp.enable_count, lp._engine.enabled))
        g()
        return x

    lp = LineProfiler(g)
    w = lp(f)
    assert lp._engine.armed and lp._engine.counting_codes == 1 and lp.enable_count == 0
    assert f(1) == 1 and w(2) == 2 and f(3) == 3  # the original does not count
    assert seen == [(0, False), (1, True), (0, False)]
    assert lp.enable_count == 0 and not lp._engine.enabled
    st = lp.get_stats()
    assert [h for _, h, _ in st.timings[lp.key_for(g.__code__)]] == [1]
    assert [h for _, h, _ in st.timings[lp.key_for(f.__code__)]] == [1, 1, 1]
    assert list(st.timings) == [lp.key_for(g.__code__), lp.key_for(f.__code__)]


@needs_counting
def test_counting_copy_counts_again_after_disable_and_releases_its_tool_id_when_gone():
    """As a wrapper's, a decorated call after disable() enables profiling again; the tool
    id stays taken while a decorated function lives, and is freed when it goes."""
    def f(x):
        return x

    gc.collect()
    before = ours()
    lp = LineProfiler()
    w = lp(f)
    w(1)
    lp.disable()
    assert lp._engine.armed
    w(2)
    with lp:
        w(3)
    assert lp.enable_count == 0 and lp._engine.armed
    assert [h for _, h, _ in lp.get_stats().timings[lp.key_for(f.__code__)]] == [3]
    assert ours() != []
    del w
    gc.collect()
    assert lp._engine.counting_codes == 0 and not lp._engine.armed
    assert ours() == before
    assert [h for _, h, _ in lp.get_stats().timings[lp.key_for(f.__code__)]] == [3]


@needs_counting
def test_counting_copy_counts_down_when_its_frame_raises_or_exits_by_a_signal():
    def f(exc):
        raise exc

    lp = LineProfiler()
    w = lp(f)
    for exc in (KeyError("k"), KeyboardInterrupt(), SystemExit(3), StopIteration()):
        with pytest.raises(type(exc)) as info:
            w(exc)
        assert info.value is exc
        assert lp.enable_count == 0 and not lp._engine.enabled
    assert [h for _, h, _ in lp.get_stats().timings[lp.key_for(f.__code__)]] == [4]


@needs_counting
def test_counting_copy_in_threads_and_with_memory():
    def f(n):
        data = [bytearray(1000) for _ in range(n)]
        return len(data)

    lp = LineProfiler(memory=True)
    w = lp(f)
    threads = [threading.Thread(target=lambda: [w(20) for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lp.enable_count == 0 and not lp._engine.enabled
    st = lp.get_stats()
    hits = [h for _, h, _ in st.timings[lp.key_for(f.__code__)]]
    assert hits[0] == 200 and hits[-1] == 200
    alloc = {row[0]: row[1] for row in st.memory[lp.key_for(f.__code__)]}
    assert alloc[f.__code__.co_firstlineno + 1] >= 200 * 20 * 1000


@needs_counting
def test_counting_copy_falls_back_to_the_wrapper_with_no_tool_id_free():
    def f(x):
        return x

    gc.collect()
    taken = {i: sys.monitoring.get_tool(i) for i in range(6) if sys.monitoring.get_tool(i)}
    if taken:
        pytest.skip(f"sys.monitoring tool ids in use: {taken}")
    for i in range(6):
        sys.monitoring.use_tool_id(i, "squatter")
    try:
        lp = LineProfiler()
        w = lp(f)
        assert type(w) is _engine.Wrapper and lp._engine.counting_codes == 0
    finally:
        for i in range(6):
            sys.monitoring.free_tool_id(i)
    assert w(4) == 4
    assert [h for _, h, _ in lp.get_stats().timings[lp.key_for(f.__code__)]] == [1]


@needs_counting
def test_engine_counting_needs_a_plain_function_code():
    def gen():
        yield 1

    e = _engine.Engine()
    with pytest.raises(ValueError, match="plain function"):
        e.add_code(gen.__code__, gen.__code__.co_firstlineno, gen.__code__.co_firstlineno + 1,
                   counting=True)
    assert e.counting_codes == 0 and not e.armed
    with pytest.raises(TypeError):
        e.uncount_code("not code")
    e.uncount_code(gen.__code__)  # not counting: nothing
