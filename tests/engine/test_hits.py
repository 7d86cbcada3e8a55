"""Exact hit counts: hits are deterministic, so every line of every profiled function is
checked, lines expected never to run included (the whole {lineno: hits} map is compared).

Counts follow the interpreter's line events: a ``for`` header runs once per item plus once
for the exhaustion; a ``while`` condition likewise; ``try:`` counts, ``finally:`` does not;
``except X:`` counts each time an exception is matched against it (GeneratorExit included);
a generator resuming at a ``yield`` does not count that line again.
"""
import asyncio
import sys
import threading
import time

import pytest

from conftest import PY312, backend, hits_of, line_of, lines, profile
from programs import basic, classes, gens, module_target, more, nested, threaded

Shape = classes.Shape


def check(stats, func, module, expected):
    assert hits_of(stats, func) == lines(module, expected)


# -- plain functions and control flow ----------------------------------------------------


def test_loop():
    st = profile([basic.loop_sum], lambda: basic.loop_sum(3))
    check(st, basic.loop_sum, basic, {"ls_init": 1, "ls_for": 4, "ls_body": 3, "ls_ret": 1})


def test_loop_called_many_times():
    st = profile([basic.loop_sum], lambda: [basic.loop_sum(2) for _ in range(50)])
    check(st, basic.loop_sum, basic, {"ls_init": 50, "ls_for": 150, "ls_body": 100, "ls_ret": 50})


def test_while_loop():
    st = profile([basic.while_loop], lambda: basic.while_loop(3))
    check(st, basic.while_loop, basic, {"wl_init": 1, "wl_cond": 4, "wl_body": 3, "wl_ret": 1})


def test_break_continue():
    st = profile([basic.break_continue], lambda: basic.break_continue([1, -1, 2, 200, 3]))
    check(st, basic.break_continue, basic, {
        "bc_init": 1, "bc_for": 4, "bc_neg": 4, "bc_cont": 1, "bc_big": 3, "bc_break": 1,
        "bc_app": 2, "bc_ret": 1,
    })


def test_early_return():
    st = profile([basic.early_return], lambda: [basic.early_return(x) for x in (1, -1, 0, 5)])
    check(st, basic.early_return, basic, {
        "er_test": 4, "er_pos": 2, "er_test2": 2, "er_neg": 1, "er_zero": 1,
    })


def test_raise_caught_in_profiled_caller():
    st = profile([basic.catches, basic.raises], lambda: basic.catches(3))
    check(st, basic.catches, basic, {
        "ct_init": 1, "ct_for": 4, "ct_try": 3, "ct_call": 3, "ct_except": 3, "ct_count": 3,
        "ct_ret": 1,
    })
    check(st, basic.raises, basic, {"rs_first": 3, "rs_test": 3, "rs_raise": 3})


def test_raise_caught_outside():
    def run():
        for x in (1, 2):
            with pytest.raises(ValueError):
                basic.raises(x)
        basic.raises(-5)

    st = profile([basic.raises], run)
    check(st, basic.raises, basic, {"rs_first": 3, "rs_test": 3, "rs_raise": 2, "rs_ret": 1})


def test_try_finally():
    st = profile([basic.try_finally], lambda: (basic.try_finally(True), basic.try_finally(False)))
    check(st, basic.try_finally, basic, {
        "tf_init": 2, "tf_try": 2, "tf_body": 2, "tf_if": 2, "tf_ret_inner": 1,
        "tf_fin_body": 2, "tf_after": 1, "tf_ret": 1,
    })


def test_with_block():
    st = profile([basic.with_block], basic.with_block)
    # The with line runs on entry and again when __exit__ is called.
    check(st, basic.with_block, basic, {"wb_init": 1, "wb_with": 2, "wb_body": 1, "wb_ret": 1})


def test_comprehensions():
    n = 3
    st = profile([basic.comprehensions], lambda: basic.comprehensions(n))
    if PY312 and backend() == "legacy":
        # 3.12 inlines list/set/dict comprehensions (PEP 709) into the function; the
        # settrace-style line events repeat on each backward jump of the inlined loop.
        inlined = 1 + n
    else:
        # Before 3.12 the comprehension is a separate code object (not profiled); with
        # sys.monitoring a LINE event is not repeated for a jump within the same line.
        inlined = 1
    check(st, basic.comprehensions, basic, {
        "cp_list": inlined, "cp_set": inlined, "cp_dict": inlined,
        "cp_gen": 1,  # a generator expression is still its own code object
        "cp_ret": 1,
    })


