"""linewise alongside other tools that watch the same program: coverage.py, the user's own
sys.settrace / sys.setprofile functions, bdb debuggers (what pdb is built on), and on 3.12+
other sys.monitoring tools.

The rule: the other tool sees what it sees without linewise (or, where one trace hook
cannot serve two tools, gets its hook back exactly at disable()), and linewise's counts
stay exact.
"""
import bdb
import sys
import threading
import time

import pytest

from conftest import PY312, backend, hits_of, line_of, lines
from linewise import LineProfiler, _engine
from programs import basic as B
from programs import gens as G

LEGACY = backend() == "legacy"

# What run_program() counts, per function.
EXPECTED = {
    B.loop_sum: {"ls_init": 1, "ls_for": 6, "ls_body": 5, "ls_ret": 1},
    B.catches: {"ct_init": 1, "ct_for": 4, "ct_try": 3, "ct_call": 3, "ct_except": 3,
                "ct_count": 3, "ct_ret": 1},
    B.raises: {"rs_first": 3, "rs_test": 3, "rs_raise": 3},
    B.with_block: {"wb_init": 1, "wb_with": 2, "wb_body": 1, "wb_ret": 1},
    G.countdown: {"cd_while": 4, "cd_yield": 3, "cd_dec": 3, "cd_ret": 1},
}
PROFILED = list(EXPECTED)


def run_program():
    assert B.loop_sum(5) == 10
    assert B.catches(3) == 3
    assert B.with_block() == 1
    assert list(G.countdown(3)) == [3, 2, 1]
    assert B.early_return(0) == "zero"  # never profiled
    assert B.while_loop(3) == 3         # never profiled


def assert_exact(stats):
    for func, expected in EXPECTED.items():
        module = sys.modules[func.__module__]
        assert hits_of(stats, func) == lines(module, expected), func.__name__


def profiled(run):
    lp = LineProfiler(*PROFILED)
    with lp:
        run()
    return lp.get_stats()


@pytest.fixture
def restore_hooks():
    saved = sys.gettrace(), sys.getprofile(), threading.gettrace(), threading.getprofile()
    yield
    sys.settrace(saved[0])
    sys.setprofile(saved[1])
    threading.settrace(saved[2])
    threading.setprofile(saved[3])


# -- coverage.py ---------------------------------------------------------------------------

try:
    import coverage
except ImportError:  # scripts/venv.sh installs it; without it only these tests skip
    coverage = None

needs_coverage = pytest.mark.skipif(coverage is None, reason="coverage.py not installed")

CORES = ["ctrace", "pytrace"] + (["sysmon"] if PY312 else [])


def measure(core, branch, run, monkeypatch):
    """coverage's measurement of basic.py and gens.py while run() runs; with its warnings."""
    monkeypatch.setenv("COVERAGE_CORE", core)
    warnings = []
    cov = coverage.Coverage(data_file=None, config_file=False, branch=branch,
                            include=[B.__file__, G.__file__])
    cov._warn = lambda msg, slug=None, once=False: warnings.append(msg)
    cov.start()
    try:
        run()
    finally:
        cov.stop()
    data = cov.get_data()
    measured = {path: sorted((data.arcs(path) if branch else data.lines(path)) or [])
                for path in (B.__file__, G.__file__)}
    return measured, warnings


def coverage_param(core, branch):
    return pytest.param(core, branch, id=f"{core}{'-branch' if branch else ''}")


COVERAGE_CASES = [coverage_param(c, False) for c in CORES] + [coverage_param("ctrace", True)]


@needs_coverage
@pytest.mark.parametrize("core,branch", COVERAGE_CASES)
def test_coverage_measuring_the_same_code(core, branch, monkeypatch, restore_hooks):
    def run_after():  # code that only runs once profiling is over
        assert B.break_continue([1, -1, 200]) == [1]
        assert B.try_finally(True) == [1, 2]

    def run_plain():
        run_program()
        run_after()

    reference, ref_warnings = measure(core, branch, run_plain, monkeypatch)
    assert reference[B.__file__], "coverage measured nothing: the test is broken"
    stats = {}

    def run_profiled():
        stats["s"] = profiled(run_program)
        run_after()

    measured, warnings = measure(core, branch, run_profiled, monkeypatch)
    assert measured == reference
    assert warnings == ref_warnings
    assert_exact(stats["s"])


