"""Faults the profiled program may cause: exceptions, KeyboardInterrupt, sys.exit, abandoned
generators, deep and runaway recursion, threads, fork, profilers enabled, extended or
collected in the middle of things.

Each test checks that the program behaves as it does without the profiler (same results,
same exceptions) and that the profiler's counts are exact where the program is
deterministic, during and after the fault. programs/faults.py marks its lines # L:name.
"""
import _thread
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import pytest

from conftest import TESTS_DIR, backend, hits_of, lines
from linewise import LineProfiler, _engine, load_stats
from programs import faults as F


@pytest.fixture
def lw():
    """A fresh LineProfiler, disabled for sure at the end of the test."""
    lp = LineProfiler()
    yield lp
    lp.disable()


def stack_depth():
    """Records on this thread's profiling stack (0 once every profiled frame has left)."""
    return _engine.diagnostics()["thread_stack_depth"]


def no_negative_times(stats):
    for key, entries in stats.timings.items():
        for lineno, _hits, t in entries:
            assert t >= 0, f"negative time on {key} line {lineno}"


# work(100) run once.
WORK_ONCE = {"wk_init": 1, "wk_for": 101, "wk_body": 100, "wk_ret": 1}


def times(d, k):
    """Every count of d times k."""
    return {m: v * k for m, v in d.items()}


# -- exceptions ----------------------------------------------------------------------------


def tb_entries(exc):
    """(function, line) of the traceback entries inside programs/faults.py."""
    return [(fs.name, fs.lineno) for fs in traceback.extract_tb(exc.__traceback__)
            if fs.filename == F.__file__]


def test_exception_propagates_out_of_profiled_function(lw):
    with pytest.raises(F.Boom) as plain:
        F.calls_thrower(10)
    lw.add_function(F.thrower)
    lw.add_function(F.calls_thrower)
    with lw:
        with pytest.raises(F.Boom) as profiled:
            F.calls_thrower(10)
        assert stack_depth() == 0
    # The same exception, raised from the same place.
    assert profiled.value.args == plain.value.args == (6,)
    assert tb_entries(profiled.value) == tb_entries(plain.value)
    st = lw.get_stats()
    # i = 0, 1, 2 return; i = 3 raises.
    assert hits_of(st, F.thrower) == lines(F, {"th_x": 4, "th_test": 4, "th_raise": 1,
                                               "th_ret": 3})
    assert hits_of(st, F.calls_thrower) == lines(F, {"ct_init": 1, "ct_for": 4, "ct_call": 4})
    no_negative_times(st)
    # Profiling goes on correctly afterwards.
    with lw:
        assert F.calls_thrower(3) == 0 + 2 + 4
    st = lw.get_stats()
    assert hits_of(st, F.thrower) == lines(F, {"th_x": 7, "th_test": 7, "th_raise": 1,
                                               "th_ret": 6})
    assert hits_of(st, F.calls_thrower) == lines(F, {"ct_init": 2, "ct_for": 8, "ct_call": 7,
                                                     "ct_ret": 1})


def test_exception_caught_by_unprofiled_caller_many_times(lw):
    lw.add_function(F.thrower)
    with lw:
        for _ in range(500):
            with pytest.raises(F.Boom):
                F.thrower(3)
        assert stack_depth() == 0
    assert hits_of(lw.get_stats(), F.thrower) == lines(F, {"th_x": 500, "th_test": 500,
                                                           "th_raise": 500})


# -- KeyboardInterrupt ---------------------------------------------------------------------


