"""Generators, coroutines and async generators."""
import asyncio


def countdown(n):
    while n > 0:  # L:cd_while
        yield n  # L:cd_yield
        n -= 1  # L:cd_dec
    return "done"  # L:cd_ret


def echo():
    received = []  # L:ec_init
    try:  # L:ec_try
        while True:  # L:ec_while
            try:  # L:ec_try2
                value = yield len(received)  # L:ec_yield
            except KeyError:  # L:ec_except
                value = "thrown"  # L:ec_thrown
            received.append(value)  # L:ec_append
    finally:  # L:ec_finally
        received.clear()  # L:ec_clear


def delegating(n):
    yield 0  # L:dg_first
    total = yield from countdown(n)  # L:dg_from
    yield total  # L:dg_last


async def add_later(a, b):
    await asyncio.sleep(0)  # L:al_sleep
    c = a + b  # L:al_add
    return c  # L:al_ret


async def gather_adds(n):
    tasks = [add_later(i, i) for i in range(n)]  # L:ga_tasks
    results = await asyncio.gather(*tasks)  # L:ga_gather
    return sum(results)  # L:ga_ret


async def ticker(n):
    for i in range(n):  # L:tk_for
        await asyncio.sleep(0)  # L:tk_sleep
        yield i  # L:tk_yield


async def consume_ticker(n):
    seen = []  # L:ct_init
    async for v in ticker(n):  # L:ct_for
        seen.append(v)  # L:ct_append
    return seen  # L:ct_ret


async def raising_coro():
    await asyncio.sleep(0)  # L:rc_sleep
    raise RuntimeError("boom")  # L:rc_raise