def test_multiline_statements():
    st = profile([basic.multiline], lambda: basic.multiline(1, 2))
    # A multi-line expression reports each line it evaluates something on, and returns to
    # the first line for the operation that spans them.
    check(st, basic.multiline, basic, {
        "ml_x": 2, "ml_x2": 1, "ml_call": 2, "ml_call_a": 1, "ml_call_b": 1,
        "ml_list": 1, "ml_list_a": 1, "ml_list_b": 1, "ml_ret": 1,
    })


# -- nested functions, closures, lambdas, recursion, decorators --------------------------


def test_nested_function_and_closure():
    inner_code = next(c for c in nested.outer.__code__.co_consts
                      if getattr(c, "co_name", None) == "inner")
    lp_targets = [nested.outer]
    st = profile(lp_targets, lambda: nested.outer(3))
    check(st, nested.outer, nested, {
        "ou_base": 1, "ou_def": 1, "ou_init": 1, "ou_for": 4, "ou_call": 3, "ou_ret": 1,
    })
    # The inner function was not added: nothing of it is reported.
    assert hits_of(st, inner_code) == {}


def test_closure_profiled_itself():
    bump = nested.make_counter()

    def run():
        for _ in range(4):
            bump()

    st = profile([bump], run)
    check(st, bump, nested, {"bump_nonlocal": 0, "bump_inc": 4, "bump_ret": 4})


def test_outer_and_inner_closure_added():
    def run():
        b = nested.make_counter()
        b()
        b()

    # Only a function object can be added; profile make_counter, then its closure, by
    # creating one closure first (all closures share one code object).
    from linewise import LineProfiler

    lp = LineProfiler()
    lp.add_function(nested.make_counter)
    lp.add_function(nested.make_counter())
    with lp:
        run()
    st = lp.get_stats()
    check(st, nested.make_counter, nested, {"mc_init": 1, "mc_def": 1, "mc_ret": 1})
    check(st, nested.make_counter(), nested, {"bump_inc": 2, "bump_ret": 2})


def test_lambda():
    st = profile([nested.square], lambda: (nested.square(2), list(map(nested.square, [1, 2]))))
    check(st, nested.square, nested, {"lambda": 3})


def test_one_line_function():
    # Body on the def line: sys.monitoring on 3.13 reports no LINE event there unless
    # PY_START is also monitored (CPython issue #155992); the count must still be right.
    st = profile([nested.one_liner], lambda: [nested.one_liner(i) for i in range(3)])
    check(st, nested.one_liner, nested, {"one_liner": 3})


def test_one_line_functions_already_warm():
    """The same, for functions that ran (and were specialised by the 3.11+ adaptive
    interpreter: on 3.13 RESUME becomes RESUME_CHECK, the cause of CPython #155992) before
    profiling starts, and between two profiled blocks."""
    from linewise import LineProfiler

    funcs = (nested.one_liner, nested.square, more.docstring_only)

    def run(n):
        for i in range(n):
            nested.one_liner(i)
            nested.square(i)
            more.docstring_only()

    run(3000)
    lp = LineProfiler(*funcs)
    with lp:
        run(3)
    run(3000)
    with lp:
        run(2)
    st = lp.get_stats()
    for func in funcs:
        assert hits_of(st, func) == {func.__code__.co_firstlineno: 5}, func


def test_recursion_counts_every_execution():
    st = profile([nested.fact], lambda: nested.fact(5))
    check(st, nested.fact, nested, {"fa_base": 5, "fa_one": 1, "fa_rec": 4})


def test_tree_recursion():
    st = profile([nested.fib], lambda: nested.fib(5))
    # fib(5) makes 15 calls, 8 of them leaves.
    check(st, nested.fib, nested, {"fib_base": 15, "fib_n": 8, "fib_rec": 7})


