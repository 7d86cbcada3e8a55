"""Tasks for the Dask tests (tests/integrations/test_dask.py): known hit counts per call.

Imported by the Dask workers by name (programs.dask_work): the tests directory is on the
workers' sys.path as it is on pytest's (spawn children inherit it).
"""
import os
import time


def work(n):
    total = 0  # L:w_init
    for i in range(n):  # L:w_loop
        total += i  # L:w_body
    return total, os.getpid()  # L:w_ret


def add(a, b):
    return a + b  # L:add


def double_block(block):
    out = block * 2  # L:db_mul
    return out  # L:db_ret


def hang(flag):
    """Runs until the file `flag` exists; says it started by making flag + ".started"."""
    open(flag + ".started", "w").close()
    while not os.path.exists(flag):
        time.sleep(0.005)
    return os.getpid()
