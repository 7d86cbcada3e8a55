"""A child process started afresh (multiprocessing spawn, the forkserver's server, a
subprocess running Python) joins its parent's profiling: see linewise._follow for the
contract, linewise/_childboot/sitecustomize.py for how Python gets here.

Its own module: it needs explicit mode and the profiler, which need linewise._follow.
"""
from __future__ import annotations

import os
import sys

from . import _follow
from ._follow import ENV

__all__ = ["start_follower"]

_follower = None  # start_follower's profiler and AutoProfile, kept alive


def _dash_c_code():
    argv = getattr(sys, "orig_argv", None) or []
    return argv[argv.index("-c") + 1] if "-c" in argv[:-1] else ""


def start_follower() -> None:
    """In a child started with $LINEWISE_CHILDREN: profile its targets from now on, and
    save at the end (see the module's documentation)."""
    global _follower
    if _follow._child is not None or not os.environ.get(ENV):
        return
    folder, targets = _follow.decode_config(os.environ[ENV])
    code = _dash_c_code()
    if "resource_tracker import main" in code:
        return  # multiprocessing's (or loky's) helper: runs none of the program's code
    import builtins

    from . import _lineage
    from .autoprofile import AutoProfile, Target

    _lineage.spawned_by_runner = True  # before explicit mode is imported: see _lineage
    from .explicit import profile
    from .profiler import LineProfiler

    profiler = LineProfiler(memory=os.environ.get(_follow.MEMORY_ENV) or False)
    profiler._children_dir = folder
    auto = AutoProfile(profiler)
    for target in targets:
        auto.add(Target(target.pop("text"), target.pop("kind"), **target))
    if auto:
        auto.install()
    profile._stand_down()
    profile.attach_runner(profiler)
    if not hasattr(builtins, "profile"):
        builtins.profile = profile
    _follower = (profiler, auto)
    profiler.enable_by_count()
    _follow.become_child([profiler], "child", os.getppid(),
                        helper="multiprocessing.forkserver" in code)