@needs_coverage
@pytest.mark.parametrize("core", CORES)
def test_coverage_started_while_profiling(core, monkeypatch, restore_hooks):
    """The other order: linewise on first, coverage started and stopped inside."""
    reference, _ = measure(core, False, run_program, monkeypatch)
    lp = LineProfiler(*PROFILED)
    if LEGACY and core == "ctrace":
        # coverage's C tracer installs itself with PyEval_SetTrace, over whatever the thread
        # had, and removes itself the same way: nothing can stay in front of it. coverage
        # measures as usual; linewise says that it lost the thread.
        with pytest.warns(RuntimeWarning, match="replaced linewise's trace hook"):
            with lp:
                measured, _ = measure(core, False, run_program, monkeypatch)
        assert measured == reference
        assert lp.get_stats().timings == {} or all(
            hits == 0 for entries in lp.get_stats().timings.values() for _, hits, _ in entries)
        return
    with lp:
        measured, _ = measure(core, False, run_program, monkeypatch)
    assert measured == reference
    assert_exact(lp.get_stats())


# -- the user's trace and profile functions ------------------------------------------------


class Recorder:
    """A sys.settrace / sys.setprofile function recording (event, function, line) for the
    test programs' code."""

    def __init__(self, local=True):
        self.events = []
        self.local = local
        self.files = {B.__file__, G.__file__}

    def __call__(self, frame, event, arg):
        if frame.f_code.co_filename in self.files:
            self.events.append((event, frame.f_code.co_name, frame.f_lineno))
        return self if self.local else None


def test_user_profile_function_keeps_receiving_events(restore_hooks):
    ref = Recorder()
    sys.setprofile(ref)
    run_program()
    sys.setprofile(None)
    rec = Recorder()
    sys.setprofile(rec)
    stats = profiled(run_program)
    assert sys.getprofile() is rec
    sys.setprofile(None)
    assert rec.events == ref.events
    assert_exact(stats)


def test_user_trace_function_kept_or_restored_exactly(restore_hooks):
    ref = Recorder()
    sys.settrace(ref)
    run_program()
    sys.settrace(None)
    assert ref.events
    rec = Recorder()
    sys.settrace(rec)
    lp = LineProfiler(*PROFILED)
    with lp:
        run_program()
        during = list(rec.events)
    assert sys.gettrace() is rec
    run_program()  # after disable
    sys.settrace(None)
    # sys.monitoring leaves the trace hook alone; the legacy backend's hook passes every
    # event on to the tracer behind it: either way the tracer sees everything.
    assert during == ref.events
    assert rec.events[len(during):] == ref.events
    assert_exact(lp.get_stats())


def test_user_trace_function_sees_rest_of_running_frame(restore_hooks):
    """A frame traced by the user's function before enable() is traced again after
    disable(), with its local trace function."""
    lp = LineProfiler(B.loop_sum)
    rec = Recorder()

    def body():
        x = 1
        lp.enable()
        B.loop_sum(2)
        lp.disable()
        y = 2
        return x + y

    rec.files = {body.__code__.co_filename}
    sys.settrace(rec)
    body()
    sys.settrace(None)
    names = [(e, ln - body.__code__.co_firstlineno) for e, name, ln in rec.events
             if name == "body"]
    assert names[0] == ("call", 0)
    assert ("line", 1) in names          # x = 1
    assert ("line", 5) in names          # y = 2, after disable
    assert names[-1] == ("return", 6)
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(B, {"ls_init": 1, "ls_for": 3,
                                                            "ls_body": 2, "ls_ret": 1})


def test_trace_function_set_while_enabled_survives_disable(restore_hooks):
    """A debugger or tracer started while linewise is on keeps its hook after disable()."""
    rec = Recorder()
    lp = LineProfiler(B.loop_sum)
    lp.enable()
    B.loop_sum(1)
    sys.settrace(rec)
    lp.disable()
    assert sys.gettrace() is rec
    B.loop_sum(1)
    sys.settrace(None)
    assert ("call", "loop_sum", line_of(B, "ls_init") - 1) in rec.events


