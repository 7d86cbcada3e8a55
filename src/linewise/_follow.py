"""Child processes that follow their parent: they profile what it profiles and leave their
counts where it collects them (the parent's side is linewise._gather).

The contract. A LineProfiler whose children are followed has a children directory
(``_children_dir``). A child process of it, once following, writes there:

* ``<pid>.start`` when it starts (so the parent can tell who left nothing);
* ``<pid>.lw``, its own counts, its run record saying its role ("process.role") and
  parent ("process.parent"; the parent tags it with provenance.tag_process when it
  merges), through the engine's atomic writer: when it ends (exit, ``os._exit``, a fatal
  signal through linewise._signals, the end of a multiprocessing Process) and, in pool
  workers, before a task's result is sent back (at most every FLUSH_INTERVAL seconds, so a
  million tiny tasks stay cheap; a SIGKILLed worker loses only what it counted since);
* ``<pid>.killed`` (the signal's number) is written by whoever reaps a child that died by
  a signal before leaving results, for the parent's one-line message.

How a child starts following:

* Forked (``os.fork``, multiprocessing's fork and forkserver, pool workers): it inherits
  the profilers. At fork every profiler's tables are zeroed (Engine.reset, in C), so the
  child counts only what it runs, and the profilers that have a children directory (the
  enabled ones get one at fork) are saved at its end.
* Started afresh (multiprocessing spawn, subprocess running Python, the forkserver's
  server): $LINEWISE_CHILDREN (the directory and the -p targets, encode_config) and the
  directory of _childboot/sitecustomize.py on PYTHONPATH, set by the parent; Python
  imports that module at start-up and it calls linewise._child_start.start_follower(): a
  LineProfiler with the targets, the builtin ``profile`` (explicit mode too) collecting
  into it, on for the whole process.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
import weakref

from . import _signals
from ._imports import patch_when_imported

__all__ = ["ENV", "BOOT_DIR", "FLUSH_INTERVAL", "register", "save", "become_child",
           "patch_multiprocessing", "watch_waitpid", "alive"]

ENV = "LINEWISE_CHILDREN"
# Set when the parent traces memory: children trace Python's allocators and numpy's too
# (not malloc: the preloaded hook of --memory=native is kept out of their environment).
MEMORY_ENV = "LINEWISE_CHILDREN_MEMORY"
BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_childboot")
FLUSH_INTERVAL = 0.1  # seconds: the least time between two task-boundary saves

#: False (`linewise run --no-children`): forked children follow nothing.
enabled = True

_profilers: weakref.WeakSet = weakref.WeakSet()  # every LineProfiler of this process
_fork_parent = None  # the pid that called fork (set just before it)
_made_dirs: list = []  # (pid, dir): temporary children directories made here, for cleanup
_hooked = False  # atexit handler and os._exit wrapper in place (inherited through fork)
_real_exit = os._exit

# (module, function) of the targets that make a multiprocessing Process a pool worker.
_WORKER_TARGETS = {
    ("multiprocessing.pool", "worker"),
    ("concurrent.futures.process", "_process_worker"),
    ("joblib.externals.loky.process_executor", "_process_worker"),
    ("loky.process_executor", "_process_worker"),
    ("distributed.process", "_run"),  # dask's worker processes (AsyncProcess, by a nanny)
}


class _Child:
    """This process as a child: what it saves, where, and as what."""

    def __init__(self, profilers, role, parent, helper=False):
        self.pid = os.getpid()
        self.profilers = profilers  # the LineProfilers saved, each to its _children_dir
        self.role = role
        self.parent = parent
        self.helper = helper  # the forkserver's server: follows, saves nothing itself
        self.final = False  # the last save is done: the process is ending
        self.last = 0.0  # perf_counter of the last save
        self.guard = None


_child = None


def register(profiler) -> None:
    """Called by each new LineProfiler: fork zeroes it, a forked child may save it."""
    _profilers.add(profiler)


# -- saving ----------------------------------------------------------------------------


def save(final=False) -> None:
    """Writes this child's counts (each followed profiler's own) to `<pid>.lw`; `final`:
    the process is ending, later calls do nothing. Never raises."""
    child = _child
    if child is None or child.pid != os.getpid() or child.final or child.helper:
        return
    if final:
        child.final = True
    from .provenance import run_from_meta
    from .store import dump_stats

    for profiler in child.profilers:
        try:
            stats = profiler._own_stats()
            stats.meta["command"] = " ".join(sys.argv)
            # The parent tags it (provenance.tag_process, which needs json: a child does
            # not import it), from the role and parent its run record says. Sources are
            # the parent's job too: flushes stay cheap.
            stats.runs = [dict(run_from_meta(stats.meta), **{
                "process.role": child.role, "process.parent": str(child.parent or "")})]
            stats.sources_complete = True
            dump_stats(stats, os.path.join(profiler._children_dir, f"{child.pid}.lw"))
        except Exception:  # the directory is gone, the disk full: the child carries on
            pass
    child.last = time.perf_counter()


def _final_save():
    """The last save, at a normal end: a fatal signal arriving meanwhile (Pool.terminate's
    SIGTERM while a worker leaves its loop) waits until it is written, then ends us."""
    child = _child
    if child is None or child.pid != os.getpid() or child.final:
        return
    guard = child.guard
    if guard is not None and guard.owner and guard._state == _signals._IDLE:
        with guard.finishing():
            save(final=True)
    else:
        save(final=True)


def _at_exit():
    _final_save()


def _exit(status):
    _final_save()
    _real_exit(status)


def become_child(profilers, role, parent, helper=False):
    global _child, _hooked
    _child = _Child(profilers, role, parent, helper)
    if not _hooked:
        atexit.register(_at_exit)
        os._exit = _exit
        _hooked = True
    guard = _signals.Guard(lambda signum: save(final=True))
    guard.install()
    _child.guard = guard
    patch_multiprocessing()
    watch_waitpid()
    if not helper:  # last: a child that dies before it can save leaves no marker either
        for profiler in profilers:
            try:
                with open(os.path.join(profiler._children_dir, f"{_child.pid}.start"), "w"):
                    pass
            except OSError:
                pass


# -- fork ------------------------------------------------------------------------------


def _before_fork():
    global _fork_parent
    _fork_parent = os.getpid()
    if not enabled:
        return
    for profiler in list(_profilers):
        if profiler._children_dir is None and (profiler.enable_count > 0
                                               or profiler._engine.enabled):
            import tempfile

            profiler._children_dir = tempfile.mkdtemp(prefix="linewise-children-")
            _made_dirs.append((os.getpid(), profiler._children_dir))


def _after_fork_in_child():
    global _child
    profilers = list(_profilers)
    for profiler in profilers:
        profiler._engine.reset()  # the child counts what it runs, not what it inherited
        profiler._children = []
    parent = _child.parent if _child is not None and _child.helper else _fork_parent
    _child = None
    followed = [p for p in profilers if p._children_dir is not None]
    if enabled and followed:
        become_child(followed, "child", parent)


def _remove_made_dirs():
    for pid, path in _made_dirs:
        if pid == os.getpid():
            import shutil

            shutil.rmtree(path, ignore_errors=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
atexit.register(_remove_made_dirs)


# $LINEWISE_CHILDREN: the children directory, then one record per -p target (its text,
# kind, module, path, dirs, attrs); records split by RS, fields by US, lists by GS: text
# that a child splits without importing json (and re) at start-up.
_RS, _US, _GS = "\x1e", "\x1f", "\x1d"


def encode_config(folder, targets) -> str:
    """$LINEWISE_CHILDREN's value: where children save, and the resolved -p targets."""
    records = [folder]
    for t in targets:
        records.append(_US.join([t.text, t.kind, t.module or "", t.path or "",
                                 _GS.join(t.dirs), _GS.join(t.attrs)]))
    return _RS.join(records)


