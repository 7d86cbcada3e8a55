"""Results survive the ways programs really end: fatal signals, fork, spawn children.

Each test runs a real `linewise run` or explicit-mode (LINEWISE=1) program in a subprocess.
A signal is sent only once the program has said (a line on stdout) that it is inside the
profiled part; every wait is bounded by a timeout.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from linewise import load_stats

TIMEOUT = 60

# Marked with @profile: `work(n)` runs its loop body n times.
WORK = '''\
@profile
def work(n):
    total = 0
    for i in range(n):
        total += i
    return total
'''


def _env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("LINEWISE", "LINEWISE_OUTPUT", "PYTHONPATH",
                        "LINEWISE_PARENT_OUTPUTS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def _no_core():
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGQUIT, SIGXCPU dump core
    # A shell without job control starts background commands with SIGINT and SIGQUIT
    # ignored, and the programs here would inherit that (linewise leaves SIG_IGN alone):
    # a suite started with `&` saw SIGQUIT do nothing.
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def write(tmp_path, name, body, explicit=False):
    head = "from linewise import profile\n" if explicit else ""
    path = tmp_path / name
    path.write_text(head + WORK + textwrap.dedent(body))
    return path


def run_cmd(script, explicit):
    if explicit:
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "linewise", "run", str(script)]


def start(cmd, cwd, env=None, preexec=None):
    def preexec_fn():
        _no_core()
        if preexec is not None:
            preexec()

    return subprocess.Popen(cmd, cwd=cwd, env=_env(env), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=preexec_fn)


def wait_for(proc, line="ready"):
    got = proc.stdout.readline()
    assert got == line + "\n", (got, proc.stderr.read() if not got else "")


def finish(proc, stdin=None):
    try:
        out, err = proc.communicate(stdin, timeout=TIMEOUT)
    finally:
        proc.kill()
        proc.wait()
    return out, err


def body_hits(path) -> dict:
    """{function name: hits of its loop body line}."""
    stats = load_stats(str(path))
    found = {}
    for (_, first, name), lines in stats.timings.items():
        hits = dict((ln, h) for ln, h, _ in lines)
        found[name] = hits.get(first + 4, 0)  # `total += i`
    return found


def saved_lines(err):
    return [ln for ln in err.splitlines() if "results saved to" in ln]


# The wait is short sleeps, not one long one: CPython runs a Python signal handler between
# bytecodes, so a signal that lands after "ready" is written but before the sleep's system
# call has begun is handled only when that sleep ends (one CI run hung 60 s so).
WAIT_FOR_SIGNAL = "while True:\n    time.sleep(0.05)\n"

BLOCKED = '''\
import sys, time
work(7)
work(5)
print("ready", flush=True)
''' + WAIT_FOR_SIGNAL

SIGNALS = [s for s in ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
                       "SIGXCPU", "SIGVTALRM", "SIGPROF", "SIGPWR")
           if hasattr(signal, s)]


@pytest.mark.parametrize("explicit", [False, True], ids=["run", "explicit"])
@pytest.mark.parametrize("name", SIGNALS)
def test_fatal_signal_saves_then_dies_by_it(tmp_path, name, explicit):
    signum = getattr(signal, name)
    script = write(tmp_path, "prog.py", BLOCKED, explicit)
    proc = start(run_cmd(script, explicit), tmp_path,
                 env={"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"} if explicit else None)
    wait_for(proc)
    proc.send_signal(signum)
    out, err = finish(proc)
    assert proc.returncode == -signum, (proc.returncode, err)
    assert f"linewise: terminated by {name}, results are partial" in err.splitlines(), err
    assert "Traceback" not in err
    assert body_hits(tmp_path / ("out.lw" if explicit else "prog.py.lw")) == {"work": 12}
    assert len(saved_lines(err)) == 1


# The signal reaches another thread (pthread_kill): CPython's C handler notes it there,
# and the main thread, in one long sleep, is not interrupted. linewise sends the signal
# again to the main thread until its handler runs (Linux; signals.c).
SIGNALLED_ELSEWHERE = '''\
import signal, sys, threading, time
work(3)

def kick():
    time.sleep(0.2)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

threading.Thread(target=kick, daemon=True).start()
print("ready", flush=True)
time.sleep(1000)
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the repeat is Linux's")
@pytest.mark.parametrize("explicit", [False, True], ids=["run", "explicit"])
def test_a_signal_noted_while_the_main_thread_blocks_still_saves(tmp_path, explicit):
    script = write(tmp_path, "prog.py", SIGNALLED_ELSEWHERE, explicit)
    proc = start(run_cmd(script, explicit), tmp_path,
                 env={"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"} if explicit else None)
    wait_for(proc)
    out, err = finish(proc)
    assert proc.returncode == -signal.SIGTERM, err
    assert "terminated by SIGTERM" in err
    assert body_hits(tmp_path / ("out.lw" if explicit else "prog.py.lw")) == {"work": 3}


def test_shell_sees_128_plus_n(tmp_path):
    script = write(tmp_path, "prog.py", BLOCKED)
    cmd = " ".join(run_cmd(script, False))
    proc = start(["/bin/sh", "-c", f"{cmd}; echo status $?"], tmp_path)
    wait_for(proc)
    # The shell's child is the linewise process: signal it, not the shell.
    child = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)], text=True).split()[0])
    os.kill(child, signal.SIGTERM)
    out, err = finish(proc)
    assert out.strip() == "status 143", (out, err)
    assert body_hits(tmp_path / "prog.py.lw") == {"work": 12}


def test_every_listed_signal_saves(tmp_path):
    """The whole list (real-time signals too), one program per signal, in run mode."""
    from linewise._signals import FATAL_SIGNALS

    assert {signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGRTMAX} <= set(
        FATAL_SIGNALS)
    assert not {signal.SIGINT, signal.SIGPIPE, signal.SIGSEGV, signal.SIGABRT} & set(
        FATAL_SIGNALS)
    script = write(tmp_path, "prog.py", BLOCKED)
    signals = list(FATAL_SIGNALS)
    for at in range(0, len(signals), 8):  # eight programs at a time: start-up dominates
        batch = signals[at:at + 8]
        procs = [start([sys.executable, "-m", "linewise", "run", "-o",
                        str(tmp_path / f"s{signum}.lw"), str(script)], tmp_path)
                 for signum in batch]
        try:
            for proc in procs:
                wait_for(proc)
        except BaseException:
            for proc in procs:
                proc.kill()
                proc.wait()
            raise
        for signum, proc in zip(batch, procs):
            proc.send_signal(signum)
        for signum, proc in zip(batch, procs):
            out, err = finish(proc)
            assert proc.returncode == -signum, (signum, proc.returncode, err)
            assert body_hits(tmp_path / f"s{signum}.lw") == {"work": 12}, signum


@pytest.mark.parametrize("explicit", [False, True], ids=["run", "explicit"])
def test_worker_thread_with_main_in_join(tmp_path, explicit):
    script = write(tmp_path, "prog.py", '''\
        import threading

        def loop():
            for i in range(10**9):
                work(3)
                if i == 100:
                    print("ready", flush=True)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        thread.join()
        ''', explicit)
    proc = start(run_cmd(script, explicit), tmp_path,
                 env={"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"} if explicit else None)
    wait_for(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = finish(proc)
    assert proc.returncode == -signal.SIGTERM, err
    stats = load_stats(str(tmp_path / ("out.lw" if explicit else "prog.py.lw")))
    (key, lines), = stats.timings.items()
    hits = {ln - key[1]: h for ln, h, _ in lines}
    calls = hits[2]  # `total = 0`: once per call
    assert calls > 100
    # Each call counted whole or cut at the signal: body hits 3 per call, give or take one call.
    assert 3 * (calls - 1) <= hits[4] <= 3 * calls, hits


@pytest.mark.parametrize("block", ["stdin", "c_call"])
def test_blocked_main_thread_still_saves(tmp_path, block):
    script = write(tmp_path, "prog.py", '''\
        import sys
        work(4)
        print("ready", flush=True)
        if sys.argv[1] == "stdin":
            sys.stdin.readline()
        else:
            while True:  # C code (sum over a range) for most of the time
                sum(range(10**7))
        ''')
    proc = start([*run_cmd(script, False), block], tmp_path)
    wait_for(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = finish(proc)
    assert proc.returncode == -signal.SIGTERM, err
    assert body_hits(tmp_path / "prog.py.lw") == {"work": 4}


@pytest.mark.parametrize("explicit", [False, True], ids=["run", "explicit"])
def test_programs_own_handler_runs_and_results_are_saved_at_exit(tmp_path, explicit):
    script = write(tmp_path, "prog.py", '''\
        import signal, sys, time

        def on_term(signum, frame):
            print("handled", signum, flush=True)
            work(2)
            sys.exit(3)

        signal.signal(signal.SIGTERM, on_term)
        work(5)
        print("ready", flush=True)
        while True:
            time.sleep(0.05)
        ''', explicit)
    proc = start(run_cmd(script, explicit), tmp_path,
                 env={"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"} if explicit else None)
    wait_for(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = finish(proc)
    assert proc.returncode == 3, err
    assert f"handled {int(signal.SIGTERM)}" in out
    assert "terminated by" not in err
    assert body_hits(tmp_path / ("out.lw" if explicit else "prog.py.lw")) == {"work": 7}


@pytest.mark.parametrize("explicit", [False, True], ids=["run", "explicit"])
def test_ignored_signal_stays_ignored(tmp_path, explicit):
    """As under nohup: SIGHUP ignored when linewise starts stays ignored."""
    script = write(tmp_path, "prog.py", '''\
        import sys
        work(2)
        print("ready", flush=True)
        sys.stdin.readline()
        work(3)
        print("after", flush=True)
        ''', explicit)
    proc = start(run_cmd(script, explicit), tmp_path,
                 env={"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"} if explicit else None,
                 preexec=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    wait_for(proc)
    proc.send_signal(signal.SIGHUP)
    out, err = finish(proc, "go\n")
    assert proc.returncode == 0, err
    assert "after" in out.splitlines()
    assert "terminated" not in err
    assert body_hits(tmp_path / ("out.lw" if explicit else "prog.py.lw")) == {"work": 5}


def test_second_signal_does_not_cut_the_save(tmp_path):
    """Signals arriving while results are being saved wait until the save is done; the
    process then dies by the first one."""
    code = textwrap.dedent('''\
        import os, signal, sys
        from linewise._signals import Guard

        def save(signum):
            os.kill(os.getpid(), signal.SIGUSR1)  # delivered at once: Python runs its
            os.kill(os.getpid(), signal.SIGINT)   # handlers at the next bytecode
            for i in range(1000):
                pass
            print("saved", signal.Signals(signum).name, flush=True)

        Guard(save).install()
        print("ready", flush=True)
        signal.pause()
        ''')
    proc = start([sys.executable, "-c", code], tmp_path)
    wait_for(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = finish(proc)
    assert out == "saved SIGTERM\n", (out, err)
    assert err == ""
    assert proc.returncode == -signal.SIGTERM


def test_signal_during_the_normal_save_waits_for_it(tmp_path):
    code = textwrap.dedent('''\
        import os, signal
        from linewise._signals import Guard

        guard = Guard(None)
        guard.install()
        with guard.finishing():
            os.kill(os.getpid(), signal.SIGTERM)
            for i in range(1000):
                pass
            print("saved", flush=True)
        print("not reached", flush=True)
        ''')
    proc = start([sys.executable, "-c", code], tmp_path)
    out, err = finish(proc)
    assert out == "saved\n", (out, err)
    assert proc.returncode == -signal.SIGTERM


# -- fork -------------------------------------------------------------------------------

FORK = '''\
import os
work(3)
pid = os.fork()
if pid == 0:
    work(100)
    print("child", flush=True)
else:
    os.waitpid(pid, 0)
    print("parent", flush=True)
'''


@pytest.mark.parametrize("explicit", [False, True], ids=["run", "explicit"])
def test_forked_child_says_nothing_its_counts_join_the_parents(tmp_path, explicit):
    """The child saves no file of its own and prints nothing; its 100 calls reach the
    parent's results (linewise._follow), without the 3 it inherited."""
    script = write(tmp_path, "prog.py", FORK, explicit)
    proc = start(run_cmd(script, explicit), tmp_path,
                 env={"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"} if explicit else None)
    out, err = finish(proc)
    assert proc.returncode == 0, err
    assert {"child", "parent"} <= set(out.splitlines())
    assert len(saved_lines(err)) == 1, err
    if explicit:
        assert out.count("Timer unit") == 1  # one report: the parent's
    assert body_hits(tmp_path / ("out.lw" if explicit else "prog.py.lw")) == {"work": 103}


