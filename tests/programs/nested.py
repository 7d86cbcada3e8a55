"""Nested functions, closures, lambdas, recursion and functools.wraps decorators."""
import functools


def outer(n):
    base = 10  # L:ou_base

    def inner(k):  # L:ou_def
        return base + k  # L:in_ret

    results = []  # L:ou_init
    for i in range(n):  # L:ou_for
        results.append(inner(i))  # L:ou_call
    return results  # L:ou_ret


def make_counter():
    count = 0  # L:mc_init

    def bump():  # L:mc_def
        nonlocal count  # L:bump_nonlocal
        count += 1  # L:bump_inc
        return count  # L:bump_ret

    return bump  # L:mc_ret


square = lambda x: x * x  # L:lambda


def one_liner(x): return x + 1  # L:one_liner


def uses_lambda(items):
    return sorted(items, key=lambda v: -v)  # L:ul_sorted


def fact(n):
    if n <= 1:  # L:fa_base
        return 1  # L:fa_one
    return n * fact(n - 1)  # L:fa_rec


def fib(n):
    if n < 2:  # L:fib_base
        return n  # L:fib_n
    return fib(n - 1) + fib(n - 2)  # L:fib_rec


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        before = len(args)  # L:wr_before
        result = func(*args, **kwargs)  # L:wr_call
        return result  # L:wr_ret

    return wrapper


@logged
def decorated(a, b):
    c = a * b  # L:dec_mul
    return c + 1  # L:dec_ret


def plain_decorator(func):
    def wrapper(*args):
        return func(*args)  # L:pw_call
    return wrapper


@plain_decorator
def plainly_decorated(x):
    return x - 1  # L:pd_ret


def twin_a(x):
    y = x * 3  # L:ta_mul
    return y - 1  # L:ta_ret


def twin_b(x):
    y = x * 3  # L:tb_mul
    return y - 1  # L:tb_ret


@functools.lru_cache(maxsize=None)
def cached(n):
    return n * n  # L:cached_ret


def bottomless(n):
    return bottomless(n + 1)  # L:bl_rec
