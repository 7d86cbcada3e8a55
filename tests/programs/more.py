"""More statement kinds: match, else clauses, nested handlers, context manager and async
iterator classes, walrus, decorators with arguments, docstring-only functions."""
import asyncio
import functools


def matcher(value):
    match value:  # L:mt_match
        case 0:  # L:mt_zero
            return "zero"  # L:mt_zero_ret
        case [x, y]:  # L:mt_pair
            return x + y  # L:mt_pair_ret
        case {"k": v}:  # L:mt_map
            return v  # L:mt_map_ret
        case _:  # L:mt_default
            return None  # L:mt_default_ret


def else_clauses(items):
    for x in items:  # L:ec_for
        if x < 0:  # L:ec_if
            break  # L:ec_break
    else:
        items = items + [0]  # L:ec_for_else
    n = 0  # L:ec_n
    while n < 2:  # L:ec_while
        n += 1  # L:ec_inc
    else:
        n = -n  # L:ec_while_else
    return items, n  # L:ec_ret


def nested_handlers(x):
    try:  # L:nh_try
        try:  # L:nh_try2
            y = 10 // x  # L:nh_div
        except ZeroDivisionError:  # L:nh_zde
            raise ValueError("zero") from None  # L:nh_reraise
        else:
            y += 1  # L:nh_else
        finally:
            x += 100  # L:nh_finally
    except ValueError:  # L:nh_value
        y = -1  # L:nh_neg
    return x, y  # L:nh_ret


class Resource:
    def __init__(self):
        self.events = []  # L:rc_init

    def __enter__(self):
        self.events.append("enter")  # L:rc_enter
        return self  # L:rc_enter_ret

    def __exit__(self, *exc):
        self.events.append("exit")  # L:rc_exit
        return True  # swallows exceptions  # L:rc_exit_ret


def uses_resource(fail):
    with Resource() as r:  # L:ur_with
        r.events.append("body")  # L:ur_body
        if fail:  # L:ur_if
            raise RuntimeError  # L:ur_raise
    return r.events  # L:ur_ret


class Countdown:
    def __init__(self, n):
        self.n = n  # L:cn_init

    def __aiter__(self):
        return self  # L:cn_aiter

    async def __anext__(self):
        if self.n == 0:  # L:cn_check
            raise StopAsyncIteration  # L:cn_stop
        await asyncio.sleep(0)  # L:cn_sleep
        self.n -= 1  # L:cn_dec
        return self.n  # L:cn_ret


class AsyncResource:
    async def __aenter__(self):
        await asyncio.sleep(0)  # L:ar_enter
        return self  # L:ar_enter_ret

    async def __aexit__(self, *exc):
        return False  # L:ar_exit


async def async_constructs(n):
    out = []  # L:ac_out
    async with AsyncResource():  # L:ac_with
        async for v in Countdown(n):  # L:ac_for
            out.append(v)  # L:ac_append
    return out  # L:ac_ret


def walrus(items):
    kept = []  # L:wa_kept
    for x in items:  # L:wa_for
        if (y := x * 2) > 2:  # L:wa_if
            kept.append(y)  # L:wa_append
    return kept  # L:wa_ret


def repeat(times):
    def deco(func):
        @functools.wraps(func)
        def wrapper(*args):
            results = []  # L:rp_results
            for _ in range(times):  # L:rp_for
                results.append(func(*args))  # L:rp_call
            return results  # L:rp_ret
        return wrapper
    return deco


@repeat(3)
def repeated(x):
    return x + 1  # L:rpd_ret


def docstring_only():
    """Nothing but a docstring."""


def pass_only():
    pass  # L:po_pass