def test_wraps_decorator_profiles_wrapper_and_wrapped():
    # Deliberately unlike line_profiler (which profiles only the wrapper): adding a
    # functools.wraps wrapper profiles the function it wraps too.
    st = profile([nested.decorated], lambda: (nested.decorated(2, 3), nested.decorated(1, 1)))
    check(st, nested.decorated, nested, {"wr_before": 2, "wr_call": 2, "wr_ret": 2})
    check(st, nested.decorated.__wrapped__, nested, {"dec_mul": 2, "dec_ret": 2})
    # Each is reported under its code's own name (functools.wraps copies __qualname__ onto
    # the wrapper: that must not make the two look like one function). 3.10 has no
    # co_qualname: line_profiler and linewise both use co_name there.
    wrapper_code = nested.decorated.__code__
    names = sorted(k[2] for k in st.timings)
    assert names == sorted(["decorated", getattr(wrapper_code, "co_qualname", wrapper_code.co_name)])


def test_plain_decorator_profiles_only_wrapper():
    inner = nested.plainly_decorated.__closure__[0].cell_contents
    st = profile([nested.plainly_decorated], lambda: nested.plainly_decorated(3))
    check(st, nested.plainly_decorated, nested, {"pw_call": 1})
    assert hits_of(st, inner) == {}


# -- methods and descriptors ------------------------------------------------------------


def test_methods_classmethod_staticmethod():
    def run():
        Shape(2).area()
        Shape.unit()
        Shape.describe(3)
        Shape(1).describe(2)

    st = profile([Shape.__init__, Shape.area, Shape.__dict__["unit"], Shape.__dict__["describe"]],
                 run)
    check(st, Shape.__init__, classes, {"init_size": 3, "init_log": 3})
    check(st, Shape.area, classes, {"area_s": 1, "area_ret": 1})
    check(st, Shape.unit, classes, {"unit_ret": 1})
    check(st, Shape.describe, classes, {"desc_text": 2, "desc_ret": 2})


def test_bound_method_added():
    s = Shape(2)
    st = profile([s.area], lambda: (s.area(), Shape(3).area()))
    # Adding a bound method profiles the function: every instance counts.
    check(st, Shape.area, classes, {"area_s": 2, "area_ret": 2})


def test_property_getter_setter_deleter():
    def run():
        s = Shape(3)
        s.size
        s.size = 4
        with pytest.raises(ValueError):
            s.size = -1
        del s.size

    st = profile([Shape.size], run)
    prop = Shape.__dict__["size"]
    check(st, prop.fget, classes, {"get_ret": 1})
    check(st, prop.fset, classes, {"set_check": 2, "set_raise": 1, "set_assign": 1})
    check(st, prop.fdel, classes, {"del_log": 1, "del_zero": 1})


def test_super_call():
    st = profile([classes.Square.area, Shape.area], lambda: classes.Square(3).area())
    check(st, classes.Square.area, classes, {"sq_super": 1, "sq_ret": 1})
    check(st, Shape.area, classes, {"area_s": 1, "area_ret": 1})


def test_partial():
    st = profile([classes.double], lambda: (classes.double(3), classes.double(x=4)))
    check(st, classes.scale, classes, {"sc_mul": 2, "sc_ret": 2})


def test_partialmethod():
    def run():
        Shape(2).grow()
        Shape(2).grow(extra=1)
        Shape(1).resize(3)

    st = profile([Shape.__dict__["grow"]], run)
    check(st, Shape.resize, classes, {"rs_assign": 3, "rs_ret": 3})


def test_cached_property():
    def run():
        s = Shape(2)
        s.perimeter
        s.perimeter  # cached: the function does not run again
        Shape(1).perimeter

    st = profile([Shape.__dict__["perimeter"]], run)
    check(st, Shape.__dict__["perimeter"].func, classes, {"cp_p": 2, "cp_ret": 2})


