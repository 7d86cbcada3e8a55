# Two threads each loop enable(), f(), disable() on a profiler of their own: with the
# legacy backend every enable and disable starts or stops the trace hook, which runs Python
# code; an enable in the other thread meanwhile was refused (all of one thread's). Each
# must wait instead, and count exactly.
import sys
import threading
import time

from linewise import LineProfiler

sys.setswitchinterval(1e-6)


def f1(x):
    return x + 1


def f2(x):
    return x + 2


N = 1000
errors = [0, 0]
counts = [0, 0]
profilers = [LineProfiler(f1), LineProfiler(f2)]


def worker(i, f):
    lp = profilers[i]
    for j in range(N):
        try:
            lp.enable()
        except RuntimeError:
            errors[i] += 1
            continue
        f(j)
        lp.disable()
        counts[i] += 1


deadline = time.perf_counter() + float(sys.argv[1] if len(sys.argv) > 1 else 3)
rounds = 0
while True:
    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate((f1, f2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rounds += 1
    hits = [sorted({h for lines in lp.get_stats().timings.values() for _, h, _ in lines})
            for lp in profilers]
    good = errors == [0, 0] and hits == [[counts[0]], [counts[1]]] and counts == [rounds * N] * 2
    if not good or time.perf_counter() > deadline:
        break
print(f"{rounds} rounds, errors {errors}, hits {hits}, calls {counts}")
if good:
    print("ok")