def test_other_threads_trace_functions_restored(restore_hooks):
    rec = Recorder()
    ready, go, done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def worker():
        sys.settrace(rec)
        ready.set()
        go.wait()
        seen["trace"] = sys.gettrace()
        B.loop_sum(2)
        sys.settrace(None)
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    ready.wait()
    lp = LineProfiler(B.loop_sum)
    with lp:
        B.loop_sum(1)
    go.set()
    t.join()
    assert seen["trace"] is rec
    assert [e for e in rec.events if e[1] == "loop_sum"][0][0] == "call"
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(B, {"ls_init": 1, "ls_for": 2,
                                                            "ls_body": 1, "ls_ret": 1})


def test_trace_function_saved_and_restored_while_profiling(restore_hooks):
    """Libraries pause tracing with `saved = sys.gettrace(); sys.settrace(None); ...;
    sys.settrace(saved)`; doing so inside a profiled block must change nothing."""
    lp = LineProfiler(*PROFILED)
    lp.enable()
    try:
        saved = sys.gettrace()
        sys.settrace(None)
        sys.settrace(saved)
        try:
            run_program()
        finally:
            restored = sys.gettrace()
            sys.settrace(None)  # whatever happened, leave no stray tracer behind
    finally:
        lp.disable()
    assert restored is saved
    assert_exact(lp.get_stats())


def test_threading_hooks_restored(restore_hooks):
    tracer, profiler = Recorder(), Recorder()
    threading.settrace(tracer)
    threading.setprofile(profiler)
    stats = profiled(run_program)
    assert threading.gettrace() is tracer
    assert threading.getprofile() is profiler
    assert_exact(stats)


# -- tracers behind the legacy backend's hook (they pass on any backend) -------------------


class QuietRecorder(Recorder):
    """A tracer that wants call/return events but switches line events off in its frames."""

    def __call__(self, frame, event, arg):
        result = super().__call__(frame, event, arg)
        frame.f_trace_lines = False
        return result


def test_tracer_switching_lines_off_in_a_profiled_frame(restore_hooks):
    ref = QuietRecorder()
    sys.settrace(ref)
    run_program()
    sys.settrace(None)
    assert not [e for e in ref.events if e[0] == "line"]
    rec = QuietRecorder()
    sys.settrace(rec)
    stats = profiled(run_program)
    sys.settrace(None)
    assert rec.events == ref.events  # still no line events for it
    assert_exact(stats)              # and every line for linewise


class SlowTracer(Recorder):
    """Sleeps on each line event of the test programs: a tracer much slower than the code.
    `slept` is the time its sleeps really took (perf_counter), however long load made them."""

    slept = 0.0

    def __call__(self, frame, event, arg):
        if event == "line" and frame.f_code.co_filename in self.files:
            started = time.perf_counter()
            time.sleep(0.002)
            self.slept += time.perf_counter() - started
        return super().__call__(frame, event, arg)


def test_a_slow_tracer_behind_linewise_is_not_charged_to_lines(restore_hooks):
    rec = SlowTracer()
    sys.settrace(rec)
    lp = LineProfiler(B.loop_sum)
    with lp:
        started = time.perf_counter()
        B.loop_sum(20)
        wall = time.perf_counter() - started
    sys.settrace(None)
    assert sum(1 for e in rec.events if e[0] == "line") >= 40
    timings = lp.get_stats().timings
    total = sum(t for entries in timings.values() for _, _, t in entries) * lp.get_stats().unit
    if backend() == "legacy":
        # The tracer runs inside linewise's hook: its time is taken out of the lines, which
        # are charged at most the part of the run the tracer's sleeps did not take (both
        # measured, so load stretches both). Charging the tracer's time to the lines would
        # make total about `wall`, a hundred times that bound and more.
        assert total <= 1.03 * (wall - rec.slept), (total, wall, rec.slept)
    assert_exact_loop = {"ls_init": 1, "ls_for": 21, "ls_body": 20, "ls_ret": 1}
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(B, assert_exact_loop)


