"""linewise: a line-by-line profiler for Python with a C engine, a drop-in for line_profiler.

PYTEST_DONT_REWRITE: linewise is not test code (pytest would otherwise warn, under
`linewise run -m pytest`, that it cannot rewrite this already imported package).
"""
from ._version import __version__  # noqa: F401

from .explicit import profile  # noqa: E402  (light; LINEWISE=1 must act at import)


def load_ipython_extension(ipython):
    """``%load_ext linewise``: registers %lprun, %%lprun and %%lprun_all
    (linewise.integrations.ipython)."""
    from .integrations.ipython import load_ipython_extension as load

    load(ipython)


__all__ = ["LineProfiler", "LineStats", "ResultsError", "load_stats", "show_text", "show_func",
           "profile"]

# The rest loads on first use (PEP 562), so that importing linewise (as pytest does for
# its plugin, linewise.integrations.pytest_plugin) does not load the engine.
_LAZY = {"LineStats": "results", "ResultsError": "results", "load_stats": "store",
         "LineProfiler": "profiler", "show_text": "reports.text", "show_func": "reports.text"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
