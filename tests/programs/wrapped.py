"""Functions decorated at import by a module-level LineProfiler (tests/api/test_wrapper.py):
pickled by reference, recursion through the wrapper, methods."""
from linewise import LineProfiler

LP = LineProfiler()


@LP
def fib(n):
    """Recursive: every call goes through the wrapper (the global name)."""
    if n < 2:  # L:fib_if
        return n  # L:fib_base
    return fib(n - 1) + fib(n - 2)  # L:fib_rec


def kw(a, b=2, *rest, c=3, **more):
    return (a, b, rest, c, more)  # L:kw_ret


kw.custom = "kept"
kw = LP(kw)


class Shape:
    def __init__(self, side):
        self.side = side

    @LP
    def area(self, scale=1):
        return self.side * self.side * scale  # L:area_ret

    @classmethod
    @LP
    def unit(cls):
        return cls(1)  # L:unit_ret

    @staticmethod
    @LP
    def double(x):
        return 2 * x  # L:double_ret


@LP
def raises(exc):
    raise exc  # L:raises
