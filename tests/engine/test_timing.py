"""Time attribution: which line is charged for which wall time.

Never against nominal durations: on a busy machine a 10 ms sleep may take 30. Every wait in
programs/timed.py is a region the program measures itself (time.perf_counter() at its start
and end, per thread, in timed.timeline), and each check compares linewise's figure for a
line with those measurements, so load stretches both sides alike:

- a line that runs a region is charged at least the region's measured time, and at most
  that plus the unmeasured time just before and after each run of it (the gaps to the
  neighbouring records in its thread: the call into the region, the line events, and
  whatever the scheduler took there, which a line may legitimately be charged);
- a line that runs outside every region is charged at most the run's unmeasured time.

Both hold exactly for a correct profiler (the line's span lies inside those bounds), so the
only tolerance is for the two clocks (perf_counter, and linewise's TSC calibrated against
CLOCK_MONOTONIC). scripts/timing-under-load.sh runs this module 20 times with every core
busy.

Each test also shows it catches the bugs it is about: catches() applies a bug's effect to
the figures just measured (what that bug would have reported) and requires the check to
fail on them.
"""
import asyncio
import collections
import re

import pytest

from conftest import line_of, profile, times_of
from programs import timed

LO, HI = 0.97, 1.03  # the clocks' agreement, with room to spare


class Account:
    """The program's own measurements of one run, from timed.timeline:
    spent[name]: the measured time of the region `name`, summed over its runs;
    gaps[name]: the unmeasured time just before and after each run of it (to the previous
        and next record in the same thread);
    unmeasured: the time, summed over threads, during which no region was open."""

    def __init__(self, timeline):
        self.spent = collections.defaultdict(float)
        self.gaps = collections.defaultdict(float)
        self.unmeasured = 0.0
        threads = collections.defaultdict(list)
        for rec in timeline:
            threads[rec[1]].append(rec)
        for recs in threads.values():
            recs.sort(key=lambda rec: rec[0])
            assert recs[0][2] == recs[-1][2] == "mark", "a thread's record is not bounded"
            started, depth = {}, 0
            for i, (at, _tid, kind, name, rid) in enumerate(recs):
                if i and depth == 0:
                    self.unmeasured += at - recs[i - 1][0]
                if kind == "start":
                    depth += 1
                    started[rid] = at
                    self.gaps[name] += at - recs[i - 1][0]
                elif kind == "end":
                    depth -= 1
                    self.spent[name] += at - started.pop(rid)
                    self.gaps[name] += recs[i + 1][0] - at


def run(targets, body):
    """Profiles `targets` while body() runs. Returns (lw, acct): lw maps the marker of each
    line of the targets to the seconds linewise charged it, and each target's __name__ to
    the sum over its lines; acct is the program's own Account of the run."""
    del timed.timeline[:]

    def marked():
        timed.mark()
        body()
        timed.mark()

    st = profile(targets, marked)
    lw = {}
    for func in targets:
        per_line = times_of(st, func)
        lw[func.__name__] = sum(per_line.values())
        for marker in MARKERS:
            if line_of(timed, marker) in per_line:
                lw[marker] = per_line[line_of(timed, marker)]
    return lw, Account(timed.timeline)


def _all_markers():
    with open(timed.__file__, encoding="utf-8") as f:
        return re.findall(r"#\s*L:(\w+)\s*$", f.read(), re.M)


MARKERS = _all_markers()


def within(lw, acct, marker, *regions, gaps_of=()):
    """Asserts that the line `marker` is charged the measured time of `regions` (default:
    the region of its own name), plus at most the gaps around them and around `gaps_of`
    (regions next to which the line also runs)."""
    regions = regions or (marker,)
    measured = sum(acct.spent[r] for r in regions)
    slack = sum(acct.gaps[r] for r in regions + tuple(gaps_of))
    got = lw.get(marker, 0.0)
    assert LO * measured <= got <= HI * (measured + slack), \
        f"line {marker}: linewise {got:.5f} s, measured {measured:.5f} s + {slack:.5f} s gaps"


def outside(lw, acct, what):
    """Asserts that `what` (a line's marker, or a function's name for its lines together),
    which runs in no region, is charged at most the run's unmeasured time."""
    got = lw.get(what, 0.0)
    assert got <= HI * acct.unmeasured, \
        f"{what}: linewise {got:.5f} s, unmeasured {acct.unmeasured:.5f} s"


def catches(check, lw, acct, bug, **figures):
    """Asserts that check(lw, acct) fails once `figures` (marker or function name ->
    seconds) replace linewise's: what the bug named `bug` would have reported."""
    wrong = {**lw, **figures}
    with pytest.raises(AssertionError):
        check(wrong, acct)
        pytest.fail(f"the check misses the bug: {bug}")  # not an AssertionError: escapes


