"""A module profiled whole with add_module."""
import os.path
from functools import reduce  # imported: must not be profiled


def first(x):
    return x + 1  # L:mt_first


def second(x):
    y = first(x)  # L:mt_second_call
    return y * 2  # L:mt_second_ret


class Holder:
    def get(self):
        return second(1)  # L:mt_get

    class Inner:
        def inner(self):
            return 5  # L:mt_inner


join = os.path.join  # a function from another module: must not be profiled
