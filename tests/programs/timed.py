"""Programs whose lines wait, for checks of time attribution. Every wait is a measured
region: region() and waited() record time.perf_counter() at its start and end in
`timeline`, with the thread, so a test can compare linewise's figure for a line with what
the program measured itself for the same region, and knows how much time went unmeasured
around it. Under load a 10 ms sleep may take 30: both sides see the 30.
"""
import asyncio
import itertools
import threading
import time

# (perf_counter seconds, thread ident, "start" | "end" | "mark", region name, region id),
# appended by every thread (list.append is atomic); "mark" bounds a thread's record.
timeline = []
_ids = itertools.count()


def _note(kind, name=None, rid=None):
    timeline.append((time.perf_counter(), threading.get_ident(), kind, name, rid))


def mark():
    """Records the start or end of this thread's part in a run."""
    _note("mark")


def region(name, func, *args):
    """func(*args), recorded as one run of the region `name`."""
    rid = next(_ids)
    _note("start", name, rid)
    try:
        return func(*args)
    finally:
        _note("end", name, rid)


def nap(seconds, name):
    region(name, time.sleep, seconds)


async def waited(awaitable, name):
    """Awaits `awaitable`, recorded as a run of the region `name`: from the await to the
    resumption after it."""
    rid = next(_ids)
    _note("start", name, rid)
    try:
        return await awaitable
    finally:
        _note("end", name, rid)


def thread(func, *args):
    """A threading.Thread running func(*args), its part of the record bounded by marks."""
    def run():
        mark()
        try:
            func(*args)
        finally:
            mark()
    return threading.Thread(target=run)


def two_sleeps(long, short):
    nap(long, "ts_long")  # L:ts_long
    nap(short, "ts_short")  # L:ts_short


def callee(d):
    nap(d, "ce_sleep")  # L:ce_sleep


def caller(d):
    callee(2 * d)  # L:cr_call
    nap(d, "cr_sleep")  # L:cr_sleep


def producer(n, work):
    for i in range(n):  # L:pr_for
        nap(work, "pr_work")  # L:pr_work
        yield i  # L:pr_yield


async def waiter(long, short):
    await waited(asyncio.sleep(long), "aw_long")  # L:aw_long
    await waited(asyncio.sleep(short), "aw_short")  # L:aw_short


async def async_producer(n, work):
    for i in range(n):  # L:ap_for
        nap(work, "ap_work")  # L:ap_work
        yield i  # L:ap_yield


async def async_consumer(n, work, pause):
    async for _ in async_producer(n, work):  # L:ac_for
        await waited(asyncio.sleep(pause), "ac_pause")  # L:ac_pause


def long_nap(d):
    nap(d, "ln_sleep")  # L:ln_sleep


def short_naps(n, d):
    for _ in range(n):  # L:sn_for
        nap(d, "sn_sleep")  # L:sn_sleep


def delegator(n, work):
    yield from producer(n, work)  # L:dl_from


def sleeps_then_raises(d):
    nap(d, "sr_sleep")  # L:sr_sleep
    raise ValueError("late")  # L:sr_raise


def catches_slow_raise(d):
    try:  # L:cs_try
        sleeps_then_raises(2 * d)  # L:cs_call
    except ValueError:  # L:cs_except
        nap(d, "cs_sleep")  # L:cs_sleep


async def awaits_profiled(d):
    await waiter(2 * d, d)  # L:ap_await
    await waited(asyncio.sleep(d), "ap_sleep")  # L:ap_sleep


def resumable(work):
    received = yield  # L:rs_first
    while received is not None:  # L:rs_while
        nap(work, "rs_work")  # L:rs_work
        received = yield received  # L:rs_yield


async def task_body(wait, block):
    await waited(asyncio.sleep(wait), "tb_wait")  # L:tb_wait
    nap(block, "tb_block")  # L:tb_block
    await waited(asyncio.sleep(wait), "tb_wait2")  # L:tb_wait2


async def many_tasks(n, wait, block):
    tasks = [task_body(wait, block) for _ in range(n)]  # L:mt_tasks
    await waited(asyncio.gather(*tasks), "mt_gather")  # L:mt_gather
