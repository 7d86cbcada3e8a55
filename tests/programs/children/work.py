"""The function the child-process tests count (tests/cli/test_children.py)."""


def work(x):
    y = x * 2  # L:body
    return y