def test_add_class_methods_and_nested_classes():
    from linewise import LineProfiler

    lp = LineProfiler()
    added = lp.add_class(Shape)
    # As line_profiler counts (one per member added): __init__, area, unit, describe,
    # size, resize, grow, perimeter, Meta (with Meta.tag and Meta.Deeper.depth inside).
    assert added == 9

    def run():
        s = Shape.unit()
        s.area()
        s.size = 2
        s.grow()
        s.perimeter
        Shape.describe(1)
        Shape.Meta().tag()
        Shape.Meta.Deeper().depth()

    with lp:
        run()
    st = lp.get_stats()
    check(st, Shape.__init__, classes, {"init_size": 1, "init_log": 1})
    check(st, Shape.unit, classes, {"unit_ret": 1})
    check(st, Shape.area, classes, {"area_s": 1, "area_ret": 1})
    check(st, Shape.__dict__["size"].fset, classes, {"set_check": 1, "set_assign": 1})
    check(st, Shape.__dict__["size"].fget, classes, {})
    check(st, Shape.resize, classes, {"rs_assign": 1, "rs_ret": 1})
    check(st, Shape.__dict__["perimeter"].func, classes, {"cp_p": 1, "cp_ret": 1})
    check(st, Shape.describe, classes, {"desc_text": 1, "desc_ret": 1})
    check(st, Shape.Meta.tag, classes, {"meta_tag": 1})
    check(st, Shape.Meta.Deeper.depth, classes, {"deeper_depth": 1})
    # Square is not nested in Shape: not added.
    assert all(not k[2].startswith("Square") for k in st.timings)


def test_add_module():
    from linewise import LineProfiler

    lp = LineProfiler()
    added = lp.add_module(module_target)
    assert added == 3  # as line_profiler counts: first, second, Holder (get, Inner.inner)
    with lp:
        module_target.Holder().get()
        module_target.Holder.Inner().inner()
        module_target.join("a", "b")
        module_target.reduce(lambda a, b: a + b, [1, 2])
    st = lp.get_stats()
    assert {k[0] for k in st.timings} == {module_target.__file__}
    assert sorted(k[2] for k in st.timings) == [
        "Holder.Inner.inner", "Holder.get", "first", "second"]
    check(st, module_target.first, module_target, {"mt_first": 1})
    check(st, module_target.second, module_target, {"mt_second_call": 1, "mt_second_ret": 1})
    check(st, module_target.Holder.get, module_target, {"mt_get": 1})
    check(st, module_target.Holder.Inner.inner, module_target, {"mt_inner": 1})


# -- generators, coroutines, async generators -------------------------------------------


def test_generator_consumed_fully():
    st = profile([gens.countdown], lambda: list(gens.countdown(3)))
    check(st, gens.countdown, gens, {"cd_while": 4, "cd_yield": 3, "cd_dec": 3, "cd_ret": 1})


def test_generator_consumed_partially():
    def run():
        g = gens.countdown(5)
        next(g)
        next(g)
        g.close()

    st = profile([gens.countdown], run)
    check(st, gens.countdown, gens, {"cd_while": 2, "cd_yield": 2, "cd_dec": 1})


def test_generator_abandoned_unclosed():
    keep = []

    def run():
        g = gens.countdown(5)
        next(g)
        keep.append(g)

    st = profile([gens.countdown], run)
    check(st, gens.countdown, gens, {"cd_while": 1, "cd_yield": 1})
    keep.clear()  # finalised outside the profiled region


def test_generator_send_throw_close():
    def run():
        g = gens.echo()
        assert next(g) == 0
        assert g.send("a") == 1
        assert g.throw(KeyError) == 2
        assert g.send("b") == 3
        g.close()

    st = profile([gens.echo], run)
    check(st, gens.echo, gens, {
        "ec_init": 1, "ec_try": 1, "ec_while": 4, "ec_try2": 4, "ec_yield": 4,
        "ec_except": 2,  # KeyError, then GeneratorExit from close() (not matched)
        "ec_thrown": 1, "ec_append": 3, "ec_finally": 0, "ec_clear": 1,
    })


def test_generator_throw_uncaught():
    def run():
        g = gens.countdown(5)
        next(g)
        with pytest.raises(ZeroDivisionError):
            g.throw(ZeroDivisionError)

    st = profile([gens.countdown], run)
    check(st, gens.countdown, gens, {"cd_while": 1, "cd_yield": 1})


def test_yield_from():
    st = profile([gens.delegating, gens.countdown], lambda: list(gens.delegating(2)))
    check(st, gens.delegating, gens, {"dg_first": 1, "dg_from": 1, "dg_last": 1})
    check(st, gens.countdown, gens, {"cd_while": 3, "cd_yield": 2, "cd_dec": 2, "cd_ret": 1})


