"""Runs until interrupted."""
import time


@profile  # noqa: F821
def tick(i):
    return i * 2


def main():
    i = 0
    while True:
        if i == 1000:
            print("started", flush=True)
        tick(i)
        i += 1
        if i % 100 == 0:
            time.sleep(0.001)


main()