def test_forked_child_killed_by_signal_saves_nothing(tmp_path):
    """A fork-started pool's workers: terminate() sends them SIGTERM; they die as they
    would without linewise, the parent saves once."""
    script = write(tmp_path, "prog.py", '''\
        import multiprocessing, os, signal, time

        def child():
            print("child", flush=True)
            time.sleep(1000)

        if __name__ == "__main__":
            ctx = multiprocessing.get_context("fork")
            work(2)
            p = ctx.Process(target=child)
            p.start()
            import sys
            sys.stdin.readline()
            p.terminate()
            p.join()
            print("exitcode", p.exitcode, flush=True)
        ''')
    proc = start(run_cmd(script, False), tmp_path)
    wait_for(proc, "child")
    out, err = finish(proc, "go\n")
    assert proc.returncode == 0, err
    assert f"exitcode {-int(signal.SIGTERM)}" in out
    assert len(saved_lines(err)) == 1, err
    assert "terminated" not in err
    assert body_hits(tmp_path / "prog.py.lw") == {"work": 2}


# -- spawn and forkserver children ------------------------------------------------------

POOL = '''\
import multiprocessing, sys
from concurrent.futures import ProcessPoolExecutor

if __name__ == "__main__":
    method, kind = sys.argv[1], sys.argv[2]
    ctx = multiprocessing.get_context(method)
    work(6)
    if kind == "pool":
        with ctx.Pool(2) as pool:
            print(sum(pool.map(work, [10] * 4)), flush=True)
    else:
        with ProcessPoolExecutor(2, mp_context=ctx) as pool:
            print(sum(pool.map(work, [10] * 4)), flush=True)
'''


