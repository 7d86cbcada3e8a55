"""linewise: a line-by-line profiler for Python with a C engine, a drop-in for line_profiler."""
from ._version import __version__  # noqa: F401

from .results import LineStats, ResultsError  # noqa: E402
from .store import load_stats  # noqa: E402
from .profiler import LineProfiler  # noqa: E402
from .reports.text import show_func, show_text  # noqa: E402
from .explicit import profile  # noqa: E402



def load_ipython_extension(ipython):
    """``%load_ext linewise``: registers %lprun, %%lprun and %%lprun_all
    (linewise.integrations.ipython)."""
    from .integrations.ipython import load_ipython_extension as load

    load(ipython)


__all__ = ["LineProfiler", "LineStats", "ResultsError", "load_stats", "show_text", "show_func",
           "profile"]
