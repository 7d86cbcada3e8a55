"""What a process inherits from the linewise processes above it.

* Results files taken by an ancestor: explicit mode (``LINEWISE=1``) is inherited through
  the environment. Each process that writes results names its file in
  $LINEWISE_PARENT_OUTPUTS, and a descendant whose results would go to one of them does
  not profile (``{pid}`` in LINEWISE_OUTPUT gives each process its own file).
* Whether this process is a spawn/forkserver child of `linewise run` (set by
  linewise._children before explicit mode is imported there).

A leaf module: explicit mode and the spawn glue (linewise._children, which imports
explicit mode) both use it.
"""
from __future__ import annotations

import os

TAKEN_ENV = "LINEWISE_PARENT_OUTPUTS"

#: True in a spawn/forkserver child of `linewise run`: explicit mode stays off there
#: (LINEWISE=1 inherited from the runner's environment would save to a file named after
#: the child's command line, before multiprocessing has given it the program's).
spawned_by_runner = False


def taken_outputs() -> list:
    """The results files ancestors of this process will write."""
    return [p for p in os.environ.get(TAKEN_ENV, "").split(os.pathsep) if p]


def release_output(path) -> None:
    taken = taken_outputs()
    if path in taken:
        taken.remove(path)
        if taken:
            os.environ[TAKEN_ENV] = os.pathsep.join(taken)
        else:
            del os.environ[TAKEN_ENV]


def claim_output(path) -> None:
    """Tells descendants that `path` is this process's results file."""
    taken = taken_outputs()
    if path not in taken:
        os.environ[TAKEN_ENV] = os.pathsep.join([*taken, path])
