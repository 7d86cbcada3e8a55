"""Child processes of a profiled program, until they are profiled themselves.

* Spawn and forkserver children of `linewise run` import the main module again (as
  ``__mp_main__``); a script decorated with the builtin ``profile`` would fail there with
  NameError. multiprocessing pickles "preparation data" (a dict) to each such child,
  which unpickles it before importing the main module; `patch_multiprocessing` adds one
  key whose value, when unpickled, puts linewise's ``profile`` (a no-op marker there) in
  the child's builtins. No file on disk, no sitecustomize, nothing for other children.
* Results files taken by an ancestor (explicit mode's LINEWISE=1 is inherited): see
  linewise._lineage, a leaf module, as explicit mode uses them too and this module imports
  explicit mode. Its names are also here, as they were.
"""
from __future__ import annotations

from . import _lineage
from ._imports import patch_when_imported
from ._lineage import TAKEN_ENV, claim_output, release_output, taken_outputs  # noqa: F401

_KEY = "linewise_builtin_profile"


def install_builtin_profile():
    """In a spawned child: ``profile`` in builtins (if the program has none there)."""
    import builtins

    _lineage.spawned_by_runner = True  # before importing explicit: see _lineage
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


def patch_multiprocessing():
    """Makes spawn/forkserver children of this process see the builtin ``profile``."""
    patch_when_imported("multiprocessing.spawn", _patch)