@pytest.fixture
def default_sigint():
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_keyboard_interrupt_in_profiled_loop(lw, default_sigint):
    plain = []
    with pytest.raises(KeyboardInterrupt):
        F.interrupted_loop(10, 3, plain)
    lw.add_function(F.interrupted_loop)
    counter = []
    with lw:
        with pytest.raises(KeyboardInterrupt):
            F.interrupted_loop(10, 3, counter)
        assert stack_depth() == 0
    assert counter == plain == [0, 1, 2, 3]
    assert hits_of(lw.get_stats(), F.interrupted_loop) == lines(F, {
        "il_for": 4, "il_body": 4, "il_test": 4, "il_signal": 1})
    # And a clean run afterwards adds exactly its own lines.
    lw.reset_stats()
    with lw:
        assert F.interrupted_loop(2, -1, []) == 2
    assert hits_of(lw.get_stats(), F.interrupted_loop) == lines(F, {
        "il_for": 3, "il_body": 2, "il_test": 2, "il_ret": 1})


def test_keyboard_interrupt_from_another_thread(lw, default_sigint):
    """_thread.interrupt_main() lands wherever the loop is; the counts agree with how far
    the program got."""
    lw.add_function(F.spin_until_interrupted)
    counter = [0]
    limit = 10 ** 8

    def interrupter():
        while counter[0] < 2000:
            time.sleep(0.001)
        _thread.interrupt_main()

    t = threading.Thread(target=interrupter)
    with lw:
        t.start()
        with pytest.raises(KeyboardInterrupt):
            F.spin_until_interrupted(counter, limit)
        t.join()
    reached = counter[0]
    assert 2000 <= reached < limit
    hits = hits_of(lw.get_stats(), F.spin_until_interrupted)
    body, store = line_of("sp_body"), line_of("sp_store")
    assert hits[line_of("sp_init")] == 1
    assert reached <= hits[body] <= reached + 1
    assert reached <= hits[store] <= reached + 1
    assert reached <= hits[line_of("sp_while")] <= reached + 1
    assert line_of("sp_ret") not in hits


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_signal_handler_running_profiled_code(lw):
    """A Python signal handler runs profiled code in the middle of a profiled loop, on the
    same thread: both are counted exactly, and the loop carries on."""
    seen = []

    def handler(signum, frame):
        seen.append(F.work(100))

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        lw.add_function(F.signalled_loop)
        lw.add_function(F.work)
        with lw:
            assert F.signalled_loop(5, 2, signal.SIGUSR1) == 10
            assert stack_depth() == 0
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert seen == [4950]
    st = lw.get_stats()
    assert hits_of(st, F.work) == lines(F, WORK_ONCE)
    assert hits_of(st, F.signalled_loop) == lines(F, {
        "sl_init": 1, "sl_for": 6, "sl_test": 5, "sl_raise": 1, "sl_body": 5, "sl_ret": 1})


def line_of(marker):
    from conftest import line_of as _line_of

    return _line_of(F, marker)


# -- sys.exit ------------------------------------------------------------------------------


def test_sys_exit_inside_profiled_function(lw):
    lw.add_function(F.exits)
    with lw:
        with pytest.raises(SystemExit) as info:
            F.exits(3)
        assert stack_depth() == 0
    assert info.value.code == 3
    assert hits_of(lw.get_stats(), F.exits) == lines(F, {"ex_before": 1, "ex_exit": 1})


EXIT_SCRIPT = textwrap.dedent("""
    import atexit, sys
    sys.path.insert(0, {tests!r})
    from programs import faults as F
    if sys.argv[1] == "profile":
        from linewise import LineProfiler
        lp = LineProfiler(F.exits, F.work)
        # Runs at exit with the profiler still enabled.
        atexit.register(lambda: lp.dump_stats({out!r}))
        lp.enable()
    print("work", F.work(4), flush=True)
    F.exits(4)
    print("not reached")
""")


def test_sys_exit_ends_process_as_without_profiler(tmp_path):
    out = tmp_path / "exit.lw"
    script = tmp_path / "exits.py"
    script.write_text(EXIT_SCRIPT.format(tests=TESTS_DIR, out=str(out)))
    runs = {mode: subprocess.run([sys.executable, str(script), mode], capture_output=True,
                                 text=True, timeout=120)
            for mode in ("plain", "profile")}
    for mode, run in runs.items():
        # Same exit status and output; nothing printed by linewise at shutdown (it was
        # still enabled: the legacy backend used to report a failed unhooking here).
        assert run.returncode == 4, (mode, run.stderr)
        assert run.stdout == "work 6\n", (mode, run.stdout)
        assert run.stderr == "", (mode, run.stderr)
    st = load_stats(out)
    assert hits_of(st, F.exits) == lines(F, {"ex_before": 1, "ex_exit": 1})
    assert hits_of(st, F.work) == lines(F, {"wk_init": 1, "wk_for": 5, "wk_body": 4,
                                            "wk_ret": 1})


