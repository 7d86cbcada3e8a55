"""Counting copies (sys.monitoring): whatever happens to the decorated functions while one
of their frames runs, the engine that frame's start counted up is the one its end counts
down, once. A review found each of these unbalanced or reading freed memory."""
import gc
import textwrap
import types

import pytest

from conftest import run_python
from linewise import LineProfiler, _engine
from linewise._codes import line_range

pytestmark = pytest.mark.skipif(_engine.backend != "monitoring",
                                reason="counting copies: sys.monitoring")


def hits(lp, code):
    return [h for _, h, _ in lp.get_stats().timings[lp.key_for(code)]]


def test_decorating_a_decorated_function_again_wraps_it_and_its_copy_keeps_counting():
    def f(x):
        return x + 1

    lp = LineProfiler()
    once = lp(f)
    twice = lp(once)
    assert type(twice) is _engine.Wrapper and twice.__wrapped__ is once
    assert twice(1) == 2 and lp.enable_count == 0
    del twice
    gc.collect()
    # The wrapper's going does not stop the copy under it from counting.
    assert lp._engine.counting_codes == 1
    assert once(2) == 3 and lp.enable_count == 0
    assert hits(lp, f.__code__) == [2]


def test_a_decorated_function_that_drops_another_decorating_it_still_counts_down():
    lp = LineProfiler()
    seen = []

    def h():
        global _other
        del _other
        gc.collect()
        seen.append(lp.enable_count)

    h = lp(h)
    globals()["_other"] = lp(h)
    h()
    assert seen == [1] and lp.enable_count == 0 and not lp._engine.enabled


def test_a_second_profiler_decorating_a_running_function_is_not_counted_down_by_it():
    lp1, lp2 = LineProfiler(), LineProfiler()
    made = []

    def f():
        made.append(lp2(f_decorated))

    f_decorated = lp1(f)
    with lp2:
        f_decorated()
        assert lp2.enable_count == 1 and lp2._engine.enabled
    assert lp1.enable_count == lp2.enable_count == 0
    made[0]()  # lp2's wrapper over lp1's copy: both count
    # lp2 took the code in the line's middle: its hit there was lp1's only.
    assert hits(lp1, f.__code__) == [2] and hits(lp2, f.__code__) == [1]


def test_engine_counts_one_engine_per_code():
    def f():
        return 1

    code = f.__code__.replace()
    one, two = _engine.Engine(), _engine.Engine()
    one.add_code(code, *line_range(code), counting=True)
    for engine in (one, two):
        with pytest.raises(ValueError, match="already counts an engine"):
            engine.add_code(code, *line_range(code), counting=True)
    assert one.counting_codes == 1 and two.counting_codes == 0 and not two.armed
    one.uncount_code(code)
    assert not one.armed


def test_an_engine_dying_with_counting_code_does_not_stop_another_counting_down():
    def body():
        def dummy():
            pass

        short_lived = _engine.Engine()
        other = dummy.__code__.replace()
        short_lived.add_code(other, *line_range(other), counting=True)
        del short_lived
        return engine.enable_count

    engine = _engine.Engine()
    code = body.__code__.replace()
    engine.add_code(code, *line_range(code), counting=True)
    copy = types.FunctionType(code, body.__globals__, "body", None, body.__closure__)
    assert copy() == 1
    assert engine.enable_count == 0 and not engine.enabled
    engine.uncount_code(code)


def test_a_frame_left_unseen_holds_its_engine_not_freed_code(tmp_path):
    """The decorated function goes and its profiler is disabled while a frame of it runs,
    so its return is not seen; the profiler and code then go too. The stale record must
    keep what it counts down (it read a freed code entry: ASan's heap-use-after-free)."""
    script = textwrap.dedent("""
        import gc, linewise
        keep = linewise.LineProfiler()
        keep.enable()  # the backend stays started: no new epoch forgets the record
        lp = linewise.LineProfiler()

        @lp
        def f():
            global g
            del g
            gc.collect()
            lp.disable()

        g = lp(f)
        f()
        del f, lp
        gc.collect()

        def run():
            keep.add_function(run)  # its next line resyncs the stack past the stale record
            x = 1
            return x

        assert run() == 1
        keep.disable()
        print("ok")
    """)
    done = run_python("-c", script, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
    assert "ERROR: AddressSanitizer" not in done.stderr
