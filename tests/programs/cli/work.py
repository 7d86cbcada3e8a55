"""Marks functions with @profile (kernprof's convention: `linewise run` puts it in builtins).
What it does after the work depends on sys.argv[1]."""
import pickle
import sys


@profile  # noqa: F821
def work(n):
    total = 0
    for i in range(n):
        total += i  # L:loop_body
    return total


@profile  # noqa: F821
def never_called():
    return 0


class Point:
    def __init__(self, x):
        self.x = x


def main(action):
    print("work", work(10))
    if action == "pickle":
        point = pickle.loads(pickle.dumps(Point(3)))
        print("unpickled", type(point).__module__, point.x)
    elif action == "exit3":
        sys.exit(3)
    elif action == "exit-message":
        sys.exit("custom failure message")
    elif action == "chdir":
        import os

        os.mkdir("elsewhere")
        os.chdir("elsewhere")
    elif action == "raise":
        raise ValueError("boom from the program")
    print("argv", sys.argv)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