# -- abandoned generators ------------------------------------------------------------------

# stepping(5) advanced twice, then closed at its second yield.
STEPPED_TWICE_CLOSED = {"sg_init": 1, "sg_try": 1, "sg_for": 2, "sg_yield": 2, "sg_log": 1,
                        "sg_closed": 1}


def test_generator_abandoned_and_collected(lw):
    plain = []
    g = F.stepping(5, plain)
    next(g), next(g)
    del g
    lw.add_function(F.stepping)
    log = []
    with lw:
        g = F.stepping(5, log)
        assert (next(g), next(g)) == (0, 1)
        del g  # finalised now: GeneratorExit at the yield, the finally runs
        assert stack_depth() == 0
    assert log == plain == ["start", 0, "closed"]
    assert hits_of(lw.get_stats(), F.stepping) == lines(F, STEPPED_TWICE_CLOSED)
    assert _engine.diagnostics()["suspended_frames"] == 0
    # A full run afterwards is counted exactly.
    lw.reset_stats()
    with lw:
        assert list(F.stepping(3, [])) == [0, 1, 2]
    assert hits_of(lw.get_stats(), F.stepping) == lines(F, {
        "sg_init": 1, "sg_try": 1, "sg_for": 4, "sg_yield": 3, "sg_log": 3, "sg_closed": 1})


class SharedLog(list):
    """A generator's log that also reports to a list outside the generator's cycle."""

    def __init__(self, shared):
        super().__init__()
        self.shared = shared

    def append(self, item):
        self.shared.append(item)
        super().append(item)


def test_generators_abandoned_in_cycles(lw):
    """Generators kept alive only by a reference cycle are closed by the cycle collector,
    possibly long after, in the middle of other profiled code."""
    lw.add_function(F.stepping)
    lw.add_function(F.work)
    gc.collect()
    gc.disable()
    shared = []
    try:
        with lw:
            for _ in range(50):
                log = SharedLog(shared)
                g = F.stepping(5, log)
                next(g), next(g)
                list.append(log, g)  # the generator's frame holds log: a cycle
                del g, log
            F.work(100)
            assert shared.count("closed") == 0
            gc.collect()  # closes all 50, while profiling is on
            F.work(100)
            assert stack_depth() == 0
    finally:
        gc.enable()
    assert shared == ["start", 0] * 50 + ["closed"] * 50
    st = lw.get_stats()
    assert hits_of(st, F.stepping) == lines(F, times(STEPPED_TWICE_CLOSED, 50))
    assert hits_of(st, F.work) == lines(F, times(WORK_ONCE, 2))
    assert _engine.diagnostics()["suspended_frames"] == 0


def test_generator_abandoned_after_disable_and_after_profiler_died():
    lp = LineProfiler(F.stepping)
    log1, log2 = [], []
    with lp:
        g1 = F.stepping(5, log1)
        g2 = F.stepping(5, log2)
        next(g1), next(g1), next(g2)
    del g1  # closed while the profiler is off: not counted
    st = lp.get_stats()
    assert hits_of(st, F.stepping) == lines(F, {"sg_init": 2, "sg_try": 2, "sg_for": 3,
                                                "sg_yield": 3, "sg_log": 1})
    del lp, st
    gc.collect()
    assert next(g2) == 1  # the profiler that watched it is gone
    del g2
    assert log1 == ["start", 0, "closed"] and log2 == ["start", 0, "closed"]


# -- recursion -----------------------------------------------------------------------------


