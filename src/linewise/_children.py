"""Child processes of a profiled program, until they are profiled themselves.

* Spawn and forkserver children of `linewise run` import the main module again (as
  ``__mp_main__``); a script decorated with the builtin ``profile`` would fail there with
  NameError. multiprocessing pickles "preparation data" (a dict) to each such child,
  which unpickles it before importing the main module; `patch_multiprocessing` adds one
  key whose value, when unpickled, puts linewise's ``profile`` (a no-op marker there) in
  the child's builtins. No file on disk, no sitecustomize, nothing for other children.
* Results files taken by an ancestor: explicit mode (``LINEWISE=1``) is inherited through
  the environment. Each process that writes results names its file in
  $LINEWISE_PARENT_OUTPUTS, and a descendant whose results would go to one of them does
  not profile (``{pid}`` in LINEWISE_OUTPUT gives each process its own file).
"""
from __future__ import annotations

import os
import sys

TAKEN_ENV = "LINEWISE_PARENT_OUTPUTS"
_KEY = "linewise_builtin_profile"

#: True in a spawn/forkserver child of `linewise run`: explicit mode stays off there
#: (LINEWISE=1 inherited from the runner's environment would save to a file named after
#: the child's command line, before multiprocessing has given it the program's).
spawned_by_runner = False


def install_builtin_profile():
    """In a spawned child: ``profile`` in builtins (if the program has none there)."""
    import builtins

    global spawned_by_runner
    spawned_by_runner = True
    from .explicit import profile

    # Importing linewise (to get here) has just switched explicit mode on if LINEWISE=1
    # is inherited: off again, nothing has run yet.
    profile._stand_down()
    if not hasattr(builtins, "profile"):
        builtins.profile = profile


class _BuiltinProfile:
    """Unpickles by calling install_builtin_profile."""

    def __reduce__(self):
        return (install_builtin_profile, ())


def _add_key(get_preparation_data):
    def wrapper(name):
        data = get_preparation_data(name)
        data[_KEY] = _BuiltinProfile()
        return data

    wrapper.__wrapped__ = get_preparation_data
    wrapper.__name__ = get_preparation_data.__name__
    wrapper.__qualname__ = get_preparation_data.__qualname__
    wrapper.__doc__ = get_preparation_data.__doc__
    wrapper._linewise = True
    return wrapper


def _patch(spawn):
    if not getattr(spawn.get_preparation_data, "_linewise", False):
        spawn.get_preparation_data = _add_key(spawn.get_preparation_data)


class _SpawnFinder:
    """Patches multiprocessing.spawn when the program imports it (not before: importing
    multiprocessing for every program would change what the program sees)."""

    def find_spec(self, name, path=None, target=None):
        if name != "multiprocessing.spawn":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        import importlib.util

        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module  # this spec's own loader instance

        def exec_and_patch(module):
            exec_module(module)
            _patch(module)

        loader.exec_module = exec_and_patch
        return spec


def patch_multiprocessing():
    """Makes spawn/forkserver children of this process see the builtin ``profile``."""
    spawn = sys.modules.get("multiprocessing.spawn")
    if spawn is not None:
        _patch(spawn)
    elif not any(isinstance(f, _SpawnFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SpawnFinder())


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
