"""Started by Python in a child process of a profiled program: follows it with linewise.

`linewise run` (and explicit mode) put this directory first on PYTHONPATH and describe
what to profile in $LINEWISE_CHILDREN; Python imports this module at start-up
(``site``), before the child's own code. It first runs the sitecustomize this one hides
(if any), then hands over to linewise._child_start. A child that cannot import linewise (another
Python) runs as if this file were not there.
"""
import os
import sys


def _chain():
    """Imports the next sitecustomize on sys.path, the one this file shadows."""
    here = os.path.dirname(os.path.abspath(__file__))
    mine = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        import importlib

        importlib.import_module("sitecustomize")
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise
    finally:
        # Our directory is not the child's: leave it out of sys.path (PYTHONPATH still
        # names it, for the child's own children).
        sys.path[:] = [p for p in saved if os.path.abspath(p or ".") != here]
        if mine is not None and "sitecustomize" not in sys.modules:
            sys.modules["sitecustomize"] = mine


_chain()
if os.environ.get("LINEWISE_CHILDREN"):
    try:
        from linewise._child_start import start_follower
    except ImportError:
        pass
    else:
        try:
            start_follower()
        except Exception as exc:  # never break the child: say it once
            print(f"linewise: not profiling this child process: {type(exc).__name__}: "
                  f"{exc}", file=sys.stderr)