def test_each_line_charged_its_own_sleep():
    lw, acct = run([timed.two_sleeps], lambda: [timed.two_sleeps(0.02, 0.01) for _ in range(3)])

    def check(lw, acct):
        within(lw, acct, "ts_long")
        within(lw, acct, "ts_short")

    check(lw, acct)
    catches(check, lw, acct, "a line charged the time of the line before it",
            ts_long=0.0, ts_short=lw["ts_long"])
    catches(check, lw, acct, "ticks converted to seconds at a slow clock's rate",
            ts_long=lw["ts_long"] * 0.9, ts_short=lw["ts_short"] * 0.9)
    catches(check, lw, acct, "ticks converted to seconds at a fast clock's rate",
            ts_long=lw["ts_long"] * 1.5, ts_short=lw["ts_short"] * 1.5)


@pytest.mark.parametrize("callee_profiled", [False, True])
def test_line_time_includes_callees(callee_profiled):
    targets = [timed.caller, timed.callee] if callee_profiled else [timed.caller]
    lw, acct = run(targets, lambda: [timed.caller(0.01) for _ in range(3)])

    def check(lw, acct):
        within(lw, acct, "cr_call", "ce_sleep")  # the callee's sleep
        within(lw, acct, "cr_sleep")
        if callee_profiled:  # charged to both
            within(lw, acct, "ce_sleep")

    check(lw, acct)
    catches(check, lw, acct, "the calling line charged its own time only", cr_call=0.0)
    if callee_profiled:
        catches(check, lw, acct, "a profiled callee's time charged to it alone",
                cr_call=lw["cr_call"] - lw["ce_sleep"])


def test_generator_not_charged_while_suspended():
    n, work, pause = 4, 0.01, 0.03

    def consume():
        for _ in timed.producer(n, work):
            timed.nap(pause, "pause")  # the consumer's time, not the generator's

    lw, acct = run([timed.producer], consume)

    def check(lw, acct):
        within(lw, acct, "pr_work")
        outside(lw, acct, "pr_yield")
        outside({"rest": lw["producer"] - lw["pr_work"]}, acct, "rest")  # the other lines

    check(lw, acct)
    catches(check, lw, acct, "suspended time charged to the yield",
            pr_yield=lw["pr_yield"] + acct.spent["pause"],
            producer=lw["producer"] + acct.spent["pause"])
    catches(check, lw, acct, "suspended time charged to the line resumed at",
            producer=lw["producer"] + acct.spent["pause"])


def test_await_charged_wall_time_waited():
    lw, acct = run([timed.waiter], lambda: asyncio.run(timed.waiter(0.02, 0.01)))

    def check(lw, acct):
        within(lw, acct, "aw_long")
        within(lw, acct, "aw_short")

    check(lw, acct)
    catches(check, lw, acct, "an await charged nothing while suspended (as a yield is)",
            aw_long=0.0, aw_short=0.0)


def test_async_generator_not_charged_while_suspended():
    n, work, pause = 4, 0.01, 0.03
    lw, acct = run([timed.async_producer, timed.async_consumer],
                   lambda: asyncio.run(timed.async_consumer(n, work, pause)))

    def check(lw, acct):
        within(lw, acct, "ap_work")
        outside(lw, acct, "ap_yield")
        within(lw, acct, "ac_pause")
        # async for waits for the producer's work; its last turn finds the producer done
        # and runs after the last pause.
        within(lw, acct, "ac_for", "ap_work", gaps_of=["ac_pause"])

    check(lw, acct)
    catches(check, lw, acct, "an async generator's suspended time charged to its yield",
            ap_yield=lw["ap_yield"] + acct.spent["ac_pause"])
    catches(check, lw, acct, "async for charged nothing for the __anext__ it awaits",
            ac_for=0.0)
    catches(check, lw, acct, "async for charged the consumer's own awaits too",
            ac_for=lw["ac_for"] + acct.spent["ac_pause"])


def test_threads_measure_their_own_lines():
    """A long sleep in one thread while another runs many short lines: with per-thread
    clocks, neither thread's events cut into the other's lines."""

    def body():
        a = timed.thread(timed.long_nap, 0.08)
        b = timed.thread(timed.short_naps, 30, 0.002)
        a.start()
        b.start()
        a.join()
        b.join()

    lw, acct = run([timed.long_nap, timed.short_naps], body)

    def check(lw, acct):
        within(lw, acct, "ln_sleep")
        within(lw, acct, "sn_sleep")

    check(lw, acct)
    catches(check, lw, acct, "the other thread's line events end the long line",
            ln_sleep=acct.spent["sn_sleep"] / 30)
    catches(check, lw, acct, "the other thread's long line charged to the short ones",
            sn_sleep=lw["sn_sleep"] + acct.spent["ln_sleep"])


