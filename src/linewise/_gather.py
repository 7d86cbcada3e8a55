"""The parent's side of following child processes (the children's is linewise._follow):
the children directory, the environment that makes children follow, and folding what
they left into the parent's results.

The children directory of a run is ``<results file>.<pid>.children`` (a temporary one when
the results are not saved), so two runs in one directory never share one. It is removed
once empty; while children that outlived the parent may still write there, the results
file names it (meta ``children``) and ``linewise merge FILE`` folds them in later.
"""
from __future__ import annotations

import os
import sys
import time

from . import _engine, _follow

__all__ = ["follow_children", "end_pools", "collect", "fold", "lost_message"]

#: The longest the parent waits, at its end, for children still running.
WAIT = 1.0


def follow_children(profiler, output_path, targets=(), on=True) -> str | None:
    """Makes this process's children (forked, spawned, Python subprocesses) follow
    `profiler` with these -p targets; returns the children directory. `on` false
    (--no-children): no child follows, not even a forked one; returns None."""
    if not on:
        _follow.enabled = False
        return None
    if output_path is not None:
        folder = f"{output_path}.{os.getpid()}.children"
        os.makedirs(folder, exist_ok=True)
    else:
        import tempfile

        folder = tempfile.mkdtemp(prefix="linewise-children-")
    profiler._children_dir = folder
    os.environ[_follow.ENV] = _follow.encode_config(folder, targets)
    if getattr(profiler, "memory", None):
        os.environ[_follow.MEMORY_ENV] = "python"
    else:
        os.environ.pop(_follow.MEMORY_ENV, None)
    path = os.environ.get("PYTHONPATH")
    if _follow.BOOT_DIR not in (path or "").split(os.pathsep):
        os.environ["PYTHONPATH"] = (_follow.BOOT_DIR + os.pathsep + path if path
                                    else _follow.BOOT_DIR)
    if _engine.timer == "tsc":  # the children's clock is ours: no calibration there
        os.environ["LINEWISE_TSC_NS_PER_TICK"] = repr(_engine.ns_per_tick())
    _follow.patch_multiprocessing()
    _follow.watch_waitpid()
    return folder


def end_pools() -> None:
    """What Python does at exit to the program's pools, done now, before their workers'
    results are collected: multiprocessing terminates its daemonic processes (pool
    workers save on SIGTERM) and joins the others; concurrent.futures and loky shut their
    executors down."""
    for name, function in (("concurrent.futures.process", "_python_exit"),
                           ("joblib.externals.loky.process_executor", "_python_exit"),
                           ("multiprocessing.util", "_exit_function")):
        module = sys.modules.get(name)
        func = getattr(module, function, None)
        if func is not None:
            try:
                func()
            except Exception:
                pass


def _pids(names, suffix):
    return {int(n[:-len(suffix)]) for n in names
            if n.endswith(suffix) and n[:-len(suffix)].isdigit()}


def collect(folder, wait=WAIT):
    """Loads and removes what the finished children left in `folder`.

    Waits up to `wait` seconds for children still running. Returns (results: a list of
    LineStats, lost: [(pid, why)] for the children that left nothing, or are still
    running); what the ones still running write later stays in `folder` (removed when
    empty)."""
    from .results import ResultsError
    from .store import load_stats

    deadline = time.monotonic() + wait
    while True:
        try:
            names = os.listdir(folder)
        except OSError:
            return [], []
        started = _pids(names, ".start") | _starting(folder)
        running = {pid for pid in started if _follow.alive(pid)[0]}
        if not running or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    finished = _pids(names, ".lw")
    results, lost = [], []
    for pid in sorted(started | finished):
        if pid in running:
            lost.append((pid, "still running"))
            continue
        path = os.path.join(folder, f"{pid}.lw")
        if pid in finished:
            try:
                results.append(_tagged(load_stats(path)))
            except (OSError, ResultsError, ValueError) as exc:
                lost.append((pid, f"unreadable results: {exc}"))
        else:
            lost.append((pid, _why(folder, pid)))
        for suffix in (".lw", ".start", ".killed"):
            try:
                os.unlink(os.path.join(folder, f"{pid}{suffix}"))
            except OSError:
                pass
    if not running:  # one still starting writes there later
        try:
            os.rmdir(folder)
        except OSError:
            pass
    return results, lost