class FailingTracer(Recorder):
    def __call__(self, frame, event, arg):
        result = super().__call__(frame, event, arg)
        if event == "line" and frame.f_code.co_name == "loop_sum":
            raise ValueError("tracer failed")
        return result


def test_a_failing_tracer_behind_linewise(restore_hooks):
    """As without linewise: the tracer's exception reaches the program and the tracer is
    switched off; linewise goes on counting."""
    def run():
        with pytest.raises(ValueError, match="tracer failed"):
            B.loop_sum(3)
        after = sys.gettrace()
        assert B.loop_sum(3) == 3
        return after

    sys.settrace(FailingTracer())
    assert run() is None
    sys.settrace(FailingTracer())
    lp = LineProfiler(B.loop_sum)
    with lp:
        assert run() is None
    sys.settrace(None)
    # sys.monitoring calls the tools of an event from the highest id down and stops at a
    # failing one: sys.settrace's tracer (CPython's ids 6 and 7) goes before linewise's,
    # so the monitoring backend misses the line whose trace call failed.
    failed_line = 2 if backend() == "legacy" else 1
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(
        B, {"ls_init": failed_line, "ls_for": 4, "ls_body": 3, "ls_ret": 1})


def test_sys_settrace_and_gettrace_are_given_back(restore_hooks):
    settrace, gettrace = sys.settrace, sys.gettrace
    lp = LineProfiler(B.loop_sum)
    with lp:
        rec = Recorder()
        sys.settrace(rec)
        assert sys.gettrace() is rec
        B.loop_sum(2)
        sys.settrace(None)
        assert sys.gettrace() is None
        B.loop_sum(2)
    assert sys.settrace is settrace and sys.gettrace is gettrace
    assert sys.gettrace() is None
    assert [e[0] for e in rec.events if e[0] != "line"] == ["call", "return"]
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(
        B, {"ls_init": 2, "ls_for": 6, "ls_body": 4, "ls_ret": 2})


def test_threading_tracer_reaches_threads_started_while_profiling(restore_hooks):
    rec = Recorder()
    threading.settrace(rec)
    lp = LineProfiler(B.loop_sum)
    with lp:
        t = threading.Thread(target=B.loop_sum, args=(3,))
        t.start()
        t.join()
    assert threading.gettrace() is rec
    threading.settrace(None)
    ref = Recorder()
    sys.settrace(ref)
    B.loop_sum(3)
    sys.settrace(None)
    assert rec.events == ref.events
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(
        B, {"ls_init": 1, "ls_for": 4, "ls_body": 3, "ls_ret": 1})


# -- debuggers (bdb, as pdb uses it) -------------------------------------------------------


class BreakpointRecorder(bdb.Bdb):
    """A debugger driven by the program: records each stop and continues."""

    def __init__(self):
        super().__init__()
        self.stops = []

    def user_line(self, frame):
        self.stops.append((frame.f_code.co_name, frame.f_lineno))
        self.set_continue()


def debug_run(run):
    dbg = BreakpointRecorder()
    body = line_of(B, "ls_body")
    ret = line_of(B, "ct_ret")
    assert dbg.set_break(B.__file__, body) is None
    assert dbg.set_break(B.__file__, ret) is None
    try:
        dbg.runcall(run)
    finally:
        dbg.clear_all_breaks()
        sys.settrace(None)
    return [s for s in dbg.stops if s[0] != "run_program" and s[0] != "<lambda>"]


def test_breakpoints_while_profiling(restore_hooks):
    reference = debug_run(run_program)
    assert reference == [("loop_sum", line_of(B, "ls_body"))] * 5 + [
        ("catches", line_of(B, "ct_ret"))]
    lp = LineProfiler(*PROFILED)
    with lp:
        stops = debug_run(run_program)
    assert stops == reference
    assert_exact(lp.get_stats())


def test_profiling_inside_a_debugged_call(restore_hooks):
    reference = debug_run(run_program)
    lp = LineProfiler(*PROFILED)
    stops = debug_run(lambda: lp.runcall(run_program))
    assert stops == reference
    assert_exact(lp.get_stats())


