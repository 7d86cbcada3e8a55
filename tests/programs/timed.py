"""Programs whose lines take known amounts of wall time (sleeps), for ratio checks."""
import asyncio
import time


def two_sleeps(long, short):
    time.sleep(long)  # L:ts_long
    time.sleep(short)  # L:ts_short


def callee(d):
    time.sleep(d)  # L:ce_sleep


def caller(d):
    callee(2 * d)  # L:cr_call
    time.sleep(d)  # L:cr_sleep


def producer(n, work):
    for i in range(n):  # L:pr_for
        time.sleep(work)  # L:pr_work
        yield i  # L:pr_yield


async def waiter(long, short):
    await asyncio.sleep(long)  # L:aw_long
    await asyncio.sleep(short)  # L:aw_short


async def async_producer(n, work):
    for i in range(n):  # L:ap_for
        time.sleep(work)  # L:ap_work
        yield i  # L:ap_yield


async def async_consumer(n, work, pause):
    async for _ in async_producer(n, work):  # L:ac_for
        await asyncio.sleep(pause)  # L:ac_pause


def long_nap(d):
    time.sleep(d)  # L:ln_sleep


def short_naps(n, d):
    for _ in range(n):  # L:sn_for
        time.sleep(d)  # L:sn_sleep


def delegator(n, work):
    yield from producer(n, work)  # L:dl_from


def sleeps_then_raises(d):
    time.sleep(d)  # L:sr_sleep
    raise ValueError("late")  # L:sr_raise


def catches_slow_raise(d):
    try:  # L:cs_try
        sleeps_then_raises(2 * d)  # L:cs_call
    except ValueError:  # L:cs_except
        time.sleep(d)  # L:cs_sleep


async def awaits_profiled(d):
    await waiter(2 * d, d)  # L:ap_await
    await asyncio.sleep(d)  # L:ap_sleep


def resumable(work):
    received = yield  # L:rs_first
    while received is not None:  # L:rs_while
        time.sleep(work)  # L:rs_work
        received = yield received  # L:rs_yield


async def task_body(wait, block):
    await asyncio.sleep(wait)  # L:tb_wait
    time.sleep(block)  # L:tb_block
    await asyncio.sleep(wait)  # L:tb_wait2


async def many_tasks(n, wait, block):
    await asyncio.gather(*[task_body(wait, block) for _ in range(n)])  # L:mt_gather
