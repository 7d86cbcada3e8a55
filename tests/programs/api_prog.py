"""Functions for the LineProfiler API tests."""
import asyncio


def f(x):
    y = x + 1  # L:f_add
    return y  # L:f_ret


def g(x):
    return x * 2  # L:g_ret


def h():
    return "h"  # L:h_ret


def enables_midway(profiler):
    a = 1  # L:em_before
    profiler.enable()  # L:em_enable
    b = 2  # L:em_after
    return a + b  # L:em_ret


def disables_midway(profiler):
    a = 1  # L:dm_before
    profiler.disable()  # L:dm_disable
    b = 2  # L:dm_after
    return a + b  # L:dm_ret


def gen(n):
    for i in range(n):  # L:gen_for
        received = yield i  # L:gen_yield
        if received is not None:  # L:gen_if
            yield -received  # L:gen_echo


async def coro(x):
    await asyncio.sleep(0)  # L:coro_sleep
    return x + 1  # L:coro_ret


async def agen(n):
    for i in range(n):  # L:agen_for
        await asyncio.sleep(0)  # L:agen_sleep
        yield i  # L:agen_yield


def failing():
    raise KeyError("failing")  # L:fail_raise


class Decorated:
    def method(self):
        return 1  # L:dc_method

    class Inner:
        def inner(self):
            return 2  # L:dc_inner


def identity(x):
    return x  # L:id_ret
