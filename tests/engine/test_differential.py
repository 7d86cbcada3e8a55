"""linewise against line_profiler: the same programs must give equal hits on every line of
every function.

Both tools count the interpreter's line events, so hits must agree exactly; times are not
compared (they are measured, not counted). line_profiler reads LINE_PROFILER_CORE when it is
first imported: conftest.py sets it to match LINEWISE_BACKEND (legacy trace hook or
sys.monitoring), so the two tools see the same kind of events.

Both profilers are given the same plain function objects (line_profiler 5.1's add_function
does not unwrap properties, partials or cached_property; linewise's does, which test_hits
covers). Known, legitimate differences are kept out of the comparison, each with a reason:

* a functools.wraps wrapper: linewise adds the wrapped function too, line_profiler only the
  wrapper (it warns). Here both are given wrapper and wrapped explicitly, so they must agree.
* threads: line_profiler's legacy core installs its trace hook in the enabling thread only,
  so other threads are compared only when both tools use sys.monitoring.
* one-line functions (body on the ``def``/``lambda`` line) on 3.13+ with sys.monitoring:
  CPython emits no LINE event for such a line unless PY_START is monitored too (CPython
  issue #155992); line_profiler 5.1 then reports no hits, linewise reports them.
"""
import asyncio
import sys
import threading
import warnings

import pytest

from conftest import backend, hits_of, profile
from programs import basic, classes, gens, more, nested, threaded

line_profiler = pytest.importorskip("line_profiler")

Shape = classes.Shape
_prop = Shape.__dict__["size"]


def _lp_uses_legacy() -> bool:
    from line_profiler import _diagnostics

    return bool(getattr(_diagnostics, "USE_LEGACY_TRACE", sys.version_info < (3, 12)))


@pytest.fixture(autouse=True)
def same_core():
    if _lp_uses_legacy() != (backend() == "legacy"):
        pytest.skip("line_profiler was imported with a different core than the linewise "
                    "backend (LINE_PROFILER_CORE set elsewhere?)")


def _props():
    s = Shape(3)
    s.size
    s.size = 4
    with pytest.raises(ValueError):
        s.size = -1
    del s.size


def _echo():
    g = gens.echo()
    next(g)
    g.send("a")
    g.throw(KeyError)
    g.send("b")
    g.close()


def _partial_countdown():
    g = gens.countdown(5)
    next(g)
    next(g)
    g.close()


def _throw_countdown():
    g = gens.countdown(5)
    next(g)
    with pytest.raises(ZeroDivisionError):
        g.throw(ZeroDivisionError)


def _raises_outside():
    for x in (1, 2, -3):
        try:
            basic.raises(x)
        except ValueError:
            pass


def _cached():
    s = Shape(2)
    s.perimeter
    s.perimeter
    Shape(1).perimeter


def _coro_raises():
    with pytest.raises(RuntimeError):
        asyncio.run(gens.raising_coro())


def _threads_before_and_after():
    go = threading.Event()
    done = []
    early = threading.Thread(target=threaded.waiting_worker, args=(go, 3, done))
    early.start()
    go.set()
    threaded.run_threads(3, 5)
    early.join()


