"""Programs with known allocations, for the memory tests (tests/engine/test_memory.py).

Sizes are chosen far above any interpreter noise (a few hundred bytes per line at most).
"""
N = 5_000_000
BIG = 10_000_000 // 8  # a list of BIG pointers is 10 MB


def make_and_drop(n):
    buf = bytearray(n)  # L:alloc
    size = len(buf)  # L:quiet
    del buf  # L:free
    return size


def keep_loop(n, times):
    kept = []
    for _ in range(times):  # L:loop_head
        kept.append(bytearray(n))  # L:loop_alloc
    return kept


def churn(n, times):
    for _ in range(times):  # L:churn_head
        b = bytearray(n)  # L:churn_alloc
        del b  # L:churn_free
    return times


def build_and_drop_list():
    total = len([None] * BIG)  # L:peak_line
    return total  # L:peak_after


def helper_alloc(n):
    return bytearray(n)  # L:helper


def caller(n):
    x = helper_alloc(n)  # L:caller_call
    y = len(x)  # L:caller_next
    del x  # L:caller_free
    return y


def transient_in_callee(n):
    return len(helper_alloc(n))  # L:transient_call


def gen_alloc(n):
    a = bytearray(n)  # L:gen_before
    yield len(a)  # L:gen_yield
    b = bytearray(2 * n)  # L:gen_after
    yield len(b)


def consume(n):
    g = gen_alloc(n)
    next(g)  # L:consume_first
    outside = bytearray(3 * n)  # L:consume_outside
    next(g)  # L:consume_second
    return len(outside)


def threaded(n, k):
    return bytearray(n * k)  # L:thread_alloc


def np_alloc(n):
    import numpy as np

    a = np.zeros(n)  # L:np_zeros
    b = a + 1.0  # L:np_add
    del a  # L:np_del
    return float(b[0])
