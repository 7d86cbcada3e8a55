"""For `linewise run --live`: one line is by far the hottest (a C call summing a range),
and the program runs until the file named by argv[1] exists, printing one numbered line
per round to stdout, and one line to stderr at the start, so a test can tell that it goes
on and that its output reached the file whole."""
import os
import sys

STOP = sys.argv[1]


@profile
def hot():  # L:hot_def
    total = 0
    for _ in range(20):  # L:hot_loop
        total += sum(range(20000))  # L:hot
    return total


@profile
def cold(n):
    return n + 1  # L:cold


def main():
    print("program started", flush=True)
    print("a line to stderr", file=sys.stderr, flush=True)
    rounds = 0
    while not os.path.exists(STOP):
        hot()
        cold(rounds)
        rounds += 1
        print(f"round {rounds}", flush=True)
    print(f"program done after {rounds} rounds", flush=True)


main()