def test_same_function_in_two_threads():
    def body():
        threads = [timed.thread(timed.two_sleeps, 0.02, 0.01) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    lw, acct = run([timed.two_sleeps], body)

    def check(lw, acct):  # each thread's runs of the lines summed
        within(lw, acct, "ts_long")
        within(lw, acct, "ts_short")

    check(lw, acct)
    catches(check, lw, acct, "overlapping runs of a line in three threads charged once",
            ts_long=lw["ts_long"] / 3, ts_short=lw["ts_short"] / 3)


def test_yield_from_not_charged_while_consumer_runs():
    n, work, pause = 3, 0.01, 0.03

    def consume():
        for _ in timed.delegator(n, work):
            timed.nap(pause, "pause")

    lw, acct = run([timed.delegator, timed.producer], consume)

    def check(lw, acct):
        within(lw, acct, "pr_work")
        # The yield-from line waits for the inner generator's work, never for the
        # consumer's pauses; its last turn runs after the last pause.
        within(lw, acct, "dl_from", "pr_work", gaps_of=["pause"])
        outside(lw, acct, "pr_yield")

    check(lw, acct)
    catches(check, lw, acct, "yield from charged the consumer's time",
            dl_from=lw["dl_from"] + acct.spent["pause"])
    catches(check, lw, acct, "yield from charged nothing for the inner generator's work",
            dl_from=0.0)


def test_generator_driven_by_send():
    def body():
        g = timed.resumable(0.01)
        next(g)
        for i in range(3):
            g.send(i)
            timed.nap(0.03, "pause")
        g.close()

    lw, acct = run([timed.resumable], body)

    def check(lw, acct):
        within(lw, acct, "rs_work")
        outside({"parked": lw["rs_first"] + lw["rs_yield"]}, acct, "parked")

    check(lw, acct)
    catches(check, lw, acct, "time parked between sends charged to the yield",
            rs_yield=lw["rs_yield"] + acct.spent["pause"])


def test_generator_resumed_in_other_thread_not_charged_while_parked():
    def body():
        g = timed.producer(4, 0.01)
        next(g)
        timed.nap(0.03, "pause")
        th = timed.thread(lambda: [next(g), timed.nap(0.03, "pause"), next(g)])
        th.start()
        timed.region("join", th.join)  # the main thread's wait: not unmeasured time
        timed.nap(0.03, "pause")
        list(g)

    lw, acct = run([timed.producer], body)

    def check(lw, acct):
        within(lw, acct, "pr_work")
        outside({"rest": lw["producer"] - lw["pr_work"]}, acct, "rest")

    check(lw, acct)
    catches(check, lw, acct, "a generator resumed in another thread charged its parked time",
            producer=lw["producer"] + acct.spent["pause"])


@pytest.mark.parametrize("callee_profiled", [False, True])
def test_line_charged_until_callee_raises(callee_profiled):
    targets = [timed.catches_slow_raise]
    if callee_profiled:
        targets.append(timed.sleeps_then_raises)
    lw, acct = run(targets, lambda: timed.catches_slow_raise(0.01))

    def check(lw, acct):
        within(lw, acct, "cs_call", "sr_sleep")  # the callee sleeps, then raises
        within(lw, acct, "cs_sleep")             # in the handler
        outside(lw, acct, "cs_except")           # the except line itself is cheap
        if callee_profiled:
            within(lw, acct, "sr_sleep")

    check(lw, acct)
    catches(check, lw, acct, "the callee's time charged to the except line",
            cs_call=0.0, cs_except=lw["cs_call"])


def test_await_of_profiled_coroutine():
    lw, acct = run([timed.awaits_profiled, timed.waiter],
                   lambda: asyncio.run(timed.awaits_profiled(0.01)))

    def check(lw, acct):
        within(lw, acct, "ap_await", "aw_long", "aw_short")  # the whole of waiter()
        within(lw, acct, "ap_sleep")
        within(lw, acct, "aw_long")
        within(lw, acct, "aw_short")

    check(lw, acct)
    catches(check, lw, acct, "an await of a profiled coroutine charged nothing",
            ap_await=0.0)
    catches(check, lw, acct, "charged only until the coroutine's first suspension",
            ap_await=lw["ap_await"] - acct.spent["aw_long"] - acct.spent["aw_short"])
    catches(check, lw, acct, "the inner coroutine's time charged to the outer line twice",
            ap_await=2 * lw["ap_await"])


def test_concurrent_tasks_each_charged_their_own_time():
    """Four tasks of one coroutine interleave on the event loop: each frame's lines are
    charged its own time. A task's first await waits its sleep plus the blocking of the
    tasks that resumed before it; each task measures that wait itself."""
    n, wait, block = 4, 0.02, 0.01
    lw, acct = run([timed.task_body, timed.many_tasks],
                   lambda: asyncio.run(timed.many_tasks(n, wait, block)))

    def check(lw, acct):
        within(lw, acct, "tb_wait")
        within(lw, acct, "tb_block")
        within(lw, acct, "tb_wait2")
        within(lw, acct, "mt_gather")

    check(lw, acct)
    catches(check, lw, acct, "a task's line charged while other tasks ran (one clock per "
            "thread, not per frame)", tb_block=lw["tb_block"] + acct.spent["tb_wait"])
    catches(check, lw, acct, "a task's awaits charged nothing", tb_wait=0.0, tb_wait2=0.0)
