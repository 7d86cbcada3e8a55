"""What the live view costs the program: how long one reading of the counters holds the
GIL (the program's threads wait that long), for FUNCTIONS profiled functions of 10 lines
that all ran: Engine.snapshot_into (the live view's copy, plus the per-function sums it
makes with the GIL released: the program waits at most that long) against get_stats (a
tuple per line, all under the GIL), and Counters.take (the copy, then decoding in the
reading thread, which shares the GIL with the program like any thread).

    .venvs/3.13/bin/python benchmarks/live_snapshot.py [FUNCTIONS]

Prints the median of 21 readings of each.
"""
import statistics
import sys
import time

from linewise import LineProfiler
from linewise.snapshot import Counters


def make(n):
    source = "".join(f"def f{i}(x):\n" + "    x += 1\n" * 8 + "    return x\n"
                     for i in range(n))
    namespace = {}
    exec(compile(source, "<bench>", "exec"), namespace)
    return [namespace[f"f{i}"] for i in range(n)]


def median_ms(func, repeat=21):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    functions = make(n)
    profiler = LineProfiler(*functions)
    with profiler:
        for f in functions:
            f(0)
    engine = profiler._engine
    _, size = engine.snapshot_into(bytearray(0))
    buffer = bytearray(size)
    counters = Counters(profiler)
    counters.take()  # sizes its buffer, names the codes once
    lines = sum(len(lines) for _, lines in engine.get_stats())
    print(f"{n} functions, {lines} lines that ran, snapshot {size / 1e6:.2f} MB")
    print(f"  snapshot_into (the program waits at most):   {median_ms(lambda: engine.snapshot_into(buffer)):8.3f} ms")
    print(f"  get_stats     (GIL held throughout):        {median_ms(engine.get_stats):8.3f} ms")
    print(f"  Counters.take (copy + decoding, GIL shared): {median_ms(counters.take):8.3f} ms")


main()