def decode_config(text):
    """(folder, [dict of Target's arguments]) from encode_config's text."""
    folder, *records = text.split(_RS)
    targets = []
    for record in records:
        name, kind, module, path, dirs, attrs = record.split(_US)
        targets.append({"text": name, "kind": kind, "module": module or None,
                        "path": path or None, "dirs": [d for d in dirs.split(_GS) if d],
                        "attrs": [a for a in attrs.split(_GS) if a]})
    return folder, targets


# -- multiprocessing: the end of a Process, pool workers' task boundaries ----------------


class _FlushingQueue:
    """A pool worker's result queue: saves (throttled) before each result goes back, so
    what the parent has received is on disk."""

    def __init__(self, queue):
        self._queue = queue

    def put(self, *args, **kwargs):
        child = _child
        if child is not None and time.perf_counter() - child.last >= FLUSH_INTERVAL:
            save()
        return self._queue.put(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._queue, name)


def _patch_process(module):
    cls = module.BaseProcess
    original = cls._bootstrap
    if getattr(original, "_linewise", False):
        return

    def _bootstrap(self, *args, **kwargs):
        child = _child
        if child is not None and child.pid == os.getpid():
            target = getattr(self, "_target", None)
            name = (getattr(target, "__module__", None), getattr(target, "__name__", None))
            if name in _WORKER_TARGETS:
                child.role = "worker"
                if name[0] != "distributed.process" and len(self._args) >= 2:
                    self._args = (self._args[0], _FlushingQueue(self._args[1]),
                                  *self._args[2:])
        try:
            return original(self, *args, **kwargs)
        finally:
            _final_save()

    _bootstrap._linewise = True
    _bootstrap.__wrapped__ = original
    cls._bootstrap = _bootstrap


def patch_multiprocessing() -> None:
    patch_when_imported("multiprocessing.process", _patch_process)


# -- children that die by a signal -------------------------------------------------------

_real_waitpid = os.waitpid


def _waitpid(pid, options):
    result = _real_waitpid(pid, options)
    got, status = result
    if got > 0 and os.WIFSIGNALED(status):
        note_killed(got, os.WTERMSIG(status))
    return result


def note_killed(pid, signum) -> None:
    """Records that child `pid` died by `signum`, where it was to leave results."""
    for profiler in list(_profilers):
        folder = profiler._children_dir
        if folder is None or not os.path.exists(os.path.join(folder, f"{pid}.start")):
            continue
        if os.path.exists(os.path.join(folder, f"{pid}.lw")):
            continue
        try:
            with open(os.path.join(folder, f"{pid}.killed"), "w") as f:
                f.write(str(signum))
        except OSError:
            pass


def watch_waitpid() -> None:
    """Wraps os.waitpid (multiprocessing and subprocess reap through it) to note signal
    deaths."""
    if os.waitpid is _real_waitpid:
        os.waitpid = _waitpid


def alive(pid) -> tuple:
    """(whether `pid` runs, its wait status if it is a zombie, else None)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, None
    except PermissionError:
        return True, None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return True, None
    if fields and fields[0] == "Z":
        status = int(fields[49]) if len(fields) > 49 else None  # exit_code, Linux 3.5+
        return False, status
    return True, None