def current_depth():
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


def test_recursion_up_to_the_limit(lw):
    n = sys.getrecursionlimit() - current_depth() - 30
    assert F.depth(n) == n
    lw.add_function(F.depth)
    with lw:
        assert F.depth(n) == n
        assert stack_depth() == 0
    assert hits_of(lw.get_stats(), F.depth) == lines(F, {"dp_test": n + 1, "dp_zero": 1,
                                                         "dp_rec": n})


def test_very_deep_recursion_in_a_thread(lw):
    """20,000 profiled frames deep (the engine's per-thread stack grows many times), in a
    thread with a big C stack so that every Python version can go that deep."""
    n = 20000
    result = []
    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size()
    lw.add_function(F.depth)
    sys.setrecursionlimit(n + 500)
    try:
        threading.stack_size(512 * 1024 * 1024)
        t = threading.Thread(target=lambda: result.append(F.depth(n)))
        with lw:
            t.start()
            t.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    assert result == [n]
    assert hits_of(lw.get_stats(), F.depth) == lines(F, {"dp_test": n + 1, "dp_zero": 1,
                                                         "dp_rec": n})


def test_recursion_error_while_profiling(lw):
    plain = [0]
    assert F.catch_runaway(plain) == "caught"
    lw.add_function(F.runaway)
    lw.add_function(F.catch_runaway)
    lw.add_function(F.depth)
    counter = [0]
    with lw:
        assert F.catch_runaway(counter) == "caught"
        assert stack_depth() == 0
        assert F.depth(5) == 5  # profiling is still right after the error
    reached = counter[0]
    # The profiler costs no Python recursion depth: the error comes at the same depth.
    assert reached == plain[0]
    st = lw.get_stats()
    assert hits_of(st, F.runaway) == lines(F, {"rw_count": reached, "rw_rec": reached})
    assert hits_of(st, F.catch_runaway) == lines(F, {"cr_try": 1, "cr_call": 1,
                                                     "cr_except": 1, "cr_caught": 1})
    assert hits_of(st, F.depth) == lines(F, {"dp_test": 6, "dp_zero": 1, "dp_rec": 5})


def test_recursion_error_repeatedly(lw):
    lw.add_function(F.runaway)
    with lw:
        for _ in range(20):
            with pytest.raises(RecursionError):
                F.runaway([0])
        assert stack_depth() == 0
    assert _engine.diagnostics()["dropped_events"] == 0


# -- threads -------------------------------------------------------------------------------