def test_coroutines():
    n = 3
    st = profile([gens.gather_adds, gens.add_later], lambda: asyncio.run(gens.gather_adds(n)))
    comp = 1 + n if PY312 and backend() == "legacy" else 1  # see test_comprehensions
    check(st, gens.gather_adds, gens, {"ga_tasks": comp, "ga_gather": 1, "ga_ret": 1})
    check(st, gens.add_later, gens, {"al_sleep": n, "al_add": n, "al_ret": n})


def test_coroutine_raises_caught_outside():
    def run():
        with pytest.raises(RuntimeError):
            asyncio.run(gens.raising_coro())

    st = profile([gens.raising_coro], run)
    check(st, gens.raising_coro, gens, {"rc_sleep": 1, "rc_raise": 1})


def test_async_generator():
    st = profile([gens.consume_ticker, gens.ticker], lambda: asyncio.run(gens.consume_ticker(3)))
    check(st, gens.consume_ticker, gens, {"ct_init": 1, "ct_for": 4, "ct_append": 3, "ct_ret": 1})
    check(st, gens.ticker, gens, {"tk_for": 4, "tk_sleep": 3, "tk_yield": 3})


# -- threads -----------------------------------------------------------------------------

WORK = {"wk_init": 1, "wk_for": 5, "wk_body": 4, "wk_ret": 1}  # work(4), one call


def times(n):
    return {k: v * n for k, v in WORK.items()}


def test_threads_started_after_enable():
    st = profile([threaded.work], lambda: threaded.run_threads(3, 4))
    check(st, threaded.work, threaded, times(3))


def test_threads_and_main_thread():
    def run():
        threaded.run_threads(2, 4)
        threaded.work(4)

    st = profile([threaded.work], run)
    check(st, threaded.work, threaded, times(3))


def test_threads_started_before_enable():
    from linewise import LineProfiler

    go = threading.Event()
    done = []
    workers = [threading.Thread(target=threaded.waiting_worker, args=(go, 4, done))
               for _ in range(3)]
    for t in workers:
        t.start()
    lp = LineProfiler(threaded.work)
    lp.enable_by_count()
    try:
        go.set()
        for t in workers:
            t.join()
    finally:
        lp.disable_by_count()
    assert len(done) == 3
    check(lp.get_stats(), threaded.work, threaded, times(3))


def test_thread_running_while_disabled_not_counted():
    from linewise import LineProfiler

    lp = LineProfiler(threaded.work)
    with lp:
        threaded.work(4)
    threaded.run_threads(2, 4)  # profiling off: not counted
    check(lp.get_stats(), threaded.work, threaded, times(1))


def test_many_threads_counts_add_up():
    st = profile([threaded.work], lambda: threaded.run_threads(8, 50))
    n = 8
    check(st, threaded.work, threaded,
          {"wk_init": n, "wk_for": 51 * n, "wk_body": 50 * n, "wk_ret": n})


def test_deep_recursion():
    depth = 600
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, depth + 200))
    try:
        st = profile([nested.fact], lambda: nested.fact(depth))
    finally:
        sys.setrecursionlimit(limit)
    check(st, nested.fact, nested, {"fa_base": depth, "fa_one": 1, "fa_rec": depth - 1})


# -- starting or stopping with frames already running ------------------------------------


def test_generator_started_before_enable():
    from linewise import LineProfiler

    lp = LineProfiler(gens.countdown)
    g = gens.countdown(3)
    next(g)  # runs while off: while, yield
    with lp:
        rest = list(g)
    assert rest == [2, 1]
    check(lp.get_stats(), gens.countdown, gens,
          {"cd_dec": 3, "cd_while": 3, "cd_yield": 2, "cd_ret": 1})


def test_generator_finished_after_disable():
    from linewise import LineProfiler

    lp = LineProfiler(gens.countdown)
    with lp:
        g = gens.countdown(3)
        next(g)
        next(g)
    assert list(g) == [1]  # off now
    check(lp.get_stats(), gens.countdown, gens, {"cd_while": 2, "cd_yield": 2, "cd_dec": 1})


def test_generator_resumed_in_another_thread():
    from linewise import LineProfiler

    lp = LineProfiler(gens.countdown)
    with lp:
        g = gens.countdown(4)
        next(g)
        t = threading.Thread(target=lambda: [next(g), next(g)])
        t.start()
        t.join()
        list(g)
    check(lp.get_stats(), gens.countdown, gens,
          {"cd_while": 5, "cd_yield": 4, "cd_dec": 4, "cd_ret": 1})