def test_debugger_after_profiling(restore_hooks):
    """Whatever the backend, a debugger started after profiling works as usual."""
    reference = debug_run(run_program)
    stats = profiled(run_program)
    assert debug_run(run_program) == reference
    assert_exact(stats)


def test_breakpoint_inside_a_profiled_function(restore_hooks):
    """pdb.set_trace() / breakpoint() from profiled code: the debugger stops where it
    would, 'continue' runs on, and linewise counts every line."""
    def run():
        dbg = BreakpointRecorder()
        dbg.set_break(B.__file__, line_of(B, "ls_ret"))
        dbg.set_trace()   # stops at the next line, like breakpoint()
        B.loop_sum(3)
        dbg.clear_all_breaks()
        sys.settrace(None)
        return dbg.stops

    reference = run()
    assert reference[-1] == ("loop_sum", line_of(B, "ls_ret"))
    lp = LineProfiler(B.loop_sum)
    with lp:
        stops = run()
    assert stops == reference
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(
        B, {"ls_init": 1, "ls_for": 4, "ls_body": 3, "ls_ret": 1})


def test_debugger_stops_in_a_frame_entered_while_profiling(restore_hooks):
    """Line events switched off in unprofiled frames while profiling are back on after
    disable(): a debugger started later in such a frame steps through it."""
    lp = LineProfiler(B.loop_sum)
    dbg = BreakpointRecorder()

    def unprofiled():
        B.loop_sum(2)
        lp.disable()
        dbg.set_trace()
        x = 1  # the debugger stops here
        return x

    lp.enable()
    try:
        unprofiled()
    finally:
        lp.disable()
        sys.settrace(None)
    first = unprofiled.__code__.co_firstlineno
    assert ("unprofiled", first + 4) in dbg.stops


# -- found by review of the chaining hook (each failed before its fix) ----------------------


def test_linewise_hook_given_to_sys_settrace_then_profiling_again(restore_hooks):
    """threading.gettrace() while profiling is linewise's hook; a program may hand it to
    sys.settrace later. Enabling again must not chain the hook behind itself."""
    lp = LineProfiler(B.loop_sum)
    with lp:
        hook = threading.gettrace()
    sys.settrace(hook)  # a Python-level tracer now, through CPython's trampoline
    lp.enable()         # no call event in between: start finds the trampoline
    try:
        assert B.loop_sum(3) == 3
    finally:
        lp.disable()
    sys.settrace(None)
    gate = threading.Lock()
    gate.acquire()
    errors = []

    def worker():
        sys.settrace(hook)
        with gate:      # blocks in C: no event until profiling is on again
            try:
                B.loop_sum(2)
            except RecursionError as e:
                errors.append(e)

    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.05)
    with lp:
        gate.release()
        t.join()
    assert errors == []
    assert hits_of(lp.get_stats(), B.loop_sum)[line_of(B, "ls_init")] >= 1


def test_sys_settrace_wrapped_by_another_tool(restore_hooks):
    """A tool (pydevd does this) wrapping sys.settrace while linewise's is in place."""
    lp = LineProfiler(B.loop_sum)
    builtin = sys.settrace
    lp.enable()
    mine = sys.settrace
    sys.settrace = lambda fn: mine(fn)
    try:
        lp.disable()   # the wrapper stays
        lp.enable()    # and is what linewise finds in sys now
        rec = Recorder()
        sys.settrace(rec)
        B.loop_sum(2)
        sys.settrace(None)
        lp.disable()
    finally:
        lp.disable()
        sys.settrace = builtin
    assert ("call", "loop_sum", line_of(B, "ls_init") - 1) in rec.events
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(
        B, {"ls_init": 1, "ls_for": 3, "ls_body": 2, "ls_ret": 1})


AUDIT_REFUSES = """
import sys
from linewise import LineProfiler
def f():
    return 1
def g():
    a = 1
    return a
lp = LineProfiler(f)
lp.enable()
def hook(event, args):
    if event == "sys.settrace":
        raise RuntimeError("vetoed")
sys.addaudithook(hook)
unraisable = []
sys.unraisablehook = unraisable.append
for _ in range(5):
    g()
try:
    lp.disable()
except RuntimeError as e:
    print("disable:", e)
for _ in range(5):
    g()
print("unraisable:", len(unraisable), "f:", f())
"""