SCENARIOS = {
    "loop": ([basic.loop_sum], lambda: [basic.loop_sum(n) for n in range(5)]),
    "while": ([basic.while_loop], lambda: basic.while_loop(4)),
    "break_continue": ([basic.break_continue],
                       lambda: basic.break_continue([1, -1, 2, -2, 200, 3])),
    "early_return": ([basic.early_return], lambda: [basic.early_return(x) for x in (1, -1, 0)]),
    "raise_caught_inside": ([basic.catches, basic.raises], lambda: basic.catches(4)),
    "raise_caught_outside": ([basic.raises], _raises_outside),
    "try_finally": ([basic.try_finally],
                    lambda: (basic.try_finally(True), basic.try_finally(False))),
    "with": ([basic.with_block], basic.with_block),
    "comprehensions": ([basic.comprehensions], lambda: basic.comprehensions(4)),
    "multiline": ([basic.multiline], lambda: basic.multiline(1, 2)),
    "nested": ([nested.outer], lambda: nested.outer(3)),
    "lambda": ([nested.square], lambda: [nested.square(i) for i in range(3)]),
    "one_liner": ([nested.one_liner], lambda: [nested.one_liner(i) for i in range(3)]),
    "recursion": ([nested.fact, nested.fib], lambda: (nested.fact(6), nested.fib(6))),
    "wraps_decorator": ([nested.decorated, nested.decorated.__wrapped__],
                        lambda: nested.decorated(2, 3)),
    "methods": ([Shape.__init__, Shape.area, Shape.unit.__func__, Shape.describe],
                lambda: (Shape(2).area(), Shape.unit(), Shape.describe(1))),
    "properties": ([_prop.fget, _prop.fset, _prop.fdel], _props),
    "super": ([classes.Square.area, Shape.area], lambda: classes.Square(2).area()),
    "partial": ([classes.scale], lambda: (classes.double(3), classes.double(4))),
    "partialmethod": ([Shape.resize], lambda: (Shape(2).grow(), Shape(1).resize(2))),
    "cached_property": ([Shape.__dict__["perimeter"].func], _cached),
    "nested_classes": ([Shape.Meta.tag, Shape.Meta.Deeper.depth],
                       lambda: (Shape.Meta().tag(), Shape.Meta.Deeper().depth())),
    "generator_full": ([gens.countdown], lambda: list(gens.countdown(4))),
    "generator_partial": ([gens.countdown], _partial_countdown),
    "generator_send_throw_close": ([gens.echo], _echo),
    "generator_throw_uncaught": ([gens.countdown], _throw_countdown),
    "yield_from": ([gens.delegating, gens.countdown], lambda: list(gens.delegating(3))),
    "coroutines": ([gens.gather_adds, gens.add_later], lambda: asyncio.run(gens.gather_adds(3))),
    "coroutine_raises": ([gens.raising_coro], _coro_raises),
    "async_generator": ([gens.consume_ticker, gens.ticker],
                        lambda: asyncio.run(gens.consume_ticker(3))),
    "threads": ([threaded.work], _threads_before_and_after),
    "match": ([more.matcher],
              lambda: [more.matcher(v) for v in (0, [1, 2], {"k": 3}, "x", [1])]),
    "else_clauses": ([more.else_clauses],
                     lambda: (more.else_clauses([1, 2]), more.else_clauses([1, -1, 2]))),
    "nested_handlers": ([more.nested_handlers],
                        lambda: (more.nested_handlers(0), more.nested_handlers(5))),
    "context_manager_class": (
        [more.uses_resource, more.Resource.__init__, more.Resource.__enter__,
         more.Resource.__exit__],
        lambda: (more.uses_resource(False), more.uses_resource(True))),
    "async_with_and_iterator_class": (
        [more.async_constructs, more.Countdown.__init__, more.Countdown.__aiter__,
         more.Countdown.__anext__, more.AsyncResource.__aenter__, more.AsyncResource.__aexit__],
        lambda: asyncio.run(more.async_constructs(3))),
    "walrus": ([more.walrus], lambda: more.walrus([1, 2, 3])),
    "decorator_with_arguments": ([more.repeated, more.repeated.__wrapped__],
                                 lambda: more.repeated(1)),
    "trivial": ([more.docstring_only, more.pass_only],
                lambda: (more.docstring_only(), more.pass_only())),
}

_bump = nested.make_counter()  # one closure, added and run (all share one code object)
SCENARIOS["closure"] = ([nested.make_counter, _bump],
                        lambda: (nested.make_counter(), _bump(), _bump()))

# Functions whose only code is on their first line (a docstring-only function's implicit
# return sits on the def line).
ONE_LINERS = {nested.square.__code__, nested.one_liner.__code__,
              more.docstring_only.__code__}


def _skip_reason(name, func):
    monitoring = backend() == "monitoring"
    if name == "threads" and not monitoring:
        return "line_profiler's legacy core traces only the thread that enabled it"
    if (func.__code__ in ONE_LINERS and monitoring and sys.version_info >= (3, 13)):
        return ("one-line function on 3.13+ sys.monitoring: line_profiler sees no LINE "
                "event without PY_START (CPython #155992)")
    return None


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_hits_as_line_profiler(name):
    targets, run = SCENARIOS[name]
    # line_profiler 5 replaces each added function's __code__ with a NOP-padded copy (to
    # tell bytecode twins apart); put the originals back so linewise, and the tests that
    # run after this one, see the functions as written.
    originals = [(f, f.__code__) for f in targets]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # line_profiler warns about __wrapped__
            lp_stats = profile(targets, run, profiler_cls=line_profiler.LineProfiler)
    finally:
        for f, code in originals:
            f.__code__ = code
    lw_stats = profile(targets, run)
    compared = 0
    for func in targets:
        reason = _skip_reason(name, func)
        if reason:
            continue
        expected = hits_of(lp_stats, func)
        got = hits_of(lw_stats, func)
        assert got == expected, f"{func.__qualname__}: linewise {got} != line_profiler {expected}"
        assert got, f"{func.__qualname__} ran but has no hits"
        compared += 1
    if not compared:
        pytest.skip(_skip_reason(name, targets[0]))