@pytest.mark.parametrize("method,kind", [("spawn", "pool"), ("forkserver", "pool"),
                                         ("spawn", "executor")])
def test_spawned_children_see_the_builtin_profile(tmp_path, method, kind):
    # Their 4 calls of work(10) reach the parent's results (tests/cli/test_children.py).
    script = write(tmp_path, "prog.py", POOL)
    result = subprocess.run([*run_cmd(script, False), method, kind], cwd=tmp_path,
                            env=_env(), capture_output=True, text=True, timeout=30,
                            preexec_fn=_no_core)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "180\n"
    assert "NameError" not in result.stderr
    assert len(saved_lines(result.stderr)) == 1
    assert body_hits(tmp_path / "prog.py.lw") == {"work": 46}  # 6 of them the parent's


SPAWN_EXPLICIT = '''\
import multiprocessing, sys

def child():
    work(50)

if __name__ == "__main__":
    work(4)
    p = multiprocessing.get_context("spawn").Process(target=child)
    p.start()
    p.join()
    print("exitcode", p.exitcode, flush=True)
'''


def test_explicit_mode_children_do_not_overwrite_the_parents_file(tmp_path):
    # The child's counts join the parent's file instead (linewise._follow).
    script = write(tmp_path, "prog.py", SPAWN_EXPLICIT, explicit=True)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, timeout=TIMEOUT,
                            env=_env({"LINEWISE": "1", "LINEWISE_OUTPUT": "out.lw"}),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "exitcode 0" in result.stdout
    assert result.stdout.count("Timer unit") == 1  # the child does not report
    assert len(saved_lines(result.stderr)) == 1, result.stderr
    assert body_hits(tmp_path / "out.lw") == {"work": 54}


def test_explicit_mode_children_with_pid_join_the_parents_file(tmp_path):
    """{pid} names the parent's file; the followed child writes none of its own."""
    script = write(tmp_path, "prog.py", SPAWN_EXPLICIT, explicit=True)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, timeout=TIMEOUT,
                            env=_env({"LINEWISE": "1", "LINEWISE_OUTPUT": "out-{pid}.lw"}),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("out-*.lw"))
    assert len(files) == 1
    assert body_hits(files[0]) == {"work": 54}


def test_run_mode_children_with_linewise_1_do_not_overwrite(tmp_path):
    """LINEWISE=1 in the environment of `linewise run`: spawn children import the main
    module with explicit mode on; their results would go to the runner's file: they are
    followed by the runner instead."""
    script = write(tmp_path, "prog.py", SPAWN_EXPLICIT, explicit=True)
    result = subprocess.run([sys.executable, "-m", "linewise", "run", str(script)], cwd=tmp_path,
                            timeout=TIMEOUT, env=_env({"LINEWISE": "1"}),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(saved_lines(result.stderr)) == 1, result.stderr
    assert body_hits(tmp_path / "prog.py.lw") == {"work": 54}