def _tagged(stats):
    """A child's results, tagged (provenance.tag_process) as its run record says."""
    from .provenance import PROCESS_ROLES, tag_process

    run = stats.runs[0] if len(stats.runs) == 1 else {}
    role = run.get("process.role")
    return tag_process(stats, role if role in PROCESS_ROLES else "child",
                       run.get("process.parent") or None, run=run or None)


def _starting(folder) -> set:
    """This process's children started with $LINEWISE_CHILDREN naming `folder` that have
    not written their ``.start`` yet (Linux: /proc), but multiprocessing's helpers."""
    me, found = str(os.getpid()), set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
            if len(fields) < 2 or fields[1] != me.encode() or fields[0] == b"Z":
                continue
        except OSError:
            continue
        env, cmdline = _environ_of(entry)
        if env is None:
            continue
        if not env:  # alive but not readable: may be ours, so its folder is kept
            found.add(int(entry))
            continue
        if (f"{_follow.ENV}=".encode() in env and os.fsencode(folder) in env
                and b"resource_tracker import main" not in cmdline
                and b"multiprocessing.forkserver" not in cmdline):
            found.add(int(entry))
    return found


def _environ_of(pid):
    """(environ, cmdline) of the child `pid` from /proc; (None, None) once it is gone,
    (b"", b"") when it stays unreadable. A child in an exec (a wrapper script exec'ing
    Python, as a sanitizer run's sys.executable is) may briefly have none readable: asked
    again for up to 0.2 s."""
    for _ in range(20):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            if env:
                return env, cmdline
        except FileNotFoundError:
            return None, None
        except OSError:
            pass
        time.sleep(0.01)
    return b"", b""


def _why(folder, pid) -> str:
    from ._signals import signal_name

    try:
        with open(os.path.join(folder, f"{pid}.killed")) as f:
            return signal_name(int(f.read()))
    except (OSError, ValueError):
        pass
    status = _follow.alive(pid)[1]
    if status is not None and os.WIFSIGNALED(status):
        return signal_name(os.WTERMSIG(status))
    return "ended without saving"


def collect_for(profiler, wait=WAIT) -> int:
    """LineProfiler.collect_children: what the profiler's children left, kept in it."""
    folder = profiler._children_dir
    if folder is None:
        return 0
    results, lost = collect(folder, wait)
    profiler._children.extend(results)
    message = lost_message(lost, folder)
    if message:
        print(message, file=sys.stderr)
    if not os.path.isdir(folder):
        profiler._children_dir = None
    return len(results)


def fold(stats, children):
    """`stats` (this process's) tagged as the parent's, plus each child's results."""
    from .provenance import tag_process

    merged = tag_process(stats, "parent")
    for child in children:
        merged = merged + child
    merged.meta = dict(stats.meta)
    merged.sources_complete = stats.sources_complete  # children send no sources
    return merged


def lost_message(lost, folder, output=None) -> str | None:
    """One line saying which children left no results, and why; None if none did."""
    if not lost:
        return None
    n = len(lost)
    what = ", ".join(f"pid {pid} ({why})" for pid, why in lost)
    line = (f"linewise: {n} child process{'es' if n > 1 else ''} left no results: {what}")
    running = sum(why == "still running" for _, why in lost)
    if output and running:
        from .paths import shown_path

        who = "what it saves" if running == 1 else "what they save"
        line += (f"; {who} later goes to {shown_path(folder)}: fold it in with "
                 f"linewise merge {shown_path(output)}")
    return line


def finish(stats, folder, output=None, signum=None):
    """At the parent's end: `stats` with what its children left in `folder` (pools ended
    first, unless a signal is ending the process), and the line saying which left
    nothing (or None). The results name `folder` (meta ``children``) while children
    still running may write there."""
    if signum is None:
        end_pools()
    results, lost = collect(folder, wait=0 if signum is not None else WAIT)
    if results:
        stats = fold(stats, results)
    if os.path.isdir(folder) and output is not None:
        stats.meta["children"] = folder
    return stats, lost_message(lost, folder, output)
