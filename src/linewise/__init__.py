"""linewise: a line-by-line profiler for Python with a C engine, a drop-in for line_profiler."""
from ._version import __version__  # noqa: F401

from .results import LineStats, ResultsError  # noqa: E402
from .store import load_stats  # noqa: E402
from .profiler import LineProfiler  # noqa: E402
from .reports.text import show_func, show_text  # noqa: E402
from .explicit import profile  # noqa: E402

__all__ = ["LineProfiler", "LineStats", "ResultsError", "load_stats", "show_text", "show_func",
           "profile"]