def test_threads_started_and_finished_while_enabled(lw):
    lw.add_function(F.work)
    results = []
    with lw:
        threads = [threading.Thread(target=lambda: results.append(F.work(100)))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [4950] * 8
    assert hits_of(lw.get_stats(), F.work) == lines(F, times(WORK_ONCE, 8))


def test_threads_started_in_waves_while_enabled(lw):
    lw.add_function(F.work)
    with lw:
        for _ in range(5):
            threads = [threading.Thread(target=F.work, args=(100,)) for _ in range(4)]
            for t in threads:
                t.start()
            F.work(100)
            for t in threads:
                t.join()
    assert hits_of(lw.get_stats(), F.work) == lines(F, times(WORK_ONCE, 25))


class Stepper:
    """A thread running programs.threaded.stepper one step at a time."""

    def __init__(self, n):
        from programs import threaded

        self.module = threaded
        self.events = [threading.Event() for _ in range(n)]
        self.progress = []
        self.result = []
        self.thread = threading.Thread(
            target=lambda: self.result.append(threaded.stepper(self.events, self.progress)))

    def step(self, k):
        """Lets the thread run its k-th step and waits until it is done with it."""
        self.events[k - 1].set()
        deadline = time.monotonic() + 30
        while len(self.progress) < k:
            assert time.monotonic() < deadline, "stepper thread stuck"
            time.sleep(0.001)


def stepper_hits(module, steps):
    """The stepper's counts for `steps` steps that start and end at its ev.wait() line."""
    return lines(module, {"st_body": steps, "st_progress": steps, "st_for": steps,
                          "st_wait": steps})


def test_thread_still_running_at_disable(lw):
    s = Stepper(6)
    lw.add_function(s.module.stepper)
    with lw:
        s.thread.start()
        s.step(1)
        s.step(2)
    # disable() happened while the thread waits inside the profiled function.
    s.step(3)
    s.step(4)
    with lw:
        s.step(5)
    s.step(6)
    s.thread.join()
    assert s.result == [6]
    hits = hits_of(lw.get_stats(), s.module.stepper)
    # Started while enabled: its first lines up to the first wait, then steps 1, 2 and 5
    # (each runs from the body of one iteration to the wait of the next).
    expected = lines(s.module, {"st_init": 1, "st_for": 4, "st_wait": 4, "st_body": 3,
                                "st_progress": 3})
    assert hits == expected


def test_thread_started_before_enable(lw):
    s = Stepper(4)
    lw.add_function(s.module.stepper)
    s.thread.start()
    s.step(1)
    with lw:
        s.step(2)
        s.step(3)
    s.step(4)
    s.thread.join()
    assert s.result == [4]
    assert hits_of(lw.get_stats(), s.module.stepper) == stepper_hits(s.module, 2)


def test_threads_left_running_by_a_collected_profiler():
    s = Stepper(3)
    lp = LineProfiler(s.module.stepper)
    lp.enable()
    s.thread.start()
    s.step(1)
    del lp
    gc.collect()
    s.step(2)
    s.step(3)
    s.thread.join()
    assert s.result == [3]
    lp2 = LineProfiler(F.work)
    with lp2:
        F.work(100)
    assert hits_of(lp2.get_stats(), F.work) == lines(F, WORK_ONCE)


# -- fork ----------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_while_enabled(lw, tmp_path):
    lw.add_function(F.work)
    lw.add_function(F.forks)
    child_out = tmp_path / "child.lw"
    pid = None
    with lw:
        F.work(100)
        try:
            pid, result = F.forks(100)
        except BaseException:
            if pid == 0:
                os._exit(3)
            raise
        if pid == 0:  # the child: profiles on, saves its own results, never returns
            code = 1
            try:
                F.work(100)
                lw.disable()
                lw.dump_stats(str(child_out))
                code = 0
            finally:
                os._exit(code)
        F.work(100)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert result == 4950
    # The parent: work before the fork, in forks(), after; nothing of the child's.
    st = lw.get_stats()
    assert hits_of(st, F.work) == lines(F, times(WORK_ONCE, 3))
    assert hits_of(st, F.forks) == lines(F, {"fk_fork": 1, "fk_work": 1, "fk_ret": 1})
    # The child: its own counts only; its tables were cleared at the fork (so merging a
    # child's results with the parent's never counts anything twice: linewise._follow).
    child = load_stats(child_out)
    assert hits_of(child, F.work) == lines(F, times(WORK_ONCE, 2))
    assert hits_of(child, F.forks) == lines(F, {"fk_work": 1, "fk_ret": 1})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_can_start_a_new_profiler(lw):
    lw.add_function(F.work)
    r, w = os.pipe()
    with lw:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(r)
                lw.disable()
                lp = LineProfiler(F.work)
                with lp:
                    F.work(100)
                ok = (hits_of(lp.get_stats(), F.work) == lines(F, WORK_ONCE)
                      and hits_of(lw.get_stats(), F.work) == {})
                os.write(w, b"ok" if ok else repr(hits_of(lp.get_stats(), F.work)).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        F.work(100)
    with os.fdopen(r, "rb") as f:
        message = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert message == b"ok"
    assert hits_of(lw.get_stats(), F.work) == lines(F, WORK_ONCE)


# -- enabling, adding and dropping at awkward moments --------------------------------------


def test_enable_from_inside_profiled_loop():
    lp = LineProfiler(F.enables_in_loop)
    try:
        assert F.enables_in_loop(lp, 6, 2) == sum(range(6))
    finally:
        lp.disable()
    # Counted from the first line after enable(): the body of iteration 2, then 3 to 5.
    assert hits_of(lp.get_stats(), F.enables_in_loop) == lines(F, {
        "eil_body": 4, "eil_for": 4, "eil_test": 3, "eil_ret": 1})


def test_function_adding_itself_while_running(lw):
    with lw:
        assert F.adds_itself(lw, 5) == 10
        first = hits_of(lw.get_stats(), F.adds_itself)
        assert F.adds_itself(lw, 5) == 10
    full = {"ai_init": 1, "ai_add": 1, "ai_for": 6, "ai_body": 5, "ai_ret": 1}
    if backend() == "monitoring":
        # Instrumenting a code object reaches its running frame: the rest of it counts.
        assert first == lines(F, {"ai_for": 6, "ai_body": 5, "ai_ret": 1})
    else:
        # The trace hook switched line events off for that frame at its call (it was not
        # profiled then): counting starts with the next call.
        assert first == {}
    assert hits_of(lw.get_stats(), F.adds_itself) == {
        ln: n + first.get(ln, 0) for ln, n in lines(F, full).items()}


def test_function_defined_and_added_while_enabled(lw):
    lw.add_function(F.work)
    namespace = {}
    with lw:
        F.work(100)
        exec(compile("def fresh(n):\n    s = 0\n    for i in range(n):\n        s += i\n"
                     "    return s\n", "<fresh>", "exec"), namespace)
        fresh = namespace["fresh"]
        lw.add_function(fresh)
        assert fresh(10) == 45
        F.work(100)
    st = lw.get_stats()
    assert hits_of(st, fresh) == {2: 1, 3: 11, 4: 10, 5: 1}
    assert hits_of(st, F.work) == lines(F, times(WORK_ONCE, 2))


def test_profiler_collected_while_its_function_runs():
    holder = [LineProfiler(F.drops_profiler)]
    holder[0].enable()
    assert F.drops_profiler(holder, 50) == sum(range(50))  # drops the last reference
    gc.collect()
    assert _engine.diagnostics()["armed_engines"] == 0
    lp = LineProfiler(F.drops_profiler)
    with lp:
        assert F.drops_profiler([], 3) == 3
    assert hits_of(lp.get_stats(), F.drops_profiler) == lines(F, {
        "dr_init": 1, "dr_clear": 1, "dr_for": 4, "dr_body": 3, "dr_ret": 1})


def test_profiler_collected_while_another_watches_the_same_code():
    keeper = LineProfiler(F.work)
    doomed = LineProfiler(F.work)
    with keeper:
        doomed.enable()
        F.work(100)
        del doomed
        gc.collect()
        F.work(100)
    assert hits_of(keeper.get_stats(), F.work) == lines(F, times(WORK_ONCE, 2))


def test_profiler_collected_while_its_generator_is_suspended():
    lp = LineProfiler(F.stepping)
    log = []
    lp.enable()
    g = F.stepping(3, log)
    assert next(g) == 0
    del lp
    gc.collect()
    assert list(g) == [1, 2]
    assert log == ["start", 0, 1, 2, "closed"]
    lp2 = LineProfiler(F.stepping)
    with lp2:
        assert list(F.stepping(1, [])) == [0]
    assert hits_of(lp2.get_stats(), F.stepping) == lines(F, {
        "sg_init": 1, "sg_try": 1, "sg_for": 2, "sg_yield": 1, "sg_log": 1, "sg_closed": 1})


def test_profiler_collected_in_another_thread_while_enabled():
    lp = LineProfiler(F.work)
    lp.enable()
    box = [lp]
    del lp
    t = threading.Thread(target=box.clear)
    t.start()
    t.join()
    gc.collect()
    assert F.work(100) == 4950
    lp2 = LineProfiler(F.work)
    with lp2:
        F.work(100)
    assert hits_of(lp2.get_stats(), F.work) == lines(F, WORK_ONCE)