def test_coroutine_suspended_across_disable_and_enable():
    from linewise import LineProfiler

    lp = LineProfiler(gens.add_later)

    def drive():
        c = gens.add_later(1, 2)
        with lp:
            c.send(None)  # runs to the await of sleep(0), which suspends
        lp.disable()
        with pytest.raises(StopIteration) as stop:
            c.send(None)  # finishes while off
        return stop.value.value

    assert drive() == 3
    check(lp.get_stats(), gens.add_later, gens, {"al_sleep": 1})


def test_frame_running_in_other_thread_when_enabled():
    """A thread already inside a profiled function (blocked in it) when enable() is called:
    the lines it runs after that count."""
    from linewise import LineProfiler

    steps = [threading.Event() for _ in range(3)]
    progress = []
    lp = LineProfiler(threaded.stepper)
    t = threading.Thread(target=threaded.stepper, args=(steps, progress))
    t.start()
    steps[0].set()
    while not progress:
        time.sleep(0.001)
    time.sleep(0.05)  # let it reach the wait on steps[1]
    with lp:
        for ev in steps[1:]:
            ev.set()
            while len(progress) < steps.index(ev) + 1:
                time.sleep(0.001)
        t.join()
    # After enable: steps 2 and 3 (body, progress, then for), the wait for step 3, the
    # for's exhaustion and the return.
    check(lp.get_stats(), threaded.stepper, threaded, {
        "st_wait": 1, "st_body": 2, "st_progress": 2, "st_for": 2, "st_ret": 1})


def test_frame_running_in_other_thread_when_disabled():
    from linewise import LineProfiler

    steps = [threading.Event() for _ in range(3)]
    progress = []
    lp = LineProfiler(threaded.stepper)
    with lp:
        t = threading.Thread(target=threaded.stepper, args=(steps, progress))
        t.start()
        steps[0].set()
        while not progress:
            time.sleep(0.001)
        time.sleep(0.05)  # let it reach the wait on steps[1]
    for ev in steps[1:]:
        ev.set()
    t.join()
    assert progress == [1, 2, 3]
    check(lp.get_stats(), threaded.stepper, threaded, {
        "st_init": 1, "st_for": 2, "st_wait": 2, "st_body": 1, "st_progress": 1})


def test_exec_defined_function():
    from linewise import LineProfiler

    ns = {}
    exec(compile("def made(n):\n    t = n\n    return t * 2\n", "<made>", "exec"), ns)
    lp = LineProfiler(ns["made"])
    with lp:
        ns["made"](1)
        ns["made"](2)
    assert hits_of(lp.get_stats(), ns["made"]) == {2: 2, 3: 2}


# -- more statement kinds ------------------------------------------------------------------


def test_match_statement():
    st = profile([more.matcher], lambda: [more.matcher(v) for v in (0, [1, 2], {"k": 3}, "x", [1])])
    # Each case line counts once per subject tested against it.
    check(st, more.matcher, more, {
        "mt_match": 5, "mt_zero": 5, "mt_zero_ret": 1, "mt_pair": 4, "mt_pair_ret": 1,
        "mt_map": 3, "mt_map_ret": 1, "mt_default": 2, "mt_default_ret": 2,
    })


def test_for_else_while_else():
    st = profile([more.else_clauses],
                 lambda: (more.else_clauses([1, 2]), more.else_clauses([1, -1, 2])))
    check(st, more.else_clauses, more, {
        "ec_for": 3 + 2, "ec_if": 2 + 2, "ec_break": 1, "ec_for_else": 1, "ec_n": 2,
        "ec_while": 6, "ec_inc": 4, "ec_while_else": 2, "ec_ret": 2,
    })


def test_nested_handlers_else_finally():
    st = profile([more.nested_handlers],
                 lambda: (more.nested_handlers(0), more.nested_handlers(5)))
    check(st, more.nested_handlers, more, {
        "nh_try": 2, "nh_try2": 2, "nh_div": 2, "nh_zde": 1, "nh_reraise": 1, "nh_else": 1,
        "nh_finally": 2, "nh_value": 1, "nh_neg": 1, "nh_ret": 2,
    })


