"""What profiling costs while coverage.py measures the same code (as under `pytest --cov`).

Runs one loop bare, under coverage alone, under linewise alone and under both (coverage
started first, linewise inside), interleaved, and prints the medians as multiples of the
bare time. With the legacy backend coverage's tracer sits behind linewise's trace hook, so
"both" should cost about what the two cost apart; with sys.monitoring they never meet.

    .venvs/3.11/bin/python benchmarks/with_coverage.py [--reps 9] [--n 200000]
"""
import argparse
import os
import statistics
import sys
import time

import coverage

from linewise import LineProfiler, _engine


def work(n):
    total = 0
    for i in range(n):
        total += i * 2
        if total % 7 == 0:
            total -= 1
    return total


def once(mode, n):
    cov = coverage.Coverage(data_file=None, config_file=False) if "cov" in mode else None
    lp = LineProfiler(work) if "lw" in mode else None
    if cov:
        cov.start()
    try:
        if lp:
            lp.enable()
        t0 = time.perf_counter()
        work(n)
        elapsed = time.perf_counter() - t0
        if lp:
            lp.disable()
    finally:
        if cov:
            cov.stop()
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    modes = ["bare", "cov", "lw", "cov+lw"]
    times = {m: [] for m in modes}
    for _ in range(args.reps):
        for m in modes:
            times[m].append(once(m, args.n))
    med = {m: statistics.median(v) for m, v in times.items()}
    version = ".".join(map(str, sys.version_info[:2]))
    core = os.environ.get("COVERAGE_CORE", "default")
    print(f"Python {version}, linewise backend {_engine.backend}, "
          f"coverage {coverage.__version__} (COVERAGE_CORE={core}), medians of {args.reps}")
    bare = med["bare"]
    for m in modes:
        print(f"  {m:7} x{med[m] / bare:5.2f}")
    extra = (med["cov+lw"] - med["cov"]) / bare
    alone = (med["lw"] - bare) / bare
    print(f"  linewise's overhead on top of coverage / linewise's overhead alone: "
          f"{extra / alone:.2f}")


if __name__ == "__main__":
    main()
