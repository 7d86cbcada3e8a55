"""Programs whose functions nest in themselves or in each other, for the counted-once
totals and own times (tests/engine/test_own_time.py)."""
import functools


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def is_even(n):
    if n == 0:
        return True
    return is_odd(n - 1)


def is_odd(n):
    if n == 0:
        return False
    return is_even(n - 1)


def wrap(func):
    @functools.wraps(func)
    def wrapper(*args):
        result = func(*args)
        return result
    return wrapper


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


wrapped_work = wrap(work)


def numbers(n):
    for i in range(n):
        yield i


def squares(items):
    for i in items:
        yield i * i


def evens(items):
    for i in items:
        if i % 2 == 0:
            yield i


def pipeline(n):
    total = 0
    for value in evens(squares(numbers(n))):
        total += value
    return total


def loop_add(n):
    total = 0
    for i in range(n):
        total += i
    return total


def loop_mix(n):
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) % 1000003
    return acc


def walkthrough(data):
    ordered = sorted(data)
    total = sum(data)
    first = data[0]
    return ordered, total, first
