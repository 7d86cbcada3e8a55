"""Programs that misbehave: exceptions, interrupts, exits, abandoned generators, runaway
recursion, threads, fork. Used by tests/engine/test_faults.py; lines marked # L:name."""
import os
import signal
import sys


class Boom(Exception):
    pass


def thrower(n):
    x = n * 2  # L:th_x
    if x > 4:  # L:th_test
        raise Boom(x)  # L:th_raise
    return x  # L:th_ret


def calls_thrower(n):
    total = 0  # L:ct_init
    for i in range(n):  # L:ct_for
        total += thrower(i)  # L:ct_call
    return total  # L:ct_ret


def interrupted_loop(n, stop_at, counter):
    """Raises KeyboardInterrupt through a real SIGINT at iteration stop_at."""
    for i in range(n):  # L:il_for
        counter.append(i)  # L:il_body
        if i == stop_at:  # L:il_test
            signal.raise_signal(signal.SIGINT)  # L:il_signal
    return len(counter)  # L:il_ret


def spin_until_interrupted(counter, limit):
    """Loops until an outside KeyboardInterrupt (or `limit` rounds)."""
    i = 0  # L:sp_init
    while i < limit:  # L:sp_while
        i += 1  # L:sp_body
        counter[0] = i  # L:sp_store
    return i  # L:sp_ret


def exits(code):
    a = 1  # L:ex_before
    sys.exit(code)  # L:ex_exit
    return a  # L:ex_after


def stepping(n, log):
    """A generator yielding n values, with a finally that records its closing."""
    log.append("start")  # L:sg_init
    try:  # L:sg_try
        for i in range(n):  # L:sg_for
            yield i  # L:sg_yield
            log.append(i)  # L:sg_log
    finally:  # L:sg_finally
        log.append("closed")  # L:sg_closed


def depth(n):
    if n == 0:  # L:dp_test
        return 0  # L:dp_zero
    return 1 + depth(n - 1)  # L:dp_rec


def runaway(counter):
    counter[0] += 1  # L:rw_count
    return runaway(counter)  # L:rw_rec


def catch_runaway(counter):
    try:  # L:cr_try
        runaway(counter)  # L:cr_call
    except RecursionError:  # L:cr_except
        return "caught"  # L:cr_caught
    return "not caught"  # L:cr_ret


def work(n):
    total = 0  # L:wk_init
    for i in range(n):  # L:wk_for
        total += i  # L:wk_body
    return total  # L:wk_ret


def enables_in_loop(profiler, n, at):
    total = 0  # L:eil_init
    for i in range(n):  # L:eil_for
        if i == at:  # L:eil_test
            profiler.enable()  # L:eil_enable
        total += i  # L:eil_body
    return total  # L:eil_ret


def adds_itself(profiler, n):
    total = 0  # L:ai_init
    profiler.add_function(adds_itself)  # L:ai_add
    for i in range(n):  # L:ai_for
        total += i  # L:ai_body
    return total  # L:ai_ret


def drops_profiler(holder, n):
    total = 0  # L:dr_init
    holder.clear()  # L:dr_clear
    for i in range(n):  # L:dr_for
        total += i  # L:dr_body
    return total  # L:dr_ret


def forks(n):
    """Forks; each process then runs work(n). Returns (pid, work result)."""
    pid = os.fork()  # L:fk_fork
    result = work(n)  # L:fk_work
    return pid, result  # L:fk_ret


def signalled_loop(n, at, signum):
    """Raises signal `signum` at iteration `at`; its handler runs on this thread, on top of
    this frame."""
    total = 0  # L:sl_init
    for i in range(n):  # L:sl_for
        if i == at:  # L:sl_test
            signal.raise_signal(signum)  # L:sl_raise
        total += i  # L:sl_body
    return total  # L:sl_ret
