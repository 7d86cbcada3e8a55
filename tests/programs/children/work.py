"""The function the child-process tests count (tests/cli/test_children.py)."""


def work(x):
    y = x * 2  # the line counted: once per call
    return y
