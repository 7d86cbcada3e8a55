"""Straight-line code, loops, branches, exceptions, with, comprehensions."""
import contextlib


def loop_sum(n):
    total = 0  # L:ls_init
    for i in range(n):  # L:ls_for
        total += i  # L:ls_body
    return total  # L:ls_ret


def while_loop(n):
    i = 0  # L:wl_init
    while i < n:  # L:wl_cond
        i += 1  # L:wl_body
    return i  # L:wl_ret


def break_continue(items):
    found = []  # L:bc_init
    for x in items:  # L:bc_for
        if x < 0:  # L:bc_neg
            continue  # L:bc_cont
        if x > 100:  # L:bc_big
            break  # L:bc_break
        found.append(x)  # L:bc_app
    return found  # L:bc_ret


def early_return(x):
    if x > 0:  # L:er_test
        return "pos"  # L:er_pos
    if x < 0:  # L:er_test2
        return "neg"  # L:er_neg
    return "zero"  # L:er_zero


def raises(x):
    y = x + 1  # L:rs_first
    if y > 0:  # L:rs_test
        raise ValueError(y)  # L:rs_raise
    return y  # L:rs_ret


def catches(n):
    caught = 0  # L:ct_init
    for i in range(n):  # L:ct_for
        try:  # L:ct_try
            raises(i)  # L:ct_call
        except ValueError:  # L:ct_except
            caught += 1  # L:ct_count
    return caught  # L:ct_ret


def try_finally(flag):
    out = []  # L:tf_init
    try:  # L:tf_try
        out.append(1)  # L:tf_body
        if flag:  # L:tf_if
            return out  # L:tf_ret_inner
    finally:  # L:tf_finally
        out.append(2)  # L:tf_fin_body
    out.append(3)  # L:tf_after
    return out  # L:tf_ret


@contextlib.contextmanager
def _ctx():
    yield 1


def with_block():
    acc = 0  # L:wb_init
    with _ctx() as v:  # L:wb_with
        acc += v  # L:wb_body
    return acc  # L:wb_ret


def comprehensions(n):
    squares = [i * i for i in range(n)]  # L:cp_list
    evens = {i for i in range(n) if i % 2 == 0}  # L:cp_set
    pairs = {i: -i for i in range(n)}  # L:cp_dict
    total = sum(i for i in range(n))  # L:cp_gen
    return squares, evens, pairs, total  # L:cp_ret


def multiline(a, b):
    x = (a  # L:ml_x
         + b)  # L:ml_x2
    y = max(  # L:ml_call
        a,  # L:ml_call_a
        b,  # L:ml_call_b
    )  # L:ml_call_end
    z = [  # L:ml_list
        a,  # L:ml_list_a
        b,  # L:ml_list_b
    ]  # L:ml_list_end
    return x, y, z  # L:ml_ret