def test_context_manager_class():
    R = more.Resource
    st = profile([more.uses_resource, R.__init__, R.__enter__, R.__exit__],
                 lambda: (more.uses_resource(False), more.uses_resource(True)))
    check(st, more.uses_resource, more, {
        "ur_with": 4,  # entry and exit, each call (the exception is swallowed by __exit__)
        "ur_body": 2, "ur_if": 2, "ur_raise": 1, "ur_ret": 2,
    })
    check(st, R.__init__, more, {"rc_init": 2})
    check(st, R.__enter__, more, {"rc_enter": 2, "rc_enter_ret": 2})
    check(st, R.__exit__, more, {"rc_exit": 2, "rc_exit_ret": 2})


def test_async_with_and_async_iterator_class():
    C, AR = more.Countdown, more.AsyncResource
    targets = [more.async_constructs, C.__init__, C.__aiter__, C.__anext__, AR.__aenter__,
               AR.__aexit__]
    st = profile(targets, lambda: asyncio.run(more.async_constructs(2)))
    check(st, more.async_constructs, more, {
        "ac_out": 1, "ac_with": 2, "ac_for": 3, "ac_append": 2, "ac_ret": 1})
    check(st, C.__init__, more, {"cn_init": 1})
    check(st, C.__aiter__, more, {"cn_aiter": 1})
    check(st, C.__anext__, more, {
        "cn_check": 3, "cn_stop": 1, "cn_sleep": 2, "cn_dec": 2, "cn_ret": 2})
    check(st, AR.__aenter__, more, {"ar_enter": 1, "ar_enter_ret": 1})
    check(st, AR.__aexit__, more, {"ar_exit": 1})


def test_walrus():
    st = profile([more.walrus], lambda: more.walrus([1, 2, 3]))
    check(st, more.walrus, more, {
        "wa_kept": 1, "wa_for": 4, "wa_if": 3, "wa_append": 2, "wa_ret": 1})


def test_decorator_with_arguments():
    st = profile([more.repeated], lambda: more.repeated(1))
    check(st, more.repeated, more, {"rp_results": 1, "rp_for": 4, "rp_call": 3, "rp_ret": 1})
    check(st, more.repeated.__wrapped__, more, {"rpd_ret": 3})


def test_trivial_functions():
    st = profile([more.docstring_only, more.pass_only],
                 lambda: (more.docstring_only(), more.docstring_only(), more.pass_only()))
    # A docstring-only function's code (its implicit return) sits on the def line.
    first = more.docstring_only.__code__.co_firstlineno
    assert hits_of(st, more.docstring_only) == {first: 2}
    check(st, more.pass_only, more, {"po_pass": 1})


# -- identity of code, caches, runaway recursion -------------------------------------------


def test_bytecode_twins_counted_apart():
    # Identical bytecode in two functions: only the profiled one counts (line_profiler had
    # to pad bytecode to tell such twins apart).
    assert nested.twin_a.__code__.co_code == nested.twin_b.__code__.co_code
    st = profile([nested.twin_a], lambda: (nested.twin_a(1), nested.twin_b(1), nested.twin_b(2)))
    check(st, nested.twin_a, nested, {"ta_mul": 1, "ta_ret": 1})
    assert hits_of(st, nested.twin_b) == {}


def test_lru_cache_wrapped_function():
    nested.cached.cache_clear()
    st = profile([nested.cached], lambda: [nested.cached(n) for n in (1, 2, 1, 2, 1)])
    check(st, nested.cached.__wrapped__, nested, {"cached_ret": 2})  # misses only


def test_recursion_error_unwinds_cleanly():
    from linewise import LineProfiler, _engine

    lp = LineProfiler(nested.bottomless, nested.fact)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        with lp:
            with pytest.raises(RecursionError):
                nested.bottomless(0)
            depth = _engine.diagnostics()["thread_stack_depth"]
            nested.fact(4)
    finally:
        sys.setrecursionlimit(limit)
    assert depth <= 1, f"{depth} frames left on the engine's stack after the unwind"
    st = lp.get_stats()
    check(st, nested.fact, nested, {"fa_base": 4, "fa_one": 1, "fa_rec": 3})
    calls = hits_of(st, nested.bottomless)[line_of(nested, "bl_rec")]
    assert 200 < calls < 300
