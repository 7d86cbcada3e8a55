"""Calls work.work in child processes, one way per MODE; the parent calls it PARENT times.

python kids.py MODE N [PARENT]: N calls in children in total (tests/cli/test_children.py).
"""
import multiprocessing
import os
import signal
import subprocess
import sys

import work


def calls(n):
    for i in range(n):
        work.work(i)


def pool(method, n, end):
    ctx = multiprocessing.get_context(method)
    if end == "terminate":
        with ctx.Pool(2) as p:  # __exit__ terminates the workers (SIGTERM)
            assert sum(p.map(work.work, range(n), chunksize=1)) == n * (n - 1)
    else:
        p = ctx.Pool(2)
        p.map(work.work, range(n), chunksize=1)
        p.close()
        p.join()


def executor(method, n):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as ex:
        assert sum(ex.map(work.work, range(n))) == n * (n - 1)


def process(method, n):
    ctx = multiprocessing.get_context(method)
    procs = [ctx.Process(target=calls, args=(k,)) for k in (n // 2, n - n // 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0


def nested(n):
    # A spawned child that runs a fork pool: grandchildren.
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=pool, args=("fork", n, "terminate"))
    p.start()
    p.join()
    assert p.exitcode == 0


def fork(n):
    pid = os.fork()
    if pid == 0:
        calls(n)
        os._exit(0)
    os.waitpid(pid, 0)


def killed(n):
    # One child calls work n times and saves at its end; one is SIGKILLed: its counts
    # (never saved) are lost, and the parent says so.
    ctx = multiprocessing.get_context("spawn")
    ok = ctx.Process(target=calls, args=(n,))
    bad = ctx.Process(target=die, args=(3,))
    for p in (ok, bad):
        p.start()
    for p in (ok, bad):
        p.join()
    print(f"killed pid {bad.pid}")


def pool_kill():
    # A worker SIGKILLed in its third task: what it saved at the first one's end stays.
    # (An executor, not a Pool: a Pool whose worker is killed can hang in terminate().)
    from concurrent.futures import ProcessPoolExecutor

    ex = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    ex.submit(work.work, 1).result()
    pid = ex.submit(os.getpid).result()
    assert ex.submit(os.kill, pid, signal.SIGKILL).exception() is not None  # broken
    ex.shutdown()
    print(f"killed pid {pid}")


def orphan(n):
    # A child that outlives the parent: it waits for the file "go", then calls work.
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import os, sys, time, work\n"
            "while not os.path.exists('go'): time.sleep(0.02)\n"
            f"for i in range({n}): work.work(i)\n")
    child = subprocess.Popen([sys.executable, "-c", code], cwd=here,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"orphan pid {child.pid}", flush=True)


def die(n):
    calls(n)
    os.kill(os.getpid(), signal.SIGKILL)


def run_python(how, n):
    here = os.path.dirname(os.path.abspath(__file__))
    if how == "script":
        args = [os.path.join(here, "kids.py"), "calls", str(n), "0"]
    elif how == "module":
        args = ["-m", "kids", "calls", str(n), "0"]
    else:
        args = ["-c", f"import work\nfor i in range({n}): work.work(i)"]
    subprocess.run([sys.executable, *args], check=True, cwd=here)


def joblib_(n):
    from joblib import Parallel, delayed

    assert sum(Parallel(n_jobs=2)(delayed(work.work)(i) for i in range(n))) == n * (n - 1)


def main():
    mode, n = sys.argv[1], int(sys.argv[2])
    parent = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    calls(parent)
    kind, _, how = mode.partition(":")
    if kind == "calls":
        calls(n)
    elif kind == "pool":
        method, _, end = how.partition(":")
        pool(method, n, end)
    elif kind == "executor":
        executor(how, n)
    elif kind == "process":
        process(how, n)
    elif kind == "nested":
        nested(n)
    elif kind == "fork":
        fork(n)
    elif kind == "killed":
        killed(n)
    elif kind == "orphan":
        orphan(n)
    elif kind == "poolkill":
        pool_kill()
    elif kind == "python":
        run_python(how, n)
    elif kind == "joblib":
        joblib_(n)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