def test_audit_hook_refusing_sys_settrace(tmp_path):
    """An audit hook vetoing sys.settrace: disable() says it could not restore, and no
    event afterwards retries (or reports) anything."""
    import subprocess
    script = tmp_path / "audit.py"
    script.write_text(AUDIT_REFUSES)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "unraisable: 0 f: 1" in out.stdout, out.stdout
    if backend() == "legacy":
        assert "could not restore" in out.stdout


def gen_lines():
    x = 0
    for i in range(3):
        x += i
        yield i


def traced_lines(run):
    seen = []

    def tracer(frame, event, arg):
        if frame.f_code is gen_lines.__code__ and event == "line":
            seen.append(frame.f_lineno)
        return tracer

    run(tracer)
    return seen


def test_generator_started_while_profiling_traced_later(restore_hooks):
    """An unprofiled generator suspended across disable(), resumed under a debugger or
    tracer set afterwards (or while profiling): it gets every line, as without linewise."""
    def plain(tracer):
        g = gen_lines()
        next(g)
        sys.settrace(tracer)
        list(g)
        sys.settrace(None)

    reference = traced_lines(plain)
    assert len(reference) == 7
    lp = LineProfiler(B.loop_sum)

    def after_disable(tracer):
        lp.enable()
        g = gen_lines()
        next(g)
        lp.disable()
        sys.settrace(tracer)
        list(g)
        sys.settrace(None)

    def while_enabled(tracer):
        with lp:
            g = gen_lines()
            next(g)
            sys.settrace(tracer)
            list(g)
            sys.settrace(None)

    assert traced_lines(after_disable) == reference
    assert traced_lines(while_enabled) == reference


def test_generator_profiled_while_suspended():
    lp = LineProfiler(B.loop_sum)
    with lp:
        g = gen_lines()
        next(g)
        lp.add_function(gen_lines)
        assert list(g) == [1, 2]
    hits = hits_of(lp.get_stats(), gen_lines)
    first = gen_lines.__code__.co_firstlineno
    assert hits == {first + 2: 3, first + 3: 2, first + 4: 2}


def test_tracer_quiet_in_a_generator_stays_quiet(restore_hooks):
    """A tracer that switches line events off in a generator at its first call only."""
    def run(profile):
        lines_seen, started = [], set()

        def tracer(frame, event, arg):
            if frame.f_code is G.countdown.__code__:
                if event == "call" and id(frame) not in started:
                    started.add(id(frame))
                    frame.f_trace_lines = False
                elif event == "line":
                    lines_seen.append(frame.f_lineno)
            return tracer

        lp = LineProfiler(G.countdown)
        sys.settrace(tracer)
        if profile:
            lp.enable()
        assert list(G.countdown(3)) == [3, 2, 1]
        if profile:
            lp.disable()
        sys.settrace(None)
        return lines_seen, lp.get_stats()

    assert run(False)[0] == []
    seen, stats = run(True)
    assert seen == []
    assert hits_of(stats, G.countdown) == lines(G, EXPECTED[G.countdown])


