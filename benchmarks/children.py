"""What following child processes costs per child: start-up to end, with and without
linewise (issue 13's goal: at most 20 ms more).

    .venvs/3.13/bin/python benchmarks/children.py [ROUNDS]

Each round starts one child of each kind without linewise, then one with it (the two
interleaved, so load on the machine hits both alike), and times it from start to its
end (join / wait) with time.perf_counter. "With" is what `linewise run -p TARGET` sets
up (linewise._gather.follow_children): the child starts linewise through the
sitecustomize on PYTHONPATH, profiles the target, and writes its results file at its
end. linewise's modules are byte-compiled first, as an installed linewise is. The kinds: a multiprocessing spawn Process running an empty function, and a
subprocess of sys.executable running ``-c pass``. Prints the medians in milliseconds:
wall time, and the CPU time the child used (user + system, from getrusage; on a busy
machine the better measure of what linewise adds).
"""
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time


def noop():
    pass


def spawn_child(ctx):
    p = ctx.Process(target=noop)
    p.start()
    p.join()


def python_child():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    import compileall

    import linewise

    # As an installed linewise is (pip compiles it): with PYTHONDONTWRITEBYTECODE set and no
    # cache, each child would compile linewise's modules from source.
    compileall.compile_dir(os.path.dirname(linewise.__file__), quiet=1)
    from linewise._follow import ENV
    from linewise._gather import follow_children
    from linewise.autoprofile import resolve_target
    from linewise.profiler import LineProfiler

    plain = dict(os.environ)
    profiler = LineProfiler()
    folder = follow_children(profiler, None, [resolve_target("json")])
    followed = dict(os.environ)
    os.environ.clear()
    os.environ.update(plain)
    ctx = multiprocessing.get_context("spawn")
    kinds = {"multiprocessing spawn Process": lambda: spawn_child(ctx),
             "subprocess: sys.executable -c pass": python_child}
    times = {(kind, on): [] for kind in kinds for on in (False, True)}
    cpu = {(kind, on): [] for kind in kinds for on in (False, True)}
    for _ in range(rounds):
        for kind, start in kinds.items():
            for on in (False, True):
                os.environ.clear()
                os.environ.update(followed if on else plain)
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                start()
                times[kind, on].append(time.perf_counter() - t0)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[kind, on].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    os.environ.clear()
    os.environ.update(plain)
    left = len([n for n in os.listdir(folder) if n.endswith(".lw")])
    shutil.rmtree(folder, ignore_errors=True)
    print(f"Python {sys.version.split()[0]}, {rounds} rounds, medians "
          f"({left} child results files written)")
    print()
    print(f"| {'child':<36} | {'time':<4} | without (ms) | with linewise (ms) | added (ms) |")
    print(f"| {'-' * 36} | ---- | ------------ | ------------------ | ---------- |")
    for kind in kinds:
        for what, table in (("wall", times), ("CPU", cpu)):
            off = statistics.median(table[kind, False]) * 1e3
            on = statistics.median(table[kind, True]) * 1e3
            print(f"| {kind:<36} | {what:<4} | {off:12.1f} | {on:18.1f} | {on - off:10.1f} |")


if __name__ == "__main__":
    main()