def test_tracer_quiet_in_a_frame_gets_it_back_quiet_at_disable(restore_hooks):
    lines_seen = []
    lp = LineProfiler()

    def f():
        a = 1
        lp.disable()
        b = 2
        return a + b

    lp.add_function(f)

    def tracer(frame, event, arg):
        if frame.f_code is f.__code__:
            if event == "call":
                frame.f_trace_lines = False
            elif event == "line":
                lines_seen.append(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    lp.enable()
    assert f() == 3
    sys.settrace(None)
    assert lines_seen == []


def test_thread_started_just_before_enable_gets_threading_hook(restore_hooks):
    """threading's new thread reads its hook after start() returns: one started just
    before enable() must still get the user's threading.settrace hook behind linewise."""
    def run(profile):
        calls = []

        def tracer(frame, event, arg):
            if frame.f_code is B.loop_sum.__code__:
                calls.append(event)
            return None

        go = threading.Event()

        class Started(threading.Event):  # park the thread after start() returned
            def set(self):
                super().set()
                go.wait()

        class Parked(threading.Thread):
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                self._started = Started()

        threading.settrace(tracer)
        lp = LineProfiler(B.loop_sum)
        t = Parked(target=B.loop_sum, args=(2,))
        t.start()
        if profile:
            lp.enable()
        go.set()
        t.join()
        if profile:
            lp.disable()
        threading.settrace(None)
        return calls

    assert run(False) == ["call"]
    assert run(True) == ["call"]


# -- other sys.monitoring tools (3.12+) ----------------------------------------------------

needs_monitoring = pytest.mark.skipif(not PY312, reason="sys.monitoring is 3.12+")


@pytest.fixture
def free_tool_ids():
    if not PY312:
        pytest.skip("sys.monitoring is 3.12+")
    mon = sys.monitoring
    taken = {i: mon.get_tool(i) for i in range(6) if mon.get_tool(i) is not None}
    if taken:
        pytest.skip(f"sys.monitoring tool ids in use: {taken}")
    # Forget DISABLEs that earlier tools (coverage's sysmon core) left on these ids.
    mon.restart_events()
    claimed = []
    yield claimed
    for i in claimed:
        if mon.get_tool(i) is not None:
            mon.set_events(i, 0)
            for ev in (mon.events.LINE, mon.events.PY_START, mon.events.PY_RETURN,
                       mon.events.CALL, mon.events.BRANCH, mon.events.JUMP):
                mon.register_callback(i, ev, None)
            mon.free_tool_id(i)


class MonitoringRecorder:
    """A sys.monitoring tool recording starts, lines, returns and calls globally."""

    def __init__(self, tool, claimed):
        self.tool = tool
        self.events = []
        mon = sys.monitoring
        mon.use_tool_id(tool, f"test-tool-{tool}")
        claimed.append(tool)
        codes = {c.__code__ for c in (B.loop_sum, B.catches, B.raises, B.with_block,
                                      B.early_return, B.while_loop, G.countdown)}
        files = {B.__file__, G.__file__}

        def on_line(code, line):
            if code in codes:
                self.events.append(("line", code.co_name, line))

        def on_start(code, offset):
            if code in codes:
                self.events.append(("start", code.co_name))

        def on_return(code, offset, value):
            if code in codes:
                self.events.append(("return", code.co_name))

        def on_call(code, offset, callable_, arg0):
            if code.co_filename in files:
                self.events.append(("call", code.co_name, getattr(callable_, "__name__", "?")))

        ev = mon.events
        mon.register_callback(tool, ev.LINE, on_line)
        mon.register_callback(tool, ev.PY_START, on_start)
        mon.register_callback(tool, ev.PY_RETURN, on_return)
        mon.register_callback(tool, ev.CALL, on_call)
        mon.set_events(tool, ev.LINE | ev.PY_START | ev.PY_RETURN | ev.CALL)

    def stop(self):
        sys.monitoring.set_events(self.tool, 0)


def test_monitoring_tool_watching_everything(free_tool_ids):
    mon = sys.monitoring
    ref = MonitoringRecorder(mon.DEBUGGER_ID, free_tool_ids)
    run_program()
    ref.stop()
    # Not COVERAGE_ID: coverage's sysmon core (earlier tests) frees it with its local
    # events still set, and a later user of that id then misses LINE events (CPython
    # 3.12/3.13 behaviour, with or without linewise).
    rec = MonitoringRecorder(mon.OPTIMIZER_ID, free_tool_ids)
    stats = profiled(run_program)
    rec.stop()
    assert rec.events == ref.events
    assert_exact(stats)


def test_linewise_takes_the_one_free_tool_id(free_tool_ids):
    mon = sys.monitoring
    for i in range(6):
        if i != 0:
            mon.use_tool_id(i, f"squatter-{i}")
            free_tool_ids.append(i)
    lp = LineProfiler(*PROFILED)
    lp.enable()
    try:
        if backend() == "monitoring":
            assert mon.get_tool(0) == "linewise"
        run_program()
    finally:
        lp.disable()
    assert mon.get_tool(0) is None
    assert_exact(lp.get_stats())


def test_every_tool_id_taken(free_tool_ids):
    mon = sys.monitoring
    for i in range(6):
        mon.use_tool_id(i, f"squatter-{i}")
        free_tool_ids.append(i)
    lp = LineProfiler(*PROFILED)
    if backend() == "monitoring":
        with pytest.raises(RuntimeError, match="tool id"):
            lp.enable()
        assert not lp._engine.enabled and not lp._engine.armed
        assert _engine.diagnostics()["armed_engines"] == 0
        run_program()  # runs as usual
        mon.free_tool_id(5)
        free_tool_ids.remove(5)
    with lp:
        run_program()
    assert_exact(lp.get_stats())


def test_restart_events_by_another_tool(free_tool_ids):
    """Another tool's restart_events() (re-arming what tools DISABLEd) changes nothing."""
    mon = sys.monitoring
    tool = mon.OPTIMIZER_ID
    mon.use_tool_id(tool, "disabler")
    free_tool_ids.append(tool)
    mon.register_callback(tool, mon.events.LINE, lambda code, line: mon.DISABLE)
    mon.set_events(tool, mon.events.LINE)
    lp = LineProfiler(*PROFILED)
    with lp:
        run_program()
        mon.restart_events()
        run_program()
    mon.set_events(tool, 0)
    stats = lp.get_stats()
    for func, expected in EXPECTED.items():
        module = sys.modules[func.__module__]
        assert hits_of(stats, func) == lines(module, {k: 2 * v for k, v in expected.items()})


@needs_coverage
@needs_monitoring
def test_cprofile_and_coverage_and_linewise_together(monkeypatch, restore_hooks):
    """Three tools at once on 3.12+: cProfile and coverage (sysmon core) are sys.monitoring
    tools, so this works with either linewise backend."""
    import cProfile

    reference, _ = measure("sysmon", False, run_program, monkeypatch)
    prof = cProfile.Profile()
    stats = {}

    def run():
        prof.enable()
        try:
            stats["s"] = profiled(run_program)
        finally:
            prof.disable()

    measured, _ = measure("sysmon", False, run, monkeypatch)
    assert measured == reference
    assert_exact(stats["s"])


@pytest.mark.skipif(not PY312 or not LEGACY, reason="legacy backend, 3.12+")
def test_settrace_all_threads_while_profiling_is_warned(restore_hooks):
    """threading.settrace_all_threads() sets every thread's C trace function directly:
    linewise's hook cannot stay in front, and disable() says so."""
    rec = Recorder()
    lp = LineProfiler(B.loop_sum)
    lp.enable()
    try:
        threading.settrace_all_threads(rec)
        B.loop_sum(2)
    finally:
        with pytest.warns(RuntimeWarning, match="replaced linewise's trace hook"):
            lp.disable()
        threading.settrace_all_threads(None)
    assert ("call", "loop_sum", line_of(B, "ls_init") - 1) in rec.events


@needs_monitoring
def test_our_callbacks_called_by_hand_with_anything_do_nothing():
    # sys.monitoring hands a tool's callbacks to whoever asks (register_callback returns
    # the one it replaces); the engine reads its first argument as a code object in place.
    if _engine.backend != "monitoring":
        pytest.skip("the sys.monitoring backend's callbacks")
    mon = sys.monitoring
    lp = LineProfiler(B.loop_sum)
    with lp:
        tool = next(i for i in range(6) if mon.get_tool(i) == "linewise")
        on_line = mon.register_callback(tool, mon.events.LINE, None)
        mon.register_callback(tool, mon.events.LINE, on_line)
        for junk in ("not code", 7, None, B.loop_sum, object()):
            assert on_line(junk, 3) is None
        assert on_line(B.with_block.__code__, 3) is None  # code it does not profile
        B.loop_sum(5)
    assert hits_of(lp.get_stats(), B.loop_sum) == lines(B, EXPECTED[B.loop_sum])
